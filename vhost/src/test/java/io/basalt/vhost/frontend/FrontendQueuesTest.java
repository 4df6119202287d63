package io.basalt.vhost.frontend;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import io.basalt.engine.conformance.ConformanceHarness;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.*;

/** queues=2: each channel owns one ring, data written through one reads back through the other, a third is refused. */
class FrontendQueuesTest {
    @Test
    void twoChannelsOnTwoRingsSeeEachOthersWrites() throws Exception {
        try (BasaltServer server = new BasaltServer("memory:16M", 2); Arena arena = Arena.ofConfined()) {
            Reactor reactor = new Reactor(ReactorConfig.defaults("fe-q"));
            reactor.initOnCurrentThread();
            BlockDevice device = DeviceSpec.open("fe", "vhost-user:" + server.socketPath + ",queues=2,queue_size=64");
            BlockChannel first = device.openChannel(reactor), second = device.openChannel(reactor);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> device.openChannel(reactor));
            assertTrue(e.getMessage().contains("queues=N"), e.getMessage());
            ConformanceHarness a = new ConformanceHarness(reactor, first), b = new ConformanceHarness(reactor, second);
            MemorySegment out = arena.allocate(8192, 4096), in = arena.allocate(8192, 4096);
            ConformanceHarness.fill(out, 10, 4096, 99);
            assertEquals(Status.OK, a.write(10, 2, out));
            assertEquals(Status.OK, b.read(10, 2, in));
            assertEquals(-1, ConformanceHarness.firstMismatch(in, 10, 4096, 99));
            first.close();
            reactor.doWork();
            BlockChannel again = device.openChannel(reactor); // the closed channel's ring is free again
            ConformanceHarness c = new ConformanceHarness(reactor, again);
            in.fill((byte) 0);
            assertEquals(Status.OK, c.read(10, 2, in), "a ring taken over continues where it stopped");
            assertEquals(-1, ConformanceHarness.firstMismatch(in, 10, 4096, 99));
            again.close();
            second.close();
            device.close();
            reactor.close();
        }
    }
}
