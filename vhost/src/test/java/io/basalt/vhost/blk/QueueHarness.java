package io.basalt.vhost.blk;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.vhost.virtio.PackedVirtqueue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The vhost-blk test harness, one for both ring layouts: a reactor driven by hand, a device, a guest driver and one
 * VirtioBlkQueue between them. {@link BlkHarness} drives a split ring, {@link PackedHarness} a packed one; a test that
 * holds for both takes a {@link Ring} and {@link #open}s its harness (VirtioBlkQueueTest's round trips).
 */
abstract sealed class QueueHarness implements AutoCloseable permits BlkHarness, PackedHarness {
    /** The ring layout a harness drives (virtio 2.7 split, 2.8 packed). */
    enum Ring { SPLIT, PACKED }

    private static final int DEFAULT_RING_SIZE = 128;
    private static final int STOP_CYCLES_MAX = 100_000;
    /** How long a test waits for a used element before it fails (a bound on a hang, not a timing). */
    static final long USED_WAIT_NS = 10_000_000_000L;

    final Reactor reactor;
    final BlockDevice device;
    final BlockChannel channel;
    VirtioBlkQueue queue;

    QueueHarness(String reactorName, BlockDevice device, UnaryOperator<BlockChannel> wrap) {
        reactor = new Reactor(ReactorConfig.defaults(reactorName));
        reactor.initOnCurrentThread();
        this.device = device;
        channel = wrap.apply(device.openChannel(reactor));
    }

    /** A harness over a 16 MiB memory device of {@code blockBytes} blocks, ring of 128, default features. */
    static QueueHarness open(Ring ring, int blockBytes) {
        return switch (ring) {
            case SPLIT -> new BlkHarness(blockBytes, false);
            case PACKED -> new PackedHarness("memory:16M,block=" + blockBytes, DEFAULT_RING_SIZE, PackedHarness.FEATURES,
                    PackedVirtqueue.WRAP_BIT, -1);
        };
    }

    // The guest side, as each driver does it.
    abstract long alloc(long bytes, long alignment);

    abstract MemorySegment at(long gpa, long bytes);

    /** Lays a chain out (direct or indirect) and makes it available; returns its head (split) or buffer id (packed). */
    abstract int publish(long[] gpas, int[] lens, boolean[] writable, boolean indirect);

    /** Runs reactor cycles until one used element is there; returns {id, len} and consumes it. */
    abstract long[] awaitOneUsed();

    abstract void closeGuest();

    /** Deterministic content for a data buffer. */
    static void fill(MemorySegment s, long seed) {
        for (long i = 0; i < s.byteSize(); i += 8) s.set(ValueLayout.JAVA_LONG_UNALIGNED, i, seed * 0x9E3779B97F4A7C15L + i);
    }

    /** A write of {@code segments} buffers at {@code sector}, then a read back compared with it, on either ring. */
    void writeThenRead(int segments, int segmentBytes, boolean indirect, long sector) {
        Request w = request(VirtioBlk.T_OUT, sector).data(segments, segmentBytes, 4096);
        for (int i = 0; i < segments; i++) fill(w.dataSegment(i), sector * 31 + i);
        w.submit(false, indirect);
        long[] used = awaitOneUsed();
        assertEquals(w.head, used[0]);
        assertEquals(1, used[1], "used len of OUT: the status byte");
        assertEquals(VirtioBlk.S_OK, w.status());

        Request r = request(VirtioBlk.T_IN, sector).data(segments, segmentBytes, 4096);
        r.submit(true, indirect);
        used = awaitOneUsed();
        assertEquals(r.head, used[0]);
        assertEquals((long) segments * segmentBytes + 1, used[1], "used len of IN: data + status");
        assertEquals(VirtioBlk.S_OK, r.status());
        for (int i = 0; i < segments; i++) assertEquals(-1, w.dataSegment(i).mismatch(r.dataSegment(i)), "segment " + i);
    }

    /** A request in guest memory: header, data buffers, status byte. */
    final class Request {
        final long headerGpa = alloc(16, 16);
        final long statusGpa = alloc(1, 1);
        long[] dataGpas = new long[0];
        int[] dataLens = new int[0];
        /** The chain's head (split) or buffer id (packed), once submitted. */
        int head;

        Request(int type, long sector) {
            MemorySegment h = at(headerGpa, 16);
            VirtioBlk.RequestHeader.type(h, type);
            VirtioBlk.RequestHeader.reserved(h, 0);
            VirtioBlk.RequestHeader.sector(h, sector);
            at(statusGpa, 1).set(ValueLayout.JAVA_BYTE, 0, (byte) 0x7f);
        }

        Request data(int segments, int segmentBytes, int alignment) {
            dataGpas = new long[segments];
            dataLens = new int[segments];
            for (int i = 0; i < segments; i++) {
                dataGpas[i] = alloc(segmentBytes, alignment);
                dataLens[i] = segmentBytes;
            }
            return this;
        }

        Request data(long[] gpas, int[] lens) {
            dataGpas = gpas;
            dataLens = lens;
            return this;
        }

        /** Lays the chain out (data device-writable when {@code deviceWrites}) and makes it available. */
        Request submit(boolean deviceWrites, boolean indirect) {
            int n = dataGpas.length + 2;
            long[] g = new long[n];
            int[] l = new int[n];
            boolean[] w = new boolean[n];
            g[0] = headerGpa;
            l[0] = 16;
            for (int i = 0; i < dataGpas.length; i++) {
                g[i + 1] = dataGpas[i];
                l[i + 1] = dataLens[i];
                w[i + 1] = deviceWrites;
            }
            g[n - 1] = statusGpa;
            l[n - 1] = 1;
            w[n - 1] = true;
            head = publish(g, l, w, indirect);
            return this;
        }

        int status() {
            return at(statusGpa, 1).get(ValueLayout.JAVA_BYTE, 0);
        }

        MemorySegment dataSegment(int i) {
            return at(dataGpas[i], dataLens[i]);
        }
    }

    Request request(int type, long sector) {
        return new Request(type, sector);
    }

    /** Stops the queue (a busy-polled queue always needs polling, else the reactor's drain waits), then closes all. */
    @Override
    public void close() {
        if (!queue.isStopped()) {
            queue.stop(() -> {});
            for (int i = 0; i < STOP_CYCLES_MAX && !queue.isStopped(); i++) reactor.doWork();
        }
        channel.close();
        reactor.close();
        device.close();
        closeGuest();
    }
}
