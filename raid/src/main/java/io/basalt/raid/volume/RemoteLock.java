package io.basalt.raid.volume;

/**
 * One slot's stripe request to a remote owner, posted back and forth on the two reactors' command queues
 * (their MPSC queues publish the fields: a command's writes happen before its run on the other thread).
 * One state machine, one command per slot, never two in flight:
 * IDLE -> LOCK_SENT -> (owner) GRANT_SENT -> (requester) GRANTED -> RELEASE_PENDING -> RELEASE_SENT
 * -> (owner) RELEASED_SENT -> (requester) RELEASED -> IDLE.
 * (Its moves alternate between two threads, so it keeps its own volatile state rather than a per-owner
 * {@link io.basalt.engine.StateMachine}, whose counters have one writer.)
 */
final class RemoteLock implements Runnable {
    static final int IDLE = 0, LOCK_SENT = 1, GRANT_SENT = 2, GRANTED = 3, RELEASE_PENDING = 4, RELEASE_SENT = 5,
            RELEASED_SENT = 6, RELEASED = 7;
    final Raid5Channel requester;
    /** The table that orders the stripe, on another reactor (or on this one, for a sync channel whose reactor orders none). */
    StripeTable owner;
    long stripe;
    boolean shared;
    volatile int state;

    RemoteLock(Raid5Channel requester) {
        this.requester = requester;
    }

    void ask(StripeTable owner, long stripe, boolean shared) {
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
