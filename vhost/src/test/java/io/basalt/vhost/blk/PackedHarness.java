package io.basalt.vhost.blk;

import io.basalt.engine.DeviceSpec;
import io.basalt.vhost.PackedGuestDriver;
import io.basalt.vhost.virtio.PackedVirtqueue;
import io.basalt.vhost.virtio.VirtioFeatures;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.fail;

/** The packed-ring {@link QueueHarness}: a device (memory, or fault-wrapped memory), a {@link PackedGuestDriver}. */
final class PackedHarness extends QueueHarness {
    static final long FEATURES = (1L << VirtioFeatures.VERSION_1) | (1L << VirtioFeatures.RING_INDIRECT_DESC)
            | (1L << VirtioFeatures.RING_PACKED);
    static final long FEATURES_EVENT_IDX = FEATURES | (1L << VirtioFeatures.RING_EVENT_IDX);

    final PackedGuestDriver guest;
    final PackedVirtqueue vq;

    PackedHarness(String deviceSpec, int ringSize, long features, int base, int callFd) {
        super("vhost-packed-test", DeviceSpec.open("m", deviceSpec), c -> c);
        guest = new PackedGuestDriver(ringSize);
        vq = guest.queue(features, base);
        queue = new VirtioBlkQueue(reactor, channel, vq, callFd, -1, false, device.geometry(), null,
                new VirtioBlkQueue.Options(66, 4, "basalt-packed"));
        queue.start();
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
