package io.basalt.vhost.frontend;

import io.basalt.engine.Sizes;
import io.basalt.shims.Check;

import java.util.Locale;
import java.util.Map;

/**
 * Options of a {@code vhost-user:/path.sock[,queues=Q][,queue_size=N][,packed=0|1][,max_transfer=SIZE]} drive.
 *
 * @param queues           virtqueues set up (one per channel, so at most this many reactors use the drive)
 * @param queueSize        entries per ring (QEMU's queue-size; 128 by default as in QEMU)
 * @param packed           packed rings (VIRTIO_F_RING_PACKED) instead of split ones
 * @param maxTransferBytes largest request, and the size of each slot's bounce area in the shared memory
 */
public record FrontendOptions(int queues, int queueSize, boolean packed, int maxTransferBytes) {
    public static final int QUEUES_DEFAULT = 1;
    public static final int QUEUE_SIZE_DEFAULT = 128;
    public static final int QUEUE_SIZE_MAX = 32768;
    public static final int QUEUES_MAX = 64;
    public static final int MAX_TRANSFER_DEFAULT = 256 << 10;
    public static final int MAX_TRANSFER_MAX = 4 << 20;
    private static final int PAGE_BYTES = 4096;

    public FrontendOptions {
        Check.that(queues >= 1 && queues <= QUEUES_MAX, "queues in [1, 64]", queues);
        Check.that(queueSize >= 2 && queueSize <= QUEUE_SIZE_MAX && Integer.bitCount(queueSize) == 1, "queue_size a power of two in [2, 32768]", queueSize);
        Check.that(maxTransferBytes >= PAGE_BYTES && maxTransferBytes <= MAX_TRANSFER_MAX && maxTransferBytes % PAGE_BYTES == 0,
                "max_transfer a multiple of 4 KiB in [4 KiB, 4 MiB]", maxTransferBytes);
    }

    public static FrontendOptions defaults() {
        return new FrontendOptions(QUEUES_DEFAULT, QUEUE_SIZE_DEFAULT, false, MAX_TRANSFER_DEFAULT);
    }

    /** Parses the spec's options; unknown keys and bad values throw IllegalArgumentException with the reason. */
    public static FrontendOptions parse(Map<String, String> options) {
        int queues = QUEUES_DEFAULT, queueSize = QUEUE_SIZE_DEFAULT, maxTransfer = MAX_TRANSFER_DEFAULT;
        boolean packed = false;
        for (Map.Entry<String, String> e : options.entrySet()) {
            String v = e.getValue();
            switch (e.getKey()) {
                case "queues" -> queues = (int) number(e.getKey(), v, 1, QUEUES_MAX);
                case "queue_size" -> queueSize = (int) number(e.getKey(), v, 2, QUEUE_SIZE_MAX);
                case "packed" -> packed = flag(e.getKey(), v);
                case "max_transfer" -> maxTransfer = (int) Math.min(Integer.MAX_VALUE, Sizes.parse(v));
                default -> throw new IllegalArgumentException("backend vhost-user has no option '" + e.getKey()
                        + "' (known: queues, queue_size, packed, max_transfer)");
            }
        }
        if (Integer.bitCount(queueSize) != 1) throw new IllegalArgumentException("option queue_size=" + queueSize + " must be a power of two");
        if (maxTransfer < PAGE_BYTES || maxTransfer > MAX_TRANSFER_MAX || maxTransfer % PAGE_BYTES != 0) {
            throw new IllegalArgumentException("option max_transfer=" + options.get("max_transfer") + " must be a multiple of 4K in [4K, 4M]");
        }
        return new FrontendOptions(queues, queueSize, packed, maxTransfer);
    }

    private static long number(String key, String v, long min, long max) {
        try {
            long n = Long.parseLong(v.trim());
            if (n >= min && n <= max) return n;
        } catch (NumberFormatException e) {
            // the message below
        }
        throw new IllegalArgumentException("option " + key + "=" + v + " must be a whole number in [" + min + ", " + max + "]");
    }

    private static boolean flag(String key, String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "1", "true", "yes", "on" -> true;
            case "0", "false", "no", "off" -> false;
            default -> throw new IllegalArgumentException("option " + key + "=" + v + " must be 0 or 1");
        };
    }
}
