package io.basalt.vhost.frontend;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import io.basalt.engine.fixtures.AllocationWindows;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.*;

/**
 * House habit 3 for the front-end's data path: 4 KiB reads and writes at queue depth 32 against Basalt's export of
 * a memory device, buffers reused. After warm-up a window of requests must allocate nothing on the front-end's
 * reactor thread (the test thread), and then nothing on the server's reactor thread either.
 */
class FrontendAllocationTest {
    private static final int DEPTH = 32;
    private static final int BLOCK_BYTES = 4096;
    private static final int WARM_UP_ROUNDS = 500;
    private static final int MEASURED_ROUNDS = 20_000 / DEPTH;

    private int completed, errors;
    private final IoCompletion completion = (tag, status) -> {
        completed++;
        if (status != Status.OK) errors++;
    };

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void steadyStateAllocatesNothing(boolean packed) throws Exception {
        try (BasaltServer server = new BasaltServer("memory:16M", 1); Arena arena = Arena.ofConfined()) {
            Reactor reactor = new Reactor(ReactorConfig.defaults("fe-alloc"));
            reactor.initOnCurrentThread();
            BlockDevice device = DeviceSpec.open("fe", "vhost-user:" + server.socketPath + ",packed=" + (packed ? 1 : 0));
            BlockChannel channel = device.openChannel(reactor);
            MemorySegment[] buffers = new MemorySegment[DEPTH];
            for (int i = 0; i < DEPTH; i++) buffers[i] = arena.allocate(BLOCK_BYTES, BLOCK_BYTES);
            rounds(reactor, channel, buffers, WARM_UP_ROUNDS);
            AllocationWindows.History history = AllocationWindows.untilZero("vhost-user front-end over " + MEASURED_ROUNDS * DEPTH + " requests", 5,
                    () -> rounds(reactor, channel, buffers, MEASURED_ROUNDS));
            assertEquals(0, history.last(), history.toString());
            // The server's side of the same traffic: Basalt's export allocates nothing per request either (its slice
            // cache holds the front-end's bounce areas, which are reused as a guest's O_DIRECT buffers are).
            AllocationWindows.History served = AllocationWindows.untilZeroOn(serverThread(server), "vhost-user-blk export over "
                    + MEASURED_ROUNDS * DEPTH + " requests", 5, () -> rounds(reactor, channel, buffers, MEASURED_ROUNDS));
            assertEquals(0, served.last(), served.toString());
            assertEquals(0, errors, "requests that failed");
            channel.close();
            device.close();
            reactor.close();
        }
    }

    private static Thread serverThread(BasaltServer server) {
        return server.reactor.thread();
    }

    private void rounds(Reactor reactor, BlockChannel channel, MemorySegment[] buffers, int rounds) {
        for (int r = 0; r < rounds; r++) {
            completed = 0;
            for (int i = 0; i < DEPTH; i++) {
                boolean accepted = i % 2 == 0 ? channel.read(i, 1, buffers[i], i, completion) : channel.write(i, 1, buffers[i], i, completion);
                if (!accepted) fail("busy at depth " + i);
            }
            long spins = 0;
            while (completed < DEPTH) {
                reactor.doWork();
                if (++spins > 100_000_000L) fail("stuck with " + completed + " of " + DEPTH + " completed");
            }
        }
    }
}
