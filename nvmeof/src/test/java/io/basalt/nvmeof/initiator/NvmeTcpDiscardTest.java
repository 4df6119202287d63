package io.basalt.nvmeof.initiator;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Capabilities;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.backend.NullBlockDevice;
import io.basalt.nvmeof.nvme.IdentifyController;
import io.basalt.nvmeof.target.NamespaceIds;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Discard as Dataset Management: offered only when Identify Controller's ONCS has DSM, said to read zeroes only when
 * the namespace's DLFEAT says so, at the granularity its NPDG/NPDA give; a range longer than 32 bits is refused; a
 * reconnect to a namespace that deallocates differently is refused. Basalt's target always sets ONCS DSM, so a
 * controller without it is made by {@link CorruptingProxy} clearing the bit in the Identify data on the wire.
 */
class NvmeTcpDiscardTest {
    private static final int BLOCK_BYTES = 4096;
    private static final long SIZE_BYTES = 16L << 20;
    private static final long WAIT_NS = TimeUnit.SECONDS.toNanos(8);
    /** A 32-bit range length's limit, and the null namespace twice as many 512-byte blocks (4 TiB). */
    private static final long RANGE_BLOCKS_MAX = 0xFFFF_FFFFL;
    private static final long NULL_BYTES = 4L << 40;

    private Reactor reactor;

    @BeforeEach
    void setUp() {
        reactor = new Reactor(ReactorConfig.defaults("nvme-tcp-discard"));
        reactor.initOnCurrentThread();
    }

    @AfterEach
    void tearDown() {
        reactor.close();
    }

    @Test
    void discardIsOfferedAsTheNamespaceDeallocates() {
        try (LoopbackTarget target = new LoopbackTarget(SIZE_BYTES, BLOCK_BYTES);
             BlockDevice device = DeviceSpec.open("remote", target.spec(""))) {
            assertEquals(new Capabilities(true, true, 1, true, false), device.geometry().capabilities(),
                    "a memory namespace: DSM in ONCS, DLFEAT 001b (reads zeroes), NPDG 1 block");
        }
        MemoryBlockDevice memory = new MemoryBlockDevice("m0", SIZE_BYTES, BLOCK_BYTES);
        Capabilities oldData = new Capabilities(true, false, 8, true, false);
        try (LoopbackTarget target = new LoopbackTarget(new Recapped(memory, oldData), NamespaceIds.random(), 0, false);
             BlockDevice device = DeviceSpec.open("remote", target.spec(""))) {
            assertEquals(oldData, device.geometry().capabilities(), "DLFEAT 000b: no zeroes promised; NPDG 8 blocks");
            BlockChannel channel = device.openChannel(reactor);
            assertEquals(Status.OK, await(channel, 8, 16), "a discard is sent and done");
            close(channel);
        } finally {
            memory.close();
        }
    }

    @Test
    void aControllerWithoutDatasetManagementGetsNoDiscard() throws Exception {
        try (LoopbackTarget target = new LoopbackTarget(SIZE_BYTES, BLOCK_BYTES);
             CorruptingProxy proxy = new CorruptingProxy(target.port)) {
            proxy.clearOncs(IdentifyController.ONCS_DSM);
            try (BlockDevice device = DeviceSpec.open("remote", proxy.spec(""))) {
                assertTrue(proxy.spoiled() >= 1, "Identify Controller passed the proxy");
                Capabilities c = device.geometry().capabilities();
                assertFalse(c.discard(), "ONCS without DSM: no discard");
                assertTrue(c.writeZeroes(), "Write Zeroes (ONCS bit 3) still offered");
                BlockChannel channel = device.openChannel(reactor);
                assertEquals(Status.UNSUPPORTED, await(channel, 0, 1), "never sent: UNSUPPORTED at once");
                assertEquals(Status.OUT_OF_RANGE, await(channel, SIZE_BYTES / BLOCK_BYTES, 1), "range checked first");
                close(channel);
            }
        }
    }

    @Test
    void aDiscardLongerThanOneRangeIsInvalid() {
        try (LoopbackTarget target = new LoopbackTarget(new NullBlockDevice("n0", NULL_BYTES, 512), NamespaceIds.random(), 0, true);
             BlockDevice device = DeviceSpec.open("remote", target.spec(""))) {
            BlockChannel channel = device.openChannel(reactor);
            assertEquals(Status.OK, await(channel, 1, RANGE_BLOCKS_MAX), "the longest range goes as one");
            assertEquals(Status.INVALID, await(channel, 0, RANGE_BLOCKS_MAX + 1), "one block more is refused, not split");
            close(channel);
        }
    }

    @Test
    void aReconnectToANamespaceThatDeallocatesDifferentlyIsRefused() {
        MemoryBlockDevice memory = new MemoryBlockDevice("m0", SIZE_BYTES, BLOCK_BYTES);
        NamespaceIds ids = NamespaceIds.random();
        LoopbackTarget first = new LoopbackTarget(memory, ids, 0, false);
        int port = first.port;
        try (NvmeTcpDevice device = (NvmeTcpDevice) DeviceSpec.open("remote", first.spec("&reconnect_max_ms=200"))) {
            BlockChannel channel = device.openChannel(reactor);
            first.close();
            long deadline = System.nanoTime() + WAIT_NS;
            while (await(channel, 0, 1) == Status.OK && System.nanoTime() < deadline) reactor.doWork();
            Capabilities noZeroes = memory.geometry().capabilities().withDiscard(true, false);
            try (LoopbackTarget second = new LoopbackTarget(new Recapped(memory, noZeroes), ids, port, false)) {
                while (device.goneReason() == null && System.nanoTime() < deadline) reactor.doWork();
                assertNotNull(device.goneReason(), "the reconnect was refused");
                assertTrue(device.goneReason().contains("Dataset Management"), device.goneReason());
                close(channel);
            }
        } finally {
            memory.close();
        }
    }

    /** One discard; its status, driving the reactor until it completes. */
    private int await(BlockChannel channel, long lba, long blockCount) {
        int[] status = {-1};
        assertTrue(channel.discard(lba, blockCount, 0, (tag, s) -> status[0] = s));
        long deadline = System.nanoTime() + WAIT_NS;
        while (status[0] < 0 && System.nanoTime() < deadline) reactor.doWork();
        assertTrue(status[0] >= 0, "the discard completed");
        return status[0];
    }

    private void close(BlockChannel channel) {
        channel.close();
        for (int i = 0; i < 100; i++) reactor.doWork();
    }

    /** A device as it is but for the capabilities it reports (what the target puts in DLFEAT, NPDG). */
    private record Recapped(BlockDevice inner, Capabilities capabilities) implements BlockDevice {
        @Override public String name() { return inner.name(); }
        @Override public Geometry geometry() { return inner.geometry().withCapabilities(capabilities); }
        @Override public BlockChannel openChannel(Reactor r) { return inner.openChannel(r); }
        @Override public void close() { inner.close(); }
        @Override public String describe() { return inner.describe(); }
    }
}
