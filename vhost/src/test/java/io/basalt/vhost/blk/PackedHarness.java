package io.basalt.vhost.blk;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.DeviceSpec;
import io.basalt.vhost.PackedGuestDriver;
import io.basalt.vhost.memory.SliceCache;
import io.basalt.vhost.virtio.PackedVirtqueue;
import io.basalt.vhost.virtio.VirtioFeatures;

import java.lang.foreign.MemorySegment;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The packed-ring {@link QueueHarness}: a device (memory, or fault-wrapped memory), a {@link PackedGuestDriver}, and
 * optionally an inflight region with {@link #crashAndReconnect} playing a back-end restart.
 */
final class PackedHarness extends QueueHarness {
    static final long FEATURES = (1L << VirtioFeatures.VERSION_1) | (1L << VirtioFeatures.RING_INDIRECT_DESC)
            | (1L << VirtioFeatures.RING_PACKED);
    static final long FEATURES_EVENT_IDX = FEATURES | (1L << VirtioFeatures.RING_EVENT_IDX);

    private static final VirtioBlkQueue.Options OPTIONS = new VirtioBlkQueue.Options(66, 4, "basalt-packed");

    final PackedGuestDriver guest;
    private final long features;
    private final MemorySegment inflightShm;
    PackedVirtqueue vq;
    PackedInflightRegion inflight;

    PackedHarness(String deviceSpec, int ringSize, long features, int base, int callFd) {
        this(deviceSpec, ringSize, features, base, callFd, null, c -> c);
    }

    /** With {@code inflightShm} non-null, the queue records its requests there (a fresh, zeroed region). */
    PackedHarness(String deviceSpec, int ringSize, long features, int base, int callFd, MemorySegment inflightShm,
                  UnaryOperator<BlockChannel> wrap) {
        super("vhost-packed-test", DeviceSpec.open("m", deviceSpec), wrap);
        this.features = features;
        this.inflightShm = inflightShm;
        guest = new PackedGuestDriver(ringSize);
        vq = guest.queue(features, base);
        inflight = inflightShm == null ? null : new PackedInflightRegion(inflightShm, ringSize, base);
        queue = new VirtioBlkQueue(reactor, channel, vq, callFd, -1, false, device.geometry(), inflight, OPTIONS);
        queue.start();
    }

    /**
     * A back-end crash and restart: the running queue is dropped where it stands (no drain, its pending
     * completions never arrive), then a new one is built on the same guest memory, device and inflight region as
     * QueueRunner builds it: recover, resume the ring where the region says (the front-end's {@code base} is what
     * QEMU sends, stale for a packed ring), resubmit. Returns how many requests were resubmitted.
     */
    int crashAndReconnect(int base) {
        reactor.removePoller(queue);
        inflight = new PackedInflightRegion(inflightShm, guest.size, base);
        int[] entries = inflight.recover(guest.ring);
        vq = new PackedVirtqueue(guest.memory, guest.ring, guest.driverEvent, guest.deviceEvent, guest.size, features,
                inflight.resumeAvailIdx(), inflight.resumeUsedIdx(), new SliceCache(PackedGuestDriver.SLICE_CACHE_ENTRIES));
        queue = new VirtioBlkQueue(reactor, channel, vq, -1, -1, false, device.geometry(), inflight, OPTIONS);
        queue.start();
        queue.resubmit(entries);
        return entries.length;
    }

    PackedHarness(int ringSize) {
        this("memory:16M", ringSize, FEATURES, PackedVirtqueue.WRAP_BIT, -1);
    }

    /** Runs reactor cycles until the driver can take a used descriptor (left in guest.usedId / usedLen). */
    void awaitUsed() {
        long deadline = System.nanoTime() + USED_WAIT_NS;
        while (!guest.takeUsed()) {
            reactor.doWork();
            if (System.nanoTime() > deadline) fail("no used descriptor in 10 s");
        }
    }

    @Override long alloc(long bytes, long alignment) { return guest.alloc(bytes, alignment); }
    @Override MemorySegment at(long gpa, long bytes) { return guest.at(gpa, bytes); }

    @Override
    int publish(long[] gpas, int[] lens, boolean[] writable, boolean indirect) {
        return indirect ? guest.indirectChain(gpas, lens, writable) : guest.chain(gpas, lens, writable);
    }

    @Override
    long[] awaitOneUsed() {
        awaitUsed();
        return new long[] {guest.usedId, guest.usedLen};
    }

    @Override
    void closeGuest() {
        guest.close();
    }
}
