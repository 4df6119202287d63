package io.basalt.raid.array;

import io.basalt.engine.Geometry;
import io.basalt.raid.md.MdScanner;
import io.basalt.raid.md.MdSuperblock;
import io.basalt.raid.md.MdWriteIntent;
import io.basalt.raid.volume.Consistency;
import io.basalt.raid.volume.RaidLevel;
import io.basalt.raid.volume.SyncJob;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A snapshot of one array, taken under the arrays' lock: what {@code raid_status} shows (docs/rpc.md).
 *
 * @param layoutName      raid5's md layout ("left-symmetric"), "none" for the other levels
 * @param members         one per role in role order, then the spares (role null)
 * @param state           "clean", "degraded" or "failed"
 * @param dataOffsetBytes where the data starts on each member
 * @param bitmap          the write-intent bitmap, or null without one
 * @param recovery        what assembly found and did about an unclean stop, or null
 * @param describe        the volume's own description
 */
public record ArrayStatus(String name, RaidLevel level, String layoutName, long chunkKib, int raidDisks, List<Member> members,
                          boolean degraded, String state, int blockBytes, long blockCount, long sizeBytes, long dataOffsetBytes,
                          long events, Consistency consistency, Bitmap bitmap, String recovery, String uuid, String origin,
                          String describe, Sync sync) {

    /**
     * @param role                 the md role, or null for a spare
     * @param drive                the drive, or null for a missing member
     * @param state                active, rebuilding, faulty, missing or spare
     * @param recoveryOffsetBytes  a rebuilding member's recovery position, else null
     */
    public record Member(Integer role, String drive, String state, Long recoveryOffsetBytes) {}

    /** @param counters the write intent's counters by name ({@link MdWriteIntent#COUNTER_NAMES}), in that order */
    public record Bitmap(long chunkKib, long regions, long dirtyRegions, Map<String, Long> counters, long resyncedAtAssembly,
                         String lastError) {}

    /**
     * The running or last sync job and the limits.
     *
     * @param action    the running job's action, or "idle"
     * @param lastState running, done, stopped or failed; null before any job (as lastAction, lastError)
     */
    public record Sync(String action, double percent, long doneBytes, long totalBytes, double rateMiBs, long etaSeconds,
                       long mismatchSectors, String lastAction, String lastState, String lastError, long maxMiBs, int unitsInFlight) {}

    /** The drives holding roles (not the spares), in role order. */
    public List<String> memberDrives() {
        List<String> result = new ArrayList<>();
        for (Member m : members) if (m.role() != null && m.drive() != null) result.add(m.drive());
        return result;
    }

    static ArrayStatus of(RaidArray a) {
        Geometry g = a.volume.geometry();
        List<Member> members = new ArrayList<>();
        int activeCount = 0;
        for (int r = 0; r < a.raidDisks; r++) {
            String state = a.memberState(r);
            members.add(new Member(r, a.drives[r], state, state.equals("rebuilding") ? a.recoveryBytes() : null));
            if (state.equals("active")) activeCount++;
        }
        for (String spare : a.spares.keySet()) members.add(new Member(null, spare, "spare", null));
        long dataOffsetBytes = a.superblocks[a.firstPresent()] == null ? 0L
                : new MdSuperblock().wrap(a.superblocks[a.firstPresent()]).dataOffsetSectors() * MdSuperblock.SECTOR_BYTES;
        return new ArrayStatus(a.name, a.level, layoutName(a.level, a.layout), a.chunkSectors * MdSuperblock.SECTOR_BYTES / 1024, a.raidDisks,
                List.copyOf(members), activeCount < a.raidDisks, activeCount == a.raidDisks ? "clean" : activeCount == 0 ? "failed" : "degraded",
                g.logicalBlockBytes(), g.blockCount(), g.sizeBytes(), dataOffsetBytes, a.events, a.consistency, bitmap(a), a.recovery,
                MdScanner.uuidText(a.uuid), a.origin, a.volume.describe(), sync(a));
    }

    private static Bitmap bitmap(RaidArray a) {
        MdWriteIntent intent = a.intent;
        if (intent == null) return null;
        Map<String, Long> counters = new LinkedHashMap<>();
        for (int i = 0; i < MdWriteIntent.COUNTER_NAMES.length; i++) counters.put(MdWriteIntent.COUNTER_NAMES[i], intent.counter(i));
        return new Bitmap(intent.regionBlocks() * a.volume.geometry().logicalBlockBytes() / 1024, intent.regionCount(), intent.dirtyRegions(),
                counters, a.resyncedRegions, intent.lastError());
    }

    static Sync sync(RaidArray a) {
        SyncJob job = a.job;
        // Running until the job's thread has ended and its end is recorded, as the refusal to start another job sees
        // it (SyncJobs): status never says idle while a new job would still be refused or the superblocks still say
        // "in recovery".
        boolean running = a.jobRunning();
        boolean counts = job != null && (job.action() == SyncJob.CHECK || job.action() == SyncJob.REPAIR);
        return new Sync(running ? job.actionName() : "idle", job == null ? 0.0 : Math.floor(job.percent() * 10) / 10,
                job == null ? 0L : job.doneBytes(), job == null ? 0L : job.totalBytes(),
                job == null ? 0.0 : Math.round(job.rateMiBs() * 10) / 10.0, running ? job.etaSeconds() : 0L,
                counts ? job.mismatchSectors() : 0L, job == null ? null : job.actionName(),
                job == null ? null : job.state().name().toLowerCase(), job == null ? null : job.error(),
                a.syncLimitMiBs, a.syncUnitsInFlight);
    }

    static String layoutName(RaidLevel level, int layout) {
        if (level != RaidLevel.RAID5) return "none";
        return switch (layout) {
            case MdSuperblock.ALGORITHM_LEFT_ASYMMETRIC -> "left-asymmetric";
            case MdSuperblock.ALGORITHM_RIGHT_ASYMMETRIC -> "right-asymmetric";
            case MdSuperblock.ALGORITHM_LEFT_SYMMETRIC -> "left-symmetric";
            case MdSuperblock.ALGORITHM_RIGHT_SYMMETRIC -> "right-symmetric";
            default -> "layout " + layout;
        };
    }
}
