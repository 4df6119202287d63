package io.basalt.vhost.blk;

import io.basalt.vhost.PackedGuestDriver;
import io.basalt.vhost.memory.SliceCache;
import io.basalt.vhost.virtio.DescriptorChain;
import io.basalt.vhost.virtio.PackedVirtqueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static io.basalt.vhost.blk.QueueHarness.fill;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Packed rings in the vhost-user inflight buffer (PackedInflightRegion): a back-end crash at several points, a new
 * back-end that recovers the region, resumes the ring where it stood (the front-end's vring base being stale, as
 * QEMU's is for a packed ring after a crash) and resubmits. The guest driver fails on a used id it does not have in
 * flight, so a request completed twice fails the test; every write is read back.
 */
class PackedInflightTest {
    private static final int RING = 16;
    private static final int FIRST_BASE = PackedVirtqueue.WRAP_BIT; // what QEMU sends again after the crash

    private static PackedHarness harness(Arena arena, String deviceSpec, int base, java.util.function.UnaryOperator<io.basalt.engine.BlockChannel> wrap) {
        MemorySegment shm = arena.allocate(PackedInflightRegion.queueRegionBytes(RING), 64);
        return new PackedHarness(deviceSpec, RING, PackedHarness.FEATURES, base, -1, shm, wrap);
    }

    /** Writes of {@code count} requests, data distinct per request, direct and indirect chains alternating. */
    private static List<PackedHarness.Request> submitWrites(PackedHarness h, int count, int seed) {
        List<PackedHarness.Request> writes = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            PackedHarness.Request w = h.request(VirtioBlk.T_OUT, 16L * (seed * 16 + i)).data(1 + i % 2, 4096, 4096);
            for (int s = 0; s < w.dataGpas.length; s++) fill(w.dataSegment(s), seed * 100 + i * 10 + s);
            w.submit(false, i % 3 == 2);
            writes.add(w);
        }
        return writes;
    }

    private static void runUntil(PackedHarness h, java.util.function.BooleanSupplier done) {
        for (int i = 0; i < 100_000 && !done.getAsBoolean(); i++) h.reactor.doWork();
        assertTrue(done.getAsBoolean(), "condition not reached");
    }

    /** Takes {@code count} used descriptors: their ids (each at most once: the driver refuses an id not in flight). */
    private static Set<Integer> takeUsed(PackedHarness h, int count) {
        Set<Integer> ids = new HashSet<>();
        for (int i = 0; i < count; i++) {
            h.awaitUsed();
            assertTrue(ids.add(h.guest.usedId), "id " + h.guest.usedId + " used twice");
        }
        return ids;
    }

    private static Set<Integer> idsOf(List<PackedHarness.Request> requests) {
        Set<Integer> ids = new HashSet<>();
        for (PackedHarness.Request r : requests) ids.add(r.head);
        return ids;
    }

    /** Every write OK and on the device; then the ring keeps working for several laps from where it resumed. */
    private static void assertWritesLandedAndRingWorks(PackedHarness h, List<PackedHarness.Request> writes) {
        for (PackedHarness.Request w : writes) {
            assertEquals(VirtioBlk.S_OK, w.status());
            long sector = VirtioBlk.RequestHeader.sector(h.at(w.headerGpa, 16));
            PackedHarness.Request r = h.request(VirtioBlk.T_IN, sector).data(w.dataGpas.length, 4096, 4096);
            r.submit(true, false);
            assertEquals(r.head, h.awaitOneUsed()[0]);
            for (int s = 0; s < w.dataGpas.length; s++) assertEquals(-1, w.dataSegment(s).mismatch(r.dataSegment(s)), "data of a resubmitted write");
        }
        for (int i = 0; i < 12; i++) h.writeThenRead(1 + i % 3, 4096, i % 4 == 0, 8L * (200 + i));
        assertEquals(h.guest.nextAvail(), h.vq.lastAvailIdx(), "device and driver agree on the avail position");
        assertEquals(h.vq.lastAvailIdx(), h.vq.usedIdx());
        assertEquals(RING, h.guest.freeSlots());
        assertEquals(0, h.queue.counter("broken_chains"));
    }

    /** Crash after the take: the requests were recorded, none reached the device (the channel refused them). */
    @ParameterizedTest(name = "vring base 0x{0}")
    @CsvSource({"8000", "e", "800d"})
    void crashAfterTheTakeResubmitsEveryRequestOnce(String baseHex) {
        int base = Integer.parseInt(baseHex, 16);
        try (Arena arena = Arena.ofConfined()) {
            BlkHarness.RefusingChannel[] refusing = new BlkHarness.RefusingChannel[1];
            try (PackedHarness h = harness(arena, "memory:16M", base, c -> refusing[0] = new BlkHarness.RefusingChannel(c, Integer.MAX_VALUE))) {
                List<PackedHarness.Request> writes = submitWrites(h, 4, 1);
                runUntil(h, () -> h.queue.inFlight() == 4);
                refusing[0].refusals = 0;
                assertEquals(4, h.crashAndReconnect(base));
                assertEquals(h.guest.nextAvail(), h.vq.lastAvailIdx(), "the ring resumes past the requests in flight");
                assertEquals(idsOf(writes), takeUsed(h, 4));
                assertWritesLandedAndRingWorks(h, writes);
            }
        }
    }

    /**
     * Crash after the device wrote: {@code released} of the 5 writes completed to the guest before the crash (in
     * another order than submitted, so used entries went out of order), the rest were done by the device and never
     * reported. The restarted back-end is told the stale vring base of the first start, and resubmits the rest.
     */
    @ParameterizedTest(name = "{0} of 5 completed before the crash")
    @CsvSource({"0", "1", "3", "5"})
    void crashAfterTheDeviceWriteResubmitsWhatTheGuestWasNotTold(int released) {
        try (Arena arena = Arena.ofConfined()) {
            HoldingChannel[] holding = new HoldingChannel[1];
            try (PackedHarness h = harness(arena, "memory:16M", FIRST_BASE, c -> holding[0] = new HoldingChannel(c))) {
                holding[0].holding = false;
                h.writeThenRead(1, 4096, false, 8L * 300); // the ring has moved before: the stale base is really stale
                holding[0].holding = true;
                List<PackedHarness.Request> writes = submitWrites(h, 5, 2);
                runUntil(h, () -> holding[0].held.size() == 5);
                for (int i = 0; i < released; i++) holding[0].release(holding[0].held.get(holding[0].held.size() > 1 ? 1 : 0)[0]);
                runUntil(h, () -> h.queue.inFlight() == 5 - released && h.vq.pendingUsed() == 0);
                Set<Integer> before = new HashSet<>();
                for (int i = 0; i < released / 2; i++) before.addAll(takeUsed(h, 1)); // some seen by the guest, some not yet
                holding[0].holding = false;
                assertEquals(5 - released, h.crashAndReconnect(FIRST_BASE));
                Set<Integer> after = takeUsed(h, 5 - before.size());
                after.forEach(id -> assertFalse(before.contains(id), "id " + id + " completed twice"));
                after.addAll(before);
                assertEquals(idsOf(writes), after);
                assertWritesLandedAndRingWorks(h, writes);
            }
        }
    }

    /** Where a publish of used entries can be cut. */
    enum CrashPoint { PUSHED, RECORDED, PUBLISHED, COMMITTED }

    /**
     * The region at each step of a publish, with a chain taken between the push and the publish (our queue does
     * that; the spec's sequence would commit half a batch there): the new back-end resubmits exactly what the driver
     * was not shown, rebuilt from the copies, and resumes both ring positions. Chains cross the ring's end.
     */
    @ParameterizedTest
    @EnumSource(CrashPoint.class)
    void recoverAtEveryStepOfAPublish(CrashPoint point) {
        int base = 12 | PackedVirtqueue.WRAP_BIT;
        try (Arena arena = Arena.ofConfined(); PackedGuestDriver guest = new PackedGuestDriver(RING)) {
            MemorySegment shm = arena.allocate(PackedInflightRegion.queueRegionBytes(RING), 64);
            PackedVirtqueue vq = guest.queue(PackedHarness.FEATURES, base);
            PackedInflightRegion region = new PackedInflightRegion(shm, RING, base);
            long buf = guest.alloc(4 * 4096, 4096);
            long table = guest.alloc(16 * 3, 16);
            long[] gpas = {buf, buf + 4096, buf + 8192, buf + 12288};
            int[] lens = {16, 4096, 4096, 1};
            boolean[] w = {false, false, true, true};
            int a = guest.chain(gpas, lens, w, 3);                                            // slots 12-14
            int b = guest.indirectChain(table, new long[] {buf, buf + 4096, buf + 12288}, new int[] {16, 4096, 1},
                    new boolean[] {false, true, true}, 3);                                     // slot 15
            int c = guest.chain(gpas, lens, w, 4);                                            // slots 0-3, next lap
            DescriptorChain[] chains = new DescriptorChain[4];
            int[] entries = new int[4];
            for (int i = 0; i < 3; i++) {
                chains[i] = new DescriptorChain(66);
                assertTrue(vq.pop(chains[i]));
                entries[i] = region.markInflight(chains[i], vq);
            }
            vq.pushUsed(chains[1], 4097); // b completes first
            region.addToBatch(entries[1]);
            int d = guest.chain(gpas, lens, w, 3);                                            // slots 4-6
            chains[3] = new DescriptorChain(66);
            assertTrue(vq.pop(chains[3]));
            entries[3] = region.markInflight(chains[3], vq);
            if (point.compareTo(CrashPoint.RECORDED) >= 0) region.batchPublishing(vq.usedIdx());
            if (point.compareTo(CrashPoint.PUBLISHED) >= 0) vq.publishUsed();
            if (point.compareTo(CrashPoint.COMMITTED) >= 0) region.batchPublished(vq.usedIdx());
            boolean shown = point.compareTo(CrashPoint.PUBLISHED) >= 0;
            if (shown) {
                assertTrue(guest.takeUsed());
                assertEquals(b, guest.usedId);
            } else {
                assertFalse(guest.takeUsed(), "nothing visible before the publish");
            }

            PackedInflightRegion again = new PackedInflightRegion(shm, RING, PackedVirtqueue.WRAP_BIT);
            int[] resubmit = again.recover(guest.ring);
            assertEquals(shown ? PackedVirtqueue.encode(13, true) : base, again.resumeUsedIdx());
            assertEquals(guest.nextAvail(), again.resumeAvailIdx(), "past every chain taken");
            int[] expected = shown ? new int[] {a, c, d} : new int[] {a, b, c, d};
            PackedVirtqueue resumed = new PackedVirtqueue(guest.memory, guest.ring, guest.driverEvent, guest.deviceEvent, RING,
                    PackedHarness.FEATURES, again.resumeAvailIdx(), again.resumeUsedIdx(), new SliceCache(64));
            assertEquals(expected.length, resubmit.length);
            for (int i = 0; i < resubmit.length; i++) {
                DescriptorChain chain = new DescriptorChain(66);
                again.readChain(resubmit[i], resumed, chain);
                assertEquals(expected[i], chain.head(), "resubmitted oldest first");
                assertFalse(chain.isBroken(), () -> DescriptorChain.reasonName(chain.brokenReason()));
                DescriptorChain original = chains[List.of(a, b, c, d).indexOf(chain.head())];
                assertEquals(original.readableBytes(), chain.readableBytes());
                assertEquals(original.writableBytes(), chain.writableBytes());
                assertEquals(original.ringDescriptors(), chain.ringDescriptors());
                assertEquals(original.readable.segment(0).address(), chain.readable.segment(0).address());
                resumed.pushUsed(chain, 1);
                again.addToBatch(resubmit[i]);
            }
            again.batchPublishing(resumed.usedIdx());
            resumed.publishUsed();
            again.batchPublished(resumed.usedIdx());
            Set<Integer> seen = new HashSet<>();
            for (int i = 0; i < expected.length; i++) {
                assertTrue(guest.takeUsed(), "used descriptor " + i);
                assertTrue(seen.add(guest.usedId), "id " + guest.usedId + " used twice");
            }
            assertEquals(RING, guest.freeSlots(), "every slot came back");
            assertEquals(0, new PackedInflightRegion(shm, RING, 0).recover(guest.ring).length, "nothing left in flight");
        }
    }

    /** A chain broken when taken is broken again when resubmitted, and still answered once. */
    @Test
    void aBrokenChainStaysBrokenAfterTheCrash() {
        try (Arena arena = Arena.ofConfined(); PackedGuestDriver guest = new PackedGuestDriver(RING)) {
            MemorySegment shm = arena.allocate(PackedInflightRegion.queueRegionBytes(RING), 64);
            PackedVirtqueue vq = guest.queue(PackedHarness.FEATURES, FIRST_BASE);
            PackedInflightRegion region = new PackedInflightRegion(shm, RING, FIRST_BASE);
            int id = guest.chain(new long[] {guest.alloc(16, 16), 1L << 50}, new int[] {16, 1}, new boolean[] {false, true}, 2);
            DescriptorChain chain = new DescriptorChain(66);
            assertTrue(vq.pop(chain));
            assertEquals(DescriptorChain.BUFFER_OUT_OF_MEMORY, chain.brokenReason());
            region.markInflight(chain, vq);
            PackedInflightRegion again = new PackedInflightRegion(shm, RING, FIRST_BASE);
            int[] resubmit = again.recover(guest.ring);
            assertEquals(1, resubmit.length);
            DescriptorChain rebuilt = new DescriptorChain(66);
            again.readChain(resubmit[0], vq, rebuilt);
            assertEquals(id, rebuilt.head());
            assertEquals(DescriptorChain.BUFFER_OUT_OF_MEMORY, rebuilt.brokenReason());
            assertNull(vq.lastWritableByte(rebuilt), "no ring position to look for a status byte in");
            assertEquals(2, rebuilt.ringDescriptors());
        }
    }

    /** A region made for another ring size is refused, not misread. */
    @Test
    void aRegionOfAnotherSizeIsRefused() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment shm = arena.allocate(PackedInflightRegion.queueRegionBytes(32), 64);
            new PackedInflightRegion(shm, 32, FIRST_BASE);
            assertThrows(IllegalArgumentException.class, () -> new PackedInflightRegion(shm, 16, FIRST_BASE));
        }
    }
}
