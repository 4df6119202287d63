package io.basalt.nvmeof.initiator;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Digests end to end against Basalt's target: both sides use them (the target's connections say so) and nothing
 * fails; a target refusing one is refused; through {@link CorruptingProxy}, a spoiled data digest fails only its
 * read and a spoiled header digest resets the queue, after which the device reconnects and reads again. The
 * device's counters are checked after each.
 */
class NvmeTcpDigestTest {
    private static final int BLOCK_BYTES = 4096;
    private static final long SIZE_BYTES = 16L << 20;
    /** Past the target's 8 KiB in-capsule size: the write goes as H2CData after an R2T. */
    private static final int LARGE_BYTES = 64 * 1024;
    private static final long WAIT_NS = TimeUnit.SECONDS.toNanos(10);

    private Reactor reactor;
    private Arena arena;
    private MemorySegment buffer;

    @BeforeEach
    void setUp() {
        reactor = new Reactor(ReactorConfig.defaults("nvme-tcp-digest"));
        reactor.initOnCurrentThread();
        arena = Arena.ofShared();
        buffer = arena.allocate(LARGE_BYTES, BLOCK_BYTES);
    }

    @AfterEach
    void tearDown() {
        reactor.close();
        arena.close();
    }

    @Test
    void bothSidesUseDigestsAndNoneFail() {
        try (LoopbackTarget target = new LoopbackTarget(SIZE_BYTES, BLOCK_BYTES);
             NvmeTcpDevice device = (NvmeTcpDevice) DeviceSpec.open("remote", target.spec("&digest=hd,dd"))) {
            BlockChannel channel = device.openChannel(reactor);
            fill(LARGE_BYTES, 0x31);
            assertEquals(Status.OK, io(channel, true, 16, LARGE_BYTES), "H2CData write");
            fill(BLOCK_BYTES, 0x32);
            assertEquals(Status.OK, io(channel, true, 3, BLOCK_BYTES), "in-capsule write");
            buffer.fill((byte) 0);
            assertEquals(Status.OK, io(channel, false, 16, LARGE_BYTES));
            assertEquals((byte) 0x31, buffer.get(ValueLayout.JAVA_BYTE, LARGE_BYTES - 1));
            List<Map<String, Object>> connections = target.server.connections();
            assertEquals(2, connections.size(), "the admin queue and one I/O queue");
            for (Map<String, Object> c : connections) {
                assertEquals(true, c.get("header_digest"), c.toString());
                assertEquals(true, c.get("data_digest"), c.toString());
                assertEquals(0L, c.get("data_digest_errors"), c.toString());
            }
            Map<String, Long> counters = device.backendCounters();
            assertEquals(3L, counters.get("commands_submitted"));
            assertEquals(3L, counters.get("commands_completed"));
            assertEquals((long) LARGE_BYTES + BLOCK_BYTES, counters.get("written_bytes"));
            assertEquals((long) LARGE_BYTES, counters.get("read_bytes"));
            assertEquals(0L, counters.get("data_digest_errors") + counters.get("header_digest_errors")
                    + counters.get("queue_resets") + counters.get("protocol_errors"), counters.toString());
            assertTrue(device.describe().contains("digest=hd,dd"), device.describe());
            channel.close();
            drain();
        }
    }

    @Test
    void headerDigestOnlyAndDataDigestOnlyWork() {
        for (String digest : new String[] {"hd", "dd"}) {
            try (LoopbackTarget target = new LoopbackTarget(SIZE_BYTES, BLOCK_BYTES);
                 NvmeTcpDevice device = (NvmeTcpDevice) DeviceSpec.open("remote", target.spec("&digest=" + digest))) {
                BlockChannel channel = device.openChannel(reactor);
                fill(LARGE_BYTES, 0x44);
                assertEquals(Status.OK, io(channel, true, 0, LARGE_BYTES), digest);
                assertEquals(Status.OK, io(channel, false, 0, BLOCK_BYTES), digest);
                for (Map<String, Object> c : target.server.connections()) {
                    assertEquals(digest.equals("hd"), c.get("header_digest"), c.toString());
                    assertEquals(digest.equals("dd"), c.get("data_digest"), c.toString());
                }
                channel.close();
                drain();
            }
        }
    }

    @Test
    void targetRefusingADigestIsRefusedNamingIt() throws Exception {
        try (LoopbackTarget target = new LoopbackTarget(SIZE_BYTES, BLOCK_BYTES);
             CorruptingProxy proxy = new CorruptingProxy(target.port)) {
            proxy.icRespDigestMask(io.basalt.nvmeof.tcp.IcReqPdu.DIGEST_HEADER); // grants hd, refuses dd
            var e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.open("remote", proxy.spec("&digest=hd,dd")));
            assertTrue(e.getMessage().contains("refused the data digest"), e.getMessage());
            assertTrue(e.getMessage().contains("127.0.0.1:" + proxy.port), e.getMessage());
        }
    }

    @Test
    void badDataDigestFailsOnlyThatRead() throws Exception {
        try (LoopbackTarget target = new LoopbackTarget(SIZE_BYTES, BLOCK_BYTES);
             CorruptingProxy proxy = new CorruptingProxy(target.port);
             NvmeTcpDevice device = (NvmeTcpDevice) DeviceSpec.open("remote", proxy.spec("&digest=hd,dd"))) {
            BlockChannel channel = device.openChannel(reactor);
            fill(BLOCK_BYTES, 0x66);
            assertEquals(Status.OK, io(channel, true, 5, BLOCK_BYTES));
            proxy.arm(CorruptingProxy.Fault.NEXT_C2H_DATA_DIGEST);
            assertEquals(Status.IO_ERROR, io(channel, false, 5, BLOCK_BYTES), "the read whose data digest is wrong");
            assertEquals(1, proxy.spoiled());
            buffer.fill((byte) 0);
            assertEquals(Status.OK, io(channel, false, 5, BLOCK_BYTES), "the queue goes on");
            assertEquals((byte) 0x66, buffer.get(ValueLayout.JAVA_BYTE, BLOCK_BYTES - 1));
            Map<String, Long> counters = device.backendCounters();
            assertEquals(1L, counters.get("data_digest_errors"));
            assertEquals(0L, counters.get("queue_resets"));
            assertEquals(0L, counters.get("reconnects"));
            assertEquals(0L, counters.get("status_errors"), "counted as a digest error, not a status from the target");
            assertEquals(3L, counters.get("commands_completed"));
            assertEquals(2L * BLOCK_BYTES, counters.get("read_bytes") + counters.get("written_bytes"));
            channel.close();
            drain();
        }
    }

    @Test
    void badHeaderDigestResetsTheQueueAndTheDeviceRecovers() throws Exception {
        try (LoopbackTarget target = new LoopbackTarget(SIZE_BYTES, BLOCK_BYTES);
             CorruptingProxy proxy = new CorruptingProxy(target.port);
             NvmeTcpDevice device = (NvmeTcpDevice) DeviceSpec.open("remote", proxy.spec("&digest=hd,dd&reconnect_max_ms=200"))) {
            BlockChannel channel = device.openChannel(reactor);
            fill(BLOCK_BYTES, 0x77);
            assertEquals(Status.OK, io(channel, true, 9, BLOCK_BYTES));
            proxy.arm(CorruptingProxy.Fault.NEXT_RESPONSE_HEADER_DIGEST);
            assertEquals(Status.DEVICE_GONE, io(channel, false, 9, BLOCK_BYTES), "the queue is torn down under the read");
            assertEquals(1, proxy.spoiled());
            buffer.fill((byte) 0);
            int status = Status.DEVICE_GONE;
            long deadline = System.nanoTime() + WAIT_NS;
            while (status == Status.DEVICE_GONE && System.nanoTime() < deadline) status = io(channel, false, 9, BLOCK_BYTES);
            assertEquals(Status.OK, status, "a read after the reconnect succeeds");
            assertEquals((byte) 0x77, buffer.get(ValueLayout.JAVA_BYTE, 0));
            Map<String, Long> counters = device.backendCounters();
            assertEquals(1L, counters.get("header_digest_errors"));
            assertEquals(1L, counters.get("queue_resets"));
            assertEquals(1L, counters.get("reconnects"));
            assertEquals(1L, counters.get("transport_errors"), "the read in flight failed with the queue");
            assertEquals(0L, counters.get("data_digest_errors"));
            assertEquals(counters.get("commands_submitted"), counters.get("commands_completed"));
            assertFalse(counters.get("read_bytes") < BLOCK_BYTES);
            channel.close();
            drain();
        }
    }

    private void fill(int bytes, int value) {
        buffer.asSlice(0, bytes).fill((byte) value);
    }

    /** One read or write of {@code bytes} at {@code lba}; its status, driving the reactor until it completes. */
    private int io(BlockChannel channel, boolean write, long lba, int bytes) {
        int[] status = {-1};
        MemorySegment data = buffer.asSlice(0, bytes);
        int blocks = bytes / BLOCK_BYTES;
        boolean accepted = write ? channel.write(lba, blocks, data, 0, (tag, s) -> status[0] = s)
                : channel.read(lba, blocks, data, 0, (tag, s) -> status[0] = s);
        assertTrue(accepted);
        long deadline = System.nanoTime() + WAIT_NS;
        while (status[0] < 0 && System.nanoTime() < deadline) reactor.doWork();
        assertTrue(status[0] >= 0, "the request completed");
        return status[0];
    }

    private void drain() {
        for (int i = 0; i < 100; i++) reactor.doWork();
    }
}
