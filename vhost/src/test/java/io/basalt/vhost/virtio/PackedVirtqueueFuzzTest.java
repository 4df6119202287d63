package io.basalt.vhost.virtio;

import io.basalt.vhost.PackedGuestDriver;
import io.basalt.vhost.memory.SliceCache;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Hostile packed-ring drivers: descriptor rings and indirect tables full of seeded garbage, flags half the
 * time marked available for the current lap. The walker must never throw; it must take exactly the chains a
 * plain reference model of 2.8 finds (extent by NEXT, buffer id in the last descriptor); a second walk of
 * the same ring must give the same verdicts; whole chains lie inside guest memory with consistent totals.
 */
class PackedVirtqueueFuzzTest {
    static final int CASES = 100_000;
    static final int SIZE = 16;
    static final int AVAIL = PackedVirtqueue.VRING_PACKED_DESC_F_AVAIL, USED = PackedVirtqueue.VRING_PACKED_DESC_F_USED;

    static int randomFlags(SplittableRandom r, boolean wrap) {
        if (r.nextInt(12) == 0) return r.nextInt(0x10000);
        int low = r.nextInt(4) == 0 ? r.nextInt(8) : r.nextInt(3); // NEXT / WRITE mostly, INDIRECT sometimes
        int bits = r.nextInt(4) != 0 ? (wrap ? AVAIL : USED) : (r.nextBoolean() ? AVAIL : 0) | (r.nextBoolean() ? USED : 0);
        return low | bits;
    }

    static boolean available(int flags, boolean wrap) {
        return ((flags & AVAIL) != 0) == wrap && ((flags & USED) != 0) != wrap;
    }

    /**
     * Fills a table with garbage, flags mostly marked available for the lap of their slot: {@code wrap} from
     * {@code pos} to the end, the other lap before it (where a chain that crosses the ring's end continues).
     */
    static void garbageRing(SplittableRandom r, MemorySegment table, int entries, int pos, boolean wrap) {
        for (int i = 0; i < entries; i++) {
            int id = r.nextInt(10) == 0 ? r.nextInt(0x10000) : r.nextInt(SIZE + 2);
            PackedGuestDriver.setDesc(table, i, VirtqueueFuzzTest.randomAddress(r), VirtqueueFuzzTest.randomLength(r), id,
                    randomFlags(r, i >= pos ? wrap : !wrap));
        }
    }

    static int flagsAt(MemorySegment ring, int pos) {
        return Short.toUnsignedInt(ring.get(PackedVirtqueue.U16, 16L * pos + 14));
    }

    /** The reference: how many chains a device takes before it finds no available head or a too-long chain. */
    static int expectedPops(MemorySegment ring, int pos, boolean wrap, int popsMax, boolean[] ringBroken) {
        int pops = 0;
        while (pops < popsMax && available(flagsAt(ring, pos), wrap)) {
            int count = 1, p = pos;
            while ((flagsAt(ring, p) & PackedVirtqueue.VRING_DESC_F_NEXT) != 0) {
                if (count == SIZE) { ringBroken[0] = true; return pops; }
                p = (p + 1) % SIZE;
                count++;
            }
            pops++;
            pos += count;
            if (pos >= SIZE) { pos -= SIZE; wrap = !wrap; }
        }
        return pops;
    }

    @Test
    void walkerSurvivesGarbage() {
        SplittableRandom r = new SplittableRandom(20250611);
        long[] reasons = new long[DescriptorChain.REASON_COUNT];
        long whole = 0, popped = 0, ringBroken = 0;
        long[] verdicts = new long[(SIZE + 1) * 5];
        try (PackedGuestDriver g = new PackedGuestDriver(SIZE)) {
            SliceCache cache = new SliceCache(256);
            MemorySegment indirect = g.at(VirtqueueFuzzTest.INDIRECT_GPA, 16 * 32);
            DescriptorChain chain = new DescriptorChain(4);
            for (int c = 0; c < CASES; c++) {
                boolean wrap = r.nextBoolean();
                int pos = r.nextInt(SIZE);
                garbageRing(r, g.ring, SIZE, pos, wrap);
                garbageRing(r, indirect, 32, 0, wrap);
                long features = (r.nextBoolean() ? 1L << VirtioFeatures.RING_INDIRECT_DESC : 0)
                        | (r.nextBoolean() ? 1L << VirtioFeatures.RING_EVENT_IDX : 0);
                int base = PackedVirtqueue.encode(pos, wrap);
                boolean[] refBroken = {false};
                int expected = expectedPops(g.ring, pos, wrap, SIZE + 1, refBroken);
                for (int pass = 0; pass < 2; pass++) {
                    PackedVirtqueue vq = new PackedVirtqueue(g.memory, g.ring, g.driverEvent, g.deviceEvent, SIZE, features, base, cache);
                    int n = 0;
                    long slots = 0;
                    while (n < SIZE + 1 && vq.pop(chain)) {
                        int k = n * 5;
                        long v0 = chain.head(), v1 = chain.brokenReason(), v2 = chain.readableBytes(), v3 = chain.writableBytes(), v4 = chain.ringDescriptors();
                        if (pass == 0) {
                            verdicts[k] = v0; verdicts[k + 1] = v1; verdicts[k + 2] = v2; verdicts[k + 3] = v3; verdicts[k + 4] = v4;
                            check(g, chain, reasons);
                            popped++;
                            if (!chain.isBroken()) whole++;
                        } else {
                            assertTrue(verdicts[k] == v0 && verdicts[k + 1] == v1 && verdicts[k + 2] == v2 && verdicts[k + 3] == v3
                                    && verdicts[k + 4] == v4, "case " + c + ": the same ring walked twice gives the same verdicts");
                        }
                        slots += chain.ringDescriptors();
                        n++;
                    }
                    assertEquals(expected, n, "case " + c + ": chains taken match the reference model");
                    assertEquals(refBroken[0], vq.isBroken(), "case " + c + ": a chain longer than the ring breaks the ring");
                    int moved = (int) (slots % SIZE);
                    assertEquals((pos + moved) % SIZE, vq.lastAvailIdx() & PackedVirtqueue.OFFSET_MASK);
                    if (pass == 0 && refBroken[0]) ringBroken++;
                }
            }
        }
        System.out.println("packed fuzz: " + popped + " chains popped, " + whole + " whole, ring broken " + ringBroken + " times");
        for (int i = 0; i < reasons.length; i++) System.out.println("  " + DescriptorChain.reasonName(i) + ": " + reasons[i]);
        assertTrue(whole > 1000, "the generator makes some valid chains too");
        for (int reason : new int[] {DescriptorChain.BUFFER_ID_OUT_OF_RANGE, DescriptorChain.NESTED_INDIRECT,
                DescriptorChain.INDIRECT_BAD_LENGTH, DescriptorChain.BUFFER_OUT_OF_MEMORY, DescriptorChain.READABLE_AFTER_WRITABLE,
                DescriptorChain.ZERO_LENGTH, DescriptorChain.TOO_MANY_SEGMENTS, DescriptorChain.INDIRECT_NOT_NEGOTIATED,
                DescriptorChain.INDIRECT_WITH_NEXT, DescriptorChain.INDIRECT_IN_CHAIN,
                DescriptorChain.DESCRIPTOR_NOT_AVAILABLE}) {
            assertTrue(reasons[reason] > 0, "fuzz reached " + DescriptorChain.reasonName(reason));
        }
    }

    private static void check(PackedGuestDriver g, DescriptorChain chain, long[] reasons) {
        reasons[chain.brokenReason()]++;
        assertTrue(chain.ringDescriptors() >= 1 && chain.ringDescriptors() <= SIZE);
        assertTrue(chain.ringPosition() >= 0 && chain.ringPosition() < SIZE);
        if (chain.isBroken()) {
            assertTrue(chain.brokenReason() > 0 && chain.brokenReason() < DescriptorChain.REASON_COUNT);
            assertEquals(chain.brokenReason() != DescriptorChain.BUFFER_ID_OUT_OF_RANGE, chain.hasValidHead());
            return;
        }
        assertTrue(chain.head() >= 0 && chain.head() < SIZE);
        assertEquals(chain.readableBytes(), chain.readable.totalBytes());
        assertEquals(chain.writableBytes(), chain.writable.totalBytes());
        assertTrue(chain.readableBytes() + chain.writableBytes() > 0);
        for (int i = 0; i < chain.readable.count(); i++) assertTrue(VirtqueueFuzzTest.insideGuest(g.memory, chain.readable.segment(i)));
        for (int i = 0; i < chain.writable.count(); i++) assertTrue(VirtqueueFuzzTest.insideGuest(g.memory, chain.writable.segment(i)));
    }

    /** lastWritableByte and pushUsed on whatever garbage produced: never an exception, used slots skipped. */
    @Test
    void errorPathAndUsedWritesSurviveGarbage() {
        SplittableRandom r = new SplittableRandom(99);
        try (PackedGuestDriver g = new PackedGuestDriver(SIZE)) {
            MemorySegment indirect = g.at(VirtqueueFuzzTest.INDIRECT_GPA, 16 * 32);
            DescriptorChain chain = new DescriptorChain(8);
            for (int c = 0; c < 20_000; c++) {
                boolean wrap = r.nextBoolean();
                int pos = r.nextInt(SIZE);
                garbageRing(r, g.ring, SIZE, pos, wrap);
                garbageRing(r, indirect, 32, 0, wrap);
                PackedVirtqueue vq = new PackedVirtqueue(g.memory, g.ring, g.driverEvent, g.deviceEvent, SIZE,
                        1L << VirtioFeatures.RING_INDIRECT_DESC, PackedVirtqueue.encode(pos, wrap), new SliceCache(64));
                int slots = 0;
                int n = 0;
                while (n++ < SIZE && slots < SIZE && vq.pop(chain)) {
                    MemorySegment status = vq.lastWritableByte(chain);
                    if (status != null) assertTrue(VirtqueueFuzzTest.insideGuest(g.memory, status));
                    if (chain.hasValidHead() && slots + chain.ringDescriptors() <= SIZE) {
                        vq.pushUsed(chain, status == null ? 0 : 1);
                        slots += chain.ringDescriptors();
                    }
                }
                vq.publishUsed();
                assertEquals(((pos + slots) % SIZE) | ((wrap ^ (pos + slots >= SIZE)) ? PackedVirtqueue.WRAP_BIT : 0), vq.usedIdx());
            }
        }
    }
}
