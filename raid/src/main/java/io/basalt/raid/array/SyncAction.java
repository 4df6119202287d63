package io.basalt.raid.array;

import io.basalt.raid.volume.SyncJob;

/** The sync jobs an array runs (md's sync_action): docs/raid.md, "Sync jobs". */
public enum SyncAction {
    REBUILD(SyncJob.REBUILD), RESYNC(SyncJob.RESYNC), CHECK(SyncJob.CHECK), REPAIR(SyncJob.REPAIR);

    /** The {@link SyncJob} action number. */
    final int jobAction;

    SyncAction(int jobAction) {
        this.jobAction = jobAction;
    }

    /** "rebuild", "resync", "check", "repair". */
    public String wireName() {
        return SyncJob.ACTION_NAMES[jobAction];
    }
}
