package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.StateMachine;
import io.basalt.engine.Status;
import io.basalt.raid.parity.Raid5Layout;
import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;

/**
 * A {@link Raid5Volume}'s channel on one reactor. A request is worked one stripe at a time ("a step"); each
 * step walks PLAN -> READS -> (compute) -> [LOG ->] WRITES -> PLAN of the next stripe:
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
 * <p>The step machine ({@link #STEPS}): a slot is FREE, then PLAN while a step is planned (or waits for its stripe,
 * a buffer set, a member queue), READS while the first phase's member requests run, LOG while its partial parity is
 * made durable ({@link PplSteps}), WRITES while the data and parity writes run, and PLAN again for the next stripe or
 * the end. Every move goes through {@link #moveTo}, which checks it against the table and counts it.
 *
 * <p>Ordering: a step that writes takes its stripe exclusively in the table of stripes in progress of the
 * stripe's owner (the {@link StripeTable} of reactor stripe mod reactors, see {@link Raid5Volume#ownerOf}, {@link StripeLocks});
 * a step that reconstructs a read takes it shared. When this reactor's table is the owner that is a table look-up;
 * otherwise a {@link RemoteLock} command goes to the owner's reactor and back (lock, grant; release, released), and
 * the member I/O still runs here. A request that finds its stripe taken waits in the retry list, polled every
 * reactor cycle (accepted, never refused: only a full slot table refuses). A step holds at most one stripe and one
 * stripe-buffer set ({@link StripeBufferSets}) and takes the set after the stripe, releasing the stripe if no set is
 * free: no hold-and-wait, no deadlock. Small writes to one stripe share a step ({@link StripeCoalescer}); the parity
 * math is {@link StripeParity}; sync steps are {@link Raid5SyncSteps}.
 *
 * <p>A member error of a read phase fails the member and re-plans the step (now degraded); of a write phase it
 * fails the member and the write still succeeds (its data is in the parity) unless that was a second failure.
 */
final class Raid5Channel extends VolumeChannel {
    /** Step states. LOG: the step's partial parity is being made durable in the PPL (between compute and WRITES). */
    static final byte FREE = 0, PLAN = 1, READS = 2, WRITES = 3, LOG = 4;
    /** The legal moves of a step (docs/raid.md, "The step machine"). */
    static final StateMachine.Table STEPS = StateMachine.table("raid5 step", "FREE", "PLAN", "READS", "WRITES", "LOG")
            .allow(FREE, PLAN)              // a request takes the slot
            .allow(PLAN, READS, FREE)       // a step was planned; or nothing is left and the request completes
            .allow(READS, WRITES, LOG, PLAN) // compute, then write or log; or a read, flush, check ends (or re-plans)
            .allow(LOG, WRITES, PLAN)       // durable: write; or the log failed: end the step
            .allow(WRITES, PLAN);           // the step ended: the next stripe
    static final byte MODE_READ = 0, MODE_FLUSH = 1, MODE_DATA_ONLY = 2, MODE_RMW = 3, MODE_RCW = 4, MODE_FULL = 5, MODE_SYNC = 6;
    static final byte READ_DIRECT = 1, READ_BUFFER = 2, WRITE_DATA = 3, WRITE_BUFFER = 4, FLUSH = 5;
    /** A data write from another slot's buffer (a coalesced follower's, or the leader's own), tagged with the leader. */
    static final byte WRITE_JOINED = 6;
    static final int PLANNED = 0, BUSY = 1, ENDED = 2;
    /** Chunk pieces one healthy read step sends at once (a step may then span stripes). */
    static final int READ_PIECES_MAX = 32;

    final Raid5Volume volume;
    final Raid5Layout layout;
    final int memberCount;
    final int dataCount;
    final int chunkBlocks;
    final long chunkBytes;
    final long stripeBlocks;
    final int opsPerSlot;
    private final StateMachine steps = new StateMachine(STEPS);

    // Per slot: the step. phases[slot] is the step state, changed only by moveTo.
    final byte[] phases;
    final byte[] modes;
    final long[] stepBlocks;
    final long[] stepStripes;
    final int[] windowStarts;
    final int[] windowEnds;
    /** Data index of the failed chunk that a read step rebuilds, or -1. */
    final int[] rebuiltIndexes;
    /** The failed member a degraded write (MODE_FULL) or a rebuild step rebuilds over the window. */
    final int[] rebuiltMembers;
    final int[] stripeSets;
    private final boolean[] restarts;
    // Per slot: the member requests of the current phase.
    final int[] opCounts;
    final int[] opCursors;
    private final byte[] opKinds;
    private final int[] opMembers;
    private final long[] opMemberLbas;
    private final int[] opBlockCounts;
    /** The piece's offset in the request (READ_DIRECT, WRITE_DATA) or in the stripe buffer (the others), in blocks. */
    private final long[] opOffsets;
    /** Per member request: the slot whose buffer a WRITE_JOINED writes from. */
    final int[] opSources;

    final StripeLocks locks;
    final StripeBufferSets sets;
    final StripeCoalescer coalescer;
    final StripeParity parity;
    final PplSteps pplSteps;
    private final Raid5SyncSteps syncSteps;
    // The parts' per-slot arrays that the step machine reads on the data path, held here too (one load fewer).
    private final long[] writtenMembers;
    final RemoteLock[] remoteLocks;
    final boolean[] holdsStripe;
    private final int[] joinedTo, followerCounts;
    private final long[] groupStarts, groupEnds;
    private final boolean[] deferred;
    /** DISCARD of whole stripes as full-stripe steps whose writes are member discards (the request state is the superclass's). */
    private final Raid5Discard discard;

    Raid5Channel(Raid5Volume volume, Reactor reactor, BlockChannel[] members, BlockChannel[] pplChannels, StripeTable table) {
        super(volume, reactor, members);
        this.volume = volume;
        volume.channelCreated();
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
        restarts = new boolean[depth];
        opCounts = new int[depth];
        opCursors = new int[depth];
        opKinds = new byte[depth * opsPerSlot];
        opMembers = new int[depth * opsPerSlot];
        opMemberLbas = new long[depth * opsPerSlot];
        opBlockCounts = new int[depth * opsPerSlot];
        opOffsets = new long[depth * opsPerSlot];
        opSources = new int[depth * opsPerSlot];
        sets = new StripeBufferSets(depth, memberCount, chunkBlocks, blockBytes, volume.ppl() != null);
        locks = new StripeLocks(this, sets, table, depth);
        remoteLocks = locks.remoteLocks;
        holdsStripe = locks.holdsStripe;
        coalescer = new StripeCoalescer(this, depth);
        parity = new StripeParity(this, sets);
        pplSteps = new PplSteps(this, members, pplChannels, depth);
        syncSteps = new Raid5SyncSteps(this, depth);
        writtenMembers = pplSteps.writtenMembers;
        joinedTo = coalescer.joinedTo;
        followerCounts = coalescer.followerCounts;
        groupStarts = coalescer.groupStarts;
        groupEnds = coalescer.groupEnds;
        deferred = coalescer.deferred;
        discard = new Raid5Discard(volume, lbas, blockCounts, cursors, firstErrors);
    }

    /** This channel's log (it is the volume's log owner), else null. */
    PartialParityLog pplLog() {
        return pplSteps.log();
    }

    StripeLocks locks() {
        return locks;
    }

    /** The step machine's move counters (tests, status). */
    StateMachine stepMachine() {
        return steps;
    }

    /** The one place a step changes state: checked against {@link #STEPS} and counted. */
    private void moveTo(int slot, byte to) {
        steps.move(phases, slot, to);
    }

    @Override
    protected void onMemberSwapped(int index) {
        pplSteps.memberSwapped(index);
    }

    @Override
    protected void onReleased() {
        pplSteps.released();
        volume.channelReleased(this);
    }

    /** The log writer stays until the volume's other channels are released: their steps log through it. */
    @Override
    protected boolean holdsRelease() {
        return volume.holdsLog(this);
    }

    @Override
    protected void startSlot(int slot) {
        moveTo(slot, PLAN);
        stripeSets[slot] = -1;
        locks.start(slot);
        restarts[slot] = false;
        opCounts[slot] = 0;
        opCursors[slot] = 0;
        if (ops[slot] == Raid5SyncSteps.OP_SYNC) syncSteps.start(slot);
        coalescer.start(slot);
    }

    @Override
    protected void endSlot(int slot) {
        moveTo(slot, FREE);
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

    /** Starts the sync of one stripe (a {@link SyncJob} unit) as a step of its own; false when no slot is free. */
    boolean sync(long stripe, int action, long tag, IoCompletion done) {
        return syncSteps.sync(stripe, action, tag, done);
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
                moveTo(slot, READS);
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
            startWrites(slot);
            return;
        }
        if (phases[slot] == READS && !restarts[slot] && firstErrors[slot] == Status.OK) {
            afterReads(slot);
            return;
        }
        if (phases[slot] == WRITES && volume.isFailed() && firstErrors[slot] == Status.OK) firstErrors[slot] = Status.IO_ERROR;
        boolean restart = restarts[slot];
        restarts[slot] = false;
        endStep(slot, !restart);
    }

    /** The reads of the step succeeded: compute, then log, write, or end. */
    private void afterReads(int slot) {
        byte mode = modes[slot];
        if (mode == MODE_SYNC) {
            if (syncSteps.afterReads(slot)) moveTo(slot, WRITES);
            else endStep(slot, true);
            return;
        }
        if (mode == MODE_READ) {
            if (rebuiltIndexes[slot] >= 0) parity.rebuildRead(slot);
        } else if (mode != MODE_FLUSH) {
            if (mode != MODE_DATA_ONLY) parity.computeParity(slot);
            if (pplSteps.on && mode != MODE_DATA_ONLY && volume.isWritable(layout.parityDisk(stepStripes[slot]))) { // a rebuilding parity member logs too
                enterLog(slot);
                return;
            }
            startWrites(slot);
            return;
        }
        endStep(slot, true);
    }

    /** After compute: the step waits for its partial parity to be durable; the log's release completes it as a piece. */
    private void enterLog(int slot) {
        moveTo(slot, LOG);
        opCounts[slot] = 0;
        opCursors[slot] = 0;
        pending[slot]++;
        pplSteps.append(slot);
    }

    private void startWrites(int slot) {
        planWrites(slot);
        moveTo(slot, WRITES);
    }

    private void endStep(int slot, boolean done) {
        pplSteps.stepEnded(slot);
        locks.endHold(slot);
        coalescer.releaseFollowers(slot, done);
        sets.release(stripeSets[slot]);
        stripeSets[slot] = -1;
        if (done) cursors[slot] += stepBlocks[slot];
        moveTo(slot, PLAN);
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
                    ? discard.submit(channel, member, lba, blocks, sets.zeroes, tag, this) : switch (opKinds[k]) {
                case READ_DIRECT -> submitTransfer(slot, member, lba, blocks, opOffsets[k]);
                case WRITE_DATA -> ops[slot] == OP_WRITE_ZEROES
                        ? channel.write(lba, blocks, sets.zeroes.asSlice(0, bytes), tag, this)
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
        return sets.slice(stripeSets[slot], member, offsetBlocks * blockBytes, bytes);
    }

    /** [offset, +length) of a slot's own buffer: the buffer itself when that is all of it (a 4 KiB write), else a slice. */
    MemorySegment sourcePiece(int source, long offsetBytes, long lengthBytes) {
        MemorySegment buffer = buffers[source];
        return offsetBytes == 0 && lengthBytes == buffer.byteSize() ? buffer : buffer.asSlice(offsetBytes, lengthBytes);
    }

    void addOp(int slot, byte kind, int member, long memberLba, int blockCount, long offsetBlocks) {
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
        if (locks.stillParked(slot)) return BUSY; // nothing was released since: the stripe or set is still taken
        RemoteLock remote = remoteLocks[slot];
        if (remote.releasing() && !locks.driveRelease(slot)) return BUSY; // a remote stripe is released before anything else
        byte op = ops[slot];
        long total = op == OP_FLUSH ? 1 : blockCounts[slot];
        if (remote.state != RemoteLock.IDLE && (firstErrors[slot] != Status.OK || volume.isFailed())) {
            if (remote.state == RemoteLock.GRANTED) remote.state = RemoteLock.RELEASE_PENDING;
            if (remote.releasing()) locks.driveRelease(slot);
            return BUSY; // wait for the grant, give it back, then end
        }
        if (firstErrors[slot] != Status.OK || cursors[slot] >= total) return ENDED;
        if (volume.isFailed()) {
            firstErrors[slot] = Status.DEVICE_GONE;
            return ENDED;
        }
        if (op == Raid5SyncSteps.OP_SYNC) return syncSteps.plan(slot);
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
        return planStripe(slot, lba);
    }

    /** A step in one stripe: its range (with coalesced followers), window and mode. */
    private int planStripe(int slot, long lba) {
        long stripe = lba / stripeBlocks;
        long stripeStart = stripe * stripeBlocks;
        long stepEnd = Math.min(lbas[slot] + blockCounts[slot], stripeStart + stripeBlocks);
        stepStripes[slot] = stripe;
        stepBlocks[slot] = stepEnd - lba;
        if (!isRead(slot)) coalescer.gather(slot, stripe, lba, stepEnd);
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
        if (planned == BUSY) coalescer.releaseFollowers(slot, false); // they wait on their own again (and may join the next leader)
        return planned;
    }

    /**
     * A read on a healthy volume needs no stripe and no buffers: one step sends up to READ_PIECES_MAX chunk
     * pieces, across stripes, straight into the caller's buffer (as raid0 does).
     */
    private int planHealthyRead(int slot, long lba) {
        if (locks.remoteUnused(slot)) return BUSY;
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
            if (!locks.take(slot, true)) return BUSY;
            rebuiltIndexes[slot] = failedIndex;
            volume.count(Raid5Volume.RECONSTRUCT_READS);
            int rows = coveredEnd(slot, failedIndex) - coveredStart(slot, failedIndex);
            for (int m = 0; m < memberCount; m++) {
                if (m != failed) addOp(slot, READ_BUFFER, m, memberLba(stripe, coveredStart(slot, failedIndex)), rows, 0);
            }
        } else if (locks.remoteUnused(slot)) {
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
            if (!locks.take(slot, false)) return BUSY;
            modes[slot] = MODE_DATA_ONLY;
            volume.count(Raid5Volume.DEGRADED_WRITES);
            return PLANNED;
        }
        if (failedTouched) {
            if (!locks.take(slot, false)) return BUSY;
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
        if (!locks.take(slot, false)) return BUSY;
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
            coalescer.planGroupWrites(slot);
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

    /** Records the rows of every stripe the write touches in the volume's write intent (once per request). */
    private boolean admitStripes(int slot) {
        WriteIntent intent = volume.writeIntent();
        if (intent == null) return true;
        long first = lbas[slot] / stripeBlocks, last = (lbas[slot] + blockCounts[slot] - 1) / stripeBlocks;
        return admitWrite(slot, intent, first * chunkBlocks, (last - first + 1) * chunkBlocks);
    }

    @Override
    public int poll(long nowNs) {
        int work = super.poll(nowNs);
        work += pplSteps.poll();
        return work;
    }

    @Override
    public boolean needsPolling() {
        return super.needsPolling() || pplSteps.needsPolling();
    }

    // ------------------------------------------------------------------ step geometry (in blocks)

    private long stepStartLba(int slot) {
        return followerCounts[slot] > 0 ? groupStarts[slot] : lbas[slot] + cursors[slot];
    }

    private long stepEndLba(int slot) {
        return followerCounts[slot] > 0 ? groupEnds[slot] : lbas[slot] + cursors[slot] + stepBlocks[slot];
    }

    private long chunkStartLba(int slot, int dataIndex) {
        return stepStripes[slot] * stripeBlocks + (long) dataIndex * chunkBlocks;
    }

    /** First row (block offset in the chunk) of data chunk i that the step covers. */
    int coveredStart(int slot, int dataIndex) {
        return Math.clamp(stepStartLba(slot) - chunkStartLba(slot, dataIndex), 0, chunkBlocks);
    }

    /** End row (exclusive) of data chunk i that the step covers; not above coveredStart when untouched. */
    int coveredEnd(int slot, int dataIndex) {
        return Math.clamp(stepEndLba(slot) - chunkStartLba(slot, dataIndex), 0, chunkBlocks);
    }

    boolean touched(int slot, int dataIndex) {
        return coveredEnd(slot, dataIndex) > coveredStart(slot, dataIndex);
    }

    boolean coversWindow(int slot, int dataIndex) {
        return coveredStart(slot, dataIndex) <= windowStarts[slot] && coveredEnd(slot, dataIndex) >= windowEnds[slot]
                && touched(slot, dataIndex);
    }

    long requestOffsetBlocks(int slot, int dataIndex) {
        return chunkStartLba(slot, dataIndex) + coveredStart(slot, dataIndex) - lbas[slot];
    }

    long memberLba(long stripe, int row) {
        return stripe * chunkBlocks + row;
    }
}
