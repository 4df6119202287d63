package io.basalt.raid.array;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.raid.md.MdMember;
import io.basalt.raid.md.MdSuperblock;
import io.basalt.shims.Check;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * md superblock I/O for the arrays: reading a drive's at assembly, and writing each new generation (events + 1,
 * roles as the volume sees them, md's super_1_sync) to every member still active and to the spares. Called
 * under the arrays' lock.
 */
final class Superblocks {
    private final ArrayContext context;

    Superblocks(ArrayContext context) {
        this.context = context;
    }

    private static long superLba(int blockBytes) {
        return MdSuperblock.SUPER_OFFSET_SECTORS * MdSuperblock.SECTOR_BYTES / blockBytes;
    }

    static void write(Reactor reactor, BlockDevice device, MemorySegment buffer) throws IOException {
        int blockBytes = device.geometry().logicalBlockBytes();
        ControlIo.write(reactor, device, superLba(blockBytes), MdSuperblock.BUFFER_BYTES / blockBytes, buffer);
    }

    /** Reads and validates a drive's superblock; null when the drive cannot hold one (too small, huge blocks). */
    static MdMember readMember(Reactor reactor, String drive, BlockDevice device) {
        Geometry g = device.geometry();
        long sectors = g.sizeBytes() / MdSuperblock.SECTOR_BYTES;
        if (g.logicalBlockBytes() > MdSuperblock.BUFFER_BYTES || g.sizeBytes() < 2L * MdSuperblock.BUFFER_BYTES || !g.persistent()) return null;
        MemorySegment buffer = ControlIo.buffer(MdSuperblock.BUFFER_BYTES, g.logicalBlockBytes());
        try {
            ControlIo.read(reactor, device, superLba(g.logicalBlockBytes()), MdSuperblock.BUFFER_BYTES / g.logicalBlockBytes(), buffer);
        } catch (IOException e) {
            return MdMember.unreadable(drive, sectors, e.getMessage());
        }
        return MdMember.parse(drive, sectors, buffer);
    }

    static MemorySegment heapCopy(MemorySegment buffer) {
        MemorySegment copy = MemorySegment.ofArray(new byte[MdSuperblock.BUFFER_BYTES]);
        MemorySegment.copy(buffer, 0, copy, 0, MdSuperblock.BUFFER_BYTES);
        return copy;
    }

    /**
     * Writes the next generation of superblocks (events + 1, clean unless the array runs, roles as the volume sees
     * them: failed and missing members faulty) on every member still active. A failed member keeps its older
     * superblock, so at the next assembly it is stale and left out, as md does.
     */
    void update(RaidArray array) throws IOException, ArrayException {
        write(array, array.running ? 0 : MdSuperblock.MAX_SECTOR);
    }

    /**
     * md's md_write_start, simplified: while the array is open its superblocks say active (resync_offset 0, events
     * + 1), written before any write can reach the volume (it is registered after this); a stop writes them clean
     * ({@link #update}). A failure to write them is reported, not fatal: the array then looks clean after a crash.
     */
    void markDirty(RaidArray array, String why) {
        array.running = true;
        try {
            write(array, 0);
        } catch (IOException | ArrayException e) {
            System.err.println("basalt: raid volume " + array.name + ": " + why + ": marking the superblocks active failed: " + e.getMessage());
        }
    }

    /** The next generation of superblocks with {@code resyncOffset} (MaxSector: clean; 0: active, as md writes it). */
    private void write(RaidArray array, long resyncOffset) throws IOException, ArrayException {
        boolean[] active = array.activeRoles();
        long events = array.events + 1;
        long now = System.currentTimeMillis() / 1000;
        Reactor reactor = context.controlReactor();
        for (int r = 0; r < array.raidDisks; r++) {
            if (!active[r]) continue;
            BlockDevice device = context.members.device(array.drives[r]);
            MemorySegment buffer = ControlIo.buffer(MdSuperblock.BUFFER_BYTES, device.geometry().logicalBlockBytes());
            MemorySegment.copy(array.superblocks[r], 0, buffer, 0, MdSuperblock.BUFFER_BYTES);
            MdSuperblock sb = new MdSuperblock().wrap(buffer);
            sb.events(events).utime(now & 0xff_ffff_ffffL).resyncOffsetSectors(resyncOffset);
            applyRoles(array, sb);
            recoveryFields(array, r, sb);
            sb.updateChecksum();
            write(reactor, device, buffer);
            ControlIo.flush(reactor, device);
            array.superblocks[r] = heapCopy(buffer);
        }
        writeSpares(array, events, now, reactor);
        array.events = events;
        if (array.intent != null) array.intent.updateEvents(events);
    }

    /**
     * dev_roles as md's super_1_sync writes them: every entry spare (0xffff, also for removed devices), then each
     * member's dev_number gets its role (active or recovering) or faulty (0xfffe); max_dev grows to cover the
     * highest dev_number in use.
     */
    private static void applyRoles(RaidArray array, MdSuperblock sb) {
        boolean[] active = array.activeRoles();
        long maxDev = sb.maxDev();
        for (int r = 0; r < array.raidDisks; r++) {
            if (array.superblocks[r] != null) maxDev = Math.max(maxDev, new MdSuperblock().wrap(array.superblocks[r]).devNumber() + 1);
        }
        for (MemorySegment spare : array.spares.values()) maxDev = Math.max(maxDev, new MdSuperblock().wrap(spare).devNumber() + 1);
        Check.that(maxDev <= MdSuperblock.MAX_DEV_MAX, "dev numbers fit the superblock", maxDev);
        sb.maxDev(maxDev);
        for (int i = 0; i < maxDev; i++) sb.devRole(i, MdSuperblock.ROLE_SPARE);
        for (int r = 0; r < array.raidDisks; r++) {
            if (array.superblocks[r] == null || array.drives[r] == null) continue;
            int devNumber = (int) new MdSuperblock().wrap(array.superblocks[r]).devNumber();
            sb.devRole(devNumber, active[r] ? r : MdSuperblock.ROLE_FAULTY);
        }
    }

    /** md's super_1_sync: a member with a role that is not in sync carries MD_FEATURE_RECOVERY_OFFSET and recovery_offset. */
    private static void recoveryFields(RaidArray array, int role, MdSuperblock sb) {
        boolean rebuilding = array.memberState(role).equals("rebuilding");
        int features = sb.featureMap() & ~MdSuperblock.MD_FEATURE_RECOVERY_OFFSET;
        if (rebuilding) {
            sb.featureMap(features | MdSuperblock.MD_FEATURE_RECOVERY_OFFSET).recoveryOffsetSectors(array.recoveryBytes() / MdSuperblock.SECTOR_BYTES);
        } else {
            sb.featureMap(features).recoveryOffsetSectors(0);
        }
    }

    private void writeSpares(RaidArray array, long events, long now, Reactor reactor) throws IOException {
        for (Map.Entry<String, MemorySegment> e : array.spares.entrySet()) {
            BlockDevice device = context.members.device(e.getKey());
            MemorySegment buffer = ControlIo.buffer(MdSuperblock.BUFFER_BYTES, device.geometry().logicalBlockBytes());
            MemorySegment.copy(e.getValue(), 0, buffer, 0, MdSuperblock.BUFFER_BYTES);
            MdSuperblock sb = new MdSuperblock().wrap(buffer);
            sb.events(events).utime(now & 0xff_ffff_ffffL).resyncOffsetSectors(MdSuperblock.MAX_SECTOR);
            applyRoles(array, sb);
            sb.featureMap(sb.featureMap() & ~MdSuperblock.MD_FEATURE_RECOVERY_OFFSET).recoveryOffsetSectors(0);
            sb.updateChecksum();
            write(reactor, device, buffer);
            ControlIo.flush(reactor, device);
            e.setValue(heapCopy(buffer));
        }
    }
}
