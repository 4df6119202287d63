package io.basalt.vhost;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Capabilities;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.vhost.blk.BlkConfigSpace;
import io.basalt.vhost.blk.VirtioBlk;
import io.basalt.vhost.protocol.VhostUser;
import io.basalt.vhost.protocol.VhostUserMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * An export offers {@link VhostBlkExportConfig#QUEUES_MAX} queues by default, so QEMU's default (one queue per
 * vCPU) attaches; rings exist only once the front-end uses them, spread round robin over the reactors, and the
 * queues on one reactor share one channel of the device.
 */
class VhostQueuesTest {
    private static final int GUEST_QUEUES = 4; // QEMU -smp 4 without num-queues
    private static final long RING_SPACING_BYTES = 512 << 10;

    @TempDir Path dir;
    private Reactor first, second;
    private CountingDevice device;
    private VhostBlkExport export;
    private String socketPath;

    @BeforeEach
    void start() {
        first = Reactor.start(ReactorConfig.defaults("q0"));
        second = Reactor.start(ReactorConfig.defaults("q1"));
        device = new CountingDevice(DeviceSpec.open("mem", "memory:16M"));
        socketPath = dir.resolve("q.sock").toString();
        export = new VhostBlkExport(new VhostBlkExportConfig("q", socketPath, VhostBlkExportConfig.QUEUES_MAX, false, 0600, -1, -1, "q"),
                device, List.of(first, second));
        export.start();
    }

    @AfterEach
    void stop() {
        export.close();
        first.close();
        second.close();
        device.close();
    }

    @Test
    void fourQueuesOfSixtyFourOfferedRunOnTwoReactorsOverOneChannelEach() {
        try (TestFrontEnd fe = new TestFrontEnd(socketPath)) {
            fe.negotiate();
            assertEquals(VhostBlkExportConfig.QUEUES_MAX, fe.getU64(VhostUser.GET_QUEUE_NUM), "GET_QUEUE_NUM");
            assertEquals(VhostBlkExportConfig.QUEUES_MAX, configU16(fe, BlkConfigSpace.NUM_QUEUES_OFFSET), "config num_queues");
            fe.setMemTable();
            TestFrontEnd.Ring[] rings = new TestFrontEnd.Ring[GUEST_QUEUES];
            for (int q = 0; q < GUEST_QUEUES; q++) rings[q] = fe.setUpRing(q, 64, TestFrontEnd.GPA_BASE + q * RING_SPACING_BYTES);
            for (int q = 0; q < GUEST_QUEUES; q++) writeAndReadBack(rings[q], q);
            assertEquals(2, device.opened.get(), "one channel per reactor, shared by its two queues");
            for (int q = 0; q < GUEST_QUEUES; q++) {
                fe.message.request(VhostUser.GET_VRING_BASE, VhostUser.VERSION, VhostUserMessage.STATE_SIZE).putU32(0, q);
                assertTrue(fe.send(null, 0) && fe.receive());
                assertEquals(2, fe.message.u32(VhostUserMessage.STATE_NUM_OFFSET), "queue " + q + " served its two requests");
                // Round robin: queues 0 and 2 on the first reactor, 1 and 3 on the second.
                assertEquals(q < 2 ? 0 : q - 1, device.closed.get(), "a reactor's channel closes with its last queue");
            }
            for (TestFrontEnd.Ring r : rings) r.close();
            // The last queue offered can be described; the one past it ends the session.
            fe.message.request(VhostUser.SET_VRING_NUM, VhostUser.VERSION, VhostUserMessage.STATE_SIZE)
                    .putU32(VhostUserMessage.STATE_INDEX_OFFSET, VhostBlkExportConfig.QUEUES_MAX - 1).putU32(VhostUserMessage.STATE_NUM_OFFSET, 64);
            assertTrue(fe.send(null, 0));
            assertEquals(VhostBlkExportConfig.QUEUES_MAX, fe.getU64(VhostUser.GET_QUEUE_NUM), "still served");
            fe.message.request(VhostUser.SET_VRING_NUM, VhostUser.VERSION, VhostUserMessage.STATE_SIZE)
                    .putU32(VhostUserMessage.STATE_INDEX_OFFSET, VhostBlkExportConfig.QUEUES_MAX).putU32(VhostUserMessage.STATE_NUM_OFFSET, 64);
            assertTrue(fe.send(null, 0));
            assertTrue(fe.closedByBackEnd(5000), "a queue index beyond the 64 offered closes the session");
        }
    }

    @Test
    void featuresFollowTheDevice() {
        Geometry g = new Geometry(4096, 1024, 24, 256, 64, true);
        long none = new BlkConfigSpace(g, BlkConfigSpace.Options.defaults()).deviceFeatures();
        assertEquals(0, none & (1L << VirtioBlk.F_DISCARD), "no DISCARD from a device that does not say it discards");
        assertEquals(0, none & (1L << VirtioBlk.F_WRITE_ZEROES));
        Capabilities raid5Like = new Capabilities(true, true, 24, true, false);
        BlkConfigSpace c = new BlkConfigSpace(g.withCapabilities(raid5Like), BlkConfigSpace.Options.defaults());
        assertNotEquals(0, c.deviceFeatures() & (1L << VirtioBlk.F_DISCARD));
        assertNotEquals(0, c.deviceFeatures() & (1L << VirtioBlk.F_WRITE_ZEROES));
        MemorySegment bytes = MemorySegment.ofArray(c.toBytes());
        assertEquals(24 * 8, bytes.get(TestFrontEnd.U32, BlkConfigSpace.DISCARD_SECTOR_ALIGNMENT_OFFSET), "a whole stripe, in sectors");
        assertEquals(0, bytes.get(ValueLayout.JAVA_BYTE, BlkConfigSpace.WRITE_ZEROES_MAY_UNMAP_OFFSET), "write-zeroes does not unmap");
        MemorySegment noDiscard = MemorySegment.ofArray(new BlkConfigSpace(g, BlkConfigSpace.Options.defaults()).toBytes());
        assertEquals(0, noDiscard.get(TestFrontEnd.U32, BlkConfigSpace.MAX_DISCARD_SECTORS_OFFSET), "max_discard_sectors 0 without DISCARD");
    }

    private static int configU16(TestFrontEnd fe, int offset) {
        fe.message.request(VhostUser.GET_CONFIG, VhostUser.VERSION, VhostUserMessage.CONFIG_PAYLOAD_OFFSET + BlkConfigSpace.SIZE)
                .putU32(VhostUserMessage.CONFIG_OFFSET_OFFSET, 0).putU32(VhostUserMessage.CONFIG_SIZE_OFFSET, BlkConfigSpace.SIZE);
        assertTrue(fe.send(null, 0) && fe.receive());
        return Short.toUnsignedInt(fe.message.payloadSlice(VhostUserMessage.CONFIG_PAYLOAD_OFFSET, BlkConfigSpace.SIZE).get(TestFrontEnd.U16, offset));
    }

    /** One 4 KiB write of a pattern of the queue's own, then a read of it, each waited for. */
    private static void writeAndReadBack(TestFrontEnd.Ring ring, int q) {
        MemorySegment out = ring.fe.at(ring.dataGpa, 4096);
        for (int i = 0; i < 4096; i++) out.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + q));
        int w = ring.request(VirtioBlk.T_OUT, 8L * q, ring.dataGpa, 4096, false);
        ring.kick();
        assertTrue(ring.awaitUsed(1, 5000), "queue " + q + ": write completed");
        assertEquals(VirtioBlk.S_OK, ring.status(w));
        long back = ring.dataGpa + 8192;
        int r = ring.request(VirtioBlk.T_IN, 8L * q, back, 4096, true);
        ring.kick();
        assertTrue(ring.awaitUsed(1, 5000), "queue " + q + ": read completed");
        assertEquals(VirtioBlk.S_OK, ring.status(r));
        assertEquals(-1, out.mismatch(ring.fe.at(back, 4096)), "queue " + q + " reads back its own write");
    }

    /** A device counting the channels opened and closed on it. */
    private static final class CountingDevice implements BlockDevice {
        final BlockDevice inner;
        final AtomicInteger opened = new AtomicInteger(), closed = new AtomicInteger();

        CountingDevice(BlockDevice inner) {
            this.inner = inner;
        }

        @Override public String name() { return inner.name(); }
        @Override public Geometry geometry() { return inner.geometry(); }
        @Override public String describe() { return "counting " + inner.describe(); }
        @Override public void close() { inner.close(); }

        @Override
        public BlockChannel openChannel(Reactor reactor) {
            opened.incrementAndGet();
            BlockChannel c = inner.openChannel(reactor);
            return (BlockChannel) java.lang.reflect.Proxy.newProxyInstance(BlockChannel.class.getClassLoader(), new Class<?>[] {BlockChannel.class},
                    (proxy, method, args) -> {
                        if (method.getName().equals("close")) closed.incrementAndGet();
                        try {
                            return method.invoke(c, args);
                        } catch (java.lang.reflect.InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
        }
    }
}
