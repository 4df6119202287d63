package io.basalt.raid.array;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.raid.md.MdSuperblock;
import io.basalt.raid.volume.OffsetDevice;
import io.basalt.raid.volume.PplRecovery;
import io.basalt.raid.volume.RedundantVolume;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Members and spares of a running array (md's --fail, --add, --remove, and its recovery with a spare): each
 * change is written to the superblocks before it returns. Called under the arrays' lock.
 */
final class MemberChanges {
    private final ArrayContext context;
    private final Superblocks superblocks;
    private final SyncJobs syncJobs;

    MemberChanges(ArrayContext context, Superblocks superblocks, SyncJobs syncJobs) {
        this.context = context;
        this.superblocks = superblocks;
        this.syncJobs = syncJobs;
    }

    RaidArray fail(RaidArray a, String member) throws ArrayException {
        RedundantVolume v = a.redundant;
        if (v == null) {
            throw ArrayException.invalid("param 'name': raid" + a.level.mdLevel + " volume '" + a.name
                    + "' has no redundancy: failing a member would fail the volume");
        }
        int role = a.roleOf(member);
        if (role < 0) throw ArrayException.invalid("param 'member': '" + member + "' is not a member of '" + a.name + "'");
        if (!a.activeRoles()[role]) throw ArrayException.invalid("param 'member': '" + member + "' is already faulty");
        int activeCount = 0;
        for (int r = 0; r < a.raidDisks; r++) if (a.memberState(r).equals("active")) activeCount++; // a rebuilding member holds no full copy
        int needed = a.level.activeMembersMin(a.raidDisks);
        if (a.memberState(role).equals("active") && activeCount - 1 < needed) {
            throw ArrayException.invalid("param 'member': " + (activeCount == 1
                    ? "'" + member + "' is the last active member; failing it would fail the volume"
                    : "failing '" + member + "' would fail volume '" + a.name + "' (" + activeCount + " of " + a.raidDisks
                    + " members active, raid5 survives one loss)"));
        }
        v.fail(role);
        context.emit(l -> l.memberFailed(a.name, member, true));
        try {
            superblocks.update(a);
        } catch (IOException e) {
            throw ArrayException.internal("member failed, but the superblocks were not updated: " + e.getMessage());
        }
        useSpare(a, "raid_fail_member");
        return a;
    }

    RaidArray add(RaidArray a, String drive) throws ArrayException {
        if (a.redundant == null) {
            throw ArrayException.invalid("param 'name': raid" + a.level.mdLevel + " volume '" + a.name + "' has no redundancy: it takes no spare");
        }
        try {
            context.members.claim(List.of(drive), a.holder());
        } catch (IllegalArgumentException e) {
            throw ArrayException.invalid("param 'drive': " + e.getMessage());
        }
        try {
            addClaimed(a, drive);
        } catch (ArrayException e) {
            context.members.release(drive, a.holder());
            a.spares.remove(drive);
            throw e;
        } catch (IOException e) {
            throw ArrayException.internal("superblocks not all written: " + e.getMessage());
        } catch (RuntimeException e) {
            context.members.release(drive, a.holder());
            a.spares.remove(drive);
            throw ArrayException.invalid(e.getMessage());
        }
        return a;
    }

    private void addClaimed(RaidArray a, String drive) throws ArrayException, IOException {
        BlockDevice device = context.members.device(drive);
        a.redundant.checkRequestLimits(device); // before anything is written: a spare must be able to take a role
        MemorySegment sb = newMemberSuperblock(a, drive, device);
        if (a.intent != null) { // the newcomer carries the bitmap as the others have it (md writes it to every member)
            MemorySegment area = a.intent.copyArea(ControlIo.buffer(a.intent.areaBytes(), RaidBitmaps.PAGE));
            RaidBitmaps.writeArea(context.controlReactor(), device, new MdSuperblock().wrap(sb), area, 0, area.byteSize());
        }
        int role = replaceableRole(a);
        if (role >= 0 && a.jobRunning() && a.job.action() != SyncAction.REBUILD.jobAction) SyncJobs.stop(a); // recovery first, as md
        if (role < 0 || a.jobRunning() && a.job.action() == SyncAction.REBUILD.jobAction) {
            a.spares.put(drive, sb);
            superblocks.update(a);
            context.emit(l -> l.memberAdded(a.name, drive, true));
        } else {
            replace(a, role, drive, sb);
            context.emit(l -> l.memberAdded(a.name, drive, false));
        }
    }

    /** A role a new member rebuilds: missing or faulty, when nothing rebuilds yet; -1 when healthy (the drive becomes a spare). */
    private static int replaceableRole(RaidArray a) {
        for (int r = 0; r < a.raidDisks; r++) {
            if (a.memberState(r).equals("rebuilding")) return -1;
        }
        for (int r = 0; r < a.raidDisks; r++) {
            String state = a.memberState(r);
            if (state.equals("missing") || state.equals("faulty")) return r;
        }
        return -1;
    }

    /**
     * The new member's superblock: the array's fields from a current member, its own dev_number (the lowest no
     * member or spare uses), a new device_uuid, data_size from its size; role spare until it replaces a member.
     */
    private MemorySegment newMemberSuperblock(RaidArray a, String drive, BlockDevice device) throws ArrayException {
        MdSuperblock model = new MdSuperblock().wrap(a.superblocks[a.firstPresent()]);
        Geometry g = device.geometry();
        int blockBytes = a.volume.geometry().logicalBlockBytes();
        if (g.logicalBlockBytes() != blockBytes) {
            throw ArrayException.invalid("param 'drive': " + drive + " has " + g.logicalBlockBytes() + "-byte blocks, the volume " + blockBytes);
        }
        long sectors = g.sizeBytes() / MdSuperblock.SECTOR_BYTES;
        long needed = model.dataOffsetSectors() + a.sizeSectors;
        if (!g.persistent() || sectors < needed) {
            throw ArrayException.invalid("param 'drive': " + drive + " (" + g.sizeBytes() + " bytes"
                    + (g.persistent() ? "" : ", keeps no data") + ") is smaller than a member needs (" + needed * MdSuperblock.SECTOR_BYTES + " bytes)");
        }
        Set<Long> used = new HashSet<>();
        for (int r = 0; r < a.raidDisks; r++) {
            if (a.superblocks[r] != null && a.drives[r] != null) used.add(new MdSuperblock().wrap(a.superblocks[r]).devNumber());
        }
        for (MemorySegment spare : a.spares.values()) used.add(new MdSuperblock().wrap(spare).devNumber());
        long devNumber = 0;
        while (used.contains(devNumber)) devNumber++;
        MemorySegment copy = Superblocks.heapCopy(model.segment());
        byte[] deviceUuid = new byte[MdSuperblock.UUID_BYTES];
        context.random.nextBytes(deviceUuid);
        new MdSuperblock().wrap(copy).devNumber(devNumber).deviceUuid(deviceUuid)
                .dataSizeSectors(sectors - model.dataOffsetSectors()).cntCorrectedRead(0).devflags(0)
                .featureMap(model.featureMap() & ~MdSuperblock.MD_FEATURE_RECOVERY_OFFSET).recoveryOffsetSectors(0);
        return copy;
    }

    /** {@code drive} takes role {@code role} (missing or faulty; a faulty member's drive is released) and rebuilds. */
    private void replace(RaidArray a, int role, String drive, MemorySegment superblock) throws IOException, ArrayException {
        int blockBytes = a.volume.geometry().logicalBlockBytes();
        MdSuperblock sb = new MdSuperblock().wrap(superblock);
        BlockDevice device = context.members.device(drive);
        OffsetDevice slice = new OffsetDevice(drive, device, sb.dataOffsetSectors() * MdSuperblock.SECTOR_BYTES / blockBytes,
                a.sizeSectors * MdSuperblock.SECTOR_BYTES / blockBytes);
        String old = a.drives[role]; // faulty and still claimed: it leaves (md hot-removes a faulty device before recovery uses its slot)
        OffsetDevice area = null;
        if (a.redundant.ppl() != null) {
            area = ArrayCreation.pplArea(drive, device, sb.pplSector(), sb.pplSizeSectors());
            PplRecovery.initialize(context.controlSync(), area, a.redundant.ppl().signature()); // an empty log, as mdadm writes it
        }
        a.redundant.replaceMember(role, slice, area);
        if (old != null) context.members.release(old, a.holder());
        a.spares.remove(drive);
        a.drives[role] = drive;
        a.superblocks[role] = superblock;
        superblocks.update(a);
        syncJobs.startRebuild(a, "new member " + drive);
    }

    /** After a failure: a spare, if there is one, replaces the failed member and rebuilds (as md's recovery does). */
    void useSpare(RaidArray a, String why) {
        if (a.spares.isEmpty()) return;
        int role = replaceableRole(a);
        if (role < 0 || a.jobRunning() && a.job.action() == SyncAction.REBUILD.jobAction) return;
        SyncJobs.stop(a); // a check or resync gives way to the recovery
        String spare = a.spares.keySet().iterator().next();
        try {
            replace(a, role, spare, a.spares.get(spare));
            context.emit(l -> l.sparePromoted(a.name, spare, role));
        } catch (IOException | ArrayException | RuntimeException e) {
            System.err.println("basalt: raid volume " + a.name + ": spare " + spare + " not used after " + why + ": " + e.getMessage());
        }
    }

    RaidArray remove(RaidArray a, String drive) throws ArrayException {
        if (a.spares.containsKey(drive)) {
            a.spares.remove(drive);
            context.members.release(drive, a.holder());
            context.emit(l -> l.memberRemoved(a.name, drive));
            return written(a);
        }
        int role = a.roleOf(drive);
        if (role < 0) throw ArrayException.invalid("param 'drive': '" + drive + "' is not a member or spare of '" + a.name + "'");
        String state = a.memberState(role);
        if (!state.equals("faulty")) {
            throw ArrayException.invalid("param 'drive': '" + drive + "' is " + (state.equals("active") ? "an active" : "a " + state)
                    + " member of raid" + a.level.mdLevel + " volume '" + a.name + "': fail it first (raid_fail_member)");
        }
        a.drives[role] = null; // md: the dev_roles entry of a removed device becomes spare (0xffff)
        context.members.release(drive, a.holder());
        context.emit(l -> l.memberRemoved(a.name, drive));
        return written(a);
    }

    private RaidArray written(RaidArray a) throws ArrayException {
        try {
            superblocks.update(a);
        } catch (IOException e) {
            throw ArrayException.internal("done, but the superblocks were not all written: " + e.getMessage());
        }
        return a;
    }
}
