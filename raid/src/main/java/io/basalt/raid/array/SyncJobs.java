package io.basalt.raid.array;

import io.basalt.raid.volume.SyncJob;

import java.io.IOException;
import java.util.List;

/**
 * The arrays' sync jobs (docs/raid.md, "Sync jobs"): one {@link SyncJob} at a time per array, on its own thread;
 * a rebuild's checkpoints and every job's end go through the recorder (superblocks with the recovery offset),
 * then to the listener. Called under the arrays' lock.
 */
final class SyncJobs {
    static final long RATE_MIB_S_MAX = 1_000_000;
    static final int UNITS_IN_FLIGHT_MAX = 64;

    private final RaidArrays arrays;
    private final ArrayContext context;
    private final Superblocks superblocks;

    SyncJobs(RaidArrays arrays, ArrayContext context, Superblocks superblocks) {
        this.arrays = arrays;
        this.context = context;
        this.superblocks = superblocks;
    }

    /** raid_check, raid_repair, raid_resync, raid_rebuild: refused while a job runs or without redundancy. */
    void startByRequest(RaidArray a, SyncAction action, List<long[]> regions) throws ArrayException {
        if (a.redundant == null) throw ArrayException.invalid("param 'name': raid" + a.level.mdLevel + " volume '" + a.name + "' has no redundancy to sync");
        if (a.jobRunning()) {
            throw ArrayException.invalid("param 'name': volume '" + a.name + "' runs a " + a.job.actionName()
                    + " (" + Math.round(a.job.percent()) + "%); wait for it or raid_sync_stop it");
        }
        try {
            start(a, action, regions);
        } catch (IllegalStateException | IllegalArgumentException e) {
            throw ArrayException.invalid(e.getMessage());
        }
    }

    static void setLimit(RaidArray a, long rate, long inFlight) throws ArrayException {
        if (rate < 1 || rate > RATE_MIB_S_MAX) throw ArrayException.invalid("param 'max_mib_s' must be 1 to " + RATE_MIB_S_MAX + ", was " + rate);
        if (inFlight < 1 || inFlight > UNITS_IN_FLIGHT_MAX) {
            throw ArrayException.invalid("param 'units_in_flight' must be 1 to " + UNITS_IN_FLIGHT_MAX + ", was " + inFlight);
        }
        a.syncLimitMiBs = rate;
        a.syncUnitsInFlight = (int) inFlight;
        SyncJob job = a.job;
        if (job != null && job.isRunning()) {
            job.setRateMiBs(rate);
            job.setUnitsInFlight((int) inFlight);
        }
    }

    /** Stops a running job cleanly (its last checkpoint goes to the recorder). */
    static void stop(RaidArray a) {
        SyncJob job = a.job;
        if (job != null && job.isRunning()) job.stop();
    }

    SyncJob start(RaidArray a, SyncAction action, List<long[]> regions) throws ArrayException {
        if (a.redundant == null) throw new IllegalStateException("raid" + a.level.mdLevel + " has no redundancy to sync");
        SyncJob.Checkpoint checkpoint = action != SyncAction.REBUILD ? null
                : (job, unit, finished) -> context.record(() -> recordCheckpoint(a, finished));
        SyncJob job = new SyncJob(a.redundant, action.jobAction, context.controlReactor(), regions, a.syncLimitMiBs, a.syncUnitsInFlight,
                checkpoint);
        // after the last checkpoint in the recorder's queue, so a listener sees the superblocks that end wrote
        job.onEnd(() -> context.record(() -> {
            if (a.unrecordedEnd == job) a.unrecordedEnd = null;
            context.emit(l -> l.syncFinished(a.name, job.actionName(), job.state().name().toLowerCase()));
        }));
        a.unrecordedEnd = job;
        try {
            job.start();
        } catch (RuntimeException e) {
            a.unrecordedEnd = null;
            throw e;
        }
        a.job = job;
        return job;
    }

    /** A rebuild (a new member, a spare, a resumed one) that may not start now is reported, not thrown. */
    void startRebuild(RaidArray a, String why) {
        try {
            start(a, SyncAction.REBUILD, null);
        } catch (ArrayException | RuntimeException e) {
            System.err.println("basalt: raid volume " + a.name + ": rebuild not started (" + why + "): " + e.getMessage());
        }
    }

    /** A rebuild checkpoint or end: the next generation of superblocks, the rebuilding member's with its recovery_offset. */
    private void recordCheckpoint(RaidArray array, boolean finished) {
        synchronized (arrays) {
            if (!arrays.isCurrent(array)) return; // stopped: the stop wrote the superblocks
            try {
                superblocks.update(array);
            } catch (IOException | ArrayException e) {
                System.err.println("basalt: raid volume " + array.name + ": rebuild checkpoint not written: " + e.getMessage());
            }
        }
        if (finished) System.err.println("basalt: raid volume " + array.name + ": rebuild finished");
    }
}
