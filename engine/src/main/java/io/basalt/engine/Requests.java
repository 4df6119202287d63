package io.basalt.engine;

import java.lang.foreign.MemorySegment;

/** Checks every channel runs before it touches a device: range, size, alignment. */
public final class Requests {
    private Requests() {}

    /** OK, or why a one-buffer transfer of {@code blockCount} blocks at {@code lba} is refused. */
    public static int check(Geometry g, long lba, int blockCount, MemorySegment buffer) {
        int range = g.checkRange(lba, blockCount);
        if (range != Status.OK) return range;
        if (blockCount > g.maxTransferBlocks()) return Status.INVALID;
        long mask = g.logicalBlockBytes() - 1;
        if (!buffer.isNative() || (buffer.address() & mask) != 0
                || buffer.byteSize() != (long) blockCount * g.logicalBlockBytes()) {
            return Status.MISALIGNED;
        }
        return Status.OK;
    }

    /** As {@link #check(Geometry, long, int, MemorySegment)} for a vector of buffers. */
    public static int check(Geometry g, long lba, int blockCount, IoVector buffers) {
        int range = g.checkRange(lba, blockCount);
        if (range != Status.OK) return range;
        if (blockCount > g.maxTransferBlocks() || buffers.count() == 0 || buffers.count() > g.maxSegments()) {
            return Status.INVALID;
        }
        int alignment = buffers.checkAlignment(g.logicalBlockBytes());
        if (alignment != Status.OK) return alignment;
        if (buffers.totalBytes() != (long) blockCount * g.logicalBlockBytes()) return Status.MISALIGNED;
        return Status.OK;
    }

    /** As {@link #check(Geometry, long, int, IoVector)}, and INVALID for write flags {@link BlockChannel} does not know. */
    public static int check(Geometry g, long lba, int blockCount, IoVector buffers, int writeFlags) {
        if ((writeFlags & ~BlockChannel.WRITE_FLAGS_KNOWN) != 0) return Status.INVALID;
        return check(g, lba, blockCount, buffers);
    }

    /** OK, or why a DISCARD / WRITE_ZEROES of {@code blockCount} blocks at {@code lba} is refused. */
    public static int checkRange(Geometry g, long lba, long blockCount) {
        return g.checkRange(lba, blockCount);
    }
}
