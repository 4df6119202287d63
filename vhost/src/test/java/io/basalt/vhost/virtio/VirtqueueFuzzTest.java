package io.basalt.vhost.virtio;

import io.basalt.vhost.GuestDriver;
import io.basalt.vhost.memory.GuestMemory;
import io.basalt.vhost.memory.SliceCache;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Hostile drivers: descriptor tables, indirect tables and avail rings full of seeded garbage. The walker must
 * never throw, every whole chain must lie inside guest memory with consistent totals, and every broken one
 * must carry a reason.
 */
class VirtqueueFuzzTest {
    static final int CASES = 100_000;
    static final int SIZE = 16;
    static final long INDIRECT_GPA = 0x10000;

    static long randomAddress(SplittableRandom r) {
        return switch (r.nextInt(8)) {
            case 0 -> 0x20000 + r.nextInt(0x10000);                    // region A
            case 1 -> GuestDriver.REGION_B - r.nextInt(8192);           // crossing A into B
            case 2 -> GuestDriver.REGION_C + GuestDriver.REGION_C_BYTES - r.nextInt(8192); // end of C
            case 3 -> GuestDriver.REGION_B + GuestDriver.REGION_B_BYTES - r.nextInt(64);   // into the hole
            case 4 -> Long.MAX_VALUE - r.nextInt(4096);
            case 5 -> -1L - r.nextInt(4096);
            case 6 -> INDIRECT_GPA;
            default -> r.nextLong();
        };
    }

    static int randomLength(SplittableRandom r) {
        return switch (r.nextInt(6)) {
            case 0 -> 0;
            case 1 -> 16 * (1 + r.nextInt(20));
            case 2 -> r.nextInt(9000);
            case 3 -> -1 - r.nextInt(100); // 4 GiB - small
            default -> 1 + r.nextInt(512);
        };
    }

    static void randomTable(SplittableRandom r, GuestDriver g, MemorySegment table, int entries) {
        for (int i = 0; i < entries; i++) {
            int flags = r.nextInt(10) == 0 ? r.nextInt(0x10000) : r.nextInt(8);
            g.setDesc(table, i, randomAddress(r), randomLength(r), flags, r.nextInt(10) == 0 ? r.nextInt(0x10000) : r.nextInt(SIZE + 4));
        }
    }

    static boolean insideGuest(GuestMemory m, MemorySegment s) {
        for (int i = 0; i < m.regionCount(); i++) {
            MemorySegment region = m.region(i);
            long start = region.address();
            if (s.address() >= start && s.address() + s.byteSize() <= start + region.byteSize()) return true;
        }
        return false;
    }

    @Test
    void walkerSurvivesGarbage() {
        SplittableRandom r = new SplittableRandom(20240611);
        long[] reasons = new long[DescriptorChain.REASON_COUNT];
        long whole = 0, popped = 0, ringBroken = 0;
        try (GuestDriver g = new GuestDriver(SIZE)) {
            SliceCache cache = new SliceCache(256);
            MemorySegment indirect = g.at(INDIRECT_GPA, 16 * 32);
            DescriptorChain chain = new DescriptorChain(8);
            for (int c = 0; c < CASES; c++) {
                randomTable(r, g, g.desc, SIZE);
                randomTable(r, g, indirect, 32);
                for (int i = 0; i < SIZE; i++) g.avail.set(GuestDriver_U16, 4 + 2L * i, (short) (r.nextInt(8) == 0 ? r.nextInt(0x10000) : r.nextInt(SIZE + 2)));
                int start = r.nextInt(0x10000);
                int availIdx = r.nextInt(6) == 0 ? r.nextInt(0x10000) : (start + r.nextInt(4)) & 0xFFFF;
                g.setAvailIdx(availIdx);
                long features = r.nextBoolean() ? 1L << VirtioFeatures.RING_INDIRECT_DESC : 0;
                SplitVirtqueue vq = new SplitVirtqueue(g.memory, g.desc, g.avail, g.used, SIZE, features, start, cache);
                int n = 0;
                while (n < SIZE + 1 && vq.pop(chain)) {
                    n++;
                    popped++;
                    reasons[chain.brokenReason()]++;
                    if (chain.isBroken()) {
                        assertTrue(chain.brokenReason() > 0 && chain.brokenReason() < DescriptorChain.REASON_COUNT);
                        continue;
                    }
                    whole++;
                    assertTrue(chain.head() >= 0 && chain.head() < SIZE);
                    assertEquals(chain.readableBytes(), chain.readable.totalBytes());
                    assertEquals(chain.writableBytes(), chain.writable.totalBytes());
                    assertTrue(chain.readableBytes() + chain.writableBytes() > 0);
                    for (int i = 0; i < chain.readable.count(); i++) assertTrue(insideGuest(g.memory, chain.readable.segment(i)));
                    for (int i = 0; i < chain.writable.count(); i++) assertTrue(insideGuest(g.memory, chain.writable.segment(i)));
                }
                int expected = ((availIdx - start) & 0xFFFF) > SIZE ? 0 : (availIdx - start) & 0xFFFF;
                assertEquals(expected, n, "pops equal the entries the driver published, or none when its idx is absurd");
                if (vq.isBroken()) ringBroken++;
            }
        }
        System.out.println("fuzz: " + popped + " chains popped, " + whole + " whole, ring broken " + ringBroken + " times");
        for (int i = 0; i < reasons.length; i++) System.out.println("  " + DescriptorChain.reasonName(i) + ": " + reasons[i]);
        assertTrue(whole > 1000, "the generator makes some valid chains too");
        for (int reason : new int[] {DescriptorChain.HEAD_OUT_OF_RANGE, DescriptorChain.NEXT_OUT_OF_RANGE, DescriptorChain.LOOP,
                DescriptorChain.NESTED_INDIRECT, DescriptorChain.INDIRECT_BAD_LENGTH, DescriptorChain.BUFFER_OUT_OF_MEMORY,
                DescriptorChain.READABLE_AFTER_WRITABLE, DescriptorChain.ZERO_LENGTH, DescriptorChain.TOO_MANY_SEGMENTS,
                DescriptorChain.INDIRECT_NOT_NEGOTIATED, DescriptorChain.INDIRECT_WITH_NEXT}) {
            assertTrue(reasons[reason] > 0, "fuzz reached " + DescriptorChain.reasonName(reason));
        }
    }

    static final java.lang.foreign.ValueLayout.OfShort GuestDriver_U16 =
            java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
}
