package io.basalt.vhost.blk;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.vhost.GuestDriver;
import io.basalt.vhost.virtio.SplitVirtqueue;
import io.basalt.vhost.virtio.VirtioFeatures;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.fail;

/** A reactor driven by hand, a memory device, a guest driver and one VirtioBlkQueue between them. */
final class BlkHarness implements AutoCloseable {
    static final long FEATURES = (1L << VirtioFeatures.VERSION_1) | (1L << VirtioFeatures.RING_INDIRECT_DESC);
    static final long FEATURES_EVENT_IDX = FEATURES | (1L << VirtioFeatures.RING_EVENT_IDX);

    final Reactor reactor;
    final BlockDevice device;
    final BlockChannel channel;
    final GuestDriver guest;
    final SplitVirtqueue vq;
    final VirtioBlkQueue queue;

    BlkHarness(int blockBytes, boolean readOnly, long features, int callFd, int kickFd, InflightRegion inflight,
               java.util.function.UnaryOperator<BlockChannel> wrap) {
        reactor = new Reactor(ReactorConfig.defaults("vhost-test"));
        reactor.initOnCurrentThread();
        device = new MemoryBlockDevice("m", 16 << 20, blockBytes);
        channel = wrap.apply(device.openChannel(reactor));
        guest = new GuestDriver(128);
        vq = guest.queue(features);
        queue = new VirtioBlkQueue(reactor, channel, vq, callFd, kickFd, readOnly, device.geometry(), inflight,
                new VirtioBlkQueue.Options(66, 4, "basalt-test-serial-0123456789"));
        queue.start();
    }

    BlkHarness(int blockBytes, boolean readOnly) {
        this(blockBytes, readOnly, FEATURES, -1, -1, null, c -> c);
    }

    /** Runs reactor cycles until {@code count} new used entries appeared. */
    void runUntilUsed(int count) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (guest.newUsed() < count) {
            reactor.doWork();
            if (System.nanoTime() > deadline) fail("only " + guest.newUsed() + " of " + count + " used entries");
        }
    }

    void cycles(int n) {
        for (int i = 0; i < n; i++) reactor.doWork();
    }

    /** A request in guest memory: header, data buffers, status byte. */
    final class Request {
        final long headerGpa = guest.alloc(16, 16);
        final long statusGpa = guest.alloc(1, 1);
        long[] dataGpas = new long[0];
        int[] dataLens = new int[0];
        int head;

        Request(int type, long sector) {
            MemorySegment h = guest.at(headerGpa, 16);
            VirtioBlk.RequestHeader.type(h, type);
            VirtioBlk.RequestHeader.reserved(h, 0);
            VirtioBlk.RequestHeader.sector(h, sector);
            guest.at(statusGpa, 1).set(ValueLayout.JAVA_BYTE, 0, (byte) 0x7f);
        }

        Request data(int segments, int segmentBytes, int alignment) {
            dataGpas = new long[segments];
            dataLens = new int[segments];
            for (int i = 0; i < segments; i++) {
                dataGpas[i] = guest.alloc(segmentBytes, alignment);
                dataLens[i] = segmentBytes;
            }
            return this;
        }

        Request data(long[] gpas, int[] lens) {
            dataGpas = gpas;
            dataLens = lens;
            return this;
        }

        /** Lays the chain out (data device-writable when {@code deviceWrites}) and publishes it. */
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
            head = indirect ? guest.indirectChain(g, l, w) : guest.chain(g, l, w);
            guest.publish(head);
            return this;
        }

        int status() {
            return guest.at(statusGpa, 1).get(ValueLayout.JAVA_BYTE, 0);
        }

        MemorySegment dataSegment(int i) {
            return guest.at(dataGpas[i], dataLens[i]);
        }
    }

    Request request(int type, long sector) {
        return new Request(type, sector);
    }

    @Override
    public void close() {
        if (!queue.isStopped()) { // a busy-polled queue always needs polling: stop it or the reactor's drain waits
            queue.stop(() -> {});
            for (int i = 0; i < 1000 && !queue.isStopped(); i++) reactor.doWork();
        }
        channel.close();
        reactor.close();
        device.close();
        guest.close();
    }

    /** A channel that refuses submissions while {@code refusing} is positive (counting down). */
    static final class RefusingChannel implements BlockChannel {
        final BlockChannel inner;
        int refusals;

        RefusingChannel(BlockChannel inner, int refusals) {
            this.inner = inner;
            this.refusals = refusals;
        }

        private boolean refuse() {
            if (refusals > 0) {
                refusals--;
                return true;
            }
            return false;
        }

        @Override public BlockDevice device() { return inner.device(); }
        @Override public boolean read(long lba, int n, MemorySegment b, long tag, IoCompletion c) { return !refuse() && inner.read(lba, n, b, tag, c); }
        @Override public boolean write(long lba, int n, MemorySegment b, long tag, IoCompletion c) { return !refuse() && inner.write(lba, n, b, tag, c); }
        @Override public boolean readv(long lba, int n, IoVector b, long tag, IoCompletion c) { return !refuse() && inner.readv(lba, n, b, tag, c); }
        @Override public boolean writev(long lba, int n, IoVector b, long tag, IoCompletion c) { return !refuse() && inner.writev(lba, n, b, tag, c); }
        @Override public boolean flush(long tag, IoCompletion c) { return !refuse() && inner.flush(tag, c); }
        @Override public boolean discard(long lba, long n, long tag, IoCompletion c) { return !refuse() && inner.discard(lba, n, tag, c); }
        @Override public boolean writeZeroes(long lba, long n, long tag, IoCompletion c) { return !refuse() && inner.writeZeroes(lba, n, tag, c); }
        @Override public int inFlight() { return inner.inFlight(); }
        @Override public int queueDepthMax() { return inner.queueDepthMax(); }
        @Override public void close() { inner.close(); }
    }
}
