package io.basalt.vhost.blk;

import io.basalt.shims.Libc;
import io.basalt.shims.NativeException;
import io.basalt.vhost.virtio.DescriptorChain;
import io.basalt.vhost.virtio.PackedVirtqueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static io.basalt.vhost.blk.QueueHarness.fill;
import static org.junit.jupiter.api.Assertions.*;

/** VirtioBlkQueue over a packed ring (virtio 2.8): round trips, wrap-around, out-of-order completion, suppression. */
class PackedVirtioBlkQueueTest {
    /** Ring of 8: chains of 3 to 6 descriptors wrap around the ring's end every few requests. */
    @ParameterizedTest
    @CsvSource({"1,4096,false", "4,4096,false", "2,8192,false", "3,4096,true", "16,4096,true"})
    void roundTripsWrapAroundTheRing(int segments, int segmentBytes, boolean indirect) {
        try (PackedHarness h = new PackedHarness(8)) {
            if (!indirect && segments + 2 > 8) return;
            int before = h.vq.lastAvailIdx();
            for (int i = 0; i < 40; i++) h.writeThenRead(segments, segmentBytes, indirect, 8L * (i % 50));
            int slots = 80 * (indirect ? 1 : segments + 2);
            int laps = slots / 8;
            int expectedPos = slots % 8;
            boolean expectedWrap = (laps % 2 == 0) == ((before & PackedVirtqueue.WRAP_BIT) != 0);
            assertEquals(PackedVirtqueue.encode(expectedPos, expectedWrap), h.vq.lastAvailIdx(), "position and wrap counter after " + laps + " laps");
            assertEquals(h.vq.lastAvailIdx(), h.vq.usedIdx(), "everything taken was used");
            assertEquals(80, h.queue.counter("requests"));
            assertEquals(0, h.queue.counter("broken_chains"));
        }
    }

    /** A vring base from SET_VRING_BASE in the middle of a lap, wrap counter 0. */
    @Test
    void startsFromAVringBaseWithTheWrapBitClear() {
        try (PackedHarness h = new PackedHarness("memory:16M", 16, PackedHarness.FEATURES, 13, -1)) {
            assertEquals(13, h.vq.lastAvailIdx());
            for (int i = 0; i < 10; i++) h.writeThenRead(2, 4096, false, 8L * i);
            // 20 requests x 4 slots = 80 = 5 laps from 13: position 13, wrap flipped 5 times (0 -> 1).
            assertEquals(13 | PackedVirtqueue.WRAP_BIT, h.vq.lastAvailIdx());
        }
    }

    /**
     * The fault device's latency completes requests out of order: used descriptors carry ids in another
     * order than the chains were made available, each skipping its own chain's slots. Mixed chain lengths.
     */
    @Test
    void outOfOrderCompletionWithMixedChainLengths() {
        try (PackedHarness h = new PackedHarness("fault:memory:16M,fault_seed=1,fault_latency_us=1-200", 64,
                PackedHarness.FEATURES, PackedVirtqueue.WRAP_BIT, -1)) {
            SplittableRandom random = new SplittableRandom(7);
            int reordered = 0;
            long written = 0;
            for (int round = 0; round < 12; round++) {
                List<PackedHarness.Request> batch = new ArrayList<>();
                int slots = 0;
                while (true) {
                    int segments = 1 + random.nextInt(4);
                    boolean indirect = random.nextInt(3) == 0;
                    int need = indirect ? 1 : segments + 2;
                    if (slots + need > 64 || h.guest.freeIds() == 0) break;
                    long sector = 8L * (batch.size() + 64L * (round % 4)) * 4;
                    PackedHarness.Request w = h.request(VirtioBlk.T_OUT, sector).data(segments, 4096, 4096);
                    for (int i = 0; i < segments; i++) fill(w.dataSegment(i), round * 1000 + batch.size() * 10 + i);
                    w.submit(false, indirect);
                    batch.add(w);
                    slots += need;
                }
                int[] order = new int[batch.size()];
                for (int i = 0; i < batch.size(); i++) {
                    h.awaitUsed();
                    order[i] = h.guest.usedId;
                    assertEquals(1, h.guest.usedLen);
                }
                for (int i = 0; i < batch.size(); i++) if (order[i] != batch.get(i).head) { reordered++; break; }
                for (PackedHarness.Request w : batch) assertEquals(VirtioBlk.S_OK, w.status());
                // Read every request's blocks back in one more batch, check the data.
                List<PackedHarness.Request> reads = new ArrayList<>();
                for (PackedHarness.Request w : batch) {
                    long sector = VirtioBlk.RequestHeader.sector(h.guest.at(w.headerGpa, 16));
                    PackedHarness.Request r = h.request(VirtioBlk.T_IN, sector).data(w.dataGpas.length, 4096, 4096);
                    r.submit(true, true); // one slot each
                    reads.add(r);
                }
                for (int i = 0; i < reads.size(); i++) h.awaitUsed();
                for (int k = 0; k < batch.size(); k++) {
                    assertEquals(VirtioBlk.S_OK, reads.get(k).status());
                    for (int i = 0; i < batch.get(k).dataGpas.length; i++) {
                        assertEquals(-1, batch.get(k).dataSegment(i).mismatch(reads.get(k).dataSegment(i)));
                    }
                }
                written += batch.size();
            }
            assertTrue(reordered >= 3, "latency should reorder completions in several rounds, got " + reordered);
            assertEquals(h.vq.lastAvailIdx(), h.vq.usedIdx());
            assertEquals(64, h.guest.freeSlots());
            assertTrue(written > 100);
        }
    }

    @Test
    void brokenChainsFailTheirRequest() {
        try (PackedHarness h = new PackedHarness(16)) {
            // Data outside guest memory: the status byte (last descriptor) gets IOERR, len 1.
            PackedHarness.Request r = h.request(VirtioBlk.T_IN, 0).data(new long[] {1L << 40}, new int[] {4096});
            r.submit(true, false);
            h.awaitUsed();
            assertEquals(r.head, h.guest.usedId);
            assertEquals(1, h.guest.usedLen);
            assertEquals(VirtioBlk.S_IOERR, r.status());
            // The same in an indirect table.
            r = h.request(VirtioBlk.T_IN, 0).data(new long[] {1L << 40}, new int[] {4096});
            r.submit(true, true);
            h.awaitUsed();
            assertEquals(r.head, h.guest.usedId);
            assertEquals(VirtioBlk.S_IOERR, r.status());
            // And the ring goes on.
            h.writeThenRead(2, 4096, false, 0);
            assertEquals(2, h.queue.brokenByReason()[DescriptorChain.BUFFER_OUT_OF_MEMORY]);
        }
    }

    private static long readEventfd(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(8, 8);
            long n = Libc.read(fd, v, 8);
            return n == 8 ? v.get(ValueLayout.JAVA_LONG, 0) : 0;
        }
    }

    private static void flush(PackedHarness h) {
        PackedHarness.Request f = h.request(VirtioBlk.T_FLUSH, 0);
        f.submit(false, false); // header + status: 2 slots
        h.awaitUsed();
        assertEquals(VirtioBlk.S_OK, f.status());
    }

    @Test
    void driverEventFlagsEnableAndDisableInterrupts() {
        int call = (int) NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        try (PackedHarness h = new PackedHarness("memory:16M", 16, PackedHarness.FEATURES, PackedVirtqueue.WRAP_BIT, call)) {
            flush(h);
            h.guest.setDriverEvent(PackedVirtqueue.RING_EVENT_FLAGS_DISABLE, 0);
            flush(h);
            flush(h);
            h.guest.setDriverEvent(PackedVirtqueue.RING_EVENT_FLAGS_ENABLE, 0);
            flush(h);
            assertEquals(2, h.queue.counter("notifications_sent"));
            assertEquals(2, h.queue.counter("notifications_suppressed"));
            assertEquals(2, readEventfd(call));
        } finally {
            Libc.close(call);
        }
    }

    @Test
    void eventIdxInterruptsOnlyAtTheDriversOffsetAndWrap() {
        int call = (int) NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        try (PackedHarness h = new PackedHarness("memory:16M", 8, PackedHarness.FEATURES_EVENT_IDX, PackedVirtqueue.WRAP_BIT, call)) {
            // Flushes take 2 slots: used descriptors at 0, 2, 4, 6 (wrap 1), then 0, 2, ... (wrap 0).
            // Ask for an interrupt when the device uses the slot at offset 4 of the second lap (wrap 0).
            h.guest.setDriverEvent(PackedVirtqueue.RING_EVENT_FLAGS_DESC, 4);
            for (int i = 0; i < 8; i++) flush(h);
            // The first decision always signals; then only the used descriptor at offset 4, wrap 0 (the 7th).
            assertEquals(2, h.queue.counter("notifications_sent"));
            assertEquals(6, h.queue.counter("notifications_suppressed"));
            assertEquals(2, readEventfd(call));
        } finally {
            Libc.close(call);
        }
    }

    @Test
    void deviceEventAreaAsksForKicks() {
        try (PackedHarness h = new PackedHarness("memory:16M", 8, PackedHarness.FEATURES_EVENT_IDX, PackedVirtqueue.WRAP_BIT, -1)) {
            PackedVirtqueue vq = h.guest.queue(PackedHarness.FEATURES_EVENT_IDX, 5 | PackedVirtqueue.WRAP_BIT);
            vq.disableNotifications();
            assertEquals(PackedVirtqueue.RING_EVENT_FLAGS_DISABLE, h.guest.deviceEventFlags());
            assertFalse(vq.enableNotifications(), "nothing available");
            assertEquals(PackedVirtqueue.RING_EVENT_FLAGS_DESC, h.guest.deviceEventFlags());
            assertEquals(5 | PackedVirtqueue.WRAP_BIT, h.guest.deviceEventOffWrap());
            h.guest.chain(new long[] {h.guest.alloc(16, 16)}, new int[] {16}, new boolean[] {false});
            assertTrue(vq.enableNotifications(), "a chain arrived: poll again instead of sleeping");
            PackedVirtqueue plain = h.guest.queue(PackedHarness.FEATURES, PackedVirtqueue.WRAP_BIT);
            plain.disableNotifications();
            assertFalse(plain.enableNotifications());
            assertEquals(PackedVirtqueue.RING_EVENT_FLAGS_ENABLE, h.guest.deviceEventFlags());
        }
    }
}
