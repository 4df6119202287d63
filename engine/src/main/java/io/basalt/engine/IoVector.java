package io.basalt.engine;

import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;

/**
 * A caller-owned, reusable list of buffers for one vectored request (a scatter-gather list). Channels read
 * it during the submitting call only, so the caller may clear and refill it as soon as submission returns;
 * the buffers themselves must stay valid until the completion.
 */
public final class IoVector {
    private final MemorySegment[] segments;
    private int count;
    private long totalBytes;

    public IoVector(int capacity) {
        Check.positive(capacity, "capacity");
        this.segments = new MemorySegment[capacity];
    }

    public IoVector clear() {
        for (int i = 0; i < count; i++) segments[i] = null;
        count = 0;
        totalBytes = 0;
        return this;
    }

    /** Adds a buffer; returns false when the vector is full. */
    public boolean add(MemorySegment segment) {
        if (count == segments.length) return false;
        segments[count++] = segment;
        totalBytes += segment.byteSize();
        return true;
    }

    public int count() { return count; }
    public int capacity() { return segments.length; }
    public long totalBytes() { return totalBytes; }

    public MemorySegment segment(int index) {
        Check.that(index >= 0 && index < count, "segment index in range", index);
        return segments[index];
    }

    /** OK, or MISALIGNED when a buffer's address or length is not a multiple of {@code blockBytes}. */
    public int checkAlignment(int blockBytes) {
        long mask = blockBytes - 1;
        for (int i = 0; i < count; i++) {
            MemorySegment s = segments[i];
            if (!s.isNative() || (s.address() & mask) != 0 || (s.byteSize() & mask) != 0 || s.byteSize() == 0) {
                return Status.MISALIGNED;
            }
        }
        return Status.OK;
    }
}
