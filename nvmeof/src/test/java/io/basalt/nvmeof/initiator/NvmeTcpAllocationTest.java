package io.basalt.nvmeof.initiator;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.conformance.AllocationProbe;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * House habit 3 for the initiator: one-block reads and writes (in-capsule) over loopback allocate nothing on the
 * channel's reactor thread, with and without digests (the target runs on a reactor of its own, not measured).
 */
class NvmeTcpAllocationTest {
    private static final int QUEUE_DEPTH = 16;
    private static final int WARM_UP_IOS = 20_000;
    private static final int MEASURED_IOS = 20_000;
    private static final int WINDOWS_MIN = 3;

    private static long measure(String extra) {
        Reactor reactor = new Reactor(ReactorConfig.defaults("nvme-tcp-alloc"));
        reactor.initOnCurrentThread();
        try (LoopbackTarget target = new LoopbackTarget(64L << 20, 4096);
             BlockDevice device = DeviceSpec.open("remote", target.spec(extra))) {
            return AllocationProbe.measure("nvme-tcp" + extra, reactor, device, QUEUE_DEPTH, WARM_UP_IOS, MEASURED_IOS,
                    WINDOWS_MIN);
        } finally {
            reactor.close();
        }
    }

    @Test
    void readsAndWritesAllocateNothing() {
        assertEquals(0, measure(""));
    }

    @Test
    void readsAndWritesWithDigestsAllocateNothing() {
        assertEquals(0, measure("&digest=hd,dd"));
    }
}
