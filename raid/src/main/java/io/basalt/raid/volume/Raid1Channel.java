package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;

/**
 * A {@link Raid1Volume}'s channel on one reactor. Member states are read at submission (volatile loads),
 * so a member failed by another reactor or the control plane gets no new request from here either.
 *
 * <p>Writes (and flush, discard, write-zeroes) go to every active member, the cursor walking the members;
 * the request succeeds when one member did. Reads go to one member picked round-robin; a member error moves
 * the read to the next active member not tried yet.
 *
 * <p>A status that says the request is bad rather than the member (UNSUPPORTED for a discard, say) fails
 * the request without failing the member.
 */
final class Raid1Channel extends VolumeChannel {
    private final Raid1Volume volume;
    private final int memberCount;
    // Per slot.
    private final int[] triedMasks;
    private final int[] targets;
    private final int[] okCounts;
    private final int[] requestErrors;
    private int nextRead;
    /** Per slot: the epoch parity a write counted itself under (see Raid1Volume#beforeUnit), or -1. */
    private final int[] enteredEpochs;
    /** Per slot: whether a member accepted a piece of the request. */
    private final boolean[] sent;
    /** This channel's writes in flight per epoch parity: written here, summed by a sync job's thread. */
    private final java.util.concurrent.atomic.AtomicIntegerArray writesInFlight = new java.util.concurrent.atomic.AtomicIntegerArray(2);
    /** The last refusal was the sync barrier's: the request waits in the retry list instead of bouncing. */
    private boolean barrierWait;

    Raid1Channel(Raid1Volume volume, Reactor reactor, BlockChannel[] members) {
        super(volume, reactor, members);
        this.volume = volume;
        this.memberCount = members.length;
        int depth = queueDepthMax();
        this.triedMasks = new int[depth];
        this.targets = new int[depth];
        this.okCounts = new int[depth];
        this.requestErrors = new int[depth];
        this.enteredEpochs = new int[depth];
        this.sent = new boolean[depth];
        java.util.Arrays.fill(enteredEpochs, -1);
    }

    @Override
    protected void startSlot(int slot) {
        triedMasks[slot] = 0;
        targets[slot] = -1;
        okCounts[slot] = 0;
        requestErrors[slot] = Status.OK;
        enteredEpochs[slot] = -1;
        sent[slot] = false;
    }

    @Override
    protected boolean deviceClosed() {
        return volume.isClosed();
    }

    private boolean usable(int member) {
        return members[member] != null && volume.isActive(member);
    }

    /** Writes also go to a rebuilding member (so that what the rebuild copied stays in sync). */
    private boolean writable(int member) {
        return members[member] != null && volume.isWritable(member);
    }

    @Override
    protected boolean advance(int slot) {
        barrierWait = false;
        if (isRead(slot)) return advanceRead(slot);
        // A mirror write (discard and write-zeroes too) records its rows in the write intent first; a flush changes no data.
        if (ops[slot] != OP_FLUSH && !admitWrite(slot, volume.writeIntent(), lbas[slot], blockCounts[slot])) {
            barrierWait = true; // waits in the retry list (asked again each cycle) instead of bouncing to the caller
            return false;
        }
        if (!enterBarrier(slot)) return false;
        boolean all = advanceToAll(slot);
        if (!all && !sent[slot]) exitBarrier(slot); // nothing written: the request may be refused; it enters again on retry
        return all;
    }

    /** A write waiting for the sync window or its write-intent record queues instead of being refused. */
    @Override
    protected boolean queuesWhenRefused() {
        return barrierWait;
    }

    int writesInEpoch(int parity) {
        return writesInFlight.get(parity);
    }

    /** Counts the write under the current epoch, then looks at the sync window (this order: see Raid1Volume#beforeUnit). */
    private boolean enterBarrier(int slot) {
        if (enteredEpochs[slot] >= 0) return true;
        int parity = volume.epoch() & 1;
        writesInFlight.incrementAndGet(parity);
        if (volume.barrierBlocks(lbas[slot], blockCounts[slot])) {
            writesInFlight.decrementAndGet(parity);
            barrierWait = true;
            return false;
        }
        enteredEpochs[slot] = parity;
        return true;
    }

    private void exitBarrier(int slot) {
        if (enteredEpochs[slot] < 0) return;
        writesInFlight.decrementAndGet(enteredEpochs[slot]);
        enteredEpochs[slot] = -1;
    }

    /** Submits the read to its target, picking one first; true with nothing pending when no member is left. */
    private boolean advanceRead(int slot) {
        int member = targets[slot];
        if (member < 0 || !usable(member)) {
            member = pickRead(triedMasks[slot]);
            targets[slot] = member;
            if (member < 0) return true;
        }
        if (!submitTransfer(slot, member, lbas[slot], (int) blockCounts[slot], 0)) return false;
        pending[slot]++;
        triedMasks[slot] |= 1 << member;
        return true;
    }

    /** The next active member not in {@code tried}, round-robin from this channel's last pick; -1 if none. */
    private int pickRead(int tried) {
        for (int i = 0; i < memberCount; i++) {
            int member = nextRead;
            nextRead = nextRead + 1 == memberCount ? 0 : nextRead + 1;
            if ((tried & (1 << member)) == 0 && usable(member)) return member;
        }
        return -1;
    }

    private boolean advanceToAll(int slot) {
        for (int m = (int) cursors[slot]; m < memberCount; m++) {
            if (!writable(m)) continue;
            boolean accepted = ops[slot] == OP_WRITE || ops[slot] == OP_WRITEV
                    ? submitTransfer(slot, m, lbas[slot], (int) blockCounts[slot], 0)
                    : submitOther(slot, m, lbas[slot], blockCounts[slot]);
            if (!accepted) {
                cursors[slot] = m;
                return false;
            }
            pending[slot]++;
            sent[slot] = true;
        }
        cursors[slot] = memberCount;
        return true;
    }

    @Override
    protected void onPiece(int slot, int member, int status) {
        if (status == Status.OK) {
            okCounts[slot]++;
            return;
        }
        if (!Raid1Volume.isMemberFault(status)) {
            if (requestErrors[slot] == Status.OK) requestErrors[slot] = status;
            return;
        }
        volume.markFailed(member, status);
        if (firstErrors[slot] == Status.OK) firstErrors[slot] = status;
        if (isRead(slot) && requestErrors[slot] == Status.OK) {
            volume.count(Raid1Volume.READ_RETRIES);
            targets[slot] = -1;
            resume(slot); // to another member, or nothing pending when none is left
        }
    }

    @Override
    protected int finalStatus(int slot) {
        exitBarrier(slot);
        if (requestErrors[slot] != Status.OK) return requestErrors[slot];
        if (okCounts[slot] > 0) {
            if (!isRead(slot) && firstErrors[slot] != Status.OK) volume.count(Raid1Volume.DEGRADED_WRITES);
            return Status.OK;
        }
        return firstErrors[slot] != Status.OK ? firstErrors[slot] : Status.DEVICE_GONE;
    }
}
