package io.basalt.vhost.blk;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.vhost.PackedGuestDriver;
import io.basalt.vhost.virtio.PackedVirtqueue;
import io.basalt.vhost.virtio.VirtioFeatures;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.fail;

/** A reactor driven by hand, a device (memory, or fault-wrapped memory), a packed guest and one VirtioBlkQueue. */
final class PackedHarness implements AutoCloseable {
    static final long FEATURES = (1L << VirtioFeatures.VERSION_1) | (1L << VirtioFeatures.RING_INDIRECT_DESC)
            | (1L << VirtioFeatures.RING_PACKED);
    static final long FEATURES_EVENT_IDX = FEATURES | (1L << VirtioFeatures.RING_EVENT_IDX);

    final Reactor reactor;
    final BlockDevice device;
    final BlockChannel channel;
    final PackedGuestDriver guest;
    final PackedVirtqueue vq;
    final VirtioBlkQueue queue;

    PackedHarness(String deviceSpec, int ringSize, long features, int base, int callFd) {
        reactor = new Reactor(ReactorConfig.defaults("vhost-packed-test"));
        reactor.initOnCurrentThread();
        device = DeviceSpec.open("m", deviceSpec);
        channel = device.openChannel(reactor);
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
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!guest.takeUsed()) {
            reactor.doWork();
            if (System.nanoTime() > deadline) fail("no used descriptor in 10 s");
        }
    }

    /** A request in guest memory: header, data buffers, status byte. */
    final class Request {
        final long headerGpa = guest.alloc(16, 16);
        final long statusGpa = guest.alloc(1, 1);
        long[] dataGpas = new long[0];
        int[] dataLens = new int[0];
        int id;

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
            id = indirect ? guest.indirectChain(g, l, w) : guest.chain(g, l, w);
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
        if (!queue.isStopped()) {
            queue.stop(() -> {});
            for (int i = 0; i < 100_000 && !queue.isStopped(); i++) reactor.doWork();
        }
        channel.close();
        reactor.close();
        device.close();
        guest.close();
    }
}
