package io.basalt.nvmeof.initiator;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The target goes away with requests in flight: every one completes, none vanishes, later ones fail at once. */
class NvmeTcpDropTest {
    private static final int BLOCK_BYTES = 4096;
    private static final int REQUESTS = 64;
    private static final int BLOCKS_PER_REQUEST = 16; // 64 KiB: past the in-capsule size, so R2T is in play
    private static final long WAIT_NS = TimeUnit.SECONDS.toNanos(20);

    @Test
    void targetStoppedWithRequestsInFlightFailsThemAll() {
        Reactor reactor = new Reactor(ReactorConfig.defaults("nvme-tcp-drop"));
        reactor.initOnCurrentThread();
        LoopbackTarget target = new LoopbackTarget(64L << 20, BLOCK_BYTES);
        int[] statuses = new int[REQUESTS];
        int[] done = new int[1];
        try (Arena arena = Arena.ofShared(); BlockDevice device = DeviceSpec.open("remote", target.spec("&queues=1"))) {
            BlockChannel channel = device.openChannel(reactor);
            MemorySegment buffer = arena.allocate((long) REQUESTS * BLOCKS_PER_REQUEST * BLOCK_BYTES, BLOCK_BYTES);
            int submitted = 0;
            for (int i = 0; i < REQUESTS; i++) {
                MemorySegment part = buffer.asSlice((long) i * BLOCKS_PER_REQUEST * BLOCK_BYTES, (long) BLOCKS_PER_REQUEST * BLOCK_BYTES);
                boolean accepted = (i % 2 == 0)
                        ? channel.write((long) i * BLOCKS_PER_REQUEST, BLOCKS_PER_REQUEST, part, i, (tag, s) -> { statuses[(int) tag] = s; done[0]++; })
                        : channel.read((long) i * BLOCKS_PER_REQUEST, BLOCKS_PER_REQUEST, part, i, (tag, s) -> { statuses[(int) tag] = s; done[0]++; });
                if (accepted) submitted++;
            }
            long started = System.nanoTime() + WAIT_NS;
            while (done[0] == 0 && System.nanoTime() < started) reactor.doWork(); // the queue is live, requests on the wire
            target.close(); // the server and its reactor stop: the connection is cut under the requests
            long deadline = System.nanoTime() + WAIT_NS;
            while (done[0] < submitted && System.nanoTime() < deadline) reactor.doWork();
            assertEquals(submitted, done[0], "every accepted request completed");
            for (int i = 0; i < submitted; i++) {
                assertTrue(statuses[i] == Status.OK || statuses[i] == Status.DEVICE_GONE, "request " + i + ": " + Status.name(statuses[i]));
            }
            int[] later = {-1};
            assertTrue(channel.read(0, 1, buffer.asSlice(0, BLOCK_BYTES), 0, (tag, s) -> later[0] = s));
            deadline = System.nanoTime() + WAIT_NS;
            while (later[0] < 0 && System.nanoTime() < deadline) reactor.doWork();
            assertEquals(Status.DEVICE_GONE, later[0], "a request after the drop fails at once");
            channel.close();
            for (int i = 0; i < 100; i++) reactor.doWork();
        } finally {
            reactor.close();
        }
    }
}
