package io.basalt.raid.volume;

import io.basalt.engine.Status;

import java.lang.foreign.MemorySegment;

/**
 * Coalescing of a {@link Raid5Channel}'s small writes: lets waiting writes of the channel to the same stripe join
 * the step about to be planned, so that a stream of small writes becomes one parity computation per stripe (a
 * full-stripe write with no reads when together they cover it) instead of one read-modify-write each.
 *
 * <p>A group is a leader (the slot whose step carries it) and its followers, slot indexes kept per leader: no
 * allocation. Owned by the channel's reactor thread.
 */
final class StripeCoalescer {
    /**
     * Fewest followers for a group that does not cover its whole stripe. A partial group's window is several
     * blocks, so its stripe-buffer pieces are slices made per step (about 40 bytes each, FFM cannot re-point a
     * segment); with 3 or more followers that cost is shared by 4 or more writes and a pair of random writes
     * that happen to be adjacent stays on the allocation-free one-block path. A full-stripe group slices
     * nothing (whole chunk buffers and start-up block slices).
     */
    static final int PARTIAL_FOLLOWERS_MIN = 3;

    private final Raid5Channel ch;
    private final Raid5Volume volume;
    /** The channel's reactor's table: only the stripes it orders gather followers. */
    private final StripeTable table;
    private final int chunkBlocks;
    private final long stripeBlocks;
    private final int blockBytes;
    private final byte[] ops;
    private final long[] lbas, blockCounts, cursors;
    private final int[] firstErrors;
    final int followersMax;
    /** Per slot: the leader whose step carries this request, or -1. */
    final int[] joinedTo;
    final int[] followerCounts;
    private final int[] followers;
    /** Per leader: the volume range [start, end) in blocks that the group covers. */
    final long[] groupStarts;
    final long[] groupEnds;
    /** Per slot: a small write's first plan waits for the next poll, so the writes submitted with it can join. */
    final boolean[] deferred;

    StripeCoalescer(Raid5Channel ch, int depth) {
        this.ch = ch;
        this.volume = ch.volume;
        this.table = ch.locks.table;
        this.chunkBlocks = ch.chunkBlocks;
        this.stripeBlocks = ch.stripeBlocks;
        this.blockBytes = ch.blockBytes;
        this.ops = ch.ops;
        this.lbas = ch.lbas;
        this.blockCounts = ch.blockCounts;
        this.cursors = ch.cursors;
        this.firstErrors = ch.firstErrors;
        followersMax = ch.opsPerSlot - ch.memberCount; // + a leader's data pieces (<= N - 1) + parity fits opsPerSlot
        joinedTo = new int[depth];
        followerCounts = new int[depth];
        followers = new int[depth * followersMax];
        groupStarts = new long[depth];
        groupEnds = new long[depth];
        deferred = new boolean[depth];
    }

    /** A new request in {@code slot}: alone, and a small write waits one poll for company. */
    void start(int slot) {
        joinedTo[slot] = -1;
        followerCounts[slot] = 0;
        deferred[slot] = ops[slot] == VolumeChannel.OP_WRITE && blockCounts[slot] < stripeBlocks;
    }

    /**
     * Gathers the followers of the step {@code slot} is about to plan on {@code stripe}, [stepStart, stepEnd).
     *
     * <p>A follower is a plain write (OP_WRITE) that has not started (cursor 0, nothing held), lies in this
     * stripe and in one chunk, and is adjacent to the range gathered so far, so the group stays one range and
     * the step's window, mode and parity work on it as on one request. Waiters are looked at oldest first; a
     * same-stripe waiter left out blocks any later one that overlaps it (the hull of those left out), so no
     * write overtakes an older one to the same blocks: per-stripe order is kept. Only stripes this reactor
     * orders (a remote stripe's waiters have their own lock requests out). Followers complete after the
     * leader's step, data and parity written ({@link #releaseFollowers}).
     */
    void gather(int slot, long stripe, long stepStart, long stepEnd) {
        followerCounts[slot] = 0;
        if (ops[slot] != VolumeChannel.OP_WRITE || ch.waitingCount() == 0 || volume.ownerOf(stripe) != table) return;
        long stripeStart = stripe * stripeBlocks, stripeEnd = stripeStart + stripeBlocks;
        long start = stepStart, end = stepEnd;
        long leftOutStart = Long.MAX_VALUE, leftOutEnd = Long.MIN_VALUE;
        int count = 0;
        int waiters = ch.waitingCount();
        for (int i = 0; i < waiters && count < followersMax; i++) {
            int f = ch.waitingSlot(i);
            long fStart = lbas[f] + cursors[f], fEnd = lbas[f] + blockCounts[f];
            if (f == slot || fEnd <= stripeStart || fStart >= stripeEnd || ops[f] == VolumeChannel.OP_FLUSH) continue;
            boolean joins = (fStart == end || fEnd == start) && canFollow(f, stripeStart, stripeEnd)
                    && (fEnd <= leftOutStart || fStart >= leftOutEnd);
            if (!joins) {
                leftOutStart = Math.min(leftOutStart, Math.max(fStart, stripeStart));
                leftOutEnd = Math.max(leftOutEnd, Math.min(fEnd, stripeEnd));
                continue;
            }
            followers[slot * followersMax + count++] = f;
            joinedTo[f] = slot;
            deferred[f] = false;
            if (fStart == end) end = fEnd;
            else start = fStart;
        }
        followerCounts[slot] = count;
        boolean fullStripe = start == stripeStart && end == stripeEnd;
        if (!fullStripe && count < PARTIAL_FOLLOWERS_MIN) {
            releaseFollowers(slot, false);
            return;
        }
        groupStarts[slot] = start;
        groupEnds[slot] = end;
    }

    private boolean canFollow(int f, long stripeStart, long stripeEnd) {
        long fStart = lbas[f], fEnd = lbas[f] + blockCounts[f];
        return ops[f] == VolumeChannel.OP_WRITE && cursors[f] == 0 && ch.phases[f] == Raid5Channel.PLAN && joinedTo[f] < 0
                && followerCounts[f] == 0 && firstErrors[f] == Status.OK && !ch.holdsStripe[f] && ch.stripeSets[f] < 0
                && ch.remoteLocks[f].state == RemoteLock.IDLE
                && fStart >= stripeStart && fEnd <= stripeEnd
                && (fStart - stripeStart) / chunkBlocks == (fEnd - 1 - stripeStart) / chunkBlocks;
    }

    /**
     * The leader's step ended (or was not planned): its followers wait on their own again; when the step was
     * done, they are done too (whole, with the step's error if any) and complete from the retry list.
     */
    void releaseFollowers(int slot, boolean done) {
        int count = followerCounts[slot];
        for (int j = 0; j < count; j++) {
            int f = followers[slot * followersMax + j];
            joinedTo[f] = -1;
            if (!done) continue;
            cursors[f] = blockCounts[f];
            if (firstErrors[f] == Status.OK) firstErrors[f] = firstErrors[slot];
            volume.count(Raid5Volume.COALESCED_WRITES);
        }
        followerCounts[slot] = 0;
    }

    /** The write phase of a group: each request's pieces from its own buffer, then (as alone) the parity. */
    void planGroupWrites(int slot) {
        addRangeWrites(slot, slot, lbas[slot] + cursors[slot], lbas[slot] + cursors[slot] + ch.stepBlocks[slot]);
        for (int j = 0; j < followerCounts[slot]; j++) {
            int f = followers[slot * followersMax + j];
            addRangeWrites(slot, f, lbas[f], lbas[f] + blockCounts[f]);
        }
        long stripe = ch.stepStripes[slot];
        int parity = ch.layout.parityDisk(stripe);
        // isWritable, not isActive: a rebuilding member is written too (docs/raid.md, "Sync jobs", rule 1), or a group
        // on a stripe the rebuild already passed leaves it stale (the model test found it: a coalesced burst during a rebuild)
        if (ch.modes[slot] != Raid5Channel.MODE_DATA_ONLY && volume.isWritable(parity)) {
            ch.addOp(slot, Raid5Channel.WRITE_BUFFER, parity, ch.memberLba(stripe, ch.windowStarts[slot]),
                    ch.windowEnds[slot] - ch.windowStarts[slot], 0);
        }
    }

    /** WRITE_JOINED pieces, one per chunk, of [startLba, endLba) in the step's stripe from {@code source}'s buffer. */
    private void addRangeWrites(int slot, int source, long startLba, long endLba) {
        long stripe = ch.stepStripes[slot];
        long stripeStart = stripe * stripeBlocks;
        for (long at = startLba; at < endLba; ) {
            int dataIndex = (int) ((at - stripeStart) / chunkBlocks);
            int row = (int) (at - stripeStart - (long) dataIndex * chunkBlocks);
            int blocks = (int) Math.min(endLba - at, chunkBlocks - row);
            int member = ch.layout.dataDisk(stripe, dataIndex);
            if (volume.isWritable(member)) { // a failed member's new data lives in the parity only; a rebuilding one is written
                ch.addOp(slot, Raid5Channel.WRITE_JOINED, member, ch.memberLba(stripe, row), blocks, at - lbas[source]);
                ch.opSources[slot * ch.opsPerSlot + ch.opCounts[slot] - 1] = source;
            }
            at += blocks;
        }
    }

    /** The group's caller memory at an absolute byte position of the volume: the run in whichever request holds it. */
    MemorySegment groupRun(int slot, long volumeOffsetBytes, long maxBytes) {
        for (int j = -1; j < followerCounts[slot]; j++) {
            int g = j < 0 ? slot : followers[slot * followersMax + j];
            long startBytes = lbas[g] * blockBytes, endBytes = startBytes + blockCounts[g] * blockBytes;
            if (volumeOffsetBytes < startBytes || volumeOffsetBytes >= endBytes) continue;
            return ch.sourcePiece(g, volumeOffsetBytes - startBytes, Math.min(maxBytes, endBytes - volumeOffsetBytes));
        }
        throw new IllegalStateException("volume offset " + volumeOffsetBytes + " outside the coalesced group of slot " + slot);
    }
}
