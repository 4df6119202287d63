package io.basalt.vhost.blk;

import io.basalt.vhost.GuestDriver;
import io.basalt.engine.fixtures.AllocationWindows;
import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.*;

/**
 * House habit 3 for the vhost data path: 4 KiB reads and writes at queue depth 32 through VirtioBlkQueue
 * on the memory device, the guest reusing its buffers (as a guest's page cache or an O_DIRECT application
 * does). After warm-up a window of 50,000 requests must allocate nothing on the reactor thread (a few
 * windows are allowed for JIT noise, as engine's AllocationTest does).
 */
class VhostAllocationTest {
    static final int DEPTH = 32;
    static final int WARM_UP_ROUNDS = 1500;
    static final int MEASURED_ROUNDS = 50_000 / DEPTH;

    @Test
    void steadyStateAllocatesNothing() {
        try (BlkHarness h = new BlkHarness(4096, false)) {
            GuestDriver g = h.guest;
            int[] heads = new int[DEPTH];
            for (int i = 0; i < DEPTH; i++) {
                boolean read = i % 2 == 0;
                BlkHarness.Request r = h.request(read ? VirtioBlk.T_IN : VirtioBlk.T_OUT, 8L * i).data(1, 4096, 4096);
                r.submit(read, false);
                heads[i] = r.head;
            }
            h.runUntilUsed(DEPTH);
            rounds(h, g, heads, WARM_UP_ROUNDS);
            AllocationWindows.History history = AllocationWindows.untilZero("vhost over " + MEASURED_ROUNDS * DEPTH + " requests", 5,
                    () -> rounds(h, g, heads, MEASURED_ROUNDS));
            assertEquals(0, history.last(), history.toString());
            assertEquals(0, h.queue.counter("bad_requests") + h.queue.counter("device_errors") + h.queue.counter("broken_chains"));
        }
    }

    /** Re-publishes the same chains and runs the reactor until they are all used, {@code rounds} times. */
    private static void rounds(BlkHarness h, GuestDriver g, int[] heads, int rounds) {
        int target = g.usedIdx();
        for (int round = 0; round < rounds; round++) {
            for (int head : heads) g.publish(head);
            target = (target + heads.length) & 0xFFFF;
            long spins = 0;
            while (g.usedIdx() != target) {
                h.reactor.doWork();
                if (++spins > 10_000_000) fail("stuck");
            }
        }
    }
}
