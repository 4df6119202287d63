package io.basalt.nvmeof.tcp;

import io.basalt.shims.Check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * One queue pair's data buffers: 4 KiB aligned (usable for O_DIRECT I/O), in power-of-two size classes from
 * 4 KiB to the largest command. A released buffer goes back to its class's free list and is reused, so the
 * steady path allocates nothing. The pool holds at most {@code bytesMax}; beyond, free buffers of other classes
 * are dropped to make room, and if that is not enough {@link #acquire} says no and the command waits.
 * Reactor thread only. Buffers come from automatic arenas: a dropped buffer (or a closed queue pair's) is
 * freed by the garbage collector once nothing refers to it, so a handler still holding one stays safe.
 */
final class DataBufferPool {
    static final int ALIGNMENT_BYTES = 4096;
    private static final int SMALLEST_CLASS_SHIFT = 12;

    /** A pooled buffer. {@code byteBuffer} is a view created once, for CRC32C without allocation. */
    static final class DataBuffer {
        final MemorySegment segment;
        final ByteBuffer byteBuffer;
        final int classIndex;
        MemorySegment[] chunkSlices;  // full C2HData chunks, made on first use and kept with the buffer
        boolean inUse;

        DataBuffer(MemorySegment segment, int classIndex) {
            this.segment = segment;
            this.byteBuffer = segment.asByteBuffer();
            this.classIndex = classIndex;
        }

        /** The first {@code bytes} bytes (the segment itself when they are all of it). */
        MemorySegment view(long bytes) {
            return bytes == segment.byteSize() ? segment : segment.asSlice(0, bytes);
        }

        /** Bytes [offset, offset + bytes) for a C2HData PDU of at most {@code chunkBytes}. */
        MemorySegment chunk(long offset, long bytes, int chunkBytes) {
            if (offset == 0 && bytes == segment.byteSize()) return segment;
            if (bytes != chunkBytes || offset % chunkBytes != 0) return segment.asSlice(offset, bytes);
            if (chunkSlices == null) chunkSlices = new MemorySegment[(int) (segment.byteSize() / chunkBytes)];
            int index = (int) (offset / chunkBytes);
            if (chunkSlices[index] == null) chunkSlices[index] = segment.asSlice(offset, bytes);
            return chunkSlices[index];
        }
    }

    private final ArrayDeque<DataBuffer>[] free;
    private final long bytesMax;
    private long heldBytes;
    private int inUseCount;
    private long allocations;

    @SuppressWarnings("unchecked")
    DataBufferPool(int largestBytes, long bytesMax) {
        Check.positive(largestBytes, "largestBytes");
        int classes = classIndex(largestBytes) + 1;
        this.free = new ArrayDeque[classes];
        for (int i = 0; i < classes; i++) free[i] = new ArrayDeque<>();
        this.bytesMax = bytesMax;
    }

    /** The size class that holds {@code bytes}: a power of two, at least 4 KiB. */
    static long classBytes(long bytes) {
        return 1L << (classIndex(bytes) + SMALLEST_CLASS_SHIFT);
    }

    private static int classIndex(long bytes) {
        long rounded = Math.max(bytes, ALIGNMENT_BYTES);
        int shift = 64 - Long.numberOfLeadingZeros(rounded - 1);
        return shift - SMALLEST_CLASS_SHIFT;
    }

    /**
     * A buffer of at least {@code bytes}, or null when the pool is at its limit (unless {@code force}: in-capsule
     * data has arrived already and must land somewhere; it is small and bounded by the command count).
     */
    DataBuffer acquire(long bytes, boolean force) {
        int index = classIndex(bytes);
        Check.that(index < free.length, "buffer within the largest class", bytes);
        DataBuffer buffer = free[index].pollFirst();
        if (buffer == null) {
            long size = 1L << (index + SMALLEST_CLASS_SHIFT);
            if (!makeRoom(size) && !force) return null;
            buffer = new DataBuffer(Arena.ofAuto().allocate(size, ALIGNMENT_BYTES), index);
            heldBytes += size;
            allocations++;
        }
        Check.that(!buffer.inUse, "a free buffer is not in use");
        buffer.inUse = true;
        inUseCount++;
        return buffer;
    }

    void release(DataBuffer buffer) {
        Check.that(buffer.inUse, "released buffer was in use");
        buffer.inUse = false;
        inUseCount--;
        free[buffer.classIndex].addFirst(buffer);
        if (heldBytes > bytesMax) makeRoom(0);  // a forced buffer took the pool over its limit: give it back
    }

    /** Drops free buffers (largest first) until {@code bytes} more fit; false if they cannot. */
    private boolean makeRoom(long bytes) {
        for (int i = free.length - 1; i >= 0 && heldBytes + bytes > bytesMax; i--) {
            while (heldBytes + bytes > bytesMax && !free[i].isEmpty()) {
                free[i].pollFirst();
                heldBytes -= 1L << (i + SMALLEST_CLASS_SHIFT);
            }
        }
        return heldBytes + bytes <= bytesMax;
    }

    int inUse() {
        return inUseCount;
    }

    long heldBytes() {
        return heldBytes;
    }

    /** Buffers allocated so far (grows only while the pool warms up). */
    long allocations() {
        return allocations;
    }
}
