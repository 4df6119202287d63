package io.basalt.nvmeof.target;

import io.basalt.shims.Check;

/**
 * Limits and identity a target reports to every host.
 *
 * @param vendorId              PCI vendor id in Identify (nvmet says 0 too: no PCI vendor behind a fabrics target)
 * @param firmware              firmware revision (8 ASCII characters at most)
 * @param inCapsuleDataBytes    the most data the transport takes inside a command capsule (IOCCSZ = 4 + this / 16)
 * @param maxTransferBytes      the largest data transfer of one command, a power of two from 4 KiB (MDTS)
 * @param ioQueueEntriesMax     entries of an I/O queue at most (CAP.MQES + 1; Linux asks for 128 by default)
 * @param adminQueueEntries     admin queue size advertised in discovery entries (ASQSZ)
 * @param ioQueuesMax           I/O queues per controller at most (qid 1..this)
 * @param errorLogEntries       entries kept in each controller's error log
 * @param discoveryKeepAliveMs  keep-alive timeout of a discovery controller connected with KATO 0 (nvmet: 120 s)
 */
public record TargetConfig(int vendorId, String firmware, int inCapsuleDataBytes, int maxTransferBytes,
                           int ioQueueEntriesMax, int adminQueueEntries, int ioQueuesMax, int errorLogEntries,
                           long discoveryKeepAliveMs) {
    /** The memory page size MDTS counts in (CAP.MPSMIN = 0). */
    public static final int PAGE_BYTES = 4096;
    /** Namespaces per subsystem at most (Identify NN); nsids run 1..this. */
    public static final int NAMESPACES_MAX = 1024;

    public TargetConfig {
        Check.that(firmware.length() <= 8, "firmware revision fits 8 characters");
        Check.that(inCapsuleDataBytes >= 0 && inCapsuleDataBytes % 16 == 0, "in-capsule data a multiple of 16 bytes", inCapsuleDataBytes);
        Check.powerOfTwo(maxTransferBytes, "maxTransferBytes");
        Check.that(maxTransferBytes >= PAGE_BYTES, "maxTransferBytes at least a page", maxTransferBytes);
        Check.that(ioQueueEntriesMax >= 2 && ioQueueEntriesMax <= 65536, "I/O queue entries in [2, 65536]", ioQueueEntriesMax);
        Check.that(adminQueueEntries >= 2, "admin queue entries at least 2", adminQueueEntries);
        Check.that(ioQueuesMax >= 1 && ioQueuesMax < 0xFFFF, "I/O queues in [1, 65534]", ioQueuesMax);
        Check.that(errorLogEntries >= 1 && errorLogEntries <= 256, "error log entries in [1, 256]", errorLogEntries);
        Check.that(discoveryKeepAliveMs > 0, "discovery keep-alive positive", discoveryKeepAliveMs);
    }

    public static TargetConfig defaults() {
        return new TargetConfig(0, "basalt", 8192, 128 * 1024, 128, 32, 16, 64, 120_000);
    }

    public TargetConfig withIoQueueEntriesMax(int entries) {
        return new TargetConfig(vendorId, firmware, inCapsuleDataBytes, maxTransferBytes, entries, adminQueueEntries,
                ioQueuesMax, errorLogEntries, discoveryKeepAliveMs);
    }

    /** MDTS: the transfer limit as a power of two of pages. */
    public int mdts() {
        return Integer.numberOfTrailingZeros(maxTransferBytes / PAGE_BYTES);
    }
}
