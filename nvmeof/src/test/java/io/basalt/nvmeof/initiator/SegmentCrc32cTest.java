package io.basalt.nvmeof.initiator;

import io.basalt.engine.fixtures.AllocationWindows;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** SegmentCrc32c gives CRC32C's value for any range of native and heap memory, and allocates nothing once warm. */
class SegmentCrc32cTest {
    private static final int BYTES = 256 * 1024;

    private static int reference(MemorySegment segment, long offset, long length) {
        CRC32C crc = new CRC32C();
        crc.update(segment.asSlice(offset, length).asByteBuffer());
        return (int) crc.getValue();
    }

    @Test
    void matchesCrc32cOnRandomRangesOfNativeAndHeapSegments() {
        SplittableRandom random = new SplittableRandom(13);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] segments = {arena.allocate(BYTES, 4096), MemorySegment.ofArray(new byte[BYTES])};
            SegmentCrc32c crc = new SegmentCrc32c();
            for (MemorySegment segment : segments) {
                for (int i = 0; i < BYTES; i++) segment.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
                for (int round = 0; round < 200; round++) {
                    long offset = random.nextInt(BYTES);
                    long length = random.nextInt((int) (BYTES - offset) + 1);
                    assertEquals(reference(segment, offset, length), crc.of(segment, offset, length), offset + "+" + length);
                }
                // a value built from pieces equals the value of the whole
                crc.reset();
                crc.update(segment, 0, 1000);
                crc.update(segment, 1000, 3096);
                assertEquals(reference(segment, 0, 4096), crc.value());
            }
        }
    }

    @Test
    void knownVectorFromRfc3720() {
        // iSCSI's CRC32C check value: 32 bytes of zero give 0x8A9136AA
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(0x8A9136AA, new SegmentCrc32c().of(arena.allocate(32), 0, 32));
        }
    }

    @Test
    void digestingNativeBuffersAllocatesNothing() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] buffers = new MemorySegment[8];
            for (int i = 0; i < buffers.length; i++) buffers[i] = arena.allocate(4096, 4096);
            SegmentCrc32c crc = new SegmentCrc32c();
            int[] sink = {0};
            Runnable window = () -> {
                for (int i = 0; i < 10_000; i++) sink[0] += crc.of(buffers[i & 7], i & 63, 4096 - (i & 63));
            };
            window.run();
            window.run();
            assertEquals(0, AllocationWindows.untilZero("SegmentCrc32c over 10,000 ranges", 3, window).last());
        }
    }
}
