package io.basalt.raid.volume;

import io.basalt.engine.IoCompletion;
import io.basalt.engine.Status;
import io.basalt.raid.parity.Raid5Layout;
import io.basalt.raid.parity.Xor;
import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;

/**
 * A {@link Raid5Channel}'s sync steps (rebuild, resync, check, repair of one stripe, a {@link SyncJob} unit). A sync
 * step is a stripe step with its own op code and mode: it walks the channel's step machine like a write (PLAN takes
 * the stripe exclusively in its owner's table, so it never interleaves with a write of the stripe; READS reads every
 * member it trusts over the whole chunk rows; compute rebuilds the member being rebuilt, or compares / recomputes
 * the parity; WRITES writes the rebuilt chunk or the parity). Here: its plan and its compute.
 */
final class Raid5SyncSteps {
    /** A sync step's private op code (after VolumeChannel's). */
    static final byte OP_SYNC = 8;

    private final Raid5Channel ch;
    private final Raid5Volume volume;
    private final Raid5Layout layout;
    private final int memberCount, dataCount, chunkBlocks, blockBytes;
    private final long chunkBytes;
    /** Per slot: the SyncJob action of a sync step. */
    private final byte[] actions;
    /** The action of the sync step being submitted (read by {@link #start} inside {@link #sync}). */
    private byte nextAction;

    Raid5SyncSteps(Raid5Channel ch, int depth) {
        this.ch = ch;
        this.volume = ch.volume;
        this.layout = ch.layout;
        this.memberCount = ch.memberCount;
        this.dataCount = ch.dataCount;
        this.chunkBlocks = ch.chunkBlocks;
        this.blockBytes = ch.blockBytes;
        this.chunkBytes = ch.chunkBytes;
        this.actions = new byte[depth];
    }

    /** Starts the sync of one stripe as a step of its own; false when no slot is free. */
    boolean sync(long stripe, int action, long tag, IoCompletion done) {
        Check.that(stripe >= 0 && stripe < volume.unitCount(), "sync stripe in range", stripe);
        Check.that(action >= SyncJob.REBUILD && action <= SyncJob.REPAIR, "a sync action", action);
        nextAction = (byte) action;
        return ch.submitInternal(OP_SYNC, stripe, 1, tag, done);
    }

    void start(int slot) {
        actions[slot] = nextAction;
    }

    /** PLAN of a sync step: the stripe first; what to read is decided while it is held. */
    int plan(int slot) {
        long stripe = ch.lbas[slot];
        ch.stepStripes[slot] = stripe;
        ch.stepBlocks[slot] = 1; // one step: the request's "block count" is 1
        ch.windowStarts[slot] = 0;
        ch.windowEnds[slot] = chunkBlocks;
        ch.modes[slot] = Raid5Channel.MODE_SYNC;
        if (!ch.locks.take(slot, false)) return Raid5Channel.BUSY;
        int target = actions[slot] == SyncJob.REBUILD ? volume.rebuildingMember() : -1;
        if (actions[slot] == SyncJob.REBUILD && target < 0) {
            ch.firstErrors[slot] = Status.INVALID; // nothing rebuilds (failed meanwhile): ends with no I/O
            return Raid5Channel.PLANNED;
        }
        ch.rebuiltMembers[slot] = target;
        for (int m = 0; m < memberCount; m++) {
            if (m == target) continue;
            if (!volume.isActive(m)) { // a second member out: nothing to sync from
                ch.opCounts[slot] = 0;
                ch.firstErrors[slot] = Status.DEVICE_GONE;
                return Raid5Channel.PLANNED;
            }
            ch.addOp(slot, Raid5Channel.READ_BUFFER, m, ch.memberLba(stripe, 0), chunkBlocks, 0);
        }
        return Raid5Channel.PLANNED;
    }

    /** Compute of a sync step; true when it has writes to issue (planned here). */
    boolean afterReads(int slot) {
        long stripe = ch.stepStripes[slot];
        int set = ch.stripeSets[slot];
        int action = actions[slot];
        StripeBufferSets sets = ch.sets;
        MemorySegment[] sources = ch.parity.sources;
        ch.opCounts[slot] = 0;
        ch.opCursors[slot] = 0;
        if (action == SyncJob.REBUILD) {
            int target = ch.rebuiltMembers[slot];
            int count = 0;
            for (int m = 0; m < memberCount; m++) if (m != target) sources[count++] = sets.whole(set, m);
            Xor.parity(sets.whole(set, target), sources, count);
            ch.parity.clearSources();
            ch.addOp(slot, Raid5Channel.WRITE_BUFFER, target, ch.memberLba(stripe, 0), chunkBlocks, 0);
            return true;
        }
        int parity = layout.parityDisk(stripe);
        MemorySegment parityChunk = sets.whole(set, parity);
        if (action != SyncJob.RESYNC) {
            // P ^ D0 ^ ... is zero wherever the parity is right: count the blocks where it is not (md: mismatch_cnt).
            for (int i = 0; i < dataCount; i++) Xor.xorInto(parityChunk, sets.whole(set, layout.dataDisk(stripe, i)));
            long wrongBlocks = nonZeroBlocks(parityChunk);
            if (wrongBlocks > 0) volume.addMismatchSectors(wrongBlocks * (blockBytes / Raid5Layout.SECTOR_BYTES));
            if (action == SyncJob.CHECK || wrongBlocks == 0) return false;
        }
        for (int i = 0; i < dataCount; i++) sources[i] = sets.whole(set, layout.dataDisk(stripe, i));
        Xor.parity(parityChunk, sources, dataCount);
        ch.parity.clearSources();
        ch.addOp(slot, Raid5Channel.WRITE_BUFFER, parity, ch.memberLba(stripe, 0), chunkBlocks, 0);
        return true;
    }

    /** Blocks of a chunk buffer that are not all zeroes (compared with the zero chunk; no allocation). */
    private long nonZeroBlocks(MemorySegment chunk) {
        MemorySegment zeroes = ch.sets.zeroes;
        long count = 0;
        for (long at = 0; at < chunkBytes; ) {
            long relative = MemorySegment.mismatch(chunk, at, chunkBytes, zeroes, at, chunkBytes);
            if (relative < 0) break;
            count++;
            at = ((at + relative) / blockBytes + 1) * blockBytes;
        }
        return count;
    }
}
