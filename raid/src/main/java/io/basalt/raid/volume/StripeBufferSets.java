package io.basalt.raid.volume;

import io.basalt.shims.Check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A {@link Raid5Channel}'s stripe buffers: sets of one buffer per member that a step reads old data and parity
 * into and computes the new parity in. Two kinds, in one slab allocated at start-up (never per I/O):
 * <ul>
 *   <li>shared chunk sets, [0, {@link #sharedSets}): one chunk per member, taken by a step whose window is more
 *       than one block (a full stripe, a large write) and given back when the step ends; an empty pool means the
 *       step waits (parks), never an allocation;</li>
 *   <li>per request slot, set {@code sharedSets + slot}: one block per member ({@link #SLOT_SET_BLOCKS}), for a step
 *       whose window is one block (a 4 KiB write, a degraded 4 KiB read), which therefore never waits for a set.</li>
 * </ul>
 * Owned by the channel's reactor thread.
 */
final class StripeBufferSets {
    /**
     * Shared stripe-buffer sets per channel, each one chunk per member: at least 16, more for small chunks up
     * to {@link #SHARED_SETS_BYTES} (and the queue depth). A set is held by every step whose window is more
     * than one block (a full stripe, a large write), so the sets bound those in flight: 16 sets of a 16 KiB
     * chunk kept 48 KiB full-stripe writes at 0.14 of the members' bandwidth (docs/raid.md, "Profile").
     */
    static final int STRIPE_SETS_MAX = 16;
    /** With a partial parity log a step holds its set while it is logged too: twice the sets keep QD32 busy. */
    static final int PPL_STRIPE_SETS_MAX = 32;
    static final long SHARED_SETS_BYTES = 8L << 20;
    /**
     * Per request slot, a set of one block per member: a step whose window is one block (a 4 KiB write or a
     * degraded 4 KiB read, the random small I/O) uses its slot's own and never waits for one of the 16 shared
     * chunk sets. Without them 16 sets capped a channel at 16 small writes in flight: 4k random writes at
     * QD 128 ran at 0.14-0.28 of N x W / 4 (docs/raid.md, "Profile").
     */
    static final int SLOT_SET_BLOCKS = 1;
    static final int BLOCK_SLICES_MAX = 1 << 16;

    private final int blockBytes;
    private final MemorySegment[][] setBuffers;
    /**
     * One-block slices of every set buffer, made at start-up, so that a 4 KiB write's member requests and
     * parity math find their slices here instead of allocating (FFM cannot re-point a segment). Null when
     * there would be more than {@link #BLOCK_SLICES_MAX} of them.
     */
    private final MemorySegment[][][] blockSlices;
    /**
     * Prefixes [0, k blocks) of every shared set buffer, made at start-up like {@link #blockSlices}: a step's
     * stripe buffers are window-relative, so a reconstruct-write's reads, its parity and a one-chunk group's
     * pieces all start at offset 0. Null when there would be more than {@link #BLOCK_SLICES_MAX}.
     */
    private final MemorySegment[][][] prefixSlices;
    private final int[] freeSets;
    private int freeSetCount;
    /** Sets [0, sharedSets) are the shared chunk sets; set sharedSets + slot is the slot's own one-block set. */
    final int sharedSets;
    /** A zero chunk: the data of a write-zeroes, and what a sync check compares parity with. */
    final MemorySegment zeroes;
    /** Shared sets given back so far (a parked step waits for this or a stripe unlock to move). */
    long releaseCount;

    StripeBufferSets(int depth, int memberCount, int chunkBlocks, int blockBytes, boolean ppl) {
        this.blockBytes = blockBytes;
        long chunkBytes = (long) chunkBlocks * blockBytes;
        int sets = (int) Math.min(depth, Math.max(ppl ? PPL_STRIPE_SETS_MAX : STRIPE_SETS_MAX,
                SHARED_SETS_BYTES / (chunkBytes * memberCount)));
        this.sharedSets = sets;
        long slotSetBytes = (long) SLOT_SET_BLOCKS * blockBytes;
        long sharedBytes = chunkBytes * memberCount * sets;
        // Start-up allocation: freed with the channel by the GC (an automatic arena), never per I/O.
        Arena arena = Arena.ofAuto();
        MemorySegment slab = arena.allocate(sharedBytes + chunkBytes + slotSetBytes * memberCount * depth, 4096);
        setBuffers = new MemorySegment[sets + depth][memberCount];
        freeSets = new int[sets];
        for (int s = 0; s < sets; s++) {
            for (int m = 0; m < memberCount; m++) setBuffers[s][m] = slab.asSlice(((long) s * memberCount + m) * chunkBytes, chunkBytes);
            freeSets[freeSetCount++] = s;
        }
        for (int d = 0; d < depth; d++) {
            for (int m = 0; m < memberCount; m++) {
                setBuffers[sets + d][m] = slab.asSlice(sharedBytes + chunkBytes + ((long) d * memberCount + m) * slotSetBytes, slotSetBytes);
            }
        }
        boolean sliced = (long) sets * memberCount * chunkBlocks <= BLOCK_SLICES_MAX;
        blockSlices = sliced ? new MemorySegment[sets][memberCount][chunkBlocks] : null;
        prefixSlices = sliced ? new MemorySegment[sets][memberCount][chunkBlocks] : null;
        for (int s = 0; sliced && s < sets; s++) {
            for (int m = 0; m < memberCount; m++) {
                for (int b = 0; b < chunkBlocks; b++) {
                    blockSlices[s][m][b] = setBuffers[s][m].asSlice((long) b * blockBytes, blockBytes);
                    prefixSlices[s][m][b] = setBuffers[s][m].asSlice(0, (long) (b + 1) * blockBytes);
                }
            }
        }
        zeroes = slab.asSlice(sharedBytes, chunkBytes); // allocate() zeroes it
    }

    /** Whether a step whose window is {@code windowBlocks} fits its slot's own one-block set. */
    static boolean fitsSlotSet(int windowBlocks) {
        return windowBlocks <= SLOT_SET_BLOCKS;
    }

    /** Whether a step with this window can have a set now. */
    boolean available(int windowBlocks) {
        return fitsSlotSet(windowBlocks) || freeSetCount > 0;
    }

    /** The set for {@code slot}'s step: its own when the window fits, else a shared one ({@link #available} first). */
    int take(int slot, int windowBlocks) {
        if (fitsSlotSet(windowBlocks)) return sharedSets + slot;
        Check.that(freeSetCount > 0, "a shared stripe-buffer set is free", slot);
        return freeSets[--freeSetCount];
    }

    /** A step ended: its set goes back (a slot's own set is simply kept). */
    void release(int set) {
        if (set < 0 || set >= sharedSets) return;
        freeSets[freeSetCount++] = set;
        releaseCount++;
    }

    /** The whole buffer of {@code member} in {@code set}. */
    MemorySegment whole(int set, int member) {
        return setBuffers[set][member];
    }

    /** [offset, +length) of a set buffer: the whole buffer or a start-up block slice where one fits, else a new slice. */
    MemorySegment slice(int set, int member, long offsetBytes, long lengthBytes) {
        MemorySegment whole = setBuffers[set][member];
        if (offsetBytes == 0 && lengthBytes == whole.byteSize()) return whole;
        if (lengthBytes == blockBytes && blockSlices != null && set < sharedSets) return blockSlices[set][member][(int) (offsetBytes / blockBytes)];
        if (offsetBytes == 0 && prefixSlices != null && set < sharedSets && lengthBytes % blockBytes == 0) {
            return prefixSlices[set][member][(int) (lengthBytes / blockBytes) - 1];
        }
        return whole.asSlice(offsetBytes, lengthBytes);
    }
}
