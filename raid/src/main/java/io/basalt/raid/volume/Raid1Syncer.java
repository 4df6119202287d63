package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.StateMachine;
import io.basalt.engine.Status;
import io.basalt.raid.parity.Raid5Layout;
import io.basalt.shims.Check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A raid1 sync worker on one reactor: one window at a time (the job raised the volume's write barrier over it
 * first, so no write of the window is in flight or starts meanwhile). READ the source (the first active
 * member; every active member for check and repair; a read that fails on a member fault fails that member and
 * the window is read again from the active members left), then compute (compare block by block), then WRITE:
 *
 * <pre>
 *   rebuild   read source -> write the rebuilding member
 *   resync    read source -> write every other member (md: the first active member wins)
 *   check     read all active -> count mismatched sectors
 *   repair    read all active -> count, write the source's window over the members that differ
 * </pre>
 *
 * Member channels are the worker's own, opened on the member devices at start (the volume owns them; a sync
 * is the volume's I/O). Buffers: one window per member, allocated once.
 *
 * <p>The window machine ({@link #WINDOWS}; slot 0, one window at a time): IDLE -> READING -> WRITING -> IDLE; READING
 * -> READING when a read failed on a member fault and the window is read again; READING -> IDLE when there is nothing
 * to write (check, an error); ENDING when no member is left to read from (the unit ends DEVICE_GONE next cycle).
 */
final class Raid1Syncer implements SyncTarget.Worker, IoCompletion {
    static final byte IDLE = 0, READING = 1, WRITING = 2, ENDING = 3;
    static final StateMachine.Table WINDOWS = StateMachine.table("raid1 sync window", "IDLE", "READING", "WRITING", "ENDING")
            .allow(IDLE, READING, ENDING)              // a window starts; or no member is left to read
            .allow(READING, READING, WRITING, IDLE, ENDING) // read again after a fault; write; nothing to write; no source left
            .allow(WRITING, IDLE)                      // the writes completed
            .allow(ENDING, IDLE);                      // the deferred DEVICE_GONE completion ran
    private final StateMachine windowMachine = new StateMachine(WINDOWS);
    private final Raid1Volume volume;
    private final Reactor reactor;
    private final int windowBlocks;
    private final int blockBytes;
    private final BlockChannel[] channels;
    private final MemorySegment[] buffers;
    private final boolean[] targets;
    private byte phase = IDLE;
    private int action, source, pending, status;
    /** Reads of this window's read phase that failed on a member fault (the member was failed). */
    private int readFaults;
    private long lba, tag;
    private int blocks;
    private IoCompletion done;

    Raid1Syncer(Raid1Volume volume, Reactor reactor, int windowBlocks) {
        Check.that(reactor.isOwnerThread(), "a sync worker opens on its reactor's thread");
        this.volume = volume;
        this.reactor = reactor;
        this.windowBlocks = windowBlocks;
        this.blockBytes = volume.geometry().logicalBlockBytes();
        int n = volume.memberCount();
        channels = new BlockChannel[n];
        buffers = new MemorySegment[n];
        targets = new boolean[n];
        Arena arena = Arena.ofAuto();
        for (int m = 0; m < n; m++) {
            if (!volume.isWritable(m)) continue;
            channels[m] = volume.member(m).openChannel(reactor);
            buffers[m] = arena.allocate((long) windowBlocks * blockBytes, 4096);
        }
    }

    /** The window machine's move counters (tests, status). */
    StateMachine windowMachine() {
        return windowMachine;
    }

    /** The one place the window changes state: checked against {@link #WINDOWS} and counted. */
    private void moveTo(byte to) {
        phase = (byte) windowMachine.move(0, phase, to);
    }

    @Override
    public boolean submit(long unit, int action, long tag, IoCompletion done) {
        if (phase != IDLE) return false;
        this.action = action;
        this.tag = tag;
        this.done = done;
        this.lba = unit * windowBlocks;
        this.blocks = (int) Math.min(windowBlocks, volume.geometry().blockCount() - lba);
        this.status = Status.OK;
        this.readFaults = 0;
        startReads();
        return true;
    }

    /**
     * The read phase of the window: from the first active member (every active member for check and repair).
     * Also called again when a read failed on a member fault: that member is failed by then, so the window is
     * read again from the next active mirror, as md's sync_request_write reads the next in-sync disk instead of
     * aborting the resync. With no active member left the unit ends DEVICE_GONE (on the next cycle, never
     * inside submit).
     */
    private void startReads() {
        source = -1;
        pending = 0;
        for (int m = 0; m < channels.length && source < 0; m++) if (channels[m] != null && volume.isActive(m)) source = m;
        if (source < 0) {
            moveTo(ENDING);
            status = Status.DEVICE_GONE;
            reactor.completeLater(this, -1, Status.DEVICE_GONE);
            return;
        }
        moveTo(READING);
        boolean readAll = action == SyncJob.CHECK || action == SyncJob.REPAIR;
        for (int m = 0; m < channels.length; m++) {
            if (channels[m] == null || !volume.isActive(m) || (m != source && !readAll)) continue;
            send(m, false);
        }
    }

    private void send(int member, boolean write) {
        MemorySegment buffer = (write ? buffers[source] : buffers[member]).asSlice(0, (long) blocks * blockBytes);
        boolean accepted = write ? channels[member].write(lba, blocks, buffer, member, this) : channels[member].read(lba, blocks, buffer, member, this);
        if (!accepted) { // a member queue full: try again next cycle (the worker has at most one window in flight)
            pending++;
            reactor.completeLater((t, s) -> {
                pending--;
                send(member, write);
            }, member, Status.OK);
            return;
        }
        pending++;
    }

    @Override
    public void complete(long memberTag, int memberStatus) {
        if (memberTag >= 0) {
            pending--;
            if (memberStatus != Status.OK) {
                boolean fault = Raid1Volume.isMemberFault(memberStatus);
                if (fault) volume.markFailed((int) memberTag, memberStatus);
                if (phase == READING && fault) readFaults++;
                else if (status == Status.OK) status = memberStatus;
            }
        }
        if (pending > 0) return;
        if (phase == READING && readFaults > 0 && status == Status.OK) {
            readFaults = 0; // the faulty mirrors are failed now: read the window again from the active ones left
            startReads();
            return;
        }
        if (phase == READING && status == Status.OK && planWrites()) return;
        moveTo(IDLE);
        done.complete(tag, status);
    }

    /** After the reads: compares and sends the writes; false when there is nothing to write. */
    private boolean planWrites() {
        for (int m = 0; m < channels.length; m++) targets[m] = false;
        switch (action) {
            case SyncJob.REBUILD -> {
                int target = volume.rebuildingMember();
                if (target < 0 || channels[target] == null) {
                    status = Status.INVALID;
                    return false;
                }
                targets[target] = true;
            }
            case SyncJob.RESYNC -> {
                for (int m = 0; m < channels.length; m++) targets[m] = m != source && channels[m] != null && volume.isWritable(m);
            }
            default -> { // check, repair
                for (int m = 0; m < channels.length; m++) {
                    if (m == source || channels[m] == null || !volume.isActive(m)) continue;
                    long wrong = mismatchedBlocks(buffers[source], buffers[m]);
                    if (wrong == 0) continue;
                    volume.addMismatchSectors(wrong * (blockBytes / Raid5Layout.SECTOR_BYTES));
                    targets[m] = action == SyncJob.REPAIR;
                }
            }
        }
        boolean any = false;
        for (int m = 0; m < channels.length; m++) any |= targets[m];
        if (!any) return false;
        moveTo(WRITING);
        for (int m = 0; m < channels.length; m++) if (targets[m]) send(m, true);
        return true;
    }

    private long mismatchedBlocks(MemorySegment a, MemorySegment b) {
        long count = 0, bytes = (long) blocks * blockBytes;
        for (long at = 0; at < bytes; ) {
            long relative = MemorySegment.mismatch(a, at, bytes, b, at, bytes);
            if (relative < 0) break;
            count++;
            at = ((at + relative) / blockBytes + 1) * blockBytes;
        }
        return count;
    }

    @Override
    public void close() {
        for (BlockChannel c : channels) if (c != null) c.close();
    }
}
