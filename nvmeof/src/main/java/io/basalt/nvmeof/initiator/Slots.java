package io.basalt.nvmeof.initiator;

import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;

import java.lang.foreign.MemorySegment;

/** A channel's command slots (slot index = CID): preallocated, a free stack, the caller's buffers copied in. */
final class Slots {
    private final int[] free;
    private int freeCount;
    private final boolean[] busy;
    private final int[] opcodes;
    private final long[] tags;
    private final long[] bytes;
    private final long[] deadlinesNs;
    private final IoCompletion[] completions;
    private final MemorySegment[][] segments;
    private final int[] segmentCounts;
    private final boolean[] dataDigestFailed;

    Slots(int depth, int segmentsMax) {
        free = new int[depth];
        for (int i = 0; i < depth; i++) free[i] = depth - 1 - i;
        freeCount = depth;
        busy = new boolean[depth];
        opcodes = new int[depth];
        tags = new long[depth];
        bytes = new long[depth];
        deadlinesNs = new long[depth];
        completions = new IoCompletion[depth];
        segments = new MemorySegment[depth][segmentsMax];
        segmentCounts = new int[depth];
        dataDigestFailed = new boolean[depth];
    }

    int take() {
        if (freeCount == 0) return -1;
        int slot = free[--freeCount];
        busy[slot] = true;
        return slot;
    }

    void fill(int slot, int opcode, long tag, IoCompletion completion, MemorySegment buffer, IoVector vector, long byteCount,
              long deadlineNs) {
        deadlinesNs[slot] = deadlineNs;
        dataDigestFailed[slot] = false;
        opcodes[slot] = opcode;
        tags[slot] = tag;
        completions[slot] = completion;
        bytes[slot] = byteCount;
        int n = 0;
        if (buffer != null) {
            segments[slot][n++] = buffer;
        } else if (vector != null) {
            for (int i = 0; i < vector.count(); i++) segments[slot][n++] = vector.segment(i);
        }
        segmentCounts[slot] = n;
    }

    void release(int slot) {
        busy[slot] = false;
        completions[slot] = null;
        for (int i = 0; i < segmentCounts[slot]; i++) segments[slot][i] = null;
        segmentCounts[slot] = 0;
        free[freeCount++] = slot;
    }

    /** Some of this command's data arrived with a wrong data digest: it fails whatever the target's status. */
    void failDataDigest(int slot) {
        dataDigestFailed[slot] = true;
    }

    boolean dataDigestFailed(int slot) { return dataDigestFailed[slot]; }
    boolean busy(int slot) { return slot >= 0 && slot < busy.length && busy[slot]; }
    int opcode(int slot) { return opcodes[slot]; }
    long tag(int slot) { return tags[slot]; }
    long bytes(int slot) { return bytes[slot]; }
    long deadlineNs(int slot) { return deadlinesNs[slot]; }
    IoCompletion completion(int slot) { return completions[slot]; }
    int segmentCount(int slot) { return segmentCounts[slot]; }
    MemorySegment segment(int slot, int i) { return segments[slot][i]; }

    /** Receives one piece of a byte range of a slot's buffers; false stops the walk. */
    interface RangeSink {
        /** @param rangeOffsetBytes where this piece starts within the range walked */
        boolean accept(int slot, MemorySegment segment, long fromBytes, long lengthBytes, long rangeOffsetBytes);
    }

    /**
     * Walks bytes [offset, offset + length) of a slot's buffers in order, one call per buffer the range touches (the
     * one walk behind sending data, its digest, and copying received data in); false as soon as the sink refuses.
     */
    boolean forEachRange(int slot, long offsetBytes, long lengthBytes, RangeSink sink) {
        long base = 0;
        long done = 0;
        for (int i = 0; i < segmentCounts[slot] && done < lengthBytes; i++) {
            MemorySegment seg = segments[slot][i];
            long size = seg.byteSize();
            long at = offsetBytes + done;
            if (at < base + size) {
                long from = at - base;
                long take = Math.min(size - from, lengthBytes - done);
                if (!sink.accept(slot, seg, from, take, done)) return false;
                done += take;
            }
            base += size;
        }
        return true;
    }
}
