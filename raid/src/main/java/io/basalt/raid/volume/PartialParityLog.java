package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.StateMachine;
import io.basalt.engine.Status;
import io.basalt.raid.md.MdPpl;
import io.basalt.shims.Check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * md's partial parity log (drivers/md/raid5-ppl.c): before a raid5 write step writes its data and parity, the
 * partial parity of its stripe (the XOR of the data it does not modify, per row) is durable in the PPL area of the
 * stripe's parity member, so that after a power cut recovery can recompute that parity as partial parity ^ the
 * modified data, whatever part of the step reached the disks.
 *
 * <p><b>Growing io_units.</b> md's recovery reads only the newest header of a member (ppl_load_distributed), and md
 * therefore waits, before it writes the next io_unit, until every write of the previous one is done and flushed.
 * Basalt instead keeps one io_unit per member that grows: each new version keeps every earlier entry, with its
 * partial parity at the same place, and appends the new steps' entries after them. A version is written as its
 * header (offset 0 of the area) plus only the new partial parity blocks, FUA writes ({@link BlockChannel#WRITE_FUA},
 * md's REQ_FUA; one write when the unit is empty, the header and partial parity being contiguous), then its new
 * steps are released to their data and parity writes; the next version may go out at once, while those writes run. A torn version is harmless: the earlier entries' partial parity bytes do not
 * change, so whichever header survives finds its own; a new entry that lost its partial parity fails its checksum
 * and is skipped, and its step was not released. Keeping entries whose writes are done is harmless too: recovery
 * applies a header's entries in order, and a later write of the same stripe is a later entry of the same header
 * that covers every row it changed (the argument is in docs/raid.md, "Write hole").
 *
 * <p>A new step's partial parity assumes the earlier writes of its own stripe are on disk: a version holding a step
 * that follows a step of its stripe released since the last data flush first flushes the data members, in
 * parallel with its log writes (md's ppl_do_flush). When the unit is full (148 entries or the area), it is
 * <b>drained</b>: new steps wait, the steps of the unit finish, the members they wrote are flushed, and the next
 * version starts empty. Cost per version: a header write and a partial parity write, both FUA, neither of which
 * waits for data writes; data flushes only on a same-stripe follow-up and at drains.
 *
 * <pre>
 *   IDLE --(steps queued, room)--> WRITING (header + new pp, FUA) --(release the new steps)--> IDLE
 *   IDLE --(no room)--> DRAINING --(every step of the unit ended)--> DATA_FLUSH --> IDLE (unit empty)
 * </pre>
 *
 * Owned by the volume's first channel's reactor thread; no allocation per I/O (the unit buffers, their one-block
 * slices and a vector for the partial parity write are made at open). A step is released through its channel's
 * own completion path ({@link PplSteps#logged}), so the log looks to the step like one more member piece;
 * steps of other reactors reach the log through {@link Request} commands.
 */
final class PartialParityLog implements IoCompletion {
    /**
     * One slot's message to or from the log, which lives on the volume's first channel (the log owner): a step on
     * another reactor is queued through the owner's command queue, and its release comes back the same way. Each
     * slot has two: one carries APPEND then LOGGED, the other ENDED; a channel posts them in order through one FIFO
     * ({@link PplSteps}' outbound list), so the owner sees a slot's ENDED before its next APPEND.
     */
    static final class Request implements Runnable {
        static final int IDLE = 0, APPEND_SENT = 1, LOGGED_SENT = 2, ENDED_SENT = 3;
        final Raid5Channel requester;
        final int slot;
        /** Where a post goes: the owner (APPEND, ENDED) or the requester (LOGGED). */
        Raid5Channel target;
        int parity;
        long stripe;
        long written;
        int member;
        int status;
        int state;
        /** When the log owner took the APPEND (its reactor's clock): the step's wait for the log is counted. */
        long appendedNs;

        Request(Raid5Channel requester, int slot) {
            this.requester = requester;
            this.slot = slot;
        }

        @Override
        public void run() {
            switch (state) {
                case APPEND_SENT -> target.pplLog().append(this);
                case LOGGED_SENT -> requester.pplSteps.logged(slot, member, status);
                case ENDED_SENT -> target.pplLog().stepEnded(parity, stripe, written);
                default -> throw new IllegalStateException("PPL request run in state " + state);
            }
        }
    }

    static final int ENTRIES_PER_STEP_MAX = 3;
    /** A member's io_unit: its states (see the class comment) and their legal moves (docs/raid.md, "Write hole"). */
    static final byte IDLE = 0, WRITING = 1, DRAINING = 2, DATA_FLUSH = 3;
    static final StateMachine.Table UNITS_TABLE = StateMachine.table("ppl io_unit", "IDLE", "WRITING", "DRAINING", "DATA_FLUSH")
            .allow(IDLE, WRITING, DRAINING)   // a version goes out; or the unit is full: drain it first
            .allow(WRITING, IDLE)             // header and pp durable (FUA), or a write failed: the version's steps are released
            .allow(DRAINING, DATA_FLUSH)      // every step of the unit ended: flush the members they wrote
            .allow(DATA_FLUSH, IDLE);         // flushed: the unit is empty
    private static final byte KIND_WRITE = 1, KIND_DATA_FLUSH = 3;
    private static final int KIND_SHIFT = 8;

    /** The channel that owns this log (the volume's first): releases to it are direct, to others posted. */
    private final Raid5Channel owner;
    private final Raid5Volume volume;
    private final BlockChannel[] logs;
    /** Per member: replaced while its log was busy; its unit is emptied before the next version (see memberReplaced). */
    private final boolean[] emptyBeforeNextVersion;
    private final BlockChannel[] dataMembers;
    private final int blockBytes;
    private final int memberCount;
    private final Unit[] units;
    /** Per member: its io_unit's state, moved only by {@link #moveTo}. */
    private final byte[] states;
    private final StateMachine unitMachine = new StateMachine(UNITS_TABLE);
    /** Per member: FIFO of steps waiting for the next version of the unit. */
    private final Request[][] queues;
    private final int[] queueHeads, queueCounts;
    /** Per member: the steps of the version being written, released when it is durable. */
    private final Request[][] batch;
    private final int[] batchCounts;
    /** Per member: steps of the unit (since it was last emptied) that have not ended. */
    private final int[] live;
    /** Per member: members written by the unit's steps, flushed before the unit is emptied. */
    private final long[] dirtyMembers;
    /** Per member: requests of the current state still out, and the version's first failure. */
    private final int[] pendingIos;
    private final int[] batchStatus;
    /** Per member: blocks of the version still to send (a refused request is sent again by poll). */
    private final int[] toSendFirst, toSendEnd;
    private final boolean[] headerSent;
    /** Per member: data members to flush before the version's steps are released. */
    private final long[] flushMasks;
    /**
     * Per member: the stripes of steps released since the data members were last flushed (a bounded table; past it,
     * every version flushes), and the stripes of steps released and not ended yet (as this log has heard).
     */
    static final int DIRTY_STRIPES_MAX = 256;
    private final long[][] dirtyStripes;
    private final int[] dirtyStripeCounts;
    private final long[][] liveStripes;
    private final int[] liveStripeCounts;
    private final IoVector[] vectors;
    private final int segmentsMax;
    private final int headerBlocks;
    /** The 4 KiB header is one block, which a power cut keeps or loses whole (else each version drains first). */
    private final boolean atomicHeader;
    /** A member refused a log request: poll retries. */
    private boolean retry;
    /**
     * Members whose log has steps to take: moved on by the next {@link #poll}, not at once, so that every step that
     * reached the log during a reactor cycle (the parity of many completes in one reap) joins one version. It costs
     * no time: what the log prepares during a cycle's reap goes to the ring at the next cycle's submit anyway, after
     * the pollers. md does the same with its io_unit, which takes stripes until it is submitted.
     */
    private long kickMask;
    /**
     * A version of fewer steps than this waits one poll for more (at most {@link #HOLD_POLLS_MAX}): each version costs
     * a header write, so on a CPU-bound reactor two steps per version cost a third more log writes than three.
     */
    static final int VERSION_STEPS_MIN = 4, HOLD_POLLS_MAX = 1;
    /** Per member: polls its queued steps have been held for a bigger version. */
    private final int[] heldPolls;
    /** Counters, named in {@link Raid5Volume#PPL_COUNTER_NAMES} (same order). */
    static final int UNITS = 0, ENTRIES = 1, FLUSHES = 2, STEPS = 3, DRAINS = 4, LOG_WRITES = 5, DATA_FLUSHES = 6, WAIT_NS = 7;
    private final long[] counters = new long[8];

    PartialParityLog(Raid5Channel owner, Raid5Volume volume, BlockChannel[] logs, BlockChannel[] dataMembers, int queueDepth,
                     int blockBytes, int signature) {
        Check.that(MdPpl.HEADER_BYTES % blockBytes == 0, "the 4 KiB PPL header is whole blocks", blockBytes);
        this.owner = owner;
        queueDepth *= Raid5Volume.OWNERS_MAX; // every reactor's slots may be queued here
        this.volume = volume;
        this.logs = logs;
        this.emptyBeforeNextVersion = new boolean[logs.length];
        this.dataMembers = dataMembers;
        this.blockBytes = blockBytes;
        this.atomicHeader = blockBytes >= MdPpl.HEADER_BYTES;
        this.headerBlocks = MdPpl.HEADER_BYTES / blockBytes;
        this.memberCount = logs.length;
        Check.that(memberCount <= 64, "at most 64 members (dirty masks)", memberCount);
        units = new Unit[memberCount];
        states = new byte[memberCount];
        queues = new Request[memberCount][queueDepth];
        queueHeads = new int[memberCount];
        queueCounts = new int[memberCount];
        batch = new Request[memberCount][queueDepth];
        batchCounts = new int[memberCount];
        live = new int[memberCount];
        dirtyMembers = new long[memberCount];
        pendingIos = new int[memberCount];
        batchStatus = new int[memberCount];
        toSendFirst = new int[memberCount];
        toSendEnd = new int[memberCount];
        headerSent = new boolean[memberCount];
        heldPolls = new int[memberCount];
        flushMasks = new long[memberCount];
        dirtyStripes = new long[memberCount][DIRTY_STRIPES_MAX];
        dirtyStripeCounts = new int[memberCount];
        liveStripes = new long[memberCount][queueDepth];
        liveStripeCounts = new int[memberCount];
        vectors = new IoVector[memberCount];
        int segments = Integer.MAX_VALUE;
        // A member absent since assembly has no log channel: it is failed, so no step logs to it (its parity stripes
        // are written data-only), and its unit is sized like the others' only to keep the arrays whole.
        long someAreaBytes = 0;
        for (BlockChannel c : logs) {
            if (c == null) continue;
            segments = Math.min(segments, c.device().geometry().maxSegments());
            someAreaBytes = c.device().geometry().sizeBytes();
        }
        segmentsMax = Math.max(2, Math.min(segments, 256)); // the header and a block of partial parity in one write
        Arena arena = Arena.ofAuto(); // start-up allocation, freed with the channel
        for (int m = 0; m < memberCount; m++) {
            long areaBytes = logs[m] != null ? logs[m].device().geometry().sizeBytes() : someAreaBytes;
            units[m] = new Unit(arena, areaBytes, blockBytes, signature);
            units[m].empty();
            vectors[m] = new IoVector(segmentsMax);
        }
    }

    long counter(int index) {
        return counters[index];
    }

    /** The io_unit machine's move counters (tests, status). */
    StateMachine unitMachine() {
        return unitMachine;
    }

    /** The one place a member's io_unit changes state: checked against {@link #UNITS_TABLE} and counted. */
    private void moveTo(int m, byte to) {
        unitMachine.move(states, m, to);
    }

    /**
     * Member {@code m} was replaced (a new disk whose area the caller initialized empty): its unit starts empty. The
     * entries it holds went to the old area while the member was in; since it failed, the steps of its parity stripes
     * wrote data only, unlogged, so their partial parity is stale, and a next version carrying them into the new area
     * would let recovery write a stale parity over the rebuilt one (the model test found it: a block of a member lost
     * later read back as it was before the failure). Emptied at once when idle, else before its next version.
     */
    void memberReplaced(int m) {
        if (states[m] == IDLE) units[m].empty();
        else emptyBeforeNextVersion[m] = true;
    }

    /** Queues a step (its parity member in {@code request.parity}); it is released later to its channel's logged(). */
    void append(Request request) {
        int parityMember = request.parity;
        Check.that(request.requester.pplSteps.ppBytesMax(request.slot) <= units[parityMember].ppBytesCapacity,
                "a step's partial parity fits the PPL area", request.slot);
        request.appendedNs = owner.reactor.nowNs();
        Request[] q = queues[parityMember];
        Check.that(queueCounts[parityMember] < q.length, "PPL queue within every reactor's queue depth", parityMember);
        q[(queueHeads[parityMember] + queueCounts[parityMember]++) % q.length] = request;
        kickAtNextPoll(parityMember);
    }

    /** A released step of {@code stripe} ended (its writes done, maybe not durable): it wrote {@code writtenMembers}. */
    void stepEnded(int parityMember, long stripe, long writtenMembers) {
        Check.that(live[parityMember] > 0, "a released PPL step ends once", parityMember);
        dirtyMembers[parityMember] |= writtenMembers;
        removeLive(parityMember, stripe);
        live[parityMember]--;
        if (states[parityMember] == DRAINING) kick(parityMember);
    }

    boolean needsPolling() {
        return retry || kickMask != 0;
    }

    int poll() {
        if (!retry && kickMask == 0) return 0;
        long mask = retry ? -1L : kickMask;
        retry = false;
        kickMask = 0;
        int work = 0;
        for (int m = 0; m < memberCount; m++) {
            if ((mask & (1L << m)) == 0) continue;
            if (holdsForMore(m)) {
                kickMask |= 1L << m;
                continue;
            }
            heldPolls[m] = 0;
            work += kick(m);
        }
        return work;
    }

    /** An idle log with a few steps queued waits a poll for more (see {@link #VERSION_STEPS_MIN}). */
    private boolean holdsForMore(int m) {
        if (states[m] != IDLE || queueCounts[m] == 0 || queueCounts[m] >= VERSION_STEPS_MIN || heldPolls[m] >= HOLD_POLLS_MAX) return false;
        heldPolls[m]++;
        return true;
    }

    /** Moves member m's log on as far as it can; returns 1 if a request went out. */
    private int kick(int m) {
        switch (states[m]) {
            case IDLE -> {
                if (queueCounts[m] == 0) return 0;
                Request head = queues[m][queueHeads[m]];
                // A header of several blocks may tear on a power cut and hide every entry: grow only a one-block header.
                if (!fits(m, head) || (!atomicHeader && units[m].entryCount > 0)) {
                    moveTo(m, DRAINING);
                    counters[DRAINS]++;
                    return kick(m);
                }
                if (emptyBeforeNextVersion[m]) { // see memberReplaced
                    emptyBeforeNextVersion[m] = false;
                    units[m].empty();
                }
                buildVersion(m);
                return send(m);
            }
            case WRITING -> {
                return send(m);
            }
            case DRAINING -> {
                if (live[m] > 0) return 0;
                moveTo(m, DATA_FLUSH);
                return flushData(m);
            }
            case DATA_FLUSH -> {
                return pendingIos[m] == 0 ? flushData(m) : 0;
            }
            default -> throw new IllegalStateException("PPL state " + states[m]);
        }
    }

    private boolean fits(int m, Request r) {
        Unit unit = units[m];
        return unit.entryCount + ENTRIES_PER_STEP_MAX <= MdPpl.ENTRIES_MAX
                && unit.ppBytes() + r.requester.pplSteps.ppBytesMax(r.slot) <= unit.ppBytesCapacity;
    }

    /** Appends the queued steps that fit to the unit (after its earlier entries) and seals the new version. */
    private void buildVersion(int m) {
        Unit unit = units[m];
        int firstBlock = unit.ppBlocks();
        unit.nextGeneration();
        Request[] q = queues[m];
        int count = 0;
        while (queueCounts[m] > 0 && fits(m, q[queueHeads[m]])) {
            Request r = q[queueHeads[m]];
            q[queueHeads[m]] = null;
            queueHeads[m] = (queueHeads[m] + 1) % q.length;
            queueCounts[m]--;
            r.requester.pplSteps.addEntries(r.slot, unit); // a remote requester's buffers: published by the command queue
            batch[m][count++] = r;
        }
        Check.that(count > 0, "the first queued step fits", m);
        unit.seal();
        batchCounts[m] = count;
        batchStatus[m] = Status.OK;
        toSendFirst[m] = firstBlock;
        toSendEnd[m] = unit.ppBlocks();
        headerSent[m] = false;
        // A new step's partial parity assumes the data of every earlier step of its stripe is on disk: when one of the
        // new steps follows a step of its stripe released since the last data flush, flush every data member (md's
        // ppl_do_flush; every member, because that earlier step's ENDED may still be on its way from another reactor)
        // in parallel with the log writes. Steps of other stripes need no flush: their entries stay in the unit.
        if (followsDirtyStripe(m, count)) {
            flushMasks[m] = memberCount == 64 ? -1L : (1L << memberCount) - 1;
            dirtyMembers[m] = 0;
            int live = liveStripeCounts[m]; // steps still writing stay dirty: their data is not covered by this flush
            System.arraycopy(liveStripes[m], 0, dirtyStripes[m], 0, Math.min(live, DIRTY_STRIPES_MAX));
            dirtyStripeCounts[m] = live;
        } else {
            flushMasks[m] = 0;
        }
        pendingIos[m] = 0;
        moveTo(m, WRITING);
        counters[UNITS]++;
        counters[STEPS] += count;
    }

    private void removeLive(int m, long stripe) {
        long[] table = liveStripes[m];
        for (int i = 0; i < liveStripeCounts[m]; i++) {
            if (table[i] != stripe) continue;
            table[i] = table[--liveStripeCounts[m]];
            return;
        }
        throw new IllegalStateException("PPL: a step ended on stripe " + stripe + " that was not released on member " + m);
    }

    private boolean followsDirtyStripe(int m, int count) {
        int dirty = dirtyStripeCounts[m];
        if (dirty == 0) return false;
        if (dirty > DIRTY_STRIPES_MAX) return true;
        for (int i = 0; i < count; i++) {
            long stripe = batch[m][i].stripe;
            for (int d = 0; d < dirty; d++) if (dirtyStripes[m][d] == stripe) return true;
        }
        return false;
    }

    /**
     * Sends what the version still has to send: its header and new partial parity (FUA writes; one write when the
     * partial parity starts right after the header, in a unit's first version), and the data flushes it needs.
     */
    private int send(int m) {
        if (states[m] != WRITING) return 0;
        int sent = 0;
        Unit unit = units[m];
        if (!headerSent[m]) {
            IoVector v = vectors[m].clear();
            v.add(unit.headerSlice());
            int n = toSendFirst[m] == 0 ? Math.min(segmentsMax - 1, toSendEnd[m]) : 0;
            for (int b = 0; b < n; b++) v.add(unit.ppBlockAt(b));
            if (!logs[m].writev(0, headerBlocks + n, v, BlockChannel.WRITE_FUA, tag(m, KIND_WRITE, m), this)) {
                retry = true;
                return sent;
            }
            headerSent[m] = true;
            toSendFirst[m] += n;
            pendingIos[m]++;
            counters[LOG_WRITES]++;
            sent = 1;
        }
        while (toSendFirst[m] < toSendEnd[m]) {
            int n = Math.min(segmentsMax, toSendEnd[m] - toSendFirst[m]);
            IoVector v = vectors[m].clear();
            for (int b = 0; b < n; b++) v.add(unit.ppBlockAt(toSendFirst[m] + b));
            long lba = headerBlocks + (long) toSendFirst[m];
            if (!logs[m].writev(lba, n, v, BlockChannel.WRITE_FUA, tag(m, KIND_WRITE, m), this)) {
                retry = true;
                return sent;
            }
            toSendFirst[m] += n;
            pendingIos[m]++;
            counters[LOG_WRITES]++;
            sent = 1;
        }
        return sent | sendDataFlushes(m);
    }

    /** The data flushes a version needs before its steps are released (a same-stripe follow-up, see buildVersion). */
    private int sendDataFlushes(int m) {
        int sent = 0;
        for (int d = 0; d < memberCount && flushMasks[m] != 0; d++) {
            if ((flushMasks[m] & (1L << d)) == 0) continue;
            if (volume.isActive(d)) {
                if (!dataMembers[d].flush(tag(m, KIND_DATA_FLUSH, d), this)) {
                    retry = true;
                    return sent;
                }
                pendingIos[m]++;
                counters[FLUSHES]++;
                counters[DATA_FLUSHES]++;
                sent = 1;
            }
            flushMasks[m] &= ~(1L << d);
        }
        return sent;
    }

    /** Draining: flushes the members the unit's steps wrote, then empties the unit. */
    private int flushData(int m) {
        long mask = dirtyMembers[m];
        int sent = 0;
        for (int d = 0; d < memberCount; d++) {
            if ((mask & (1L << d)) == 0) continue;
            if (volume.isActive(d)) {
                if (!dataMembers[d].flush(tag(m, KIND_DATA_FLUSH, d), this)) {
                    retry = true;
                    break;
                }
                pendingIos[m]++;
                counters[FLUSHES]++;
                counters[DATA_FLUSHES]++;
                sent = 1;
            }
            mask &= ~(1L << d);
        }
        dirtyMembers[m] = mask;
        if (pendingIos[m] == 0 && mask == 0) emptied(m);
        return sent;
    }

    private void emptied(int m) {
        dirtyStripeCounts[m] = 0; // nothing live during a drain, everything flushed
        units[m].empty();
        moveTo(m, IDLE);
        kick(m);
    }

    private static long tag(int logMember, byte kind, int target) {
        return ((long) target << (2 * KIND_SHIFT)) | ((long) kind << KIND_SHIFT) | logMember;
    }

    @Override
    public void complete(long tag, int status) {
        int m = (int) (tag & 0xff);
        byte kind = (byte) ((tag >>> KIND_SHIFT) & 0xff);
        int target = (int) (tag >>> (2 * KIND_SHIFT));
        pendingIos[m]--;
        switch (kind) {
            case KIND_WRITE -> {
                if (status != Status.OK && batchStatus[m] == Status.OK) batchStatus[m] = status;
                writing(m);
            }
            case KIND_DATA_FLUSH -> {
                // A member that cannot flush is failed (its data is then rebuilt from the others); the log goes on.
                if (status != Status.OK && Raid1Volume.isMemberFault(status)) volume.markFailed(target);
                if (states[m] == WRITING) {
                    writing(m);
                } else if (pendingIos[m] == 0 && dirtyMembers[m] == 0) {
                    emptied(m);
                }
            }
            default -> throw new IllegalStateException("PPL completion of kind " + kind);
        }
    }

    /**
     * A request of the WRITING state completed: once all are done the version is durable (FUA), or failed: md_error on
     * the log member; the steps go on either way (their parity write to that member fails too).
     */
    private void writing(int m) {
        if (pendingIos[m] > 0 || toSendFirst[m] < toSendEnd[m] || !headerSent[m] || flushMasks[m] != 0) return;
        release(m);
    }

    /** The version is durable (or failed): its new steps go on to their writes; the next version may go out. */
    private void release(int m) {
        int count = batchCounts[m];
        batchCounts[m] = 0;
        live[m] += count;
        moveTo(m, IDLE);
        int status = batchStatus[m];
        for (int i = 0; i < count; i++) {
            Request r = batch[m][i];
            batch[m][i] = null;
            counters[WAIT_NS] += owner.reactor.nowNs() - r.appendedNs;
            liveStripes[m][liveStripeCounts[m]++] = r.stripe;
            int n = dirtyStripeCounts[m];
            if (n < DIRTY_STRIPES_MAX) dirtyStripes[m][n] = r.stripe;
            dirtyStripeCounts[m] = n + 1; // past the table: every next version flushes
            if (r.requester == owner) {
                r.requester.pplSteps.logged(r.slot, m, status);
            } else {
                r.member = m;
                r.status = status;
                r.state = Request.LOGGED_SENT;
                owner.pplSteps.post(r.requester, r);
            }
        }
        kickAtNextPoll(m); // steps queued meanwhile, and those that reach the log during this cycle
    }

    /**
     * Moves member m's log on at the next poll; at once when the owner is released (closed and drained: nothing polls
     * it any more). A step of another reactor can still reach a released owner (docs/raid.md, "PPL cost": the
     * writer closes before the others); moved on at once, its log write fails on the closed area and the step with
     * it, instead of waiting for a poll that never comes.
     */
    private void kickAtNextPoll(int m) {
        if (owner.isReleased()) kick(m);
        else kickMask |= 1L << m;
    }

    /**
     * One member's io_unit under construction: a 4 KiB header and its partial parity, in one buffer with
     * one-block slices made at start-up.
     */
    static final class Unit {
        final MdPpl header = new MdPpl();
        final long ppBytesCapacity;
        private final MemorySegment buffer;
        private final ByteBuffer view;
        private final MemorySegment[] ppBlocks;
        private final MemorySegment headerSlice;
        private final CRC32C crc = new CRC32C();
        private final int blockBytes;
        private final int signature;
        private long generation;
        int entryCount;
        private int ppBlockCount;

        Unit(Arena arena, long areaBytes, int blockBytes, int signature) {
            this.blockBytes = blockBytes;
            this.signature = signature;
            long capacity = (areaBytes - MdPpl.HEADER_BYTES) / blockBytes * blockBytes;
            Check.that(capacity >= blockBytes, "a PPL area holds the header and a block of partial parity", areaBytes);
            this.ppBytesCapacity = capacity;
            buffer = arena.allocate(MdPpl.HEADER_BYTES + capacity, 4096);
            view = buffer.asByteBuffer();
            header.wrap(buffer.asSlice(0, MdPpl.HEADER_BYTES));
            int blocks = (int) (capacity / blockBytes);
            ppBlocks = new MemorySegment[blocks];
            for (int b = 0; b < blocks; b++) ppBlocks[b] = buffer.asSlice(MdPpl.HEADER_BYTES + (long) b * blockBytes, blockBytes);
            headerSlice = buffer.asSlice(0, MdPpl.HEADER_BYTES);
        }

        /** No entries: the next version starts from scratch (its generation still rises). */
        void empty() {
            entryCount = 0;
            ppBlockCount = 0;
        }

        /** The next version: the same entries so far, a higher generation; entries are appended after. */
        void nextGeneration() {
            if (entryCount == 0) header.reset(signature);
            header.generation(++generation);
        }

        int ppBlocks() {
            return ppBlockCount;
        }

        MemorySegment ppBlockAt(int index) {
            return ppBlocks[index];
        }

        MemorySegment headerSlice() {
            return headerSlice;
        }

        long ppBytes() {
            return (long) ppBlockCount * blockBytes;
        }

        /** The next partial parity block of the unit (call in entry order, then {@link #addEntry}). */
        MemorySegment ppBlock(int indexInEntry) {
            return ppBlocks[ppBlockCount + indexInEntry];
        }

        /** Adds an entry whose partial parity is the next {@code ppBlockCount} blocks (filled through ppBlock). */
        void addEntry(long dataSector, int ppBlocksOfEntry, long dataBytes, int parityDisk) {
            Check.that(entryCount < MdPpl.ENTRIES_MAX, "at most 148 PPL entries per unit", entryCount);
            long ppStart = MdPpl.HEADER_BYTES + (long) ppBlockCount * blockBytes;
            long ppLength = (long) ppBlocksOfEntry * blockBytes;
            crc.reset();
            view.clear().position((int) ppStart).limit((int) (ppStart + ppLength));
            crc.update(view);
            header.entry(entryCount++, dataSector, (int) ppLength, Math.toIntExact(dataBytes), parityDisk, (int) crc.getValue());
            ppBlockCount += ppBlocksOfEntry;
        }

        void seal() {
            header.entriesCount(entryCount);
            header.seal(crc, view);
        }

    }
}
