package io.basalt.raid.volume;

import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;

/**
 * What a {@link SyncJob} needs from a redundant volume: its sync unit (a raid5 stripe, a raid1 window), the
 * rebuilding member and its recovery position, and a worker on a reactor that syncs one unit per request.
 * The job thread calls everything here except the worker, which lives on its reactor.
 */
public interface SyncTarget {
    String name();

    /** Units (stripes or windows) in the array. */
    long unitCount();

    /** Member blocks one unit covers on each member (a chunk for raid5, a window for raid1). */
    long unitMemberBlocks();

    int blockBytes();

    /** Most units the job may have in flight (raid1's barrier covers one window at a time). */
    int unitsInFlightMax();

    /** The member in state REBUILDING, or -1. */
    int rebuildingMember();

    /** Units below this are in sync on the rebuilding member (its recovery position). */
    long recoveryUnit();

    /** Why {@code action} cannot run now (a second member missing, nothing to rebuild), or null. */
    String refusal(int action);

    /** Opens a worker on {@code reactor}; called on its thread. */
    Worker openWorker(Reactor reactor);

    /** Before a unit is submitted (job thread; may wait): raid1 raises its write barrier over the window. */
    void beforeUnit(long unit) throws InterruptedException;

    /** After a unit completed (job thread): raid1 lowers the barrier. */
    void afterUnit(long unit);

    /** Moves the rebuilding member's recovery position up to {@code unit} (job thread; never down). */
    void recoveredTo(long unit);

    /** The rebuild reached the end: the member becomes active. */
    void finishRebuild();

    /** Mismatched sectors found by check and repair steps since the last reset. */
    long mismatchSectors();

    void resetMismatches();

    /** Syncs units on one reactor; used on that reactor's thread only. */
    interface Worker {
        /** Starts the sync of {@code unit}; false when no request slot is free (retry later). */
        boolean submit(long unit, int action, long tag, IoCompletion done);

        void close();
    }
}
