package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Status;
import io.basalt.raid.md.MdPpl;
import io.basalt.shims.Check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * md's partial parity log (drivers/md/raid5-ppl.c), written by one {@link Raid5Channel}: before a raid5 write step
 * writes its data and parity, the partial parity of its stripe (the XOR of the data it does not modify, per row)
 * is on the PPL area of the stripe's parity member, so that after a power cut recovery can recompute that parity
 * as partial parity ^ the modified data whatever part of the step reached the disks.
 *
 * <p>Per member one io_unit at a time, as md does it: the steps that arrive while a unit is in progress wait in a
 * FIFO; when the member's unit is done they all go into the next unit, one 4 KiB header ({@link MdPpl}) plus their
 * partial parity, written with one member write at offset 0 of the area and made durable with a flush of the
 * member (Basalt's BlockChannel has no FUA; md uses REQ_FUA). Then the steps are released to their data and parity
 * writes. When the last of them is done, the members they wrote are flushed (md's ppl_do_flush with a write-back
 * cache) before the next unit may overwrite this one: md's recovery reads only the newest header, so a unit may be
 * replaced only once the writes it protects are durable. Cost per batch: 1 log write + 1 flush before the data,
 * the data member flushes after; the batching (up to 148 entries, one member write) is what keeps it small at QD32.
 *
 * <pre>
 *   IDLE --(steps queued)--> [DATA_FLUSH: flush the members the last unit wrote] --> LOG_WRITE --> LOG_FLUSH
 *        --(release steps)--> DATA --(last step ended)--> IDLE
 * </pre>
 *
 * Owned by the channel's reactor thread; no allocation per I/O (the unit buffers and their one-block slices are
 * made at open). A step is released through its channel's own completion path ({@link Raid5Channel#logged}), so
 * the log looks to the step like one more member piece. One log per volume, on its first channel's reactor; steps
 * of other reactors reach it through {@link Request} commands (md's recovery reads one io_unit sequence per member).
 */
final class PartialParityLog implements IoCompletion {
    /**
     * One slot's message to or from the log, which lives on the volume's first channel (the log owner): a step on
     * another reactor is queued through the owner's command queue, and its release comes back the same way. Each
     * slot has two: one carries APPEND then LOGGED, the other ENDED; a channel posts them in order through one FIFO
     * ({@link Raid5Channel}'s PPL outbound list), so the owner sees a slot's ENDED before its next APPEND.
     */
    static final class Request implements Runnable {
        static final int IDLE = 0, APPEND_SENT = 1, LOGGED_SENT = 2, ENDED_SENT = 3;
        final Raid5Channel requester;
        final int slot;
        /** Where a post goes: the owner (APPEND, ENDED) or the requester (LOGGED). */
        Raid5Channel target;
        int parity;
        long written;
        int member;
        int status;
        int state;

        Request(Raid5Channel requester, int slot) {
            this.requester = requester;
            this.slot = slot;
        }

        @Override
        public void run() {
            switch (state) {
                case APPEND_SENT -> target.pplLog().append(this);
                case LOGGED_SENT -> requester.logged(slot, member, status);
                case ENDED_SENT -> target.pplLog().stepEnded(parity, written);
                default -> throw new IllegalStateException("PPL request run in state " + state);
            }
        }
    }

    static final int ENTRIES_PER_STEP_MAX = 3;
    private static final byte IDLE = 0, DATA_FLUSH = 1, LOG_WRITE = 2, LOG_FLUSH = 3, DATA = 4;
    private static final int KIND_SHIFT = 8;

    /** The channel that owns this log (the volume's first): releases to it are direct, to others posted. */
    private final Raid5Channel owner;
    private final Raid5Volume volume;
    private final BlockChannel[] logs;
    private final BlockChannel[] dataMembers;
    private final int blockBytes;
    private final int memberCount;
    private final Unit[] units;
    private final byte[] states;
    /** Per member: FIFO of steps waiting for the next unit. */
    private final Request[][] queues;
    private final int[] queueHeads, queueCounts;
    /** Per member: steps in its unit, and how many of them have not ended. */
    private final Request[][] unitSlots;
    private final int[] unitCounts, outstanding;
    /** Per member: members written by its last unit's steps, to flush before the next unit. */
    private final long[] dirtyMembers;
    private final int[] flushesPending;
    private final int[] unitStatus;
    private final boolean[] releasing;
    /** Per member: whether the current request of LOG_WRITE / LOG_FLUSH went out (else poll sends it). */
    private final boolean[] unitSubmitted;
    /** A member refused a log request: poll retries. */
    private boolean retry;
    private final long[] counters = new long[4];
    static final int UNITS = 0, ENTRIES = 1, FLUSHES = 2, STEPS = 3;

    PartialParityLog(Raid5Channel owner, Raid5Volume volume, BlockChannel[] logs, BlockChannel[] dataMembers, int queueDepth,
                     int blockBytes, int signature) {
        Check.that(MdPpl.HEADER_BYTES % blockBytes == 0, "the 4 KiB PPL header is whole blocks", blockBytes);
        this.owner = owner;
        queueDepth *= Raid5Volume.OWNERS_MAX; // every reactor's slots may be queued here
        this.volume = volume;
        this.logs = logs;
        this.dataMembers = dataMembers;
        this.blockBytes = blockBytes;
        this.memberCount = logs.length;
        Check.that(memberCount <= 64, "at most 64 members (dirty masks)", memberCount);
        units = new Unit[memberCount];
        states = new byte[memberCount];
        queues = new Request[memberCount][queueDepth];
        queueHeads = new int[memberCount];
        queueCounts = new int[memberCount];
        unitSlots = new Request[memberCount][queueDepth];
        unitCounts = new int[memberCount];
        outstanding = new int[memberCount];
        dirtyMembers = new long[memberCount];
        flushesPending = new int[memberCount];
        unitStatus = new int[memberCount];
        releasing = new boolean[memberCount];
        unitSubmitted = new boolean[memberCount];
        Arena arena = Arena.ofAuto(); // start-up allocation, freed with the channel
        for (int m = 0; m < memberCount; m++) {
            long areaBytes = logs[m].device().geometry().sizeBytes();
            units[m] = new Unit(arena, areaBytes, blockBytes, signature);
        }
    }

    long counter(int index) {
        return counters[index];
    }

    /** Queues a step (its parity member in {@code request.parity}); it is released later to its channel's logged(). */
    void append(Request request) {
        int parityMember = request.parity;
        Check.that(request.requester.ppBytesMax(request.slot) <= units[parityMember].ppBytesCapacity,
                "a step's partial parity fits the PPL area", request.slot);
        Request[] q = queues[parityMember];
        Check.that(queueCounts[parityMember] < q.length, "PPL queue within every reactor's queue depth", parityMember);
        q[(queueHeads[parityMember] + queueCounts[parityMember]++) % q.length] = request;
        kick(parityMember);
    }

    /** A released step ended (its writes done): it wrote {@code writtenMembers}. */
    void stepEnded(int parityMember, long writtenMembers) {
        Check.that(states[parityMember] == DATA && outstanding[parityMember] > 0, "a released PPL step ends once", parityMember);
        dirtyMembers[parityMember] |= writtenMembers;
        if (--outstanding[parityMember] == 0 && !releasing[parityMember]) {
            states[parityMember] = IDLE;
            kick(parityMember);
        }
    }

    boolean needsPolling() {
        return retry;
    }

    int poll() {
        if (!retry) return 0;
        retry = false;
        int work = 0;
        for (int m = 0; m < memberCount; m++) work += kick(m);
        return work;
    }

    /** Moves member m's log on if it can; returns 1 if a request went out. */
    private int kick(int m) {
        switch (states[m]) {
            case IDLE -> {
                if (queueCounts[m] == 0) return 0;
                if (dirtyMembers[m] != 0) return flushData(m);
                return writeUnit(m);
            }
            case DATA_FLUSH -> {
                return flushesPending[m] == 0 ? flushData(m) : 0; // a refused flush is sent again
            }
            case LOG_WRITE -> {
                return unitCounts[m] > 0 && !unitSubmitted[m] ? submitUnit(m) : 0;
            }
            case LOG_FLUSH -> {
                return !unitSubmitted[m] ? submitLogFlush(m) : 0;
            }
            default -> {
                return 0;
            }
        }
    }

    /** Flushes the members the last unit wrote, so its entries may be overwritten. */
    private int flushData(int m) {
        states[m] = DATA_FLUSH;
        long mask = dirtyMembers[m];
        int sent = 0;
        for (int d = 0; d < memberCount; d++) {
            if ((mask & (1L << d)) == 0) continue;
            if (!volume.isActive(d)) {
                mask &= ~(1L << d);
                continue;
            }
            if (!dataMembers[d].flush(tag(m, DATA_FLUSH, d), this)) {
                retry = true;
                break;
            }
            mask &= ~(1L << d);
            flushesPending[m]++;
            sent++;
            counters[FLUSHES]++;
        }
        dirtyMembers[m] = mask;
        if (flushesPending[m] == 0 && mask == 0) { // nothing to flush after all
            states[m] = IDLE;
            return writeUnit(m);
        }
        return sent > 0 ? 1 : 0;
    }

    /** Builds the next unit from the queued steps (FIFO, as many as fit) and writes it. */
    private int writeUnit(int m) {
        Unit unit = units[m];
        unit.begin();
        Request[] q = queues[m];
        int count = 0;
        while (queueCounts[m] > 0) {
            Request r = q[queueHeads[m]];
            if (unit.entryCount + ENTRIES_PER_STEP_MAX > MdPpl.ENTRIES_MAX
                    || unit.ppBytes() + r.requester.ppBytesMax(r.slot) > unit.ppBytesCapacity) break;
            q[queueHeads[m]] = null;
            queueHeads[m] = (queueHeads[m] + 1) % q.length;
            queueCounts[m]--;
            r.requester.addEntries(r.slot, unit); // a remote requester's buffers: published by the command queue
            unitSlots[m][count++] = r;
        }
        Check.that(count > 0, "the first queued step fits an empty unit", m);
        unit.seal();
        unitCounts[m] = count;
        unitStatus[m] = Status.OK;
        states[m] = LOG_WRITE;
        unitSubmitted[m] = false;
        counters[UNITS]++;
        counters[ENTRIES] += unit.entryCount;
        counters[STEPS] += count;
        return submitUnit(m);
    }

    private int submitUnit(int m) {
        Unit unit = units[m];
        int blocks = (int) ((MdPpl.HEADER_BYTES + unit.ppBytes()) / blockBytes);
        if (!logs[m].write(0, blocks, unit.writeSlice(), tag(m, LOG_WRITE, m), this)) {
            retry = true;
            return 0;
        }
        unitSubmitted[m] = true;
        return 1;
    }

    private int submitLogFlush(int m) {
        if (!logs[m].flush(tag(m, LOG_FLUSH, m), this)) {
            retry = true;
            return 0;
        }
        unitSubmitted[m] = true;
        counters[FLUSHES]++;
        return 1;
    }

    private static long tag(int logMember, byte kind, int target) {
        return ((long) target << (2 * KIND_SHIFT)) | ((long) kind << KIND_SHIFT) | logMember;
    }

    @Override
    public void complete(long tag, int status) {
        int m = (int) (tag & 0xff);
        byte kind = (byte) ((tag >>> KIND_SHIFT) & 0xff);
        int target = (int) (tag >>> (2 * KIND_SHIFT));
        switch (kind) {
            case DATA_FLUSH -> {
                // A member that cannot flush is failed by its next write; the unit goes on either way, as md's does.
                if (status != Status.OK && Raid1Volume.isMemberFault(status)) volume.markFailed(target);
                if (--flushesPending[m] == 0 && dirtyMembers[m] == 0) {
                    states[m] = IDLE;
                    kick(m);
                }
            }
            case LOG_WRITE -> {
                if (status != Status.OK) {
                    unitStatus[m] = status;
                    release(m); // md_error on the log member; the steps go on (their parity write will fail too)
                    return;
                }
                states[m] = LOG_FLUSH;
                unitSubmitted[m] = false;
                submitLogFlush(m);
            }
            case LOG_FLUSH -> {
                unitStatus[m] = status;
                release(m);
            }
            default -> throw new IllegalStateException("PPL completion of kind " + kind);
        }
    }

    /** The unit is durable (or failed): every step in it goes on to its writes. */
    private void release(int m) {
        states[m] = DATA;
        int count = unitCounts[m];
        outstanding[m] = count;
        unitCounts[m] = 0;
        releasing[m] = true;
        int status = unitStatus[m];
        for (int i = 0; i < count; i++) {
            Request r = unitSlots[m][i];
            unitSlots[m][i] = null;
            if (r.requester == owner) {
                r.requester.logged(r.slot, m, status);
            } else {
                r.member = m;
                r.status = status;
                r.state = Request.LOGGED_SENT;
                owner.pplPost(r.requester, r);
            }
        }
        releasing[m] = false;
        if (outstanding[m] == 0) {
            states[m] = IDLE;
            kick(m);
        }
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
        private final MemorySegment[] writeSlices;
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
            writeSlices = new MemorySegment[blocks + 1];
            for (int b = 0; b < blocks; b++) ppBlocks[b] = buffer.asSlice(MdPpl.HEADER_BYTES + (long) b * blockBytes, blockBytes);
            for (int b = 0; b <= blocks; b++) writeSlices[b] = buffer.asSlice(0, MdPpl.HEADER_BYTES + (long) b * blockBytes);
        }

        void begin() {
            header.reset(signature).generation(++generation);
            entryCount = 0;
            ppBlockCount = 0;
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

        MemorySegment writeSlice() {
            return writeSlices[ppBlockCount];
        }
    }
}
