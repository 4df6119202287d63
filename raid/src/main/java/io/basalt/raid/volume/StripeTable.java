package io.basalt.raid.volume;

import io.basalt.engine.Reactor;

import java.util.ArrayDeque;

/**
 * The table of stripes in progress that one reactor keeps for a {@link Raid5Volume}: the owner side of the stripe
 * locks ({@link StripeLocks} is the requester side). Stripe s is ordered by the table of reactor
 * (s mod owner reactors), see {@link Raid5Volume#ownerOf}. Dense and scanned linearly (only the stripes held now),
 * each stripe held shared by readers (a count) or exclusively by one writer (-1). A remote request that finds its
 * stripe taken waits in a FIFO; an answer a full command queue refused waits in {@link #outbound}, sent by
 * {@link #poll} (the table is a poller of its reactor, whatever channels are open there).
 *
 * <p>Why a table per reactor and not per channel (docs/raid.md, "Stripe owners across reactors"): every channel on
 * the reactor, open or closed, foreground or sync, uses this one table, so a stripe's owner never changes while the
 * reactor runs. The table used to be a channel's, handed to the reactor's next channel once that one closed, and
 * the stripes it still held for other reactors' steps (a rebuild step) were unknown to the new one: a write and
 * the step interleaved on one stripe, and the step wrote a chunk rebuilt from the old data over the new
 * (Raid5SyncTest.aStripeGrantedToAnotherReactorsStepStaysHeldWhenTheOwnersChannelCloses). Owned by the reactor's thread.
 */
final class StripeTable implements Reactor.Poller {
    /** First size of a table that orders stripes: every slot of a full-depth channel on each of the most reactors. */
    static final int ENTRIES_INITIAL = VolumeChannel.QUEUE_DEPTH_MAX * Raid5Volume.OWNERS_MAX;

    final Reactor reactor;
    private final Raid5Volume volume;
    /**
     * Stripes held and their holders: readers (> 0) or -1 for the one writer. Grown (doubled) when full: held stripes
     * are bounded by the request slots of the channels open on the volume, which the table cannot know (a reactor may
     * have several), and a full table must not fail a write. In steady state it never grows.
     */
    private long[] lockedStripes;
    private int[] lockHolders;
    private int lockedCount;
    /** Remote requests waiting for a stripe, FIFO; and answers a full command queue refused. */
    private final ArrayDeque<RemoteLock> remoteWaiters;
    private final ArrayDeque<RemoteLock> outbound;
    /** Stripes unlocked so far (a parked step of any channel on this reactor waits for this or a set release to move). */
    long unlockCount;

    StripeTable(Raid5Volume volume, Reactor reactor, int entries) {
        this.volume = volume;
        this.reactor = reactor;
        lockedStripes = new long[entries];
        lockHolders = new int[entries];
        remoteWaiters = new ArrayDeque<>(entries);
        outbound = new ArrayDeque<>(entries);
    }

    /** Takes {@code stripe} (shared for a reader): false when a writer holds it, or anyone does and this is a writer. */
    boolean lock(long stripe, boolean shared) {
        for (int k = 0; k < lockedCount; k++) {
            if (lockedStripes[k] != stripe) continue;
            if (!shared || lockHolders[k] < 0) return false;
            lockHolders[k]++;
            return true;
        }
        if (lockedCount == lockedStripes.length) grow();
        lockedStripes[lockedCount] = stripe;
        lockHolders[lockedCount++] = shared ? 1 : -1;
        return true;
    }

    private void grow() {
        int entries = Math.max(1, lockedStripes.length * 2);
        lockedStripes = java.util.Arrays.copyOf(lockedStripes, entries);
        lockHolders = java.util.Arrays.copyOf(lockHolders, entries);
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

    /** Stripes held now (tests; on the reactor's thread). */
    int lockedCount() {
        return lockedCount;
    }

    /** A step on another reactor asks for a stripe this table orders: grant it now or queue it. */
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
    @Override
    public int poll(long nowNs) {
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

    @Override
    public boolean needsPolling() {
        return !outbound.isEmpty();
    }
}
