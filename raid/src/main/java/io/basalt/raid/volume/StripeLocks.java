package io.basalt.raid.volume;

import io.basalt.shims.Check;

import java.util.ArrayDeque;

/**
 * A {@link Raid5Channel}'s stripe locks, both sides.
 *
 * <p>As owner of the stripes {@code stripe mod reactors} maps to it ({@link Raid5Volume#ownerOf}): the table of
 * stripes in progress, dense and scanned linearly (at most every reactor's queue depth entries), each stripe held
 * shared by readers (a count) or exclusively by one writer (-1). A remote request that finds its stripe taken waits
 * in a FIFO; an answer a full command queue refused waits in {@link #outbound} until {@link #pollOutbound}.
 *
 * <p>As requester, per slot ({@link #take}): the step's stripe from this table, or from a remote owner through the
 * slot's {@link RemoteLock} command, then a stripe-buffer set; a step that finds either taken parks until something
 * is released. Owned by the channel's reactor thread.
 */
final class StripeLocks {
    private final Raid5Channel ch;
    private final Raid5Volume volume;
    private final StripeBufferSets sets;
    private final long[] stepStripes;
    private final int[] windowStarts, windowEnds, stripeSets, opCounts;
    private final long[] lockedStripes;
    /** Readers (> 0) or -1 for the one writer. */
    private final int[] lockHolders;
    private int lockedCount;
    /** As owner: remote requests waiting for a stripe, FIFO; and answers a full command queue refused. */
    private final ArrayDeque<RemoteLock> remoteWaiters;
    private final ArrayDeque<RemoteLock> outbound;
    /** Stripes unlocked so far (a parked step waits for this or a set release to move). */
    long unlockCount;

    // As requester, per slot.
    /** The one command that carries the slot's lock, grant and release to and from a remote owner. */
    final RemoteLock[] remoteLocks;
    final boolean[] holdsStripe;
    /** Whether the slot's stripe is held at a remote owner (else, when holdsStripe, in this channel's table). */
    private final boolean[] holdsRemote;
    /**
     * A step that could not take its local stripe or a set parks with the count of releases (stripe unlocks and
     * shared-set releases) it saw and is not planned again until the count moves: the retry list is polled every
     * reactor cycle, and re-planning a parked step each time (N volatile member-state reads and the window scan)
     * was a third of a busy reactor's samples under 4k random writes (docs/raid.md, "Profile").
     */
    private final long[] parkedAt;
    private final boolean[] parked;

    StripeLocks(Raid5Channel ch, StripeBufferSets sets, int queueDepth) {
        this.ch = ch;
        this.volume = ch.volume;
        this.sets = sets;
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
        int tableMax = queueDepth * Raid5Volume.OWNERS_MAX; // this reactor's slots and every other reactor's
        lockedStripes = new long[tableMax];
        lockHolders = new int[tableMax];
        remoteWaiters = new ArrayDeque<>(tableMax);
        outbound = new ArrayDeque<>(tableMax);
    }

    /** Takes {@code stripe} (shared for a reader): false when a writer holds it, or anyone does and this is a writer. */
    boolean lock(long stripe, boolean shared) {
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

    void unlock(long stripe) {
        for (int k = 0; k < lockedCount; k++) {
            if (lockedStripes[k] != stripe) continue;
            if (lockHolders[k] > 1) {
                lockHolders[k]--;
                if (!remoteWaiters.isEmpty()) grantWaiters();
                return;
            }
            lockedCount--;
            unlockCount++;
            lockedStripes[k] = lockedStripes[lockedCount];
            lockHolders[k] = lockHolders[lockedCount];
            if (!remoteWaiters.isEmpty()) grantWaiters();
            return;
        }
        throw new IllegalStateException("unlock of a stripe not in progress: " + stripe);
    }

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

    /** Sends the answers a full command queue refused, in order; returns how many went. */
    int pollOutbound() {
        int work = 0;
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

    boolean hasOutbound() {
        return !outbound.isEmpty();
    }

    // ------------------------------------------------------------------ as requester (per slot)

    /** A new request in the slot: holds nothing, not parked (its remote command may still be releasing). */
    void start(int slot) {
        holdsStripe[slot] = false;
        parked[slot] = false;
    }

    /** Stripe unlocks and shared-set releases on this channel so far (see {@link #parkedAt}). */
    private long releases() {
        return unlockCount + sets.releaseCount;
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
        Raid5Channel owner = volume.ownerOf(stripe);
        if (owner != ch) return takeRemote(slot, owner, stripe, shared);
        if (!lock(stripe, shared)) {
            volume.count(Raid5Volume.STRIPE_WAITS);
            park(slot);
            return false;
        }
        holdsStripe[slot] = true;
        if (!sets.available(windowBlocks(slot))) {
            unlock(stripe);
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
            unlock(stepStripes[slot]);
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
