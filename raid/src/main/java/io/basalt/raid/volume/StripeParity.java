package io.basalt.raid.volume;

import io.basalt.raid.parity.Raid5Layout;
import io.basalt.raid.parity.Xor;

import java.lang.foreign.MemorySegment;

/**
 * The parity math of a {@link Raid5Channel}'s steps, between their READS and WRITES phases: a degraded read's
 * rebuilt chunk, a write's new parity (read-modify-write, reconstruct-write, degraded), over the step's window in
 * its stripe-buffer set and the caller's memory. Allocation-free where the caller's buffer and the start-up
 * slices fit (see {@link StripeBufferSets#slice}). Owned by the channel's reactor thread.
 */
final class StripeParity {
    private final Raid5Channel ch;
    private final Raid5Layout layout;
    private final StripeBufferSets sets;
    private final int memberCount, dataCount, blockBytes;
    private final long chunkBytes;
    /** Scratch for Xor.parity's sources; cleared after each use so it holds no caller memory. */
    final MemorySegment[] sources;
    /** Scratch for Xor.parityOfChunks: where each data chunk of a full-stripe write sits in the request's buffer. */
    private final long[] chunkOffsetsBytes;

    StripeParity(Raid5Channel ch, StripeBufferSets sets) {
        this.ch = ch;
        this.layout = ch.layout;
        this.sets = sets;
        this.memberCount = ch.memberCount;
        this.dataCount = ch.dataCount;
        this.blockBytes = ch.blockBytes;
        this.chunkBytes = ch.chunkBytes;
        this.sources = new MemorySegment[Math.max(memberCount, dataCount)];
        this.chunkOffsetsBytes = new long[dataCount];
    }

    /** A degraded read: the failed chunk's rows are the XOR of the other members' same rows, into the caller's buffer. */
    void rebuildRead(int slot) {
        int failedIndex = ch.rebuiltIndexes[slot];
        int failed = layout.dataDisk(ch.stepStripes[slot], failedIndex);
        long lengthBytes = (long) (ch.coveredEnd(slot, failedIndex) - ch.coveredStart(slot, failedIndex)) * blockBytes;
        long requestOffsetBytes = ch.requestOffsetBlocks(slot, failedIndex) * blockBytes;
        int set = ch.stripeSets[slot];
        for (long done = 0; done < lengthBytes; ) {
            MemorySegment run = callerRun(slot, requestOffsetBytes + done, lengthBytes - done);
            int count = 0;
            for (int m = 0; m < memberCount; m++) if (m != failed) sources[count++] = sets.slice(set, m, done, run.byteSize());
            Xor.parity(run, sources, count);
            done += run.byteSize();
        }
        clearSources();
    }

    /** A write step's new parity over its window, into the parity member's stripe buffer. */
    void computeParity(int slot) {
        long stripe = ch.stepStripes[slot];
        int set = ch.stripeSets[slot];
        int parityMember = layout.parityDisk(stripe);
        int windowStart = ch.windowStarts[slot];
        long windowBytes = (long) (ch.windowEnds[slot] - windowStart) * blockBytes;
        if (ch.modes[slot] == Raid5Channel.MODE_RMW) {
            for (int i = 0; i < dataCount; i++) {
                if (!ch.touched(slot, i)) continue;
                long offsetBytes = (long) (ch.coveredStart(slot, i) - windowStart) * blockBytes;
                long lengthBytes = (long) (ch.coveredEnd(slot, i) - ch.coveredStart(slot, i)) * blockBytes;
                Xor.xorInto(sets.slice(set, parityMember, offsetBytes, lengthBytes),
                        sets.slice(set, layout.dataDisk(stripe, i), offsetBytes, lengthBytes));
                xorNewData(slot, set, parityMember, offsetBytes, ch.requestOffsetBlocks(slot, i) * blockBytes, lengthBytes);
            }
            return;
        }
        if (ch.modes[slot] == Raid5Channel.MODE_FULL) rebuildWindow(slot, windowBytes);
        MemorySegment parity = sets.slice(set, parityMember, 0, windowBytes);
        if (ch.ops[slot] == VolumeChannel.OP_WRITE && ch.coalescer.followerCounts[slot] == 0 && windowBytes == chunkBytes
                && allCoverWindow(slot)) {
            for (int i = 0; i < dataCount; i++) chunkOffsetsBytes[i] = ch.requestOffsetBlocks(slot, i) * blockBytes;
            Xor.parityOfChunks(parity, ch.buffers[slot], chunkOffsetsBytes, dataCount); // a full stripe from one buffer: one pass, no reads
            return;
        }
        parity.fill((byte) 0);
        for (int i = 0; i < dataCount; i++) {
            int member = layout.dataDisk(stripe, i);
            if (!ch.touched(slot, i)) {
                Xor.xorInto(parity, sets.slice(set, member, 0, windowBytes));
                continue;
            }
            long startBytes = (long) (ch.coveredStart(slot, i) - windowStart) * blockBytes;
            long endBytes = (long) (ch.coveredEnd(slot, i) - windowStart) * blockBytes;
            if (startBytes > 0) Xor.xorInto(sets.slice(set, parityMember, 0, startBytes), sets.slice(set, member, 0, startBytes));
            xorNewData(slot, set, parityMember, startBytes, ch.requestOffsetBlocks(slot, i) * blockBytes, endBytes - startBytes);
            if (endBytes < windowBytes) {
                Xor.xorInto(sets.slice(set, parityMember, endBytes, windowBytes - endBytes), sets.slice(set, member, endBytes, windowBytes - endBytes));
            }
        }
    }

    /** MODE_FULL: the failed data chunk's old rows over the window, from the survivors (old parity included). */
    private void rebuildWindow(int slot, long windowBytes) {
        int failed = ch.rebuiltMembers[slot];
        int set = ch.stripeSets[slot];
        int count = 0;
        for (int m = 0; m < memberCount; m++) if (m != failed) sources[count++] = sets.slice(set, m, 0, windowBytes);
        Xor.parity(sets.slice(set, failed, 0, windowBytes), sources, count);
        clearSources();
    }

    private boolean allCoverWindow(int slot) {
        for (int i = 0; i < dataCount; i++) if (!ch.coversWindow(slot, i)) return false;
        return true;
    }

    /** The set buffer of {@code member} [offset, +length) ^= the request's new data at requestOffset (nothing for write-zeroes). */
    private void xorNewData(int slot, int set, int member, long offsetBytes, long requestOffsetBytes, long lengthBytes) {
        if (ch.ops[slot] == VolumeChannel.OP_WRITE_ZEROES || ch.ops[slot] == VolumeChannel.OP_DISCARD) return;
        for (long done = 0; done < lengthBytes; ) {
            MemorySegment run = callerRun(slot, requestOffsetBytes + done, lengthBytes - done);
            Xor.xorInto(sets.slice(set, member, offsetBytes + done, run.byteSize()), run);
            done += run.byteSize();
        }
    }

    /** The longest piece of the caller's memory at a request offset that lies in one segment, up to maxBytes. */
    MemorySegment callerRun(int slot, long requestOffsetBytes, long maxBytes) {
        if (ch.coalescer.followerCounts[slot] > 0) {
            return ch.coalescer.groupRun(slot, (long) ch.lbas[slot] * blockBytes + requestOffsetBytes, maxBytes);
        }
        MemorySegment buffer = ch.buffers[slot];
        if (buffer != null) {
            return requestOffsetBytes == 0 && maxBytes == buffer.byteSize() ? buffer : buffer.asSlice(requestOffsetBytes, maxBytes);
        }
        MemorySegment[] kept = ch.segments[slot];
        long skip = requestOffsetBytes;
        for (int i = 0; i < ch.segmentCounts[slot]; i++) {
            long size = kept[i].byteSize();
            if (skip < size) {
                long take = Math.min(size - skip, maxBytes);
                return skip == 0 && take == size ? kept[i] : kept[i].asSlice(skip, take);
            }
            skip -= size;
        }
        throw new IllegalStateException("request offset " + requestOffsetBytes + " beyond the caller's segments");
    }

    void clearSources() {
        for (int i = 0; i < sources.length; i++) sources[i] = null;
    }
}
