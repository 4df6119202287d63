package io.basalt.vhost.blk;

import io.basalt.vhost.PackedGuestDriver;
import io.basalt.engine.fixtures.AllocationWindows;
import io.basalt.vhost.virtio.PackedVirtqueue;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;

import static org.junit.jupiter.api.Assertions.*;

/**
 * House habit 3 on a packed ring: 4 KiB reads and writes at queue depth 32 through VirtioBlkQueue on the
 * memory device, the guest re-making the same chains (header, data, status: 3 ring slots each) so the ring
 * wraps every few rounds. After warm-up a window of 50,000 requests must allocate nothing on this thread
 * (the guest side here allocates nothing either). With an inflight region too: recording every take and publish
 * (descriptor copies, free list, commit points) allocates nothing either.
 */
class PackedAllocationTest {
    static final int DEPTH = 32;
    static final int RING = 128;
    static final int WARM_UP_ROUNDS = 1500;
    static final int MEASURED_ROUNDS = 50_000 / DEPTH;

    @ParameterizedTest(name = "inflight region {0}")
    @ValueSource(booleans = {false, true})
    void steadyStateAllocatesNothing(boolean inflight) {
        try (Arena arena = Arena.ofConfined();
             PackedHarness h = new PackedHarness("memory:16M", RING, PackedHarness.FEATURES, PackedVirtqueue.WRAP_BIT, -1,
                     inflight ? arena.allocate(PackedInflightRegion.queueRegionBytes(RING), 64) : null, c -> c)) {
            long[][] gpas = new long[DEPTH][];
            int[] lens = {16, 4096, 1};
            boolean[][] writable = new boolean[DEPTH][];
            for (int i = 0; i < DEPTH; i++) {
                boolean read = i % 2 == 0;
                PackedHarness.Request r = h.request(read ? VirtioBlk.T_IN : VirtioBlk.T_OUT, 8L * i).data(1, 4096, 4096);
                gpas[i] = new long[] {r.headerGpa, r.dataGpas[0], r.statusGpa};
                writable[i] = new boolean[] {false, read, true};
            }
            rounds(h, gpas, lens, writable, WARM_UP_ROUNDS);
            AllocationWindows.History history = AllocationWindows.untilZero("packed vhost over " + MEASURED_ROUNDS * DEPTH + " requests", 5,
                    () -> rounds(h, gpas, lens, writable, MEASURED_ROUNDS));
            assertEquals(0, history.last(), history.toString());
            assertEquals(0, h.queue.counter("bad_requests") + h.queue.counter("device_errors") + h.queue.counter("broken_chains"));
        }
    }

    private static void rounds(PackedHarness h, long[][] gpas, int[] lens, boolean[][] writable, int rounds) {
        PackedGuestDriver g = h.guest;
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < DEPTH; i++) g.chain(gpas[i], lens, writable[i], 3);
            int done = 0;
            long spins = 0;
            while (done < DEPTH) {
                if (g.takeUsed()) {
                    done++;
                    continue;
                }
                h.reactor.doWork();
                if (++spins > 10_000_000) fail("stuck");
            }
        }
    }
}
