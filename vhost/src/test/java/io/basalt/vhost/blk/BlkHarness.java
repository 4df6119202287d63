package io.basalt.vhost.blk;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.vhost.GuestDriver;
import io.basalt.vhost.virtio.SplitVirtqueue;
import io.basalt.vhost.virtio.VirtioFeatures;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.fail;

/** The split-ring {@link QueueHarness}: a memory device, a {@link GuestDriver} and one VirtioBlkQueue. */
final class BlkHarness extends QueueHarness {
    static final long FEATURES = (1L << VirtioFeatures.VERSION_1) | (1L << VirtioFeatures.RING_INDIRECT_DESC);
    static final long FEATURES_EVENT_IDX = FEATURES | (1L << VirtioFeatures.RING_EVENT_IDX);

    final GuestDriver guest;
    final SplitVirtqueue vq;

    BlkHarness(int blockBytes, boolean readOnly, long features, int callFd, int kickFd, InflightRegion inflight,
               java.util.function.UnaryOperator<BlockChannel> wrap) {
        super("vhost-test", new MemoryBlockDevice("m", 16 << 20, blockBytes), wrap);
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
        long deadline = System.nanoTime() + USED_WAIT_NS;
        while (guest.newUsed() < count) {
            reactor.doWork();
            if (System.nanoTime() > deadline) fail("only " + guest.newUsed() + " of " + count + " used entries");
        }
    }

    void cycles(int n) {
        for (int i = 0; i < n; i++) reactor.doWork();
    }

    @Override long alloc(long bytes, long alignment) { return guest.alloc(bytes, alignment); }
    @Override MemorySegment at(long gpa, long bytes) { return guest.at(gpa, bytes); }

    @Override
    int publish(long[] gpas, int[] lens, boolean[] writable, boolean indirect) {
        int head = indirect ? guest.indirectChain(gpas, lens, writable) : guest.chain(gpas, lens, writable);
        guest.publish(head);
        return head;
    }

    @Override
    long[] awaitOneUsed() {
        runUntilUsed(1);
        return guest.takeUsed();
    }

    @Override
    void closeGuest() {
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
        @Override public boolean writev(long lba, int n, IoVector b, int flags, long tag, IoCompletion c) { return !refuse() && inner.writev(lba, n, b, flags, tag, c); }
        @Override public boolean flush(long tag, IoCompletion c) { return !refuse() && inner.flush(tag, c); }
        @Override public boolean discard(long lba, long n, long tag, IoCompletion c) { return !refuse() && inner.discard(lba, n, tag, c); }
        @Override public boolean writeZeroes(long lba, long n, long tag, IoCompletion c) { return !refuse() && inner.writeZeroes(lba, n, tag, c); }
        @Override public int inFlight() { return inner.inFlight(); }
        @Override public int queueDepthMax() { return inner.queueDepthMax(); }
        @Override public void close() { inner.close(); }
    }
}
