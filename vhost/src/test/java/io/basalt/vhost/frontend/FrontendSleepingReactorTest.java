package io.basalt.vhost.frontend;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
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
 * On a reactor running its own loop with the default idle strategy (it sleeps in io_uring_enter when idle), the
 * device's call eventfd wakes it: requests submitted between idle periods complete, one at a time, many times.
 */
class FrontendSleepingReactorTest {
    private static final int REQUESTS = 200;

    @Test
    void completionsWakeASleepingReactor() throws Exception {
        try (BasaltServer server = new BasaltServer("memory:16M", 1); Arena arena = Arena.ofShared()) {
            Reactor reactor = Reactor.start(ReactorConfig.defaults("fe-sleep"));
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
                assertEquals(Status.OK, done.get(10, TimeUnit.SECONDS), "request " + i);
                if (i % 50 == 0) Thread.sleep(20); // let the reactor fall asleep between some requests
            }
            reactor.call(() -> {
                channel.close();
                return null;
            }).get(10, TimeUnit.SECONDS);
            device.close();
            reactor.close();
        }
    }
}
