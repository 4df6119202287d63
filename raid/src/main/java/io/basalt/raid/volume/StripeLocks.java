package io.basalt.raid.volume;

/**
 * A {@link Raid5Channel}'s stripe locks, as requester, per slot ({@link #take}): the step's stripe from its reactor's
 * {@link StripeTable} when that table orders it (a table look-up, no message), or from the owning table on another
 * reactor through the slot's {@link RemoteLock} command, then a stripe-buffer set; a step that finds either taken
 * parks until something is released. The owner side, the table, is the reactor's, shared by its channels.
 * Owned by the channel's reactor thread.
 */
final class StripeLocks {
    private final Raid5Channel ch;
    private final Raid5Volume volume;
    private final StripeBufferSets sets;
    /** This reactor's table (shared by every channel on the reactor; an empty one of its own for a sync channel on a reactor that orders no stripe). */
    final StripeTable table;
    private final long[] stepStripes;
    private final int[] windowStarts, windowEnds, stripeSets, opCounts;

    // As requester, per slot.
    /** The one command that carries the slot's lock, grant and release to and from a remote owner. */
    final RemoteLock[] remoteLocks;
    final boolean[] holdsStripe;
    /** Whether the slot's stripe is held at a remote owner (else, when holdsStripe, in this reactor's table). */
    private final boolean[] holdsRemote;
    /**
     * A step that could not take its local stripe or a set parks with the count of releases (stripe unlocks and
     * shared-set releases) it saw and is not planned again until the count moves: the retry list is polled every
     * reactor cycle, and re-planning a parked step each time (N volatile member-state reads and the window scan)
     * was a third of a busy reactor's samples under 4k random writes (docs/raid.md, "Profile").
     */
    private final long[] parkedAt;
    private final boolean[] parked;

    StripeLocks(Raid5Channel ch, StripeBufferSets sets, StripeTable table, int queueDepth) {
        this.ch = ch;
        this.volume = ch.volume;
        this.sets = sets;
        this.table = table;
        this.stepStripes = ch.stepStripes;
        this.windowStarts = ch.windowStarts;
        this.windowEnds = ch.windowEnds;
        this.stripeSets = ch.stripeSets;
        this.opCounts = ch.opCounts;
        remoteLocks = new RemoteLock[queueDepth];
        for (int i = 0; i < queueDepth; i++) remoteLocks[i] = new RemoteLock(ch);
        holdsStripe = new boolean[queueDepth];
        holdsRemote = new boolean[queueDepth];
        parkedAt = new long[queueDepth];
        parked = new boolean[queueDepth];
    }

    // ------------------------------------------------------------------ as requester (per slot)

    /** A new request in the slot: holds nothing, not parked (its remote command may still be releasing). */
    void start(int slot) {
        holdsStripe[slot] = false;
        parked[slot] = false;
    }

    /** Stripe unlocks in this reactor's table and shared-set releases on this channel so far (see {@link #parkedAt}). */
    private long releases() {
        return table.unlockCount + sets.releaseCount;
    }

    /** Whether the slot parked and nothing was released since (its stripe or set is still taken). */
    boolean stillParked(int slot) {
        if (!parked[slot]) return false;
        if (parkedAt[slot] == releases()) return true;
        parked[slot] = false;
        return false;
    }

    private int windowBlocks(int slot) {
        return windowEnds[slot] - windowStarts[slot];
    }

    /** Takes the step's stripe (shared for a rebuilt read, else exclusive), then a stripe-buffer set if needed. */
    boolean take(int slot, boolean shared) {
        long stripe = stepStripes[slot];
        StripeTable owner = volume.ownerOf(stripe);
        if (owner != table) return takeRemote(slot, owner, stripe, shared);
        if (!table.lock(stripe, shared)) {
            volume.count(Raid5Volume.STRIPE_WAITS);
            park(slot);
            return false;
        }
        holdsStripe[slot] = true;
        if (!sets.available(windowBlocks(slot))) {
            table.unlock(stripe);
            holdsStripe[slot] = false;
            opCounts[slot] = 0;
            park(slot);
            return false;
        }
        stripeSets[slot] = sets.take(slot, windowBlocks(slot));
        return true;
    }

    private void park(int slot) {
        parked[slot] = true;
        parkedAt[slot] = releases();
    }

    /** The stripe from its owner on another reactor: send the request, wait for the grant, then a buffer set. */
    private boolean takeRemote(int slot, StripeTable owner, long stripe, boolean shared) {
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
                if (!sets.available(windowBlocks(slot))) return false; // keep the stripe: set holders never wait for stripes
                holdsStripe[slot] = true;
                holdsRemote[slot] = true;
                stripeSets[slot] = sets.take(slot, windowBlocks(slot));
                return true;
            }
            default -> {
                return false; // asked and not answered yet
            }
        }
    }

    /** The step ended: its stripe goes back (a remote one on the next plan, which sends it and waits for the answer). */
    void endHold(int slot) {
        if (holdsStripe[slot] && holdsRemote[slot]) {
            remoteLocks[slot].state = RemoteLock.RELEASE_PENDING;
        } else if (holdsStripe[slot]) {
            table.unlock(stepStripes[slot]);
        }
        holdsStripe[slot] = false;
        holdsRemote[slot] = false;
    }

    /**
     * A stripe asked for (or granted) at a remote owner that the step's new plan does not take: a read planned to
     * rebuild a chunk, re-planned plain because the rebuilding member's position passed its stripe meanwhile.
     * It is given back first (BUSY until the owner confirmed), or the owner would keep it locked for good.
     */
    boolean remoteUnused(int slot) {
        RemoteLock remote = remoteLocks[slot];
        if (remote.state == RemoteLock.IDLE) return false;
        if (remote.state == RemoteLock.GRANTED) remote.state = RemoteLock.RELEASE_PENDING;
        if (remote.releasing()) driveRelease(slot);
        return true;
    }

    /** Moves a remote release on; true once the owner confirmed it (the command is idle again). */
    boolean driveRelease(int slot) {
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
}
