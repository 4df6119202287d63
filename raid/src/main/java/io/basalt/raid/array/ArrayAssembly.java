package io.basalt.raid.array;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.raid.md.MdAssembly;
import io.basalt.raid.md.MdBitmap;
import io.basalt.raid.md.MdFormatException;
import io.basalt.raid.md.MdMember;
import io.basalt.raid.md.MdPpl;
import io.basalt.raid.md.MdScanner;
import io.basalt.raid.md.MdSuperblock;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.parity.Raid5Layout;
import io.basalt.raid.volume.Consistency;
import io.basalt.raid.volume.OffsetDevice;
import io.basalt.raid.volume.PplAreas;
import io.basalt.raid.volume.PplRecovery;
import io.basalt.raid.volume.RaidLevel;
import io.basalt.raid.volume.VolumeFactory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;

/**
 * md's assembly: the unclaimed drives' superblocks are read and grouped ({@link MdScanner}), and each usable
 * array is started — its PPL recovered or reset, its bitmap's dirty regions resynced, a degraded start recorded,
 * its spares claimed, a rebuild in progress resumed, a full resync started after an unclean stop with neither
 * PPL nor bitmap. Called under the arrays' lock.
 */
final class ArrayAssembly {
    private final RaidArrays arrays;
    private final ArrayContext context;
    private final Superblocks superblocks;
    private final SyncJobs syncJobs;

    ArrayAssembly(RaidArrays arrays, ArrayContext context, Superblocks superblocks, SyncJobs syncJobs) {
        this.arrays = arrays;
        this.context = context;
        this.superblocks = superblocks;
        this.syncJobs = syncJobs;
    }

    List<String> assemble(Consumer<String> log) throws ArrayException {
        List<String> started = new ArrayList<>();
        for (MdAssembly a : MdScanner.scan(scan(log))) {
            String label = "md array " + MdScanner.uuidText(a.setUuid()) + " ('" + a.name() + "', raid" + a.level() + ")";
            for (MdAssembly.Problem p : a.problems()) {
                if (p.kind() == MdAssembly.Kind.FOREIGN_MEMBER || p.kind() == MdAssembly.Kind.GARBAGE_SUPERBLOCK) continue; // reported by its own array / above
                log.accept(label + ": " + p + (p.excluded() ? " (left unclaimed)" : ""));
            }
            if (a.verdict() == MdAssembly.Verdict.FAILED) {
                log.accept(label + ": not started: " + a.activeCount() + " of " + a.raidDisks() + " members usable"
                        + (a.has(MdAssembly.Kind.DIRTY_DEGRADED) ? ", and degraded after an unclean stop (parity not trusted)" : "")
                        + "; its drives stay unclaimed");
                continue;
            }
            try {
                String name = start(a);
                log.accept(label + ": assembled as volume '" + name + "'" + (a.verdict() == MdAssembly.Verdict.DEGRADED
                        ? " (degraded: " + a.activeCount() + " of " + a.raidDisks() + " members)" : ""));
                started.add(name);
            } catch (RuntimeException e) {
                log.accept(label + ": not started: " + e.getMessage() + "; its drives stay unclaimed");
            }
        }
        return started;
    }

    /** The valid md members among the unclaimed drives; drives with no md superblock at all are skipped silently. */
    private List<MdMember> scan(Consumer<String> log) throws ArrayException {
        Reactor reactor = context.controlReactor();
        List<MdMember> found = new ArrayList<>();
        for (String drive : context.members.unclaimedDrives()) {
            MdMember m = Superblocks.readMember(reactor, drive, context.members.device(drive));
            if (m == null) continue;
            if (m.valid()) {
                found.add(m);
            } else if (m.error().reason() != MdFormatException.Reason.BAD_MAGIC) {
                log.accept("drive " + drive + ": unusable md superblock, left unclaimed: " + m.error().getMessage());
            }
        }
        return found;
    }

    /** One array's members as the assembly found them: per role its slice (null when missing), drive and superblock copy. */
    private record Members(List<BlockDevice> slices, String[] names, MemorySegment[] copies, Geometry shape) {}

    private String start(MdAssembly a) {
        String name = volumeName(a);
        List<String> memberNames = new ArrayList<>();
        for (MdMember m : a.byRole()) if (m != null) memberNames.add(m.deviceName());
        String holder = RaidArrays.holderOf(name);
        context.members.claim(memberNames, holder);
        try {
            MdSuperblock fresh = null;
            for (MdMember m : a.byRole()) if (m != null && m.superblock().events() == a.events()) fresh = m.superblock();
            if (fresh == null) throw new IllegalStateException("no member carries the array's events count");
            RaidLevel level = RaidLevel.fromMd(fresh.level());
            if (level == null) throw new VolumeFactory.NotSupportedException("raid" + fresh.level());
            RaidArray array = open(name, a, fresh, level, slices(a, fresh, memberNames.getFirst()));
            if (a.activeCount() < a.raidDisks()) recordDegradedStart(array);
            if (level.hasParity() && fresh.hasPpl()) array.consistency = Consistency.PPL;
            superblocks.markDirty(array, "assembly");
            arrays.register(array);
            assembleSync(array, a);
            return name;
        } catch (RuntimeException e) {
            for (String d : memberNames) context.members.release(d, holder);
            throw e;
        }
    }

    private Members slices(MdAssembly a, MdSuperblock fresh, String firstDrive) {
        int blockBytes = context.members.device(firstDrive).geometry().logicalBlockBytes();
        // usedSectors, not sizeSectors: mdadm writes size 0 for raid0, whose members are used over data_size.
        long lengthBlocks = fresh.usedSectors() * MdSuperblock.SECTOR_BYTES / blockBytes;
        List<BlockDevice> slices = new ArrayList<>();
        String[] names = new String[a.raidDisks()];
        MemorySegment[] copies = new MemorySegment[a.raidDisks()];
        Geometry shape = null;
        for (int r = 0; r < a.raidDisks(); r++) {
            MdMember m = a.byRole().get(r);
            if (m == null) {
                slices.add(null);
                continue;
            }
            BlockDevice device = context.members.device(m.deviceName());
            if (device.geometry().logicalBlockBytes() != blockBytes) {
                throw new IllegalArgumentException("member " + m.deviceName() + " has " + device.geometry().logicalBlockBytes()
                        + "-byte blocks, " + firstDrive + " has " + blockBytes + ": members need one block size");
            }
            OffsetDevice slice = new OffsetDevice(m.deviceName(), device,
                    m.superblock().dataOffsetSectors() * MdSuperblock.SECTOR_BYTES / blockBytes, lengthBlocks);
            slices.add(slice);
            shape = slice.geometry();
            names[r] = m.deviceName();
            copies[r] = Superblocks.heapCopy(m.superblock().segment());
        }
        return new Members(slices, names, copies, shape);
    }

    /** Recovers or resets the PPL, opens the volume (missing members failed), and loads the bitmap (resyncing its dirty regions). */
    private RaidArray open(String name, MdAssembly a, MdSuperblock fresh, RaidLevel level, Members members) {
        List<BlockDevice> present = new ArrayList<>(members.slices()); // null where a member is missing
        List<BlockDevice> slices = new ArrayList<>(members.slices());
        for (int r = 0; r < slices.size(); r++) {
            if (slices.get(r) == null) slices.set(r, OffsetDevice.missing(name + "/role" + r, members.shape()));
        }
        String[] recovery = {null};
        PplAreas ppl = level.hasParity() ? pplAtAssembly(name, a, fresh, present, recovery) : null;
        if (level == RaidLevel.RAID1 && !a.clean()) recovery[0] = "needs resync: not stopped cleanly (resync_offset " + fresh.resyncOffsetSectors() + ")";
        if (fresh.hasBitmap() && recovery[0] != null) recovery[0] = "bitmap: not stopped cleanly; the regions its bits mark are resynced";
        BlockDevice volume = level.factory().open(name, slices, (int) (fresh.chunkSectors() * MdSuperblock.SECTOR_BYTES), fresh.layout(), ppl);
        RaidArray array = new RaidArray(name, level, fresh.layout(), a.raidDisks(), fresh.chunkSectors(), fresh.sizeSectors(),
                a.setUuid(), a.events(), "assembled", volume, members.names(), members.copies());
        if (array.redundant != null) {
            for (int r = 0; r < members.names().length; r++) if (members.names()[r] == null) array.redundant.fail(r);
            array.consistency = fresh.hasBitmap() ? Consistency.BITMAP : Consistency.RESYNC;
        }
        if (fresh.hasBitmap() && array.redundant != null) {
            try {
                MemorySegment area = loadBitmap(a);
                array.resyncedRegions = resyncDirty(array, area);
                arrays.attachIntent(array, area);
            } catch (RuntimeException e) {
                volume.close();
                throw e;
            } catch (IOException | MdFormatException | ArrayException e) {
                volume.close();
                throw new IllegalStateException("write-intent bitmap: " + e.getMessage(), e);
            }
        }
        array.recovery = recovery[0];
        return array;
    }

    /** The bitmap of a member that carries the array's events count (a stale member's bitmap is older). */
    private MemorySegment loadBitmap(MdAssembly a) throws IOException, MdFormatException, ArrayException {
        for (MdMember m : a.byRole()) {
            if (m == null || m.superblock().events() != a.events()) continue;
            return RaidBitmaps.readArea(context.controlReactor(), context.members.device(m.deviceName()), m.superblock());
        }
        throw new IllegalStateException("no member carries the array's events count");
    }

    /**
     * After an unclean stop the bitmap's set bits are the regions whose copies or parity may disagree: resync
     * them, and only them, before the volume takes I/O. A degraded raid5 cannot: its parity is the only copy of
     * the missing member, so a region out of step would read back wrong — refused, as md refuses to start a
     * dirty degraded array.
     */
    private long resyncDirty(RaidArray array, MemorySegment area) throws IOException, ArrayException {
        long dirty = new MdBitmap().wrap(area).dirtyCount();
        if (dirty == 0) return 0;
        int blockBytes = array.volume.geometry().logicalBlockBytes();
        long rowsPerStripe = 1, blocksPerStripe = 1;
        if (array.level.hasParity()) {
            if (array.redundant.outCount() > 0) {
                throw new IllegalStateException(array.level.label() + " '" + array.name + "' is degraded and its bitmap marks " + dirty
                        + " region(s) written when it stopped uncleanly: their parity may be out of step and the missing member's data "
                        + "would read back wrong; not started (md refuses a dirty degraded array too)");
            }
            rowsPerStripe = array.chunkSectors * MdSuperblock.SECTOR_BYTES / blockBytes;
            blocksPerStripe = rowsPerStripe * array.level.dataMembers(array.raidDisks);
        }
        long done = RaidBitmaps.resync(context.controlReactor(), array.volume, area, rowsPerStripe, blocksPerStripe);
        System.err.println("basalt: raid volume " + array.name + ": resynced " + done + " bitmap region(s) left dirty by an unclean stop");
        return done;
    }

    /**
     * A degraded start bumps the events count of the members present before any I/O, as md does: a member
     * missing now and back at a later start (even after a crash, with no clean stop between) is then stale,
     * never a current member whose old blocks a read could return.
     */
    private void recordDegradedStart(RaidArray array) {
        try {
            superblocks.update(array);
        } catch (IOException | ArrayException e) {
            if (array.intent != null) array.intent.close(false);
            array.volume.close();
            throw new IllegalStateException("degraded, and the missing members could not be recorded in the superblocks: "
                    + e.getMessage(), e);
        }
    }

    /**
     * raid5 at assembly: with a PPL (MD_FEATURE_PPL), an array not stopped cleanly is recovered from it (md's
     * ppl_load at array start) and every area reset; a clean one only gets its areas reset, as md writes an empty
     * header at every start. Without one, a dirty array is reported as needing a resync (the sync job's work).
     * Returns the areas for the volume (a missing member's is a missing device), or null without PPL.
     */
    private PplAreas pplAtAssembly(String name, MdAssembly a, MdSuperblock fresh, List<BlockDevice> present, String[] recovery) {
        if (!fresh.hasPpl()) {
            if (!a.clean()) recovery[0] = "needs resync: not stopped cleanly and no partial parity log (resync_offset "
                    + fresh.resyncOffsetSectors() + ")";
            return null;
        }
        int signature = MdPpl.signature(a.setUuid());
        List<BlockDevice> areas = new ArrayList<>(), forVolume = new ArrayList<>();
        Geometry areaShape = null;
        for (int r = 0; r < a.raidDisks(); r++) {
            MdMember m = a.byRole().get(r);
            OffsetDevice area = m == null || present.get(r) == null ? null
                    : ArrayCreation.pplArea(m.deviceName(), context.members.device(m.deviceName()), m.superblock().pplSector(), m.superblock().pplSizeSectors());
            areas.add(area);
            if (area != null) areaShape = area.geometry();
        }
        for (int r = 0; r < areas.size(); r++) forVolume.add(areas.get(r) != null ? areas.get(r) : OffsetDevice.missing(name + "/ppl-role" + r, areaShape));
        try {
            PplRecovery.SyncIo sync = context.controlSync();
            if (!a.clean()) {
                Raid5Algorithm algorithm = Raid5Algorithm.fromMdLayout(fresh.layout());
                if (algorithm == null) throw new VolumeFactory.NotSupportedException("raid5 layout " + fresh.layout());
                PplRecovery.Result result = PplRecovery.recover(sync, present, areas,
                        new Raid5Layout(algorithm, a.raidDisks(), (int) fresh.chunkSectors()), signature);
                recovery[0] = "ppl: " + result.entriesRecovered() + " entries recovered, " + result.entriesSkipped()
                        + " skipped (a modified member missing), " + result.mismatches() + " mismatches, from " + result.headers() + " headers";
            } else {
                for (BlockDevice area : areas) if (area != null) PplRecovery.initialize(sync, area, signature);
            }
        } catch (IOException | ArrayException e) {
            throw new IllegalStateException("raid5 " + name + ": partial parity log at assembly: " + e.getMessage(), e);
        }
        return new PplAreas(forVolume, signature);
    }

    private String volumeName(MdAssembly a) {
        String setName = a.name();
        int colon = setName.indexOf(':'); // mdadm writes host:name
        if (colon >= 0) setName = setName.substring(colon + 1);
        try {
            context.members.checkVolumeName(setName);
            return setName;
        } catch (IllegalArgumentException e) {
            String fallback = "md-" + HexFormat.of().formatHex(a.setUuid()).substring(0, 8);
            context.members.checkVolumeName(fallback);
            return fallback;
        }
    }

    /** At assembly: spares are claimed, and a member in recovery (MD_FEATURE_RECOVERY_OFFSET) resumes its rebuild. */
    private void assembleSync(RaidArray array, MdAssembly assembly) {
        claimSpares(array, assembly);
        for (int r = 0; r < array.raidDisks; r++) {
            MdMember m = assembly.byRole().get(r);
            if (m == null || (m.superblock().featureMap() & MdSuperblock.MD_FEATURE_RECOVERY_OFFSET) == 0) continue;
            long fromBlocks = m.superblock().recoveryOffsetSectors() * MdSuperblock.SECTOR_BYTES / array.volume.geometry().logicalBlockBytes();
            try {
                if (array.redundant == null) throw new IllegalStateException(array.level.label() + " has no redundancy");
                array.redundant.resumeRebuild(r, fromBlocks);
            } catch (RuntimeException e) {
                System.err.println("basalt: raid volume " + array.name + ": member " + m.deviceName() + " in recovery not resumed: " + e.getMessage());
                continue;
            }
            syncJobs.startRebuild(array, "resumed at assembly from " + fromBlocks + " blocks");
            return;
        }
        // Not stopped cleanly with neither a PPL nor a bitmap to say where: md resyncs the whole array, in the background.
        if (array.recovery != null && array.recovery.startsWith("needs resync") && array.intent == null && array.redundant != null) {
            try {
                syncJobs.start(array, SyncAction.RESYNC, null);
                array.recovery = "full resync started at assembly: not stopped cleanly, no partial parity log or bitmap";
            } catch (ArrayException | RuntimeException e) {
                System.err.println("basalt: raid volume " + array.name + ": the resync after an unclean stop did not start: " + e.getMessage());
            }
        }
    }

    private void claimSpares(RaidArray array, MdAssembly assembly) {
        for (MdMember spare : assembly.spares()) {
            try {
                context.members.claim(List.of(spare.deviceName()), array.holder());
                array.spares.put(spare.deviceName(), Superblocks.heapCopy(spare.superblock().segment()));
            } catch (RuntimeException e) {
                System.err.println("basalt: raid volume " + array.name + ": spare " + spare.deviceName() + " not claimed: " + e.getMessage());
            }
        }
    }
}
