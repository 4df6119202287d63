package io.basalt.vhost.virtio;

import io.basalt.vhost.PackedGuestDriver;
import io.basalt.vhost.memory.SliceCache;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Chains across the ring's end and from lap to lap, at the queue level. The session failure this pins down: a
 * front-end that took a descriptor's AVAIL/USED bits after stepping past the ring's end marked the last slot
 * available for the next lap; one lap later the device found that stale slot at its avail position, looking
 * available, and took it (with the stale slot after it) as a request nobody had made: a used descriptor with
 * a stale buffer id. 2.8.6 wants the bits right in every descriptor of a chain; the device now checks them.
 */
class PackedVirtqueueLapTest {
    static final int SIZE = 8;
    static final int BASE = 6 | PackedVirtqueue.WRAP_BIT; // the first chain already crosses the ring's end
    static final int AVAIL = PackedVirtqueue.VRING_PACKED_DESC_F_AVAIL, USED = PackedVirtqueue.VRING_PACKED_DESC_F_USED;
    static final int NEXT = PackedVirtqueue.VRING_DESC_F_NEXT, WRITE = PackedVirtqueue.VRING_DESC_F_WRITE;
    static final long EVENT_IDX = 1L << VirtioFeatures.RING_EVENT_IDX;
    private static final VarHandle FLAGS = java.lang.foreign.ValueLayout.JAVA_SHORT
            .withOrder(java.nio.ByteOrder.LITTLE_ENDIAN).varHandle();

    static int bits(boolean wrap) {
        return wrap ? AVAIL : USED;
    }

    static int flagsAt(MemorySegment ring, int slot) {
        return Short.toUnsignedInt(ring.get(PackedVirtqueue.U16, 16L * slot + 14));
    }

    static int idAt(MemorySegment ring, int slot) {
        return Short.toUnsignedInt(ring.get(PackedVirtqueue.U16, 16L * slot + 12));
    }

    /**
     * A 3-slot blk-like request (16-byte header, 4 KiB data, status byte) from {@code slot} in lap {@code wrap},
     * id = the head's slot, as the session test's front-end lays it out. {@code nextLapBitsAfterTheEnd}: the
     * old front-end's mistake, the descriptor in the ring's last slot carrying the next lap's bits.
     */
    static int request(PackedGuestDriver g, long[] buffers, int slot, boolean wrap, boolean nextLapBitsAfterTheEnd) {
        int id = slot;
        int headFlags = bits(wrap) | NEXT;
        int[] lens = {16, 4096, 1};
        int[] kind = {NEXT, NEXT, WRITE};
        int s = slot;
        boolean w = wrap;
        for (int i = 0; i < 3; i++) {
            boolean lapOfTheBits = nextLapBitsAfterTheEnd && s == SIZE - 1 ? !w : w;
            if (i > 0) PackedGuestDriver.setDesc(g.ring, s, buffers[i], lens[i], id, bits(lapOfTheBits) | kind[i]);
            else PackedGuestDriver.setDesc(g.ring, s, buffers[i], lens[i], id, flagsAt(g.ring, s)); // flags last
            if (++s == SIZE) {
                s = 0;
                w = !w;
            }
        }
        FLAGS.setRelease(g.ring, 16L * slot + 14, (short) headFlags);
        return id;
    }

    static long[] buffers(PackedGuestDriver g) {
        return new long[] {g.alloc(16, 16), g.alloc(4096, 4096), g.alloc(1, 1)};
    }

    static void complete(PackedVirtqueue vq, DescriptorChain chain, int len) {
        vq.pushUsed(chain, len);
        vq.publishUsed();
    }

    @Test
    void aDescriptorWithTheNextLapsBitsIsNotTakenAsPartOfAChain() {
        try (PackedGuestDriver g = new PackedGuestDriver(SIZE)) {
            long[] buffers = buffers(g);
            PackedVirtqueue vq = new PackedVirtqueue(g.memory, g.ring, g.driverEvent, g.deviceEvent, SIZE, EVENT_IDX, BASE,
                    new SliceCache(16));
            DescriptorChain chain = new DescriptorChain(8);
            // Write 0 on slots 6, 7, 0 with slot 7 marked for the next lap: the chain is broken, not taken whole.
            request(g, buffers, 6, true, true);
            assertTrue(vq.pop(chain));
            assertEquals(DescriptorChain.DESCRIPTOR_NOT_AVAILABLE, chain.brokenReason());
            assertTrue(chain.hasValidHead());
            assertEquals(6, chain.head());
            assertEquals(3, chain.ringDescriptors(), "the extent still follows NEXT: the next chain is at slot 1");
            assertNull(vq.lastWritableByte(chain), "nothing is written into a stale descriptor's buffer");
            complete(vq, chain, 0);
            // Read 0 on 1, 2, 3 and write 1 on 4, 5, 6, laid out right: taken whole.
            request(g, buffers, 1, false, false);
            assertTrue(vq.pop(chain));
            assertFalse(chain.isBroken());
            assertEquals(1, chain.head());
            complete(vq, chain, 1);
            request(g, buffers, 4, false, false);
            assertTrue(vq.pop(chain));
            assertFalse(chain.isBroken());
            assertEquals(4, chain.head());
            assertEquals(3, chain.ringDescriptors());
            // The avail position is now 7 in lap 0, where the stale descriptor's bits say "available". The session
            // test's failure: the device took [7, 0] as a whole request with id 6 and used it at slot 4, before
            // write 1 (id 4) at slot 6. Slot 0 (lap 1 here) carries lap 0's bits: the chain is stale, so broken.
            assertEquals(PackedVirtqueue.encode(7, false), vq.lastAvailIdx());
            assertTrue(vq.pop(chain));
            assertEquals(DescriptorChain.DESCRIPTOR_NOT_AVAILABLE, chain.brokenReason());
            assertEquals(6, chain.head());
            assertEquals(2, chain.ringDescriptors());
        }
    }

    @Test
    void theSessionTestsRequestsLaidOutRightAreTakenWholeAndUsedInPlace() {
        try (PackedGuestDriver g = new PackedGuestDriver(SIZE)) {
            long[] buffers = buffers(g);
            PackedVirtqueue vq = new PackedVirtqueue(g.memory, g.ring, g.driverEvent, g.deviceEvent, SIZE, EVENT_IDX, BASE,
                    new SliceCache(16));
            DescriptorChain chain = new DescriptorChain(8);
            int slot = 6;
            boolean wrap = true;
            for (int round = 0; round < 24; round++) { // 72 slots: nine laps
                int id = request(g, buffers, slot, wrap, false);
                assertTrue(vq.pop(chain), "round " + round);
                assertFalse(chain.isBroken(), "round " + round + ": " + DescriptorChain.reasonName(chain.brokenReason()));
                assertEquals(id, chain.head());
                assertEquals(3, chain.ringDescriptors());
                assertEquals(16 + 4096, chain.readableBytes());
                assertEquals(1, chain.writableBytes());
                assertFalse(vq.pop(chain), "round " + round + ": nothing else is available");
                assertFalse(vq.enableNotifications());
                complete(vq, chain, 1);
                // The used descriptor overwrites the chain's head, with the lap's used bits.
                int usedBits = wrap ? AVAIL | USED : 0;
                assertEquals(usedBits | WRITE, flagsAt(g.ring, slot));
                assertEquals(id, idAt(g.ring, slot));
                slot += 3;
                if (slot >= SIZE) {
                    slot -= SIZE;
                    wrap = !wrap;
                }
                assertEquals(PackedVirtqueue.encode(slot, wrap), vq.lastAvailIdx());
                assertEquals(PackedVirtqueue.encode(slot, wrap), vq.usedIdx());
            }
        }
    }

    /**
     * Hypothesis (a) of the session failure, ruled out: the device polls between every single store of the
     * driver (each descriptor field, the head's flags last) and takes nothing until the head's flags are stored,
     * then the whole chain; over many laps and chain lengths 1..4.
     */
    @Test
    void theDevicePollingBetweenTheDriversStoresNeverSeesAPartialChain() {
        try (PackedGuestDriver g = new PackedGuestDriver(SIZE)) {
            long[] data = {g.alloc(512, 512), g.alloc(512, 512), g.alloc(512, 512), g.alloc(512, 512)};
            PackedVirtqueue vq = new PackedVirtqueue(g.memory, g.ring, g.driverEvent, g.deviceEvent, SIZE, EVENT_IDX, BASE,
                    new SliceCache(16));
            DescriptorChain chain = new DescriptorChain(8);
            SplittableRandom r = new SplittableRandom(7);
            int slot = 6;
            boolean wrap = true;
            for (int round = 0; round < 500; round++) {
                int n = 1 + r.nextInt(4);
                int id = r.nextInt(SIZE);
                int s = slot;
                boolean w = wrap;
                int headFlags = 0;
                for (int i = 0; i < n; i++) {
                    int flags = bits(w) | (i + 1 < n ? NEXT : 0) | (i == n - 1 ? WRITE : 0);
                    long at = 16L * s;
                    // Field by field, polling after each: addr, len, id, then flags (the head's: last of all).
                    g.ring.set(PackedVirtqueue.U64, at, data[i]);
                    assertNothingTaken(vq, chain, round);
                    g.ring.set(PackedVirtqueue.U32, at + 8, 512);
                    assertNothingTaken(vq, chain, round);
                    g.ring.set(PackedVirtqueue.U16, at + 12, (short) id);
                    assertNothingTaken(vq, chain, round);
                    if (i == 0) headFlags = flags;
                    else g.ring.set(PackedVirtqueue.U16, at + 14, (short) flags);
                    assertNothingTaken(vq, chain, round);
                    if (++s == SIZE) {
                        s = 0;
                        w = !w;
                    }
                }
                FLAGS.setRelease(g.ring, 16L * slot + 14, (short) headFlags);
                assertTrue(vq.hasAvailable());
                assertTrue(vq.pop(chain));
                assertFalse(chain.isBroken(), "round " + round + ": " + DescriptorChain.reasonName(chain.brokenReason()));
                assertEquals(id, chain.head());
                assertEquals(n, chain.ringDescriptors());
                assertEquals(512L * (n - 1), chain.readableBytes());
                assertEquals(512, chain.writableBytes());
                complete(vq, chain, 512);
                slot = s;
                wrap = w;
            }
        }
    }

    private static void assertNothingTaken(PackedVirtqueue vq, DescriptorChain chain, int round) {
        assertFalse(vq.hasAvailable(), "round " + round);
        assertFalse(vq.enableNotifications(), "round " + round);
        assertFalse(vq.pop(chain), "round " + round);
    }

    /**
     * A driver thread (PackedGuestDriver, Linux's order) and a device thread on one ring of 8, free-running:
     * every chain is taken whole, once, with the id, extent and lengths the driver gave it, across many laps.
     */
    @Test
    void aDriverThreadAndADeviceThreadAgreeOnEveryChain() throws Exception {
        final int chains = 100_000;
        try (PackedGuestDriver g = new PackedGuestDriver(SIZE)) {
            long[] data = {g.alloc(512, 512), g.alloc(512, 512), g.alloc(512, 512)};
            PackedVirtqueue vq = g.queue(EVENT_IDX, BASE);
            int[] lengthOfId = new int[SIZE];   // written by the driver before the head's release store
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread device = new Thread(() -> {
                DescriptorChain chain = new DescriptorChain(8);
                try {
                    int taken = 0;
                    long deadline = System.nanoTime() + 60_000_000_000L;
                    while (taken < chains && failure.get() == null) {
                        if (System.nanoTime() > deadline) throw new AssertionError("device: only " + taken + " chains");
                        if (!vq.pop(chain)) {
                            Thread.onSpinWait();
                            continue;
                        }
                        assertFalse(chain.isBroken(), "chain " + taken + ": " + DescriptorChain.reasonName(chain.brokenReason()));
                        int n = lengthOfId[chain.head()];
                        assertEquals(n, chain.ringDescriptors(), "chain " + taken + " extent");
                        assertEquals(512L * (n - 1), chain.readableBytes());
                        assertEquals(1, chain.writableBytes());
                        vq.pushUsed(chain, 1);
                        vq.publishUsed();
                        taken++;
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }, "packed-device");
            device.start();
            SplittableRandom r = new SplittableRandom(11);
            int made = 0, used = 0;
            long[] gpas = new long[3];
            int[] lens = new int[3];
            boolean[] writable = new boolean[3];
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (used < chains && failure.get() == null) {
                if (System.nanoTime() > deadline) throw new AssertionError("driver: only " + used + " used");
                while (g.takeUsed()) used++;
                int n = 1 + r.nextInt(3);
                if (made < chains && g.freeIds() > 0 && g.freeSlots() >= n) {
                    for (int i = 0; i < n; i++) {
                        gpas[i] = data[i];
                        writable[i] = i == n - 1;
                        lens[i] = writable[i] ? 1 : 512;
                    }
                    // The id the driver will pick is the top of its free list: record the length for it first.
                    int id = g.peekFreeId();
                    lengthOfId[id] = n;
                    assertEquals(id, g.chain(gpas, lens, writable, n));
                    made++;
                } else {
                    Thread.onSpinWait();
                }
            }
            device.join(10_000);
            if (failure.get() != null) throw new AssertionError(failure.get());
            assertEquals(chains, used);
        }
    }
}
