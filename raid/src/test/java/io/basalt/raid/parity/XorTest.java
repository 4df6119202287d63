package io.basalt.raid.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every Xor operation against a byte-at-a-time reference, over seeded random lengths, offsets and counts. */
class XorTest {
    private static final int SOURCES_MAX = 9;
    private static final int LENGTH_MAX_BYTES = 20_000;
    private static final int SLOT_BYTES = LENGTH_MAX_BYTES + 128;

    private final Arena arena = Arena.ofConfined();
    /** Slot 0 is the destination, slots 1.. the sources; each slice starts at a random offset in its slot. */
    private final MemorySegment pool = arena.allocate((long) SLOT_BYTES * (SOURCES_MAX + 2), 64);

    @AfterEach
    void close() {
        arena.close();
    }

    private MemorySegment slice(int slot, int offsetBytes, int lengthBytes) {
        return pool.asSlice((long) slot * SLOT_BYTES + offsetBytes, lengthBytes);
    }

    private static void fill(MemorySegment segment, SplittableRandom random) {
        for (long i = 0; i < segment.byteSize(); i++) segment.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
    }

    private static byte[] referenceXor(MemorySegment[] inputs, int count) {
        byte[] expected = new byte[(int) inputs[0].byteSize()];
        for (int s = 0; s < count; s++) {
            for (int i = 0; i < expected.length; i++) expected[i] ^= inputs[s].get(ValueLayout.JAVA_BYTE, i);
        }
        return expected;
    }

    private static void assertBytes(byte[] expected, MemorySegment actual, String what) {
        assertEquals(expected.length, actual.byteSize(), what);
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual.get(ValueLayout.JAVA_BYTE, i)) {
                throw new AssertionError(what + ": first difference at byte " + i);
            }
        }
    }

    /** A random length: often a multiple of the vector, often just off one, sometimes tiny. */
    private static int randomLength(SplittableRandom random) {
        return switch (random.nextInt(4)) {
            case 0 -> random.nextInt(1, 40) * 64;
            case 1 -> random.nextInt(1, 40) * 64 + random.nextInt(-9, 10);
            case 2 -> random.nextInt(0, 130);
            default -> random.nextInt(0, LENGTH_MAX_BYTES + 1);
        };
    }

    @Test
    void parityMatchesReference() {
        SplittableRandom random = new SplittableRandom(0xBA5A17L);
        MemorySegment[] sources = new MemorySegment[SOURCES_MAX];
        for (int round = 0; round < 400; round++) {
            int lengthBytes = Math.max(0, randomLength(random));
            int count = random.nextInt(1, SOURCES_MAX + 1);
            for (int s = 0; s < count; s++) {
                sources[s] = slice(s + 1, random.nextInt(64), lengthBytes);
                fill(sources[s], random);
            }
            MemorySegment dst = slice(0, random.nextInt(64), lengthBytes);
            fill(dst, random);
            Xor.parity(dst, sources, count);
            assertBytes(referenceXor(sources, count), dst, "round " + round + " parity of " + count + " x " + lengthBytes);
        }
    }

    @Test
    void parityOfChunksOfOneBufferMatchesReference() {
        SplittableRandom random = new SplittableRandom(0xC4C4L);
        long[] offsets = new long[SOURCES_MAX];
        MemorySegment[] chunks = new MemorySegment[SOURCES_MAX];
        MemorySegment source = pool.asSlice(SLOT_BYTES, (long) SLOT_BYTES * SOURCES_MAX);
        for (int round = 0; round < 400; round++) {
            int lengthBytes = Math.max(0, Math.min(randomLength(random), SLOT_BYTES - 64));
            int count = random.nextInt(1, SOURCES_MAX + 1);
            fill(source, random);
            for (int s = 0; s < count; s++) {
                offsets[s] = (long) random.nextInt(SOURCES_MAX) * SLOT_BYTES + random.nextInt(64); // chunks may overlap
                chunks[s] = source.asSlice(offsets[s], lengthBytes);
            }
            MemorySegment dst = slice(0, random.nextInt(64), lengthBytes);
            fill(dst, random);
            Xor.parityOfChunks(dst, source, offsets, count);
            assertBytes(referenceXor(chunks, count), dst, "round " + round + " parity of " + count + " chunks x " + lengthBytes);
        }
        MemorySegment dst = slice(0, 0, 128);
        assertThrows(IllegalStateException.class, () -> Xor.parityOfChunks(dst, source, new long[] {source.byteSize() - 64}, 1),
                "a chunk past the buffer's end");
        assertThrows(IllegalStateException.class, () -> Xor.parityOfChunks(dst, source, new long[] {-1}, 1), "negative offset");
        assertThrows(IllegalStateException.class, () -> Xor.parityOfChunks(dst, source, new long[] {0}, 2), "count past the array");
    }

    @Test
    void xorIntoMatchesReference() {
        SplittableRandom random = new SplittableRandom(42);
        MemorySegment[] inputs = new MemorySegment[SOURCES_MAX + 1];
        MemorySegment[] sources = new MemorySegment[SOURCES_MAX];
        for (int round = 0; round < 400; round++) {
            int lengthBytes = Math.max(0, randomLength(random));
            int count = random.nextInt(1, SOURCES_MAX + 1);
            inputs[0] = slice(0, random.nextInt(64), lengthBytes);
            fill(inputs[0], random);
            for (int s = 0; s < count; s++) {
                sources[s] = slice(s + 1, random.nextInt(64), lengthBytes);
                fill(sources[s], random);
                inputs[s + 1] = sources[s];
            }
            byte[] expected = referenceXor(inputs, count + 1);
            if (count == 1 && random.nextBoolean()) Xor.xorInto(inputs[0], sources[0]);
            else Xor.xorInto(inputs[0], sources, count);
            assertBytes(expected, inputs[0], "round " + round + " xorInto of " + count + " x " + lengthBytes);
        }
    }

    @Test
    void readModifyWriteMatchesReference() {
        SplittableRandom random = new SplittableRandom(7);
        for (int round = 0; round < 300; round++) {
            int lengthBytes = Math.max(0, randomLength(random));
            MemorySegment oldParity = slice(0, random.nextInt(64), lengthBytes);
            MemorySegment oldData = slice(1, random.nextInt(64), lengthBytes);
            MemorySegment newData = slice(2, random.nextInt(64), lengthBytes);
            MemorySegment newParity = slice(3, random.nextInt(64), lengthBytes);
            fill(oldParity, random);
            fill(oldData, random);
            fill(newData, random);
            byte[] expected = referenceXor(new MemorySegment[] {oldParity, oldData, newData}, 3);
            Xor.updateParity(newParity, oldParity, oldData, newData);
            assertBytes(expected, newParity, "round " + round + " out of place");
            Xor.updateParity(oldParity, oldData, newData);
            assertBytes(expected, oldParity, "round " + round + " in place");
        }
    }

    /** RAID5's identity: any one block of a stripe is the XOR of the others, parity included. */
    @Test
    void lostBlockIsTheXorOfTheRest() {
        SplittableRandom random = new SplittableRandom(11);
        int dataCount = 5;
        int lengthBytes = 4096 + 24;
        MemorySegment[] blocks = new MemorySegment[dataCount + 1];
        for (int s = 0; s < dataCount; s++) {
            blocks[s] = slice(s + 1, s, lengthBytes);
            fill(blocks[s], random);
        }
        blocks[dataCount] = slice(0, 3, lengthBytes);
        Xor.parity(blocks[dataCount], blocks, dataCount);
        MemorySegment rebuilt = slice(SOURCES_MAX + 1, 5, lengthBytes);
        MemorySegment[] survivors = new MemorySegment[dataCount];
        for (int lost = 0; lost <= dataCount; lost++) {
            int n = 0;
            for (int s = 0; s <= dataCount; s++) if (s != lost) survivors[n++] = blocks[s];
            Xor.parity(rebuilt, survivors, n);
            assertEquals(-1L, rebuilt.mismatch(blocks[lost]), "block " + lost + " rebuilt");
        }
    }

    @Test
    void destinationMayBeTheFirstSource() {
        SplittableRandom random = new SplittableRandom(3);
        MemorySegment a = slice(1, 1, 1000);
        MemorySegment b = slice(2, 2, 1000);
        fill(a, random);
        fill(b, random);
        byte[] expected = referenceXor(new MemorySegment[] {a, b}, 2);
        Xor.parity(a, new MemorySegment[] {a, b}, 2);
        assertBytes(expected, a, "aliased parity");
    }

    @Test
    void badArgumentsAreRefused() {
        MemorySegment dst = slice(0, 0, 128);
        MemorySegment[] sources = {slice(1, 0, 128), slice(2, 0, 64)};
        assertThrows(IllegalStateException.class, () -> Xor.parity(dst, sources, 2), "unequal lengths");
        assertThrows(IllegalStateException.class, () -> Xor.parity(dst, sources, 0), "no sources");
        assertThrows(IllegalStateException.class, () -> Xor.parity(dst, sources, 3), "count past the array");
        assertThrows(IllegalStateException.class, () -> Xor.xorInto(dst, sources[1]), "unequal lengths");
        assertThrows(IllegalStateException.class, () -> Xor.updateParity(dst, sources[0], sources[1]));
    }

    /** Once compiled, no call allocates (style habit 3): the vectors must stay in registers. */
    @Test
    void noAllocationPerCall() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        MemorySegment dst = slice(0, 0, 4096);
        MemorySegment[] sources = {slice(1, 0, 4096), slice(2, 0, 4096), slice(3, 0, 4096), slice(4, 0, 4096),
                slice(5, 0, 4096)};
        long[] chunkOffsets = {SLOT_BYTES, 2L * SLOT_BYTES, 3L * SLOT_BYTES, 4L * SLOT_BYTES, 5L * SLOT_BYTES};
        Runnable calls = () -> {
            Xor.parity(dst, sources, 5);
            Xor.xorInto(dst, sources, 4);
            Xor.updateParity(dst, sources[0], sources[1]);
            Xor.updateParity(dst, sources[0], sources[1], sources[2]);
            Xor.xorInto(dst, sources[3]);
            Xor.parityOfChunks(dst, pool, chunkOffsets, 5);
        };
        for (int i = 0; i < 30_000; i++) calls.run();   // C2 compiles the kernels
        long threadId = Thread.currentThread().threadId();
        long before = threads.getThreadAllocatedBytes(threadId);
        int callCount = 10_000;
        for (int i = 0; i < callCount; i++) calls.run();
        long allocatedBytes = threads.getThreadAllocatedBytes(threadId) - before;
        assertTrue(allocatedBytes < callCount, "allocated " + allocatedBytes + " bytes in " + callCount + " rounds");
    }
}
