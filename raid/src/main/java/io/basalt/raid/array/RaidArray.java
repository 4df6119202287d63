package io.basalt.raid.array;

import io.basalt.engine.BlockDevice;
import io.basalt.raid.md.MdWriteIntent;
import io.basalt.raid.volume.Consistency;
import io.basalt.raid.volume.RaidLevel;
import io.basalt.raid.volume.RedundantVolume;
import io.basalt.raid.volume.SyncJob;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One running array: what its superblocks say, and its volume. Owned by {@link RaidArrays}: every field is
 * read and written under its lock (the recorder and the RPC threads take it), except the volume's own member
 * states, which the data path changes and which are read here as snapshots.
 */
final class RaidArray {
    final String name;
    final RaidLevel level;
    /** md's superblock layout value (raid5: the algorithm; 0 otherwise). */
    final int layout;
    final int raidDisks;
    final long chunkSectors, sizeSectors;
    final byte[] uuid;
    /** "created" or "assembled". */
    final String origin;
    final BlockDevice volume;
    /** The volume as a redundant one, or null for raid0. */
    final RedundantVolume redundant;
    /** Per role: the member drive's name, or null when missing. */
    final String[] drives;
    /** Per role: a heap copy of the member's last superblock (4 KiB), or null when missing. */
    final MemorySegment[] superblocks;
    long events;
    Consistency consistency = Consistency.NONE;
    /** The write-intent bitmap every write goes through, or null. */
    MdWriteIntent intent;
    /** Bitmap chunks the assembly resynced because the last stop was not clean. */
    long resyncedRegions;
    /** Spares (md role 0xffff): drive name -> a heap copy of its superblock. */
    final Map<String, MemorySegment> spares = new LinkedHashMap<>();
    /** The running or last sync job (rebuild, resync, check, repair), or null; with its limits. */
    SyncJob job;
    /** A job whose end (its last checkpoint's superblocks) is not recorded yet: it still counts as running. */
    volatile SyncJob unrecordedEnd;
    long syncLimitMiBs = SyncJob.DEFAULT_RATE_MIB_S;
    int syncUnitsInFlight = SyncJob.DEFAULT_UNITS_IN_FLIGHT;
    /** What assembly found and did about an unclean stop (null: the array was clean). */
    String recovery;
    /** Open for I/O: its superblocks say active (dirty) until it stops cleanly. */
    boolean running;

    RaidArray(String name, RaidLevel level, int layout, int raidDisks, long chunkSectors, long sizeSectors, byte[] uuid, long events,
              String origin, BlockDevice volume, String[] drives, MemorySegment[] superblocks) {
        this.name = name;
        this.level = level;
        this.layout = layout;
        this.raidDisks = raidDisks;
        this.chunkSectors = chunkSectors;
        this.sizeSectors = sizeSectors;
        this.uuid = uuid;
        this.events = events;
        this.origin = origin;
        this.volume = volume;
        this.redundant = volume instanceof RedundantVolume r ? r : null;
        this.drives = drives;
        this.superblocks = superblocks;
    }

    List<String> memberDrives() {
        List<String> result = new ArrayList<>();
        for (String d : drives) if (d != null) result.add(d);
        return result;
    }

    String holder() {
        return RaidArrays.holderOf(name);
    }

    /** "missing" (no drive), or the volume's state of the role: active, rebuilding, faulty. */
    String memberState(int role) {
        if (drives[role] == null) return "missing";
        return redundant == null ? "active" : redundant.memberStateName(role);
    }

    /** The roles written with the next superblocks: present and not faulty (a rebuilding member keeps its role). */
    boolean[] activeRoles() {
        boolean[] active = new boolean[raidDisks];
        for (int r = 0; r < raidDisks; r++) {
            boolean alive = redundant == null || redundant.memberStatus(r) != RedundantVolume.MemberStatus.FAULTY;
            active[r] = drives[r] != null && alive;
        }
        return active;
    }

    /** The rebuilding member's recovery position in bytes, or -1. */
    long recoveryBytes() {
        long blocks = redundant == null ? -1 : redundant.recoveryMemberBlocks();
        return blocks < 0 ? -1 : blocks * volume.geometry().logicalBlockBytes();
    }

    int firstPresent() {
        for (int r = 0; r < raidDisks; r++) if (superblocks[r] != null) return r;
        return 0;
    }

    /** Running until the job's thread has ended and its end is recorded (the superblocks without the recovery offset). */
    boolean jobRunning() {
        return job != null && (job.isRunning() || unrecordedEnd == job);
    }

    /** The role {@code drive} holds, or -1. */
    int roleOf(String drive) {
        int role = -1;
        for (int r = 0; r < raidDisks; r++) if (drive.equals(drives[r])) role = r;
        return role;
    }
}
