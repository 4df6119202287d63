package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.raid.parity.Raid5Layout;
import io.basalt.raid.parity.Xor;
import io.basalt.shims.Check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;

/**
 * A {@link Raid5Volume}'s channel on one reactor. A request is worked one stripe at a time ("a step"); each
 * step walks PLAN -> READS -> (compute) -> WRITES -> PLAN of the next stripe:
 *
 * <pre>
 *   read, healthy chunk     READS: one member read per touched chunk, into the caller's buffer (no copy)
 *   read, failed chunk      READS: the other members' rows into stripe buffers; compute: XOR into the caller's buffer
 *   write, full stripe      compute: P = XOR of the new data (Xor.parity); WRITES: data + P
 *   write, read-modify      READS: old P over the window, old data of touched chunks; compute: P ^= oldD ^ newD
 *   write, reconstruct      READS: the other chunks over the window; compute: P = XOR of new and old data
 *   write, degraded         parity member failed: data only. Touched chunk failed: read every survivor over the
 *                           window, rebuild the missing chunk, then P as reconstruct-write (the missing chunk's
 *                           new data lives in P only)
 * </pre>
 *
 * The window is the rows (offsets in a chunk) that the step touches in any chunk. Read-modify-write costs
 * 1 + touched chunks reads, reconstruct-write one read per chunk the step does not cover over the whole
 * window; the cheaper wins (ties: reconstruct-write, which is also the full-stripe case at zero reads).
 *
 * <p>Ordering: a step that writes takes its stripe exclusively in the table of stripes in progress of the
 * stripe's owner (the channel of reactor stripe mod reactors, see {@link Raid5Volume#ownerOf}); a step that
 * reconstructs a read takes it shared. When this channel is the owner that is a table look-up; otherwise a
 * {@link RemoteLock} command goes to the owner's reactor and back (lock, grant; release, released), and the
 * member I/O still runs here. A request that finds its stripe taken waits in
 * the retry list, polled every reactor cycle (accepted, never refused: only a full slot table refuses). A step holds at most one stripe and one
 * stripe-buffer set and takes the set after the stripe, releasing the stripe if no set is free: no
 * hold-and-wait, no deadlock. Stripe buffers come from a pool preallocated per channel; an empty pool means
 * wait, never allocate.
 *
 * <p>A member error of a read phase fails the member and re-plans the step (now degraded); of a write phase it
 * fails the member and the write still succeeds (its data is in the parity) unless that was a second failure.
 */
final class Raid5Channel extends VolumeChannel {
    /** LOG: the step's partial parity is being made durable in the PPL (between compute and WRITES). */
    private static final byte PLAN = 0, READS = 1, WRITES = 2, LOG = 3;
    private static final byte MODE_READ = 0, MODE_FLUSH = 1, MODE_DATA_ONLY = 2, MODE_RMW = 3, MODE_RCW = 4, MODE_FULL = 5;
    private static final byte READ_DIRECT = 1, READ_BUFFER = 2, WRITE_DATA = 3, WRITE_BUFFER = 4, FLUSH = 5;
    /** A data write from another slot's buffer (a coalesced follower's, or the leader's own), tagged with the leader. */
    private static final byte WRITE_JOINED = 6;
    /**
     * Fewest followers for a group that does not cover its whole stripe. A partial group's window is several
     * blocks, so its stripe-buffer pieces are slices made per step (about 40 bytes each, FFM cannot re-point a
     * segment); with 3 or more followers that cost is shared by 4 or more writes and a pair of random writes
     * that happen to be adjacent stays on the allocation-free one-block path. A full-stripe group slices
     * nothing (whole chunk buffers and start-up block slices).
     */
    static final int PARTIAL_FOLLOWERS_MIN = 3;
    private static final int PLANNED = 0, BUSY = 1, ENDED = 2;
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
    /** Chunk pieces one healthy read step sends at once (a step may then span stripes). */
    static final int READ_PIECES_MAX = 32;

    private final Raid5Volume volume;
    private final Raid5Layout layout;
    private final int memberCount;
    private final int dataCount;
    private final int chunkBlocks;
    private final long chunkBytes;
    private final long stripeBlocks;
    private final int opsPerSlot;

    // Per slot: the step.
    private final byte[] phases;
    private final byte[] modes;
    private final long[] stepBlocks;
    private final long[] stepStripes;
    private final int[] windowStarts;
    private final int[] windowEnds;
    /** Data index of the failed chunk that a read step rebuilds, or -1. */
    private final int[] rebuiltIndexes;
    /** The failed member a degraded write (MODE_FULL) rebuilds over the window. */
    private final int[] rebuiltMembers;
    private final int[] stripeSets;
    private final boolean[] holdsStripe;
    private final boolean[] restarts;
    // Per slot: the member requests of the current phase.
    private final int[] opCounts;
    private final int[] opCursors;
    private final byte[] opKinds;
    private final int[] opMembers;
    private final long[] opMemberLbas;
    private final int[] opBlockCounts;
    /** The piece's offset in the request (READ_DIRECT, WRITE_DATA) or in the stripe buffer (the others), in blocks. */
    private final long[] opOffsets;

    // Stripes in progress: a dense table, scanned (at most queue-depth entries).
    private final long[] lockedStripes;
    /** Readers (> 0) or -1 for the one writer. */
    private final int[] lockHolders;
    private int lockedCount;

    /** Per slot: the one command that carries its lock, grant and release to and from a remote owner. */
    private final RemoteLock[] remoteLocks;
    /** Whether the slot's stripe is held at a remote owner (else, when holdsStripe, in this table). */
    private final boolean[] holdsRemote;
    /** As owner: remote requests waiting for a stripe, FIFO; and answers a full command queue refused. */
    private final ArrayDeque<RemoteLock> remoteWaiters;
    private final ArrayDeque<RemoteLock> outbound;

    // Coalescing (see gather): a leader's followers, and the stripe range the group covers.
    private final int followersMax;
    /** Per slot: the leader whose step carries this request, or -1. */
    private final int[] joinedTo;
    private final int[] followerCounts;
    private final int[] followers;
    private final long[] groupStarts;
    private final long[] groupEnds;
    /** Per slot: a small write's first plan waits for the next poll, so the writes submitted with it can join. */
    private final boolean[] deferred;
    /**
     * Stripe unlocks and shared-set releases on this channel so far. A step that could not take its local
     * stripe or a set parks with the count it saw and is not planned again until the count moves: the retry
     * list is polled every reactor cycle, and re-planning a parked step each time (N volatile member-state reads
     * and the window scan) was a third of a busy reactor's samples under 4k random writes (docs/raid.md, "Profile").
     */
    private long releases;
    private final long[] parkedAt;
    private final boolean[] parked;
    /** Per member request: the slot whose buffer a WRITE_JOINED writes from. */
    private final int[] opSources;

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
    private final int sharedSets;
    private final MemorySegment zeroes;
    private final MemorySegment[] sources;
    /** DISCARD of whole stripes as full-stripe steps whose writes are member discards (the request state is the superclass's). */
    private final Raid5Discard discard = new Raid5Discard((Raid5Volume) device, lbas, blockCounts, cursors, firstErrors);

    // PPL: the log (on the volume's first channel only, else null), whether the volume logs at all, whether the
    // slot's step went through the log, the members the step wrote, the slot's log messages and their FIFO out.
    private final PartialParityLog ppl;
    private final boolean pplOn;
    private final BlockChannel[] pplChannels;
    private final boolean[] logged;
    private final long[] writtenMembers;
    private final PartialParityLog.Request[] pplAppends, pplEnds;
    private final ArrayDeque<PartialParityLog.Request> pplOutbound;

    Raid5Channel(Raid5Volume volume, Reactor reactor, BlockChannel[] members, BlockChannel[] pplChannels) {
        super(volume, reactor, members);
        this.volume = volume;
        this.layout = volume.layout();
        this.memberCount = members.length;
        this.dataCount = memberCount - 1;
        this.chunkBlocks = volume.chunkBlocks();
        this.chunkBytes = (long) chunkBlocks * blockBytes;
        this.stripeBlocks = (long) chunkBlocks * dataCount;
        this.opsPerSlot = Math.max(2 * memberCount, READ_PIECES_MAX);
        int depth = queueDepthMax();
        phases = new byte[depth];
        modes = new byte[depth];
        stepBlocks = new long[depth];
        stepStripes = new long[depth];
        windowStarts = new int[depth];
        windowEnds = new int[depth];
        rebuiltIndexes = new int[depth];
        rebuiltMembers = new int[depth];
        stripeSets = new int[depth];
        holdsStripe = new boolean[depth];
        restarts = new boolean[depth];
        opCounts = new int[depth];
        opCursors = new int[depth];
        opKinds = new byte[depth * opsPerSlot];
        opMembers = new int[depth * opsPerSlot];
        opMemberLbas = new long[depth * opsPerSlot];
        opBlockCounts = new int[depth * opsPerSlot];
        opOffsets = new long[depth * opsPerSlot];
        opSources = new int[depth * opsPerSlot];
        followersMax = opsPerSlot - memberCount; // + a leader's data pieces (<= N - 1) + parity fits opsPerSlot
        joinedTo = new int[depth];
        followerCounts = new int[depth];
        followers = new int[depth * followersMax];
        groupStarts = new long[depth];
        groupEnds = new long[depth];
        deferred = new boolean[depth];
        parkedAt = new long[depth];
        parked = new boolean[depth];
        int tableMax = depth * Raid5Volume.OWNERS_MAX; // this reactor's slots and every other reactor's
        lockedStripes = new long[tableMax];
        lockHolders = new int[tableMax];
        remoteLocks = new RemoteLock[depth];
        for (int i = 0; i < depth; i++) remoteLocks[i] = new RemoteLock(this);
        holdsRemote = new boolean[depth];
        remoteWaiters = new ArrayDeque<>(tableMax);
        outbound = new ArrayDeque<>(tableMax);
        int sets = (int) Math.min(depth, Math.max(volume.ppl() != null ? PPL_STRIPE_SETS_MAX : STRIPE_SETS_MAX,
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
        blockSlices = (long) sets * memberCount * chunkBlocks > BLOCK_SLICES_MAX ? null : new MemorySegment[sets][memberCount][chunkBlocks];
        if (blockSlices != null) {
            for (int s = 0; s < sets; s++) {
                for (int m = 0; m < memberCount; m++) {
                    for (int b = 0; b < chunkBlocks; b++) blockSlices[s][m][b] = setBuffers[s][m].asSlice((long) b * blockBytes, blockBytes);
                }
            }
        }
        prefixSlices = blockSlices == null ? null : new MemorySegment[sets][memberCount][chunkBlocks];
        if (prefixSlices != null) {
            for (int s = 0; s < sets; s++) {
                for (int m = 0; m < memberCount; m++) {
                    for (int b = 0; b < chunkBlocks; b++) prefixSlices[s][m][b] = setBuffers[s][m].asSlice(0, (long) (b + 1) * blockBytes);
                }
            }
        }
        zeroes = slab.asSlice(chunkBytes * memberCount * sets, chunkBytes); // allocate() zeroes it
        sources = new MemorySegment[Math.max(memberCount, dataCount)];
        this.pplChannels = pplChannels;
        pplOn = volume.ppl() != null;
        logged = new boolean[depth];
        writtenMembers = new long[depth];
        pplAppends = new PartialParityLog.Request[pplOn ? depth : 0];
        pplEnds = new PartialParityLog.Request[pplOn ? depth : 0];
        for (int i = 0; i < pplAppends.length; i++) {
            pplAppends[i] = new PartialParityLog.Request(this, i);
            pplEnds[i] = new PartialParityLog.Request(this, i);
        }
        pplOutbound = new ArrayDeque<>(pplOn ? 2 * depth * Raid5Volume.OWNERS_MAX : 0);
        ppl = pplChannels == null ? null : new PartialParityLog(this, volume, pplChannels, members, depth, blockBytes,
                volume.ppl().signature());
    }

    /** This channel's log (it is the volume's log owner), else null. */
    PartialParityLog pplLog() {
        return ppl;
    }

    /** Posts a PPL message to another reactor, in order behind any refused earlier (they wait in the FIFO). */
    void pplPost(Raid5Channel target, PartialParityLog.Request request) {
        request.target = target;
        if (!pplOutbound.isEmpty() || !target.reactor.post(request)) pplOutbound.addLast(request);
    }

    /** A replaced member's log area, for the log writer (the same array the PartialParityLog writes through). */
    @Override
    protected void onMemberSwapped(int index) {
        if (pplChannels == null) return;
        BlockChannel old = pplChannels[index];
        pplChannels[index] = volume.ppl().devices().get(index).openChannel(reactor);
        if (old != null) old.close();
        if (ppl != null) ppl.memberReplaced(index);
    }

    @Override
    protected void onReleased() {
        if (pplChannels != null) for (BlockChannel c : pplChannels) if (c != null) c.close();
    }

    @Override
    protected void startSlot(int slot) {
        phases[slot] = PLAN;
        stripeSets[slot] = -1;
        holdsStripe[slot] = false;
        restarts[slot] = false;
        opCounts[slot] = 0;
        opCursors[slot] = 0;
        if (ops[slot] == OP_SYNC) syncActions[slot] = nextSyncAction;
        joinedTo[slot] = -1;
        followerCounts[slot] = 0;
        parked[slot] = false;
        deferred[slot] = ops[slot] == OP_WRITE && blockCounts[slot] < stripeBlocks;
    }

    @Override
    protected boolean deviceClosed() {
        return volume.isClosed();
    }

    /** A request waiting for its stripe, a stripe-buffer set or a member queues; only a full slot table refuses. */
    @Override
    protected boolean queuesWhenRefused() {
        return true;
    }

    @Override
    protected int finalStatus(int slot) {
        return firstErrors[slot];
    }

    // ------------------------------------------------------------------ the step machine

    @Override
    protected boolean advance(int slot) {
        if (deferred[slot]) { // queued, planned by the next poll together with the writes submitted after it
            deferred[slot] = false;
            return false;
        }
        while (true) {
            if (phases[slot] == PLAN) {
                int planned = plan(slot);
                if (planned == BUSY) return false;
                if (planned == ENDED) return true;
                phases[slot] = READS;
            }
            if (!issue(slot)) return false;
            if (pending[slot] > 0) return true; // onPiece resumes when the last one completes
            afterPhase(slot);
        }
    }

    @Override
    protected void onPiece(int slot, int member, int status) {
        if (status != Status.OK) {
            if (Raid1Volume.isMemberFault(status)) {
                volume.markFailed(member);
                if (phases[slot] == READS) restarts[slot] = true;
            } else if (firstErrors[slot] == Status.OK) {
                firstErrors[slot] = status;
            }
        }
        if (pending[slot] == 0 && opCursors[slot] == opCounts[slot]) {
            afterPhase(slot);
            resume(slot);
        }
    }

    /** All member requests of the phase completed: compute, then write, or end the step. */
    private void afterPhase(int slot) {
        Check.that(phases[slot] != PLAN, "a phase was running", slot);
        if (phases[slot] == LOG) { // durable in the PPL (or the log member failed: the parity write is then skipped)
            if (firstErrors[slot] != Status.OK) {
                endStep(slot, false);
                return;
            }
            planWrites(slot);
            phases[slot] = WRITES;
            return;
        }
        if (phases[slot] == READS && !restarts[slot] && firstErrors[slot] == Status.OK) {
            byte mode = modes[slot];
            if (mode == MODE_SYNC) {
                if (afterSyncReads(slot)) phases[slot] = WRITES;
                else endStep(slot, true);
                return;
            }
            if (mode == MODE_READ) {
                if (rebuiltIndexes[slot] >= 0) rebuildRead(slot);
            } else if (mode != MODE_FLUSH) {
                if (mode != MODE_DATA_ONLY) computeParity(slot);
                if (pplOn && mode != MODE_DATA_ONLY && volume.isWritable(layout.parityDisk(stepStripes[slot]))) { // a rebuilding parity member logs too
                    enterLog(slot);
                    return;
                }
                planWrites(slot);
                phases[slot] = WRITES;
                return;
            }
            endStep(slot, true);
            return;
        }
        if (phases[slot] == WRITES && volume.isFailed() && firstErrors[slot] == Status.OK) firstErrors[slot] = Status.IO_ERROR;
        boolean restart = restarts[slot];
        restarts[slot] = false;
        endStep(slot, !restart);
    }

    private void endStep(int slot, boolean done) {
        if (logged[slot]) {
            logged[slot] = false;
            Raid5Channel owner = volume.pplOwner();
            if (owner == this) {
                ppl.stepEnded(layout.parityDisk(stepStripes[slot]), stepStripes[slot], writtenMembers[slot]);
            } else {
                PartialParityLog.Request end = pplEnds[slot];
                end.parity = layout.parityDisk(stepStripes[slot]);
                end.stripe = stepStripes[slot];
                end.written = writtenMembers[slot];
                end.state = PartialParityLog.Request.ENDED_SENT;
                pplPost(owner, end);
            }
        }
        if (holdsStripe[slot] && holdsRemote[slot]) {
            remoteLocks[slot].state = RemoteLock.RELEASE_PENDING; // the next plan sends it and waits for the answer
        } else if (holdsStripe[slot]) {
            unlock(stepStripes[slot]);
        }
        holdsStripe[slot] = false;
        holdsRemote[slot] = false;
        releaseFollowers(slot, done);
        if (stripeSets[slot] >= 0 && stripeSets[slot] < sharedSets) {
            freeSets[freeSetCount++] = stripeSets[slot];
            releases++;
        }
        stripeSets[slot] = -1;
        if (done) cursors[slot] += stepBlocks[slot];
        phases[slot] = PLAN;
        opCounts[slot] = 0;
        opCursors[slot] = 0;
    }

    /** Submits the phase's member requests from its cursor; false when a member refused one. */
    private boolean issue(int slot) {
        int base = slot * opsPerSlot;
        while (opCursors[slot] < opCounts[slot]) {
            int k = base + opCursors[slot];
            int member = opMembers[k];
            BlockChannel channel = members[member];
            long tag = memberTag(slot, member);
            long lba = opMemberLbas[k];
            int blocks = opBlockCounts[k];
            long bytes = (long) blocks * blockBytes;
            boolean accepted = ops[slot] == OP_DISCARD && (opKinds[k] == WRITE_DATA || opKinds[k] == WRITE_BUFFER)
                    ? discard.submit(channel, member, lba, blocks, zeroes, tag, this) : switch (opKinds[k]) {
                case READ_DIRECT -> submitTransfer(slot, member, lba, blocks, opOffsets[k]);
                case WRITE_DATA -> ops[slot] == OP_WRITE_ZEROES
                        ? channel.write(lba, blocks, zeroes.asSlice(0, bytes), tag, this)
                        : submitTransfer(slot, member, lba, blocks, opOffsets[k]);
                case READ_BUFFER -> channel.read(lba, blocks, stripeBuffer(slot, member, opOffsets[k], bytes), tag, this);
                case WRITE_BUFFER -> channel.write(lba, blocks, stripeBuffer(slot, member, opOffsets[k], bytes), tag, this);
                case WRITE_JOINED -> channel.write(lba, blocks, sourcePiece(opSources[k], opOffsets[k] * blockBytes, bytes), tag, this);
                case FLUSH -> channel.flush(tag, this);
                default -> throw new IllegalStateException("op kind " + opKinds[k]);
            };
            if (!accepted) return false;
            pending[slot]++;
            opCursors[slot]++;
        }
        return true;
    }

    private MemorySegment stripeBuffer(int slot, int member, long offsetBlocks, long bytes) {
        return bufferSlice(stripeSets[slot], member, offsetBlocks * blockBytes, bytes);
    }

    /** [offset, +length) of a set buffer: the whole buffer or a start-up block slice where one fits, else a new slice. */
    private MemorySegment bufferSlice(int set, int member, long offsetBytes, long lengthBytes) {
        MemorySegment whole = setBuffers[set][member];
        if (offsetBytes == 0 && lengthBytes == whole.byteSize()) return whole;
        if (lengthBytes == blockBytes && blockSlices != null && set < sharedSets) return blockSlices[set][member][(int) (offsetBytes / blockBytes)];
        if (offsetBytes == 0 && prefixSlices != null && set < sharedSets && lengthBytes % blockBytes == 0) {
            return prefixSlices[set][member][(int) (lengthBytes / blockBytes) - 1];
        }
        return whole.asSlice(offsetBytes, lengthBytes);
    }

    private void addOp(int slot, byte kind, int member, long memberLba, int blockCount, long offsetBlocks) {
        if (kind == WRITE_DATA || kind == WRITE_BUFFER || kind == WRITE_JOINED) writtenMembers[slot] |= 1L << member;
        int k = slot * opsPerSlot + opCounts[slot]++;
        Check.that(opCounts[slot] <= opsPerSlot, "member requests of one phase within 2 per member", opCounts[slot]);
        opKinds[k] = kind;
        opMembers[k] = member;
        opMemberLbas[k] = memberLba;
        opBlockCounts[k] = blockCount;
        opOffsets[k] = offsetBlocks;
    }

    // ------------------------------------------------------------------ planning a step

    /** Plans the next step's first phase: PLANNED, BUSY (stripe or buffers taken) or ENDED (nothing left). */
    private int plan(int slot) {
        if (joinedTo[slot] >= 0) return BUSY; // carried by a leader's step; released when that ends
        if (parked[slot]) {
            if (parkedAt[slot] == releases) return BUSY; // nothing was released since: the stripe or set is still taken
            parked[slot] = false;
        }
        RemoteLock remote = remoteLocks[slot];
        if (remote.releasing() && !driveRelease(slot)) return BUSY; // a remote stripe is released before anything else
        byte op = ops[slot];
        long total = op == OP_FLUSH ? 1 : blockCounts[slot];
        if (remote.state != RemoteLock.IDLE && (firstErrors[slot] != Status.OK || volume.isFailed())) {
            if (remote.state == RemoteLock.GRANTED) remote.state = RemoteLock.RELEASE_PENDING;
            if (remote.releasing()) driveRelease(slot);
            return BUSY; // wait for the grant, give it back, then end
        }
        if (firstErrors[slot] != Status.OK || cursors[slot] >= total) return ENDED;
        if (volume.isFailed()) {
            firstErrors[slot] = Status.DEVICE_GONE;
            return ENDED;
        }
        if (op == OP_SYNC) return planSync(slot);
        if (op == OP_DISCARD && discard.endsBeforeNextStep(slot)) return ENDED; // whole stripes only, see Raid5Discard
        if (op != OP_FLUSH && !isRead(slot) && !admitStripes(slot)) return BUSY;
        if (op == OP_FLUSH) {
            modes[slot] = MODE_FLUSH;
            stepBlocks[slot] = 1;
            for (int m = 0; m < memberCount; m++) if (volume.isWritable(m)) addOp(slot, FLUSH, m, 0, 0, 0);
            return PLANNED;
        }
        long lba = lbas[slot] + cursors[slot];
        if (isRead(slot) && volume.failedMember() < 0) return planHealthyRead(slot, lba);
        long stripe = lba / stripeBlocks;
        long stripeStart = stripe * stripeBlocks;
        long stepEnd = Math.min(lbas[slot] + blockCounts[slot], stripeStart + stripeBlocks);
        stepStripes[slot] = stripe;
        stepBlocks[slot] = stepEnd - lba;
        if (!isRead(slot)) gather(slot, stripe, lba, stepEnd);
        int windowStart = chunkBlocks, windowEnd = 0;
        for (int i = 0; i < dataCount; i++) {
            if (coveredEnd(slot, i) > coveredStart(slot, i)) {
                windowStart = Math.min(windowStart, coveredStart(slot, i));
                windowEnd = Math.max(windowEnd, coveredEnd(slot, i));
            }
        }
        windowStarts[slot] = windowStart;
        windowEnds[slot] = windowEnd;
        int failed = volume.failedMemberAt(stripe);
        int failedIndex = failed < 0 ? -1 : layout.dataIndex(stripe, failed);
        boolean failedTouched = failedIndex >= 0 && touched(slot, failedIndex);
        int planned = isRead(slot) ? planRead(slot, failed, failedIndex, failedTouched) : planWrite(slot, failed, failedIndex, failedTouched);
        if (planned == BUSY) releaseFollowers(slot, false); // they wait on their own again (and may join the next leader)
        return planned;
    }

    /**
     * A read on a healthy volume needs no stripe and no buffers: one step sends up to READ_PIECES_MAX chunk
     * pieces, across stripes, straight into the caller's buffer (as raid0 does).
     */
    private int planHealthyRead(int slot, long lba) {
        if (remoteUnused(slot)) return BUSY;
        modes[slot] = MODE_READ;
        rebuiltIndexes[slot] = -1;
        long end = lbas[slot] + blockCounts[slot];
        long at = lba;
        while (at < end && opCounts[slot] < READ_PIECES_MAX) {
            long chunk = at / chunkBlocks;
            long stripe = chunk / dataCount;
            int row = (int) (at - chunk * chunkBlocks);
            int blocks = (int) Math.min(end - at, chunkBlocks - row);
            addOp(slot, READ_DIRECT, layout.dataDisk(stripe, (int) (chunk - stripe * dataCount)), memberLba(stripe, row), blocks, at - lbas[slot]);
            at += blocks;
        }
        stepBlocks[slot] = at - lba;
        return PLANNED;
    }

    private int planRead(int slot, int failed, int failedIndex, boolean failedTouched) {
        modes[slot] = MODE_READ;
        rebuiltIndexes[slot] = -1;
        long stripe = stepStripes[slot];
        if (failedTouched) {
            if (!take(slot, true)) return BUSY;
            rebuiltIndexes[slot] = failedIndex;
            volume.count(Raid5Volume.RECONSTRUCT_READS);
            int rows = coveredEnd(slot, failedIndex) - coveredStart(slot, failedIndex);
            for (int m = 0; m < memberCount; m++) {
                if (m != failed) addOp(slot, READ_BUFFER, m, memberLba(stripe, coveredStart(slot, failedIndex)), rows, 0);
            }
        } else if (remoteUnused(slot)) {
            return BUSY;
        }
        for (int i = 0; i < dataCount; i++) {
            if (i == failedIndex || !touched(slot, i)) continue;
            addOp(slot, READ_DIRECT, layout.dataDisk(stripe, i), memberLba(stripe, coveredStart(slot, i)),
                    coveredEnd(slot, i) - coveredStart(slot, i), requestOffsetBlocks(slot, i));
        }
        return PLANNED;
    }

    private int planWrite(int slot, int failed, int failedIndex, boolean failedTouched) {
        long stripe = stepStripes[slot];
        int parity = layout.parityDisk(stripe);
        int windowStart = windowStarts[slot], rows = windowEnds[slot] - windowStart;
        if (failed == parity && !volume.isRebuilding(parity)) {
            if (!take(slot, false)) return BUSY;
            modes[slot] = MODE_DATA_ONLY;
            volume.count(Raid5Volume.DEGRADED_WRITES);
            return PLANNED;
        }
        if (failedTouched) {
            if (!take(slot, false)) return BUSY;
            modes[slot] = MODE_FULL;
            rebuiltMembers[slot] = failed;
            volume.count(Raid5Volume.DEGRADED_WRITES);
            for (int m = 0; m < memberCount; m++) if (m != failed) addOp(slot, READ_BUFFER, m, memberLba(stripe, windowStart), rows, 0);
            return PLANNED;
        }
        int touchedCount = 0, rcwReads = 0;
        for (int i = 0; i < dataCount; i++) {
            if (touched(slot, i)) touchedCount++;
            if (!coversWindow(slot, i)) rcwReads++;
        }
        // With an untouched data chunk failed, only read-modify-write avoids reading it.
        // A rebuilding parity member's old parity is not read: reconstruct-write computes the window from data.
        boolean rmw = failed != parity && (failedIndex >= 0 || 1 + touchedCount < rcwReads);
        if (!take(slot, false)) return BUSY;
        if (rmw) {
            modes[slot] = MODE_RMW;
            volume.count(Raid5Volume.RMW_WRITES);
            addOp(slot, READ_BUFFER, parity, memberLba(stripe, windowStart), rows, 0);
            for (int i = 0; i < dataCount; i++) {
                if (!touched(slot, i)) continue;
                int start = coveredStart(slot, i);
                addOp(slot, READ_BUFFER, layout.dataDisk(stripe, i), memberLba(stripe, start), coveredEnd(slot, i) - start, start - windowStart);
            }
        } else {
            modes[slot] = MODE_RCW;
            volume.count(rcwReads == 0 ? Raid5Volume.FULL_STRIPE_WRITES : Raid5Volume.RCW_WRITES);
            for (int i = 0; i < dataCount; i++) {
                if (!coversWindow(slot, i)) addOp(slot, READ_BUFFER, layout.dataDisk(stripe, i), memberLba(stripe, windowStart), rows, 0);
            }
        }
        return PLANNED;
    }

    /** The write phase: new data to the touched chunks' members that are active, and the parity. */
    private void planWrites(int slot) {
        long stripe = stepStripes[slot];
        opCounts[slot] = 0;
        opCursors[slot] = 0;
        writtenMembers[slot] = 0;
        if (followerCounts[slot] > 0) {
            planGroupWrites(slot);
            return;
        }
        for (int i = 0; i < dataCount; i++) {
            if (!touched(slot, i)) continue;
            int member = layout.dataDisk(stripe, i);
            if (!volume.isWritable(member)) continue; // its new data lives in the parity only
            addOp(slot, WRITE_DATA, member, memberLba(stripe, coveredStart(slot, i)), coveredEnd(slot, i) - coveredStart(slot, i),
                    requestOffsetBlocks(slot, i));
        }
        int parity = layout.parityDisk(stripe);
        if (modes[slot] != MODE_DATA_ONLY && volume.isWritable(parity)) {
            addOp(slot, WRITE_BUFFER, parity, memberLba(stripe, windowStarts[slot]), windowEnds[slot] - windowStarts[slot], 0);
        }
    }

    /** Takes the step's stripe (shared for a rebuilt read, else exclusive), then a stripe-buffer set if needed. */
    private boolean take(int slot, boolean shared) {
        long stripe = stepStripes[slot];
        Raid5Channel owner = volume.ownerOf(stripe);
        if (owner != this) return takeRemote(slot, owner, stripe, shared);
        if (!lock(stripe, shared)) {
            volume.count(Raid5Volume.STRIPE_WAITS);
            park(slot);
            return false;
        }
        holdsStripe[slot] = true;
        if (!slotSetFits(slot) && freeSetCount == 0) {
            unlock(stripe);
            holdsStripe[slot] = false;
            opCounts[slot] = 0;
            park(slot);
            return false;
        }
        stripeSets[slot] = slotSetFits(slot) ? sharedSets + slot : freeSets[--freeSetCount];
        return true;
    }

    private void park(int slot) {
        parked[slot] = true;
        parkedAt[slot] = releases;
    }

    /** Whether the step's window (the most any of its stripe buffers holds) fits the slot's own set. */
    private boolean slotSetFits(int slot) {
        return windowEnds[slot] - windowStarts[slot] <= SLOT_SET_BLOCKS;
    }

    /** The stripe from its owner on another reactor: send the request, wait for the grant, then a buffer set. */
    private boolean takeRemote(int slot, Raid5Channel owner, long stripe, boolean shared) {
        RemoteLock remote = remoteLocks[slot];
        switch (remote.state) {
            case RemoteLock.IDLE -> {
                remote.ask(owner, stripe, shared);
                if (!owner.reactor.post(remote)) remote.state = RemoteLock.IDLE; // command queue full: ask again next cycle
                volume.count(Raid5Volume.REMOTE_LOCKS);
                return false;
            }
            case RemoteLock.GRANTED -> {
                if (remote.stripe != stripe || remote.shared != shared) { // the plan changed meanwhile: give it back
                    remote.state = RemoteLock.RELEASE_PENDING;
                    driveRelease(slot);
                    return false;
                }
                if (!slotSetFits(slot) && freeSetCount == 0) return false; // keep the stripe: set holders never wait for stripes
                holdsStripe[slot] = true;
                holdsRemote[slot] = true;
                stripeSets[slot] = slotSetFits(slot) ? sharedSets + slot : freeSets[--freeSetCount];
                return true;
            }
            default -> {
                return false; // asked and not answered yet
            }
        }
    }

    /**
     * A stripe asked for (or granted) at a remote owner that the step's new plan does not take: a read planned to
     * rebuild a chunk, re-planned plain because the rebuilding member's position passed its stripe meanwhile.
     * It is given back first (BUSY until the owner confirmed), or the owner would keep it locked for good.
     */
    private boolean remoteUnused(int slot) {
        RemoteLock remote = remoteLocks[slot];
        if (remote.state == RemoteLock.IDLE) return false;
        if (remote.state == RemoteLock.GRANTED) remote.state = RemoteLock.RELEASE_PENDING;
        if (remote.releasing()) driveRelease(slot);
        return true;
    }

    /** Moves a remote release on; true once the owner confirmed it (the command is idle again). */
    private boolean driveRelease(int slot) {
        RemoteLock remote = remoteLocks[slot];
        if (remote.state == RemoteLock.RELEASE_PENDING) {
            remote.state = RemoteLock.RELEASE_SENT;
            if (!remote.owner.reactor.post(remote)) remote.state = RemoteLock.RELEASE_PENDING;
            return false;
        }
        if (remote.state == RemoteLock.RELEASED) {
            remote.state = RemoteLock.IDLE;
            return true;
        }
        return false;
    }

    // ------------------------------------------------------------------ as a stripe owner (this reactor's thread)

    /** A remote step asks for a stripe this channel owns: grant it now or queue it. */
    void onRemoteLock(RemoteLock remote) {
        if (lock(remote.stripe, remote.shared)) {
            answer(remote, RemoteLock.GRANT_SENT);
        } else {
            volume.count(Raid5Volume.STRIPE_WAITS);
            remoteWaiters.addLast(remote);
        }
    }

    void onRemoteRelease(RemoteLock remote) {
        unlock(remote.stripe);
        answer(remote, RemoteLock.RELEASED_SENT);
    }

    private void answer(RemoteLock remote, int state) {
        remote.state = state;
        if (!remote.requester.reactor.post(remote)) outbound.addLast(remote);
    }

    /** After an unlock: grant the remote waiters that can go now, keeping their order. */
    private void grantWaiters() {
        for (int i = remoteWaiters.size(); i > 0; i--) {
            RemoteLock waiter = remoteWaiters.pollFirst();
            if (lock(waiter.stripe, waiter.shared)) answer(waiter, RemoteLock.GRANT_SENT);
            else remoteWaiters.addLast(waiter);
        }
    }

    @Override
    public int poll(long nowNs) {
        int work = super.poll(nowNs);
        if (ppl != null) work += ppl.poll();
        while (!pplOutbound.isEmpty()) {
            PartialParityLog.Request request = pplOutbound.peekFirst();
            if (!request.target.reactor.post(request)) break;
            pplOutbound.pollFirst();
            work++;
        }
        for (int i = outbound.size(); i > 0; i--) {
            RemoteLock remote = outbound.pollFirst();
            if (!remote.requester.reactor.post(remote)) {
                outbound.addFirst(remote);
                break;
            }
            work++;
        }
        return work;
    }

    @Override
    public boolean needsPolling() {
        return super.needsPolling() || !outbound.isEmpty() || (ppl != null && ppl.needsPolling()) || !pplOutbound.isEmpty();
    }

    /**
     * One slot's stripe request to a remote owner, posted back and forth on the two reactors' command queues
     * (their MPSC queues publish the fields: a command's writes happen before its run on the other thread).
     * One state machine, one command per slot, never two in flight:
     * IDLE -> LOCK_SENT -> (owner) GRANT_SENT -> (requester) GRANTED -> RELEASE_PENDING -> RELEASE_SENT
     * -> (owner) RELEASED_SENT -> (requester) RELEASED -> IDLE.
     */
    static final class RemoteLock implements Runnable {
        static final int IDLE = 0, LOCK_SENT = 1, GRANT_SENT = 2, GRANTED = 3, RELEASE_PENDING = 4, RELEASE_SENT = 5,
                RELEASED_SENT = 6, RELEASED = 7;
        final Raid5Channel requester;
        Raid5Channel owner;
        long stripe;
        boolean shared;
        volatile int state;

        RemoteLock(Raid5Channel requester) {
            this.requester = requester;
        }

        void ask(Raid5Channel owner, long stripe, boolean shared) {
            this.owner = owner;
            this.stripe = stripe;
            this.shared = shared;
            this.state = LOCK_SENT;
        }

        boolean releasing() {
            int s = state;
            return s == RELEASE_PENDING || s == RELEASE_SENT || s == RELEASED_SENT || s == RELEASED;
        }

        @Override
        public void run() {
            switch (state) {
                case LOCK_SENT -> owner.onRemoteLock(this);
                case RELEASE_SENT -> owner.onRemoteRelease(this);
                case GRANT_SENT -> state = GRANTED; // the requester's retry list picks the slot up
                case RELEASED_SENT -> state = RELEASED;
                default -> throw new IllegalStateException("remote stripe command run in state " + state);
            }
        }
    }

    /** Records the rows of every stripe the write touches in the volume's write intent (once per request). */
    private boolean admitStripes(int slot) {
        WriteIntent intent = volume.writeIntent();
        if (intent == null) return true;
        long first = lbas[slot] / stripeBlocks, last = (lbas[slot] + blockCounts[slot] - 1) / stripeBlocks;
        return admitWrite(slot, intent, first * chunkBlocks, (last - first + 1) * chunkBlocks);
    }

    // ------------------------------------------------------------------ step geometry (in blocks)

    private long chunkStartLba(int slot, int dataIndex) {
        return stepStripes[slot] * stripeBlocks + (long) dataIndex * chunkBlocks;
    }

    /** First row (block offset in the chunk) of data chunk i that the step covers. */
    private int coveredStart(int slot, int dataIndex) {
        return Math.clamp(stepStartLba(slot) - chunkStartLba(slot, dataIndex), 0, chunkBlocks);
    }

    /** End row (exclusive) of data chunk i that the step covers; not above coveredStart when untouched. */
    private int coveredEnd(int slot, int dataIndex) {
        return Math.clamp(stepEndLba(slot) - chunkStartLba(slot, dataIndex), 0, chunkBlocks);
    }

    private boolean touched(int slot, int dataIndex) {
        return coveredEnd(slot, dataIndex) > coveredStart(slot, dataIndex);
    }

    private boolean coversWindow(int slot, int dataIndex) {
        return coveredStart(slot, dataIndex) <= windowStarts[slot] && coveredEnd(slot, dataIndex) >= windowEnds[slot]
                && touched(slot, dataIndex);
    }

    private long requestOffsetBlocks(int slot, int dataIndex) {
        return chunkStartLba(slot, dataIndex) + coveredStart(slot, dataIndex) - lbas[slot];
    }

    private long memberLba(long stripe, int row) {
        return stripe * chunkBlocks + row;
    }

    // ------------------------------------------------------------------ parity math

    /** A degraded read: the failed chunk's rows are the XOR of the other members' same rows, into the caller's buffer. */
    private void rebuildRead(int slot) {
        int failedIndex = rebuiltIndexes[slot];
        int failed = layout.dataDisk(stepStripes[slot], failedIndex);
        long lengthBytes = (long) (coveredEnd(slot, failedIndex) - coveredStart(slot, failedIndex)) * blockBytes;
        long requestOffsetBytes = requestOffsetBlocks(slot, failedIndex) * blockBytes;
        int set = stripeSets[slot];
        for (long done = 0; done < lengthBytes; ) {
            MemorySegment run = callerRun(slot, requestOffsetBytes + done, lengthBytes - done);
            int count = 0;
            for (int m = 0; m < memberCount; m++) if (m != failed) sources[count++] = bufferSlice(set, m, done, run.byteSize());
            Xor.parity(run, sources, count);
            done += run.byteSize();
        }
        clearSources();
    }

    private void computeParity(int slot) {
        long stripe = stepStripes[slot];
        int set = stripeSets[slot];
        int parityMember = layout.parityDisk(stripe);
        int windowStart = windowStarts[slot];
        long windowBytes = (long) (windowEnds[slot] - windowStart) * blockBytes;
        if (modes[slot] == MODE_RMW) {
            for (int i = 0; i < dataCount; i++) {
                if (!touched(slot, i)) continue;
                long offsetBytes = (long) (coveredStart(slot, i) - windowStart) * blockBytes;
                long lengthBytes = (long) (coveredEnd(slot, i) - coveredStart(slot, i)) * blockBytes;
                Xor.xorInto(bufferSlice(set, parityMember, offsetBytes, lengthBytes),
                        bufferSlice(set, layout.dataDisk(stripe, i), offsetBytes, lengthBytes));
                xorNewData(slot, set, parityMember, offsetBytes, requestOffsetBlocks(slot, i) * blockBytes, lengthBytes);
            }
            return;
        }
        if (modes[slot] == MODE_FULL) rebuildWindow(slot, windowBytes);
        MemorySegment parity = bufferSlice(set, parityMember, 0, windowBytes);
        if (ops[slot] == OP_WRITE && followerCounts[slot] == 0 && windowBytes == chunkBytes && allCoverWindow(slot)) {
            for (int i = 0; i < dataCount; i++) sources[i] = buffers[slot].asSlice(requestOffsetBlocks(slot, i) * blockBytes, chunkBytes);
            Xor.parity(parity, sources, dataCount); // a full stripe from one buffer: one pass, no reads
            clearSources();
            return;
        }
        parity.fill((byte) 0);
        for (int i = 0; i < dataCount; i++) {
            int member = layout.dataDisk(stripe, i);
            if (!touched(slot, i)) {
                Xor.xorInto(parity, bufferSlice(set, member, 0, windowBytes));
                continue;
            }
            long startBytes = (long) (coveredStart(slot, i) - windowStart) * blockBytes;
            long endBytes = (long) (coveredEnd(slot, i) - windowStart) * blockBytes;
            if (startBytes > 0) Xor.xorInto(bufferSlice(set, parityMember, 0, startBytes), bufferSlice(set, member, 0, startBytes));
            xorNewData(slot, set, parityMember, startBytes, requestOffsetBlocks(slot, i) * blockBytes, endBytes - startBytes);
            if (endBytes < windowBytes) {
                Xor.xorInto(bufferSlice(set, parityMember, endBytes, windowBytes - endBytes), bufferSlice(set, member, endBytes, windowBytes - endBytes));
            }
        }
    }

    /** MODE_FULL: the failed data chunk's old rows over the window, from the survivors (old parity included). */
    private void rebuildWindow(int slot, long windowBytes) {
        int failed = rebuiltMembers[slot];
        int set = stripeSets[slot];
        int count = 0;
        for (int m = 0; m < memberCount; m++) if (m != failed) sources[count++] = bufferSlice(set, m, 0, windowBytes);
        Xor.parity(bufferSlice(set, failed, 0, windowBytes), sources, count);
        clearSources();
    }

    private boolean allCoverWindow(int slot) {
        for (int i = 0; i < dataCount; i++) if (!coversWindow(slot, i)) return false;
        return true;
    }

    /** The set buffer of {@code member} [offset, +length) ^= the request's new data at requestOffset (nothing for write-zeroes). */
    private void xorNewData(int slot, int set, int member, long offsetBytes, long requestOffsetBytes, long lengthBytes) {
        if (ops[slot] == OP_WRITE_ZEROES || ops[slot] == OP_DISCARD) return;
        for (long done = 0; done < lengthBytes; ) {
            MemorySegment run = callerRun(slot, requestOffsetBytes + done, lengthBytes - done);
            Xor.xorInto(bufferSlice(set, member, offsetBytes + done, run.byteSize()), run);
            done += run.byteSize();
        }
    }

    /** The longest piece of the caller's memory at a request offset that lies in one segment, up to maxBytes. */
    private MemorySegment callerRun(int slot, long requestOffsetBytes, long maxBytes) {
        if (followerCounts[slot] > 0) return groupRun(slot, (long) lbas[slot] * blockBytes + requestOffsetBytes, maxBytes);
        MemorySegment buffer = buffers[slot];
        if (buffer != null) {
            return requestOffsetBytes == 0 && maxBytes == buffer.byteSize() ? buffer : buffer.asSlice(requestOffsetBytes, maxBytes);
        }
        MemorySegment[] kept = segments[slot];
        long skip = requestOffsetBytes;
        for (int i = 0; i < segmentCounts[slot]; i++) {
            long size = kept[i].byteSize();
            if (skip < size) {
                long take = Math.min(size - skip, maxBytes);
                return skip == 0 && take == size ? kept[i] : kept[i].asSlice(skip, take);
            }
            skip -= size;
        }
        throw new IllegalStateException("request offset " + requestOffsetBytes + " beyond the caller's segments");
    }

    private void clearSources() {
        for (int i = 0; i < sources.length; i++) sources[i] = null;
    }

    // ------------------------------------------------------------------ sync steps (rebuild, resync, check, repair)

    /** A sync step's private op code (after VolumeChannel's) and mode. */
    static final byte OP_SYNC = 8;
    private static final byte MODE_SYNC = 6;
    /** Per slot: the SyncJob action of a sync step. */
    private final byte[] syncActions = new byte[queueDepthMax()];
    /** The action of the sync step being submitted (read by startSlot inside {@link #sync}). */
    private byte nextSyncAction;

    /**
     * Starts the sync of one stripe (a {@link SyncJob} unit) as a step of its own: PLAN takes the stripe
     * exclusively in its owner's table, exactly as a write step does (so it never interleaves with a write of
     * the stripe), and reads every member it trusts over the whole chunk rows; compute rebuilds the member
     * being rebuilt, or compares / recomputes the parity; WRITES writes the rebuilt chunk or the parity.
     * False when no slot is free.
     */
    boolean sync(long stripe, int action, long tag, IoCompletion done) {
        Check.that(stripe >= 0 && stripe < volume.unitCount(), "sync stripe in range", stripe);
        Check.that(action >= SyncJob.REBUILD && action <= SyncJob.REPAIR, "a sync action", action);
        nextSyncAction = (byte) action;
        return submitInternal(OP_SYNC, stripe, 1, tag, done);
    }

    /** PLAN of a sync step: the stripe first; what to read is decided while it is held. */
    private int planSync(int slot) {
        long stripe = lbas[slot];
        stepStripes[slot] = stripe;
        stepBlocks[slot] = 1; // one step: the request's "block count" is 1
        windowStarts[slot] = 0;
        windowEnds[slot] = chunkBlocks;
        modes[slot] = MODE_SYNC;
        if (!take(slot, false)) return BUSY;
        int target = syncActions[slot] == SyncJob.REBUILD ? volume.rebuildingMember() : -1;
        if (syncActions[slot] == SyncJob.REBUILD && target < 0) {
            firstErrors[slot] = Status.INVALID; // nothing rebuilds (failed meanwhile): ends with no I/O
            return PLANNED;
        }
        rebuiltMembers[slot] = target;
        for (int m = 0; m < memberCount; m++) {
            if (m == target) continue;
            if (!volume.isActive(m)) { // a second member out: nothing to sync from
                opCounts[slot] = 0;
                firstErrors[slot] = Status.DEVICE_GONE;
                return PLANNED;
            }
            addOp(slot, READ_BUFFER, m, memberLba(stripe, 0), chunkBlocks, 0);
        }
        return PLANNED;
    }

    /** Compute of a sync step; true when it has writes to issue (planned here). */
    private boolean afterSyncReads(int slot) {
        long stripe = stepStripes[slot];
        int set = stripeSets[slot];
        int action = syncActions[slot];
        opCounts[slot] = 0;
        opCursors[slot] = 0;
        if (action == SyncJob.REBUILD) {
            int target = rebuiltMembers[slot];
            int count = 0;
            for (int m = 0; m < memberCount; m++) if (m != target) sources[count++] = setBuffers[set][m];
            Xor.parity(setBuffers[set][target], sources, count);
            clearSources();
            addOp(slot, WRITE_BUFFER, target, memberLba(stripe, 0), chunkBlocks, 0);
            return true;
        }
        int parity = layout.parityDisk(stripe);
        MemorySegment parityChunk = setBuffers[set][parity];
        if (action != SyncJob.RESYNC) {
            // P ^ D0 ^ ... is zero wherever the parity is right: count the blocks where it is not (md: mismatch_cnt).
            for (int i = 0; i < dataCount; i++) Xor.xorInto(parityChunk, setBuffers[set][layout.dataDisk(stripe, i)]);
            long wrongBlocks = nonZeroBlocks(parityChunk);
            if (wrongBlocks > 0) volume.addMismatchSectors(wrongBlocks * (blockBytes / Raid5Layout.SECTOR_BYTES));
            if (action == SyncJob.CHECK || wrongBlocks == 0) return false;
        }
        for (int i = 0; i < dataCount; i++) sources[i] = setBuffers[set][layout.dataDisk(stripe, i)];
        Xor.parity(parityChunk, sources, dataCount);
        clearSources();
        addOp(slot, WRITE_BUFFER, parity, memberLba(stripe, 0), chunkBlocks, 0);
        return true;
    }

    /** Blocks of a chunk buffer that are not all zeroes (compared with the zero chunk; no allocation). */
    private long nonZeroBlocks(MemorySegment chunk) {
        long count = 0;
        for (long at = 0; at < chunkBytes; ) {
            long relative = MemorySegment.mismatch(chunk, at, chunkBytes, zeroes, at, chunkBytes);
            if (relative < 0) break;
            count++;
            at = ((at + relative) / blockBytes + 1) * blockBytes;
        }
        return count;
    }

    // ------------------------------------------------------------------ partial parity log (PPL)

    /** After compute: the step waits for its partial parity to be durable; the log's release completes it as a piece. */
    private void enterLog(int slot) {
        phases[slot] = LOG;
        opCounts[slot] = 0;
        opCursors[slot] = 0;
        logged[slot] = true;
        pending[slot]++;
        PartialParityLog.Request append = pplAppends[slot];
        append.parity = layout.parityDisk(stepStripes[slot]);
        append.stripe = stepStripes[slot];
        Raid5Channel owner = volume.pplOwner();
        if (owner == this) {
            ppl.append(append);
        } else {
            append.state = PartialParityLog.Request.APPEND_SENT;
            pplPost(owner, append);
        }
    }

    long ppBytesMax(int slot) {
        return (long) (windowEnds[slot] - windowStarts[slot]) * blockBytes;
    }

    /** The step's unit is durable (or failed on {@code member}): on this channel's thread. */
    void logged(int slot, int member, int status) {
        pplAppends[slot].state = PartialParityLog.Request.IDLE;
        complete(memberTag(slot, member), status);
    }

    /**
     * The step's md PPL entries: one per band of rows that has one set of written chunks (a step writes one
     * contiguous range of its stripe, so at most 3 bands, each a run of consecutive data chunks: md's entry cases
     * 0-2). Partial parity per row = the new parity ^ the new data of the band's chunks = the XOR of the data the
     * step does not write, whatever the mode (read-modify-write, reconstruct-write, degraded). A band over every
     * data chunk has none (pp_size 0: recovery XORs all data).
     */
    void addEntries(int slot, PartialParityLog.Unit unit) {
        long stripe = stepStripes[slot];
        int parity = layout.parityDisk(stripe);
        int bandCount = bandBounds(slot);
        int entries = 0;
        for (int b = 0; b + 1 < bandCount; b++) {
            int r0 = bands[b], r1 = bands[b + 1];
            int first = -1, last = -1;
            for (int i = 0; i < dataCount; i++) {
                if (!touched(slot, i) || coveredStart(slot, i) > r0 || coveredEnd(slot, i) < r1) continue;
                Check.that(first < 0 || i == last + 1, "a PPL entry's chunks are consecutive (md's rectangle)", i);
                if (first < 0) first = i;
                last = i;
            }
            if (first < 0) continue;
            Check.that(++entries <= PartialParityLog.ENTRIES_PER_STEP_MAX, "at most 3 PPL entries per step", entries);
            int rows = r1 - r0, count = last - first + 1;
            int ppBlocks = count == dataCount ? 0 : rows;
            for (int r = 0; r < ppBlocks; r++) partialParityRow(slot, parity, first, last, r0 + r, unit.ppBlock(r));
            long dataSector = (stripe * stripeBlocks + (long) first * chunkBlocks + r0) * (blockBytes / Raid5Layout.SECTOR_BYTES);
            unit.addEntry(dataSector, ppBlocks, (long) count * rows * blockBytes, parity);
        }
    }

    private final int[] bands = new int[4];

    /** Sorted distinct row bounds of the touched chunks' covered ranges (at most 4 for one contiguous range). */
    private int bandBounds(int slot) {
        int n = 0;
        for (int i = 0; i < dataCount; i++) {
            if (!touched(slot, i)) continue;
            n = insertBound(n, coveredStart(slot, i));
            n = insertBound(n, coveredEnd(slot, i));
        }
        return n;
    }

    private int insertBound(int n, int row) {
        int at = 0;
        while (at < n && bands[at] < row) at++;
        if (at < n && bands[at] == row) return n;
        Check.that(n < bands.length, "at most 4 band bounds per step", n);
        System.arraycopy(bands, at, bands, at + 1, n - at);
        bands[at] = row;
        return n + 1;
    }

    /** pp = new parity ^ new data of chunks first..last, for one row. */
    private void partialParityRow(int slot, int parity, int first, int last, int row, MemorySegment pp) {
        int set = stripeSets[slot];
        MemorySegment.copy(bufferSlice(set, parity, (long) (row - windowStarts[slot]) * blockBytes, blockBytes), 0, pp, 0, blockBytes);
        if (ops[slot] == OP_WRITE_ZEROES || ops[slot] == OP_DISCARD) return;
        boolean group = followerCounts[slot] > 0;
        for (int i = first; i <= last; i++) {
            long requestOffsetBytes = (requestOffsetBlocks(slot, i) + row - coveredStart(slot, i)) * blockBytes;
            long volumeOffsetBytes = (stepStripes[slot] * stripeBlocks + (long) i * chunkBlocks + row) * blockBytes;
            for (long done = 0; done < blockBytes; ) {
                // A coalesced group's new data lives in each member request's own buffer.
                MemorySegment run = group ? groupRun(slot, volumeOffsetBytes + done, blockBytes - done)
                        : callerRun(slot, requestOffsetBytes + done, blockBytes - done);
                Xor.xorInto(done == 0 && run.byteSize() == blockBytes ? pp : pp.asSlice(done, run.byteSize()), run);
                done += run.byteSize();
            }
        }
    }

    // ------------------------------------------------------------------ coalescing small writes

    /**
     * Lets waiting writes of this channel to the same stripe join the step about to be planned, so that a
     * stream of small writes becomes one parity computation per stripe (a full-stripe write with no reads when
     * together they cover it) instead of one read-modify-write each.
     *
     * <p>A follower is a plain write (OP_WRITE) that has not started (cursor 0, nothing held), lies in this
     * stripe and in one chunk, and is adjacent to the range gathered so far, so the group stays one range and
     * the step's window, mode and parity work on it as on one request. Waiters are looked at oldest first; a
     * same-stripe waiter left out blocks any later one that overlaps it (the hull of those left out), so no
     * write overtakes an older one to the same blocks: per-stripe order is kept. Only stripes this channel
     * owns (a remote stripe's waiters have their own lock requests out). Followers complete after the
     * leader's step, data and parity written ({@link #releaseFollowers}). Allocation-free: slot indexes.
     */
    private void gather(int slot, long stripe, long stepStart, long stepEnd) {
        followerCounts[slot] = 0;
        if (ops[slot] != OP_WRITE || waitingCount() == 0 || volume.ownerOf(stripe) != this) return;
        long stripeStart = stripe * stripeBlocks, stripeEnd = stripeStart + stripeBlocks;
        long start = stepStart, end = stepEnd;
        long leftOutStart = Long.MAX_VALUE, leftOutEnd = Long.MIN_VALUE;
        int count = 0;
        int waiters = waitingCount();
        for (int i = 0; i < waiters && count < followersMax; i++) {
            int f = waitingSlot(i);
            long fStart = lbas[f] + cursors[f], fEnd = lbas[f] + blockCounts[f];
            if (f == slot || fEnd <= stripeStart || fStart >= stripeEnd || ops[f] == OP_FLUSH) continue;
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
        return ops[f] == OP_WRITE && cursors[f] == 0 && phases[f] == PLAN && joinedTo[f] < 0 && followerCounts[f] == 0
                && firstErrors[f] == Status.OK && !holdsStripe[f] && stripeSets[f] < 0 && remoteLocks[f].state == RemoteLock.IDLE
                && fStart >= stripeStart && fEnd <= stripeEnd
                && (fStart - stripeStart) / chunkBlocks == (fEnd - 1 - stripeStart) / chunkBlocks;
    }

    /**
     * The leader's step ended (or was not planned): its followers wait on their own again; when the step was
     * done, they are done too (whole, with the step's error if any) and complete from the retry list.
     */
    private void releaseFollowers(int slot, boolean done) {
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
    private void planGroupWrites(int slot) {
        addRangeWrites(slot, slot, lbas[slot] + cursors[slot], lbas[slot] + cursors[slot] + stepBlocks[slot]);
        for (int j = 0; j < followerCounts[slot]; j++) {
            int f = followers[slot * followersMax + j];
            addRangeWrites(slot, f, lbas[f], lbas[f] + blockCounts[f]);
        }
        int parity = layout.parityDisk(stepStripes[slot]);
        // isWritable, not isActive: a rebuilding member is written too (docs/raid.md, "Sync jobs", rule 1), or a group
        // on a stripe the rebuild already passed leaves it stale (the model test found it: a coalesced burst during a rebuild)
        if (modes[slot] != MODE_DATA_ONLY && volume.isWritable(parity)) {
            addOp(slot, WRITE_BUFFER, parity, memberLba(stepStripes[slot], windowStarts[slot]), windowEnds[slot] - windowStarts[slot], 0);
        }
    }

    /** WRITE_JOINED pieces, one per chunk, of [startLba, endLba) in the step's stripe from {@code source}'s buffer. */
    private void addRangeWrites(int slot, int source, long startLba, long endLba) {
        long stripe = stepStripes[slot];
        long stripeStart = stripe * stripeBlocks;
        for (long at = startLba; at < endLba; ) {
            int dataIndex = (int) ((at - stripeStart) / chunkBlocks);
            int row = (int) (at - stripeStart - (long) dataIndex * chunkBlocks);
            int blocks = (int) Math.min(endLba - at, chunkBlocks - row);
            int member = layout.dataDisk(stripe, dataIndex);
            if (volume.isWritable(member)) { // a failed member's new data lives in the parity only; a rebuilding one is written
                addOp(slot, WRITE_JOINED, member, memberLba(stripe, row), blocks, at - lbas[source]);
                opSources[slot * opsPerSlot + opCounts[slot] - 1] = source;
            }
            at += blocks;
        }
    }

    /** The group's caller memory at an absolute byte position of the volume: the run in whichever request holds it. */
    private MemorySegment groupRun(int slot, long volumeOffsetBytes, long maxBytes) {
        for (int j = -1; j < followerCounts[slot]; j++) {
            int g = j < 0 ? slot : followers[slot * followersMax + j];
            long startBytes = lbas[g] * blockBytes, endBytes = startBytes + blockCounts[g] * blockBytes;
            if (volumeOffsetBytes < startBytes || volumeOffsetBytes >= endBytes) continue;
            return sourcePiece(g, volumeOffsetBytes - startBytes, Math.min(maxBytes, endBytes - volumeOffsetBytes));
        }
        throw new IllegalStateException("volume offset " + volumeOffsetBytes + " outside the coalesced group of slot " + slot);
    }

    /** [offset, +length) of a slot's own buffer: the buffer itself when that is all of it (a 4 KiB write), else a slice. */
    private MemorySegment sourcePiece(int source, long offsetBytes, long lengthBytes) {
        MemorySegment buffer = buffers[source];
        return offsetBytes == 0 && lengthBytes == buffer.byteSize() ? buffer : buffer.asSlice(offsetBytes, lengthBytes);
    }

    private long stepStartLba(int slot) {
        return followerCounts[slot] > 0 ? groupStarts[slot] : lbas[slot] + cursors[slot];
    }

    private long stepEndLba(int slot) {
        return followerCounts[slot] > 0 ? groupEnds[slot] : lbas[slot] + cursors[slot] + stepBlocks[slot];
    }

    // ------------------------------------------------------------------ stripes in progress

    private boolean lock(long stripe, boolean shared) {
        for (int k = 0; k < lockedCount; k++) {
            if (lockedStripes[k] != stripe) continue;
            if (!shared || lockHolders[k] < 0) return false;
            lockHolders[k]++;
            return true;
        }
        Check.that(lockedCount < lockedStripes.length, "at most one stripe per request slot of every reactor", lockedCount);
        lockedStripes[lockedCount] = stripe;
        lockHolders[lockedCount++] = shared ? 1 : -1;
        return true;
    }

    private void unlock(long stripe) {
        for (int k = 0; k < lockedCount; k++) {
            if (lockedStripes[k] != stripe) continue;
            if (lockHolders[k] > 1) {
                lockHolders[k]--;
                if (!remoteWaiters.isEmpty()) grantWaiters();
                return;
            }
            lockedCount--;
            releases++;
            lockedStripes[k] = lockedStripes[lockedCount];
            lockHolders[k] = lockHolders[lockedCount];
            if (!remoteWaiters.isEmpty()) grantWaiters();
            return;
        }
        throw new IllegalStateException("unlock of a stripe not in progress: " + stripe);
    }
}
