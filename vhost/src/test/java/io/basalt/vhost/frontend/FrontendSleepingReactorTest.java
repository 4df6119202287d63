package io.basalt.vhost.frontend;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.IdleStrategy;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * On a reactor running its own loop that sleeps in io_uring_enter at once when idle, with a 30 s cap, the device's
 * call eventfd wakes it: requests to a server whose drive answers after 2 ms (so the reactor is asleep when the
 * answer comes) complete, one at a time, many times, each well within the cap. Without the call eventfd's read
 * armed in the ring, each would wait for the 30 s timeout and fail the 5 s bound.
 */
class FrontendSleepingReactorTest {
    private static final int REQUESTS = 100;

    @Test
    void completionsWakeASleepingReactor() throws Exception {
        try (BasaltServer server = new BasaltServer("fault:memory:16M,fault_latency_us=2000-2000", 1); Arena arena = Arena.ofShared()) {
            Reactor reactor = Reactor.start(ReactorConfig.defaults("fe-sleep")
                    .withIdle(new IdleStrategy.RingSleep(0, TimeUnit.SECONDS.toNanos(30))));
            BlockDevice device = DeviceSpec.open("fe", "vhost-user:" + server.socketPath);
            BlockChannel channel = reactor.call(() -> device.openChannel(reactor)).get(10, TimeUnit.SECONDS);
            MemorySegment buffer = arena.allocate(4096, 4096);
            for (int i = 0; i < REQUESTS; i++) {
                CompletableFuture<Integer> done = new CompletableFuture<>();
                long lba = i % 64;
                boolean write = i % 2 == 0;
                reactor.post(() -> {
                    boolean accepted = write ? channel.write(lba, 1, buffer, 0, (t, s) -> done.complete(s))
                            : channel.read(lba, 1, buffer, 0, (t, s) -> done.complete(s));
                    if (!accepted) done.complete(-1);
                });
                assertEquals(Status.OK, done.get(5, TimeUnit.SECONDS), "request " + i);
                if (i % 50 == 0) Thread.sleep(20); // let the reactor fall asleep between some requests
            }
            assertTrue(reactor.counters()[2] >= REQUESTS, "the reactor slept while each request was at the server: " + reactor.counters()[2]);
            reactor.call(() -> {
                channel.close();
                return null;
            }).get(10, TimeUnit.SECONDS);
            device.close();
            reactor.close();
        }
    }
}
