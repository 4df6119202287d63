package io.basalt.nvmeof.initiator;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.fault.FaultBlockDevice;
import io.basalt.engine.fault.FaultConfig;
import io.basalt.nvmeof.target.NamespaceIds;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Faults: a target that stops answering (timeout), one that restarts (reconnect), one whose namespace changed. */
class NvmeTcpFaultTest {
    private static final int BLOCK_BYTES = 4096;
    private static final long SIZE_BYTES = 16L << 20;
    private static final long WAIT_NS = TimeUnit.SECONDS.toNanos(8);
    private static final long HANG_NS = TimeUnit.SECONDS.toNanos(3);

    private Reactor reactor;
    private Arena arena;
    private MemorySegment buffer;

    @BeforeEach
    void setUp() {
        reactor = new Reactor(ReactorConfig.defaults("nvme-tcp-fault"));
        reactor.initOnCurrentThread();
        arena = Arena.ofShared();
        buffer = arena.allocate(BLOCK_BYTES, BLOCK_BYTES);
    }

    @AfterEach
    void tearDown() {
        reactor.close();
        arena.close();
    }

    @Test
    void commandTheTargetNeverAnswersFailsAfterTimeoutAndIsCounted() {
        MemoryBlockDevice memory = new MemoryBlockDevice("m0", SIZE_BYTES, BLOCK_BYTES);
        // every I/O completes only after 3 s, ten times the initiator's timeout: to the initiator it never answers
        FaultBlockDevice slow = new FaultBlockDevice("slow", memory, FaultConfig.none(1).withLatencyNs(HANG_NS, HANG_NS));
        try (LoopbackTarget target = new LoopbackTarget(slow, NamespaceIds.random(), 0, true);
             NvmeTcpDevice device = (NvmeTcpDevice) DeviceSpec.open("remote", target.spec("&timeout_ms=300"))) {
            BlockChannel channel = device.openChannel(reactor);
            int status = await(channel, false, 0);
            assertEquals(Status.DEVICE_GONE, status, "the unanswered read fails with the queue");
            assertEquals(1, device.timeouts());
            channel.close();
            drain();
        } finally {
            memory.close();
        }
    }

    @Test
    void targetRestartedOnTheSamePortReconnectsAndDataWrittenBeforeReadsBack() {
        MemoryBlockDevice memory = new MemoryBlockDevice("m0", SIZE_BYTES, BLOCK_BYTES);
        NamespaceIds ids = NamespaceIds.random();
        LoopbackTarget first = new LoopbackTarget(memory, ids, 0, false);
        int port = first.port;
        try (NvmeTcpDevice device = (NvmeTcpDevice) DeviceSpec.open("remote", first.spec("&reconnect_max_ms=200"))) {
            BlockChannel channel = device.openChannel(reactor);
            buffer.fill((byte) 0x5A);
            assertEquals(Status.OK, await(channel, true, 7));
            first.close();
            assertEquals(Status.DEVICE_GONE, awaitGone(channel), "requests fail fast while the target is away");
            try (LoopbackTarget second = new LoopbackTarget(memory, ids, port, false)) {
                buffer.fill((byte) 0);
                int status = Status.DEVICE_GONE;
                long deadline = System.nanoTime() + WAIT_NS;
                while (status == Status.DEVICE_GONE && System.nanoTime() < deadline) status = await(channel, false, 7);
                assertEquals(Status.OK, status, "a read after the reconnect succeeds");
                assertEquals((byte) 0x5A, buffer.get(ValueLayout.JAVA_BYTE, 0));
                assertEquals((byte) 0x5A, buffer.get(ValueLayout.JAVA_BYTE, BLOCK_BYTES - 1));
                assertTrue(device.reconnects() >= 1);
                channel.close();
                drain();
            }
        } finally {
            memory.close();
        }
    }

    @Test
    void targetRestartedWithAnotherNamespaceIdentityIsRefused() {
        MemoryBlockDevice memory = new MemoryBlockDevice("m0", SIZE_BYTES, BLOCK_BYTES);
        LoopbackTarget first = new LoopbackTarget(memory, NamespaceIds.random(), 0, false);
        int port = first.port;
        try (NvmeTcpDevice device = (NvmeTcpDevice) DeviceSpec.open("remote", first.spec("&reconnect_max_ms=200"))) {
            BlockChannel channel = device.openChannel(reactor);
            first.close();
            awaitGone(channel);
            try (LoopbackTarget second = new LoopbackTarget(memory, NamespaceIds.random(), port, false)) {
                long deadline = System.nanoTime() + WAIT_NS;
                while (device.goneReason() == null && System.nanoTime() < deadline) reactor.doWork();
                assertNotNull(device.goneReason(), "the reconnect was refused");
                assertTrue(device.goneReason().contains("NGUID mismatch"), device.goneReason());
                assertEquals(Status.DEVICE_GONE, await(channel, false, 0), "the drive stays gone");
                channel.close();
                drain();
            }
        } finally {
            memory.close();
        }
    }

    /** One block read (or written) at {@code lba}; its status, driving the reactor until it completes. */
    private int await(BlockChannel channel, boolean write, long lba) {
        int[] status = {-1};
        boolean accepted = write ? channel.write(lba, 1, buffer, 0, (tag, s) -> status[0] = s)
                : channel.read(lba, 1, buffer, 0, (tag, s) -> status[0] = s);
        assertTrue(accepted);
        long deadline = System.nanoTime() + WAIT_NS;
        while (status[0] < 0 && System.nanoTime() < deadline) reactor.doWork();
        assertTrue(status[0] >= 0, "the request completed");
        return status[0];
    }

    private int awaitGone(BlockChannel channel) {
        long deadline = System.nanoTime() + WAIT_NS;
        int status = Status.OK;
        while (status == Status.OK && System.nanoTime() < deadline) status = await(channel, false, 0);
        return status;
    }

    private void drain() {
        for (int i = 0; i < 100; i++) reactor.doWork();
    }
}
