package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcDispatcher;
import io.basalt.daemon.rpc.RpcException;
import io.basalt.daemon.rpc.RpcParams;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.raid.md.MdArraySpec;
import io.basalt.raid.md.MdAssembly;
import io.basalt.raid.md.MdFormatException;
import io.basalt.raid.md.MdMember;
import io.basalt.raid.md.MdPpl;
import io.basalt.raid.md.MdScanner;
import io.basalt.raid.md.MdSuperblock;
import io.basalt.raid.md.MdWriteIntent;
import io.basalt.raid.volume.OffsetDevice;
import io.basalt.raid.volume.PplAreas;
import io.basalt.raid.volume.PplRecovery;
import io.basalt.raid.volume.Raid0Volume;
import io.basalt.raid.volume.Raid1Volume;
import io.basalt.raid.volume.Raid5Volume;
import io.basalt.raid.volume.SyncJob;
import io.basalt.raid.volume.SyncTarget;
import io.basalt.shims.Check;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.parity.Raid5Layout;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The RAID methods (raid_create, raid_status, raid_stop, raid_fail_member, raid_assemble; raid_add_member,
 * raid_remove_member, raid_check, raid_repair, raid_resync, raid_rebuild, raid_sync_limit and raid_sync_stop with
 * the background sync jobs, section "sync jobs") and the md assembly at start-up. A volume is registered in the
 * {@link DriveRegistry} next to the drives, claims its member drives, and sees each member as an
 * {@link OffsetDevice} starting at the md data offset. Superblock I/O goes through the members' devices on a
 * reactor ({@link ControlIo}). Calls are serialised on this object (the control plane is rare and short).
 */
final class RaidMethods {
    /** JSON-RPC server error (-32000..-32099 are the implementation's): a method or level not written yet. */
    static final int NOT_SUPPORTED = -32000;
    static final String NOT_YET = "not supported yet";
    /** raid_create's chunk when chunk_kib is not given: the one measured default (RaidDefaults, docs/raid.md). */
    static final long DEFAULT_CHUNK_KIB = io.basalt.raid.volume.RaidDefaults.CHUNK_BYTES / 1024;
    static final int SET_NAME_CHARS_MAX = MdSuperblock.SET_NAME_BYTES;

    /** One running array: what its superblocks say, and its volume. */
    static final class Array {
        final String name;
        final int level, layout, raidDisks;
        final long chunkSectors, sizeSectors;
        final byte[] uuid;
        final String origin;
        final BlockDevice volume;
        /** Per role: the member drive's name, or null when missing. */
        final String[] drives;
        /** Per role: a heap copy of the member's last superblock (4 KiB), or null when missing. */
        final MemorySegment[] superblocks;
        long events;
        /** md's consistency policy: "ppl" (raid5: partial parity log), "bitmap" (write-intent bitmap), "resync" (none: an unclean stop means a full resync), "none" (raid0). */
        String consistency = "none";
        /** The write-intent bitmap every write goes through, or null. */
        MdWriteIntent intent;
        /** Bitmap chunks the assembly resynced because the last stop was not clean. */
        long resyncedRegions;
        /** Spares (md role 0xffff): drive name -> a heap copy of its superblock. */
        final Map<String, MemorySegment> spares = new LinkedHashMap<>();
        /** The running or last sync job (rebuild, resync, check, repair), or null; with its limits. */
        SyncJob job;
        long syncLimitMiBs = SyncJob.DEFAULT_RATE_MIB_S;
        int syncUnitsInFlight = SyncJob.DEFAULT_UNITS_IN_FLIGHT;
        /** What assembly found and did about an unclean stop (null: the array was clean). */
        String recovery;
        /** Open for I/O: its superblocks say active (dirty) until raid_stop or the daemon's stop writes them clean. */
        boolean running;

        Array(String name, int level, int layout, int raidDisks, long chunkSectors, long sizeSectors, byte[] uuid, long events,
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
            this.drives = drives;
            this.superblocks = superblocks;
        }

        List<String> memberDrives() {
            List<String> result = new ArrayList<>();
            for (String d : drives) if (d != null) result.add(d);
            return result;
        }

        String holder() {
            return holderOf(name);
        }
    }

    private final DriveRegistry drives;
    private final Supplier<List<Reactor>> reactors;
    private final Map<String, Array> arrays = new LinkedHashMap<>();
    private final SecureRandom random = new SecureRandom();
    /**
     * Records member failures that the data path discovers (a reactor thread tells the volume's listener, which
     * must not block): the superblock update runs here, off the reactors.
     */
    private final ExecutorService recorder = Executors.newSingleThreadExecutor(
            r -> Thread.ofPlatform().name("basalt-raid-recorder").daemon(true).unstarted(r));

    /**
     * Told of every change to an array that no RPC made (a member failed on I/O, a rebuild finished, a spare took
     * over), so the daemon saves its state. Called on the recorder thread under this object's lock: must not block.
     */
    private final Runnable arrayChanged;

    RaidMethods(DriveRegistry drives, Supplier<List<Reactor>> reactors, Runnable arrayChanged) {
        this.drives = drives;
        this.reactors = reactors;
        this.arrayChanged = arrayChanged;
    }

    static RaidMethods register(RpcDispatcher dispatcher, DriveRegistry drives, Supplier<List<Reactor>> reactors, Runnable arrayChanged) {
        RaidMethods m = new RaidMethods(drives, reactors, arrayChanged);
        dispatcher.register("raid_create", m::create);
        dispatcher.register("raid_status", m::status);
        dispatcher.register("raid_stop", m::stop);
        dispatcher.register("raid_fail_member", m::failMember);
        dispatcher.register("raid_assemble", m::assembleRpc);
        m.registerSync(dispatcher);
        return m;
    }

    static String holderOf(String volume) {
        return "raid volume '" + volume + "'";
    }

    // ------------------------------------------------------------------ levels: the one place a level plugs in

    /** A level the API knows and the volume layer does not have yet: error -32000, nothing written. */
    static final class NotYetSupported extends IllegalArgumentException {
        NotYetSupported(String message) {
            super(message);
        }
    }

    /**
     * Builds the volume over member slices (one per role; a missing member is an {@link OffsetDevice#missing}).
     * The one place a level plugs in: raid5 is its {@code case} line here. Called before any superblock is
     * written, so a level that is not there yet (or members it refuses) leaves the drives untouched.
     */
    static BlockDevice openVolume(String name, int level, int layout, List<BlockDevice> slices, int chunkBytes) {
        return openVolume(name, level, layout, slices, chunkBytes, null);
    }

    /** The same, raid5 with md's partial parity log in {@code ppl} (null: none). */
    static BlockDevice openVolume(String name, int level, int layout, List<BlockDevice> slices, int chunkBytes, PplAreas ppl) {
        return switch (level) {
            case 0 -> new Raid0Volume(name, slices, chunkBytes);
            case 1 -> new Raid1Volume(name, slices);
            case 5 -> {
                Raid5Algorithm algorithm = Raid5Algorithm.fromMdLayout(layout);
                if (algorithm == null) throw new NotYetSupported("raid5 layout " + layout + " is " + NOT_YET);
                yield new Raid5Volume(name, slices, chunkBytes, algorithm, ppl);
            }
            default -> throw new NotYetSupported("raid" + level + " is " + NOT_YET);
        };
    }

    private static int membersMax(int level) {
        return level == 0 ? Raid0Volume.MEMBERS_MAX : level == 1 ? Raid1Volume.MEMBERS_MAX : MdSuperblock.MAX_DEV_MAX;
    }

    // ------------------------------------------------------------------ raid_create

    private synchronized Object create(RpcParams params) throws RpcException {
        params.allowOnly("name", "level", "members", "chunk_kib", "if_missing", "consistency");
        String name = params.requireString("name");
        // if_missing: a config replayed at every start creates the array once; later starts find it assembled.
        boolean ifMissing = Boolean.TRUE.equals(params.asMap().get("if_missing"));
        if (ifMissing && arrays.containsKey(name)) return describe(arrays.get(name));
        try {
            drives.checkNewName(name);
        } catch (DriveRegistry.DriveException e) {
            throw RpcException.invalidParams("raid_create: param 'name': " + e.getMessage());
        }
        if (name.length() > SET_NAME_CHARS_MAX) {
            throw RpcException.invalidParams("raid_create: param 'name': a volume name is at most " + SET_NAME_CHARS_MAX
                    + " characters (it is the md set_name)");
        }
        if (!params.has("level")) throw RpcException.invalidParams("raid_create: missing param 'level' (0, 1 or 5)");
        long level = params.optionalLong("level", -1);
        if (level != 0 && level != 1 && level != 5) throw RpcException.invalidParams("raid_create: param 'level' must be 0, 1 or 5, was " + level);
        List<String> members = memberNames(params, (int) level);
        long chunkKib = params.optionalLong("chunk_kib", DEFAULT_CHUNK_KIB);
        if (level != 1 && (chunkKib < 4 || Long.bitCount(chunkKib) != 1 || chunkKib > (1 << 20))) {
            throw RpcException.invalidParams("raid_create: param 'chunk_kib' must be a power of two from 4 to 1048576, was " + chunkKib);
        }
        String consistency = consistencyParam(params, (int) level);
        String holder = holderOf(name);
        List<DriveRegistry.Drive> claimed;
        try {
            claimed = drives.claimDrives(members, holder, "members");
        } catch (DriveRegistry.DriveException e) {
            throw RpcException.invalidParams("raid_create: param '" + e.param() + "': " + e.getMessage());
        }
        try {
            if (ifMissing) CreateGuard.refuseMembersOfAnArray(controlReactor(), claimed);
            return describe(createClaimed(name, (int) level, claimed, chunkKib * 2, consistency));
        } catch (RpcException | RuntimeException e) {
            for (String m : members) drives.release(m, holder);
            throw e;
        }
    }

    /**
     * md's consistency policies Basalt writes: raid5 "ppl" (default: the partial parity log closes the write hole),
     * "bitmap" or "resync"; raid1 "bitmap" (default) or "resync"; raid0 only "none". PPL and a bitmap exclude each
     * other, as in md.
     */
    static String consistencyParam(RpcParams params, int level) throws RpcException {
        Object value = params.asMap().get("consistency");
        if (level == 0) {
            if (value != null && !"none".equals(value)) {
                throw RpcException.invalidParams("raid_create: param 'consistency': raid0 has no redundancy to keep consistent (only \"none\")");
            }
            return "none";
        }
        if (value == null) return level == 5 ? "ppl" : "bitmap";
        if ("bitmap".equals(value) || "resync".equals(value) || level == 5 && "ppl".equals(value)) return (String) value;
        throw RpcException.invalidParams("raid_create: param 'consistency' must be " + (level == 5 ? "\"ppl\" (default), \"bitmap\" or \"resync\""
                : "\"bitmap\" (default) or \"resync\"") + " for raid" + level + ", was " + value);
    }

    private static List<String> memberNames(RpcParams params, int level) throws RpcException {
        if (!(params.asMap().get("members") instanceof List<?> list)) {
            throw RpcException.invalidParams("raid_create: param 'members' must be an array of drive names");
        }
        int max = membersMax(level);
        if (list.size() < 2 || list.size() > max) {
            throw RpcException.invalidParams("raid_create: param 'members': raid" + level + " needs 2 to " + max + " members, got " + list.size());
        }
        List<String> names = new ArrayList<>();
        for (Object o : list) {
            if (!(o instanceof String s)) throw RpcException.invalidParams("raid_create: param 'members' must hold drive names (strings)");
            names.add(s);
        }
        return names;
    }

    private Array createClaimed(String name, int level, List<DriveRegistry.Drive> members, long chunkSectors, String consistency)
            throws RpcException {
        boolean ppl = consistency.equals("ppl");
        int blockBytes = members.getFirst().device().geometry().logicalBlockBytes();
        long memberSectors = Long.MAX_VALUE;
        for (DriveRegistry.Drive d : members) {
            Geometry g = d.device().geometry();
            if (g.logicalBlockBytes() != blockBytes) {
                throw RpcException.invalidParams("raid_create: param 'members': " + d.name() + " has " + g.logicalBlockBytes() + "-byte blocks, "
                        + members.getFirst().name() + " has " + blockBytes + ": members need one block size");
            }
            if (!g.persistent()) throw RpcException.invalidParams("raid_create: param 'members': " + d.name() + " does not keep data (a null drive)");
            memberSectors = Math.min(memberSectors, g.sizeBytes() / MdSuperblock.SECTOR_BYTES);
        }
        if (blockBytes > MdSuperblock.BUFFER_BYTES) {
            throw RpcException.invalidParams("raid_create: param 'members': " + blockBytes + "-byte blocks are larger than an md superblock (4096)");
        }
        if (level != 1 && chunkSectors * MdSuperblock.SECTOR_BYTES < blockBytes) {
            throw RpcException.invalidParams("raid_create: param 'chunk_kib' is smaller than a member block (" + blockBytes + " bytes)");
        }
        long now = System.currentTimeMillis() / 1000;
        MdArraySpec spec;
        try {
            spec = ppl ? MdArraySpec.createPpl(name, MdSuperblock.ALGORITHM_LEFT_SYMMETRIC, chunkSectors, members.size(), memberSectors, now, random)
                    : MdArraySpec.create(name, level, level == 5 ? MdSuperblock.ALGORITHM_LEFT_SYMMETRIC : 0, chunkSectors, members.size(), memberSectors,
                    "bitmap".equals(consistency), now, random);
        } catch (IllegalStateException e) {
            throw RpcException.invalidParams("raid_create: param 'members': the smallest member (" + memberSectors * MdSuperblock.SECTOR_BYTES
                    + " bytes) is too small for the md metadata (data offset "
                    + MdArraySpec.mdadmDataOffsetSectors(memberSectors, level == 1 ? 0 : chunkSectors) * MdSuperblock.SECTOR_BYTES
                    + " bytes) and one chunk");
        }
        // Build the volume first (nothing written yet if the members cannot form one), then the superblocks.
        List<BlockDevice> slices = new ArrayList<>();
        for (DriveRegistry.Drive d : members) {
            slices.add(new OffsetDevice(d.name(), d.device(), spec.dataOffsetSectors() * MdSuperblock.SECTOR_BYTES / blockBytes,
                    spec.sizeSectors() * MdSuperblock.SECTOR_BYTES / blockBytes));
        }
        BlockDevice volume;
        int layout = level == 5 ? MdSuperblock.ALGORITHM_LEFT_SYMMETRIC : 0;
        int signature = MdPpl.signature(spec.setUuid());
        List<BlockDevice> areas = new ArrayList<>();
        if (ppl) {
            for (DriveRegistry.Drive d : members) {
                areas.add(pplArea(d.name(), d.device(), MdSuperblock.SUPER_OFFSET_SECTORS + MdArraySpec.BITMAP_OFFSET_SECTORS, spec.pplSectors()));
            }
        }
        try {
            volume = openVolume(name, level, layout, slices, (int) (chunkSectors * MdSuperblock.SECTOR_BYTES),
                    ppl ? new PplAreas(areas, signature) : null);
        } catch (NotYetSupported e) {
            throw new RpcException(NOT_SUPPORTED, "raid_create: param 'level': " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw RpcException.invalidParams("raid_create: " + e.getMessage());
        }
        String[] names = new String[members.size()];
        MemorySegment[] copies = new MemorySegment[members.size()];
        Reactor reactor = controlReactor();
        try {
            for (int i = 0; i < members.size(); i++) {
                BlockDevice device = members.get(i).device();
                MemorySegment buffer = ControlIo.buffer(MdSuperblock.BUFFER_BYTES, blockBytes);
                byte[] deviceUuid = new byte[MdSuperblock.UUID_BYTES];
                random.nextBytes(deviceUuid);
                spec.writeSuperblock(buffer, i, deviceUuid, now);
                writeSuperblock(reactor, device, buffer);
                names[i] = members.get(i).name();
                copies[i] = heapCopy(buffer);
                if (spec.bitmapSectors() > 0) {
                    MemorySegment area = RaidBitmaps.freshArea(spec);
                    RaidBitmaps.writeArea(reactor, device, new MdSuperblock().wrap(copies[i]), area, 0, area.byteSize());
                }
            }
            for (DriveRegistry.Drive d : members) ControlIo.flush(reactor, d.device());
            for (BlockDevice area : areas) PplRecovery.initialize(controlSync(), area, signature); // mdadm write_init_ppl1
        } catch (IOException e) {
            volume.close();
            throw new RpcException(RpcException.INTERNAL_ERROR, "raid_create: writing the md superblocks failed: " + e.getMessage());
        }
        Array array = new Array(name, level, layout, members.size(), spec.chunkSectors(), spec.sizeSectors(), spec.setUuid(), spec.events(),
                "created", volume, names, copies);
        array.consistency = consistency;
        if (spec.bitmapSectors() > 0) attachIntent(array, RaidBitmaps.freshArea(spec));
        markDirty(array, "raid_create");
        register(array);
        return array;
    }

    private void register(Array array) {
        drives.addVolume(array.name, array.volume.describe(), array.volume);
        arrays.put(array.name, array);
        if (array.volume instanceof Raid5Volume v) { // as raid1's below: record it, and a spare takes over (sync section)
            v.setFailureListener((volume, role) -> {
                try {
                    recorder.execute(() -> recordIoFailure(array, role, io.basalt.engine.Status.IO_ERROR));
                } catch (RejectedExecutionException e) {
                    // the daemon is stopping: the member stays failed in memory only
                }
            });
        }
        if (array.volume instanceof Raid1Volume v) {
            v.setFailureListener((volume, role, status) -> {
                if (status == Raid1Volume.FAILED_BY_REQUEST) return; // raid_fail_member records it itself
                try {
                    recorder.execute(() -> recordIoFailure(array, role, status));
                } catch (RejectedExecutionException e) {
                    // the daemon is stopping: the member stays failed in memory only
                }
            });
        }
    }

    /** Puts the write-intent bitmap in front of every write of the array's volume. */
    private void attachIntent(Array array, MemorySegment area) {
        int blockBytes = array.volume.geometry().logicalBlockBytes();
        RaidBitmaps.Store store = new RaidBitmaps.Store(array.name, array.raidDisks,
                role -> activeRoles(array)[role] ? drives.get(array.drives[role]).device() : null,
                role -> new MdSuperblock().wrap(array.superblocks[role]),
                role -> failFromBitmap(array, role),
                () -> reactors.get().stream().filter(Reactor::isRunning).findFirst().orElse(null));
        MdWriteIntent intent = new MdWriteIntent(array.name, area, blockBytes, store);
        array.intent = intent;
        switch (array.volume) {
            case Raid1Volume v -> v.setWriteIntent(intent);
            case Raid5Volume v -> v.setWriteIntent(intent);
            default -> throw new IllegalStateException("a write-intent bitmap on raid" + array.level);
        }
    }

    /** A member could not take a bitmap write: it is failed like a member that failed a data write. */
    private void failFromBitmap(Array array, int role) {
        boolean changed = switch (array.volume) {
            case Raid1Volume v -> v.fail(role);
            case Raid5Volume v -> v.failedCount() == 0 && v.fail(role); // a second raid5 loss is the data path's to see
            default -> false;
        };
        if (!changed) return;
        try {
            recorder.execute(() -> recordIoFailure(array, role, io.basalt.engine.Status.IO_ERROR));
        } catch (RejectedExecutionException e) {
            // stopping
        }
    }

    /** A member failed on I/O: mark it faulty in the other members' superblocks, so that it is stale at the next start. */
    private synchronized void recordIoFailure(Array array, int role, int status) {
        if (arrays.get(array.name) != array) return; // stopped meanwhile
        System.err.println("basalt: raid volume " + array.name + ": member " + array.drives[role] + " failed on I/O ("
                + io.basalt.engine.Status.name(status) + "); marking it faulty in the superblocks");
        try {
            updateSuperblocks(array);
            useSpare(array, "member failure");
        } catch (IOException | RpcException e) {
            System.err.println("basalt: raid volume " + array.name + ": superblock update after the failure of "
                    + array.drives[role] + " failed: " + e.getMessage());
        }
        arrayChanged.run();
    }

    /**
     * The daemon is stopping: stops the sync jobs (each checkpoints through the recorder, drained below) and the
     * recording of failures. When {@code clean} (the exports have stopped, so every acknowledged write reached its
     * members: md's clean stop) every running array's write-intent bitmap is cleared and its superblocks written
     * clean. Not clean (a test's stand-in for a crash): bitmaps and superblocks stay as they are on disk.
     */
    void close(boolean clean) {
        for (Array a : list()) stopJob(a);
        if (clean) {
            synchronized (this) {
                for (Array a : arrays.values()) {
                    if (!a.running) continue;
                    a.volume.close();
                    a.running = false;
                    if (a.intent != null) a.intent.close(true);
                    try {
                        updateSuperblocks(a);
                    } catch (IOException | RpcException e) {
                        System.err.println("basalt: raid volume " + a.name + ": the clean superblocks were not all written at stop: " + e.getMessage());
                    }
                }
            }
        }
        recorder.shutdown();
        try {
            recorder.awaitTermination(ControlIo.TIMEOUT_NS, java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Array a : list()) {
            if (a.intent != null) a.intent.close(clean);
        }
    }

    private Reactor controlReactor() throws RpcException {
        for (Reactor r : reactors.get()) if (r.isRunning()) return r;
        throw new RpcException(RpcException.INTERNAL_ERROR, "no running reactor for the md superblock I/O");
    }

    /** Blocking member I/O through a running reactor (ControlIo), for the PPL's control path. */
    private PplRecovery.SyncIo controlSync() throws RpcException {
        Reactor reactor = controlReactor();
        return new PplRecovery.SyncIo() {
            @Override
            public void read(BlockDevice device, long lba, int blocks, MemorySegment buffer) throws IOException {
                MemorySegment staging = ControlIo.buffer((long) blocks * device.geometry().logicalBlockBytes(), device.geometry().logicalBlockBytes());
                ControlIo.read(reactor, device, lba, blocks, staging);
                MemorySegment.copy(staging, 0, buffer, 0, staging.byteSize());
            }

            @Override
            public void write(BlockDevice device, long lba, int blocks, MemorySegment buffer) throws IOException {
                MemorySegment staging = ControlIo.buffer((long) blocks * device.geometry().logicalBlockBytes(), device.geometry().logicalBlockBytes());
                MemorySegment.copy(buffer, 0, staging, 0, staging.byteSize());
                ControlIo.write(reactor, device, lba, blocks, staging);
            }

            @Override
            public void flush(BlockDevice device) throws IOException {
                ControlIo.flush(reactor, device);
            }
        };
    }

    /** A member's PPL area: {@code sizeSectors} from sector {@code startSector} (super_offset + ppl.offset). */
    private static OffsetDevice pplArea(String drive, BlockDevice device, long startSector, long sizeSectors) {
        int blockBytes = device.geometry().logicalBlockBytes();
        return new OffsetDevice(drive + "/ppl", device, startSector * MdSuperblock.SECTOR_BYTES / blockBytes,
                sizeSectors * MdSuperblock.SECTOR_BYTES / blockBytes);
    }

    /**
     * md's md_write_start, simplified: while the array is open its superblocks say active (resync_offset 0, events
     * + 1), written before any write can reach the volume (the volume is registered after this); raid_stop and the
     * daemon's stop write them clean (updateSuperblocks). A failure to write them is reported, not fatal: the array
     * then looks clean after a crash, as before dirty marking existed.
     */
    private void markDirty(Array array, String why) {
        array.running = true;
        try {
            writeSuperblocks(array, 0);
        } catch (IOException | RpcException e) {
            System.err.println("basalt: raid volume " + array.name + ": " + why + ": marking the superblocks active failed: " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------ superblock I/O

    private static long superLba(int blockBytes) {
        return MdSuperblock.SUPER_OFFSET_SECTORS * MdSuperblock.SECTOR_BYTES / blockBytes;
    }

    private static void writeSuperblock(Reactor reactor, BlockDevice device, MemorySegment buffer) throws IOException {
        int blockBytes = device.geometry().logicalBlockBytes();
        ControlIo.write(reactor, device, superLba(blockBytes), MdSuperblock.BUFFER_BYTES / blockBytes, buffer);
    }

    /** Reads and validates a drive's superblock; null when the drive cannot hold one (too small, huge blocks). */
    static MdMember readMember(Reactor reactor, DriveRegistry.Drive drive) {
        Geometry g = drive.device().geometry();
        long sectors = g.sizeBytes() / MdSuperblock.SECTOR_BYTES;
        if (g.logicalBlockBytes() > MdSuperblock.BUFFER_BYTES || g.sizeBytes() < 2L * MdSuperblock.BUFFER_BYTES || !g.persistent()) return null;
        MemorySegment buffer = ControlIo.buffer(MdSuperblock.BUFFER_BYTES, g.logicalBlockBytes());
        try {
            ControlIo.read(reactor, drive.device(), superLba(g.logicalBlockBytes()), MdSuperblock.BUFFER_BYTES / g.logicalBlockBytes(), buffer);
        } catch (IOException e) {
            return MdMember.unreadable(drive.name(), sectors, e.getMessage());
        }
        return MdMember.parse(drive.name(), sectors, buffer);
    }

    private static MemorySegment heapCopy(MemorySegment buffer) {
        MemorySegment copy = MemorySegment.ofArray(new byte[MdSuperblock.BUFFER_BYTES]);
        MemorySegment.copy(buffer, 0, copy, 0, MdSuperblock.BUFFER_BYTES);
        return copy;
    }

    /**
     * Writes the next generation of superblocks (events + 1, clean, roles as the volume sees them: failed and
     * missing members faulty) on every member still active. A failed member keeps its older superblock, so at the
     * next assembly it is stale and left out, as md does.
     */
    private void updateSuperblocks(Array array) throws IOException, RpcException {
        writeSuperblocks(array, array.running ? 0 : MdSuperblock.MAX_SECTOR);
    }

    /** The next generation of superblocks with {@code resyncOffset} (MaxSector: clean; 0: active, as md writes it). */
    private void writeSuperblocks(Array array, long resyncOffset) throws IOException, RpcException {
        boolean[] active = activeRoles(array);
        long events = array.events + 1;
        long now = System.currentTimeMillis() / 1000;
        Reactor reactor = controlReactor();
        for (int r = 0; r < array.raidDisks; r++) {
            if (!active[r]) continue;
            BlockDevice device = drives.get(array.drives[r]).device();
            MemorySegment buffer = ControlIo.buffer(MdSuperblock.BUFFER_BYTES, device.geometry().logicalBlockBytes());
            MemorySegment.copy(array.superblocks[r], 0, buffer, 0, MdSuperblock.BUFFER_BYTES);
            MdSuperblock sb = new MdSuperblock().wrap(buffer);
            sb.events(events).utime(now & 0xff_ffff_ffffL).resyncOffsetSectors(resyncOffset);
            applyRoles(array, sb);
            recoveryFields(array, r, sb);
            sb.updateChecksum();
            writeSuperblock(reactor, device, buffer);
            ControlIo.flush(reactor, device);
            array.superblocks[r] = heapCopy(buffer);
        }
        writeSpares(array, events, now, reactor);
        array.events = events;
        if (array.intent != null) array.intent.updateEvents(events);
    }

    private static boolean[] activeRoles(Array array) {
        boolean[] active = new boolean[array.raidDisks];
        Raid1Volume.MemberState[] states = array.volume instanceof Raid1Volume v ? v.memberStates() : null;
        for (int r = 0; r < active.length; r++) {
            boolean alive = switch (array.volume) { // a rebuilding member is written and keeps its role
                case Raid1Volume v -> states[r] != Raid1Volume.MemberState.FAILED;
                case Raid5Volume v -> v.isActive(r) || v.isRebuilding(r);
                default -> true;
            };
            active[r] = array.drives[r] != null && alive;
        }
        return active;
    }

    // ------------------------------------------------------------------ raid_status, raid_stop, raid_fail_member

    private synchronized Object status(RpcParams params) throws RpcException {
        params.allowOnly("name");
        List<Object> result = new ArrayList<>();
        if (params.has("name")) {
            result.add(describe(array("raid_status", params.requireString("name"))));
            return result;
        }
        for (Array a : arrays.values()) result.add(describe(a));
        return result;
    }

    private Array array(String method, String name) throws RpcException {
        Array a = arrays.get(name);
        if (a == null) throw RpcException.invalidParams(method + ": param 'name': no raid volume named '" + name + "'");
        return a;
    }

    private Map<String, Object> describe(Array a) {
        Geometry g = a.volume.geometry();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", a.name);
        m.put("level", (long) a.level);
        m.put("layout", layoutName(a.level, a.layout));
        m.put("chunk_kib", a.chunkSectors * MdSuperblock.SECTOR_BYTES / 1024);
        m.put("raid_disks", (long) a.raidDisks);
        boolean[] active = activeRoles(a);
        List<Object> members = new ArrayList<>();
        int activeCount = 0;
        for (int r = 0; r < a.raidDisks; r++) {
            Map<String, Object> member = new LinkedHashMap<>();
            member.put("role", (long) r);
            member.put("drive", a.drives[r]);
            String state = memberState(a, r);
            member.put("state", state);
            if (state.equals("rebuilding")) member.put("recovery_offset_bytes", recoveryBytes(a));
            if (state.equals("active")) activeCount++;
            members.add(member);
        }
        for (String spare : a.spares.keySet()) {
            Map<String, Object> member = new LinkedHashMap<>();
            member.put("role", null);
            member.put("drive", spare);
            member.put("state", "spare");
            members.add(member);
        }
        m.put("members", members);
        m.put("degraded", activeCount < a.raidDisks);
        m.put("state", activeCount == a.raidDisks ? "clean" : activeCount == 0 ? "failed" : "degraded");
        m.put("block_size", (long) g.logicalBlockBytes());
        m.put("block_count", g.blockCount());
        m.put("size_bytes", g.sizeBytes());
        m.put("data_offset_bytes", a.superblocks[firstPresent(a)] == null ? 0L
                : new MdSuperblock().wrap(a.superblocks[firstPresent(a)]).dataOffsetSectors() * MdSuperblock.SECTOR_BYTES);
        m.put("events", a.events);
        m.put("consistency", a.consistency);
        if (a.intent != null) {
            Map<String, Object> bitmap = new LinkedHashMap<>();
            bitmap.put("chunk_kib", a.intent.regionBlocks() * g.logicalBlockBytes() / 1024);
            bitmap.put("regions", (long) a.intent.regionCount());
            bitmap.put("dirty_regions", (long) a.intent.dirtyRegions());
            for (int i = 0; i < MdWriteIntent.COUNTER_NAMES.length; i++) bitmap.put(MdWriteIntent.COUNTER_NAMES[i], a.intent.counter(i));
            bitmap.put("resynced_at_assembly", a.resyncedRegions);
            if (a.intent.lastError() != null) bitmap.put("last_error", a.intent.lastError());
            m.put("bitmap", bitmap);
        }
        if (a.recovery != null) m.put("recovery", a.recovery);
        m.put("uuid", uuidText(a.uuid));
        m.put("origin", a.origin);
        m.put("used_by", drives.holder(a.name));
        m.put("describe", a.volume.describe());
        m.put("sync", syncStatus(a));
        return m;
    }

    private static int firstPresent(Array a) {
        for (int r = 0; r < a.raidDisks; r++) if (a.superblocks[r] != null) return r;
        return 0;
    }

    private static String layoutName(int level, int layout) {
        if (level != 5) return "none";
        return switch (layout) {
            case MdSuperblock.ALGORITHM_LEFT_ASYMMETRIC -> "left-asymmetric";
            case MdSuperblock.ALGORITHM_RIGHT_ASYMMETRIC -> "right-asymmetric";
            case MdSuperblock.ALGORITHM_LEFT_SYMMETRIC -> "left-symmetric";
            case MdSuperblock.ALGORITHM_RIGHT_SYMMETRIC -> "right-symmetric";
            default -> "layout " + layout;
        };
    }

    static String uuidText(byte[] uuid) {
        return MdScanner.uuidText(uuid);
    }

    private synchronized Object stop(RpcParams params) throws RpcException {
        params.allowOnly("name");
        String name = params.requireString("name");
        Array a = array("raid_stop", name);
        try {
            drives.removeVolume(name);
        } catch (DriveRegistry.DriveException e) {
            throw RpcException.invalidParams("raid_stop: param 'name': " + e.getMessage());
        }
        arrays.remove(name);
        stopJob(a);
        a.volume.close();
        if (a.intent != null) a.intent.close(true);
        a.running = false;
        String warning = null;
        try {
            updateSuperblocks(a);
        } catch (IOException e) {
            warning = e.getMessage();
            System.err.println("basalt: raid_stop " + name + ": the clean superblocks were not all written: " + warning);
        } finally {
            for (String d : a.memberDrives()) drives.release(d, holderOf(name));
            for (String d : a.spares.keySet()) drives.release(d, holderOf(name));
        }
        if (warning != null) {
            throw new RpcException(RpcException.INTERNAL_ERROR, "raid_stop: volume '" + name + "' stopped and its drives released, "
                    + "but the clean superblocks were not all written: " + warning);
        }
        return Boolean.TRUE;
    }

    private synchronized Object failMember(RpcParams params) throws RpcException {
        params.allowOnly("name", "member");
        Array a = array("raid_fail_member", params.requireString("name"));
        String member = params.requireString("member");
        if (!(a.volume instanceof Raid1Volume) && !(a.volume instanceof Raid5Volume)) {
            throw RpcException.invalidParams("raid_fail_member: param 'name': raid" + a.level + " volume '" + a.name
                    + "' has no redundancy: failing a member would fail the volume");
        }
        int role = -1;
        for (int r = 0; r < a.raidDisks; r++) if (member.equals(a.drives[r])) role = r;
        if (role < 0) throw RpcException.invalidParams("raid_fail_member: param 'member': '" + member + "' is not a member of '" + a.name + "'");
        boolean[] active = activeRoles(a);
        if (!active[role]) throw RpcException.invalidParams("raid_fail_member: param 'member': '" + member + "' is already faulty");
        int activeCount = 0;
        for (int r = 0; r < a.raidDisks; r++) if (memberState(a, r).equals("active")) activeCount++; // a rebuilding member holds no full copy
        int needed = a.volume instanceof Raid5Volume ? a.raidDisks - 1 : 1; // raid5 survives one loss, a mirror all but one
        if (memberState(a, role).equals("active") && activeCount - 1 < needed) {
            throw RpcException.invalidParams("raid_fail_member: param 'member': " + (activeCount == 1
                    ? "'" + member + "' is the last active member; failing it would fail the volume"
                    : "failing '" + member + "' would fail volume '" + a.name + "' (" + activeCount + " of " + a.raidDisks
                    + " members active, raid5 survives one loss)"));
        }
        if (a.volume instanceof Raid1Volume v) v.fail(role);
        else ((Raid5Volume) a.volume).fail(role);
        try {
            updateSuperblocks(a);
        } catch (IOException e) {
            throw new RpcException(RpcException.INTERNAL_ERROR, "raid_fail_member: member failed, but the superblocks were not updated: " + e.getMessage());
        }
        useSpare(a, "raid_fail_member");
        return describe(a);
    }

    // ------------------------------------------------------------------ assembly

    private synchronized Object assembleRpc(RpcParams params) throws RpcException {
        params.allowOnly();
        List<String> problems = new ArrayList<>();
        List<Object> names = new ArrayList<>(assemble(problems::add));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("assembled", names);
        m.put("problems", new ArrayList<Object>(problems));
        return m;
    }

    /**
     * Scans every drive nobody claims for an md superblock and starts each array that is healthy or degraded but
     * usable, as a volume named by its set_name (or md-UUIDPREFIX when that name is unusable or taken). Every
     * member left out, every array not started, is reported through {@code log}; such drives stay unclaimed.
     * Drives with no md superblock at all are skipped silently. Returns the names of the volumes started.
     */
    synchronized List<String> assemble(Consumer<String> log) throws RpcException {
        Reactor reactor = controlReactor();
        List<MdMember> found = new ArrayList<>();
        for (DriveRegistry.Drive d : drives.list()) {
            if (drives.holder(d.name()) != null) continue;
            MdMember m = readMember(reactor, d);
            if (m == null) continue;
            if (m.valid()) {
                found.add(m);
            } else if (m.error().reason() != MdFormatException.Reason.BAD_MAGIC) {
                log.accept("drive " + d.name() + ": unusable md superblock, left unclaimed: " + m.error().getMessage());
            }
        }
        List<String> started = new ArrayList<>();
        for (MdAssembly a : MdScanner.scan(found)) {
            String label = "md array " + uuidText(a.setUuid()) + " ('" + a.name() + "', raid" + a.level() + ")";
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

    private String start(MdAssembly a) {
        String name = volumeName(a);
        List<String> memberNames = new ArrayList<>();
        for (MdMember m : a.byRole()) if (m != null) memberNames.add(m.deviceName());
        String holder = holderOf(name);
        List<DriveRegistry.Drive> claimed = drives.claimDrives(memberNames, holder, "members");
        try {
            MdSuperblock fresh = null;
            for (MdMember m : a.byRole()) if (m != null && m.superblock().events() == a.events()) fresh = m.superblock();
            if (fresh == null) throw new IllegalStateException("no member carries the array's events count");
            int blockBytes = claimed.getFirst().device().geometry().logicalBlockBytes();
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
                BlockDevice device = drives.get(m.deviceName()).device();
                if (device.geometry().logicalBlockBytes() != blockBytes) {
                    throw new IllegalArgumentException("member " + m.deviceName() + " has " + device.geometry().logicalBlockBytes()
                            + "-byte blocks, " + claimed.getFirst().name() + " has " + blockBytes + ": members need one block size");
                }
                OffsetDevice slice = new OffsetDevice(m.deviceName(), device,
                        m.superblock().dataOffsetSectors() * MdSuperblock.SECTOR_BYTES / blockBytes, lengthBlocks);
                slices.add(slice);
                shape = slice.geometry();
                names[r] = m.deviceName();
                copies[r] = heapCopy(m.superblock().segment());
            }
            List<BlockDevice> present = new ArrayList<>(slices); // null where a member is missing
            for (int r = 0; r < slices.size(); r++) {
                if (slices.get(r) == null) slices.set(r, OffsetDevice.missing(name + "/role" + r, shape));
            }
            String[] recovery = {null};
            PplAreas ppl = fresh.level() == 5 ? pplAtAssembly(name, a, fresh, present, recovery) : null;
            if (fresh.level() == 1 && !a.clean()) recovery[0] = "needs resync: not stopped cleanly (resync_offset " + fresh.resyncOffsetSectors() + ")";
            if (fresh.hasBitmap() && recovery[0] != null) recovery[0] = "bitmap: not stopped cleanly; the regions its bits mark are resynced";
            BlockDevice volume = openVolume(name, fresh.level(), fresh.layout(), slices, (int) (fresh.chunkSectors() * MdSuperblock.SECTOR_BYTES), ppl);
            if (volume instanceof Raid1Volume v) {
                for (int r = 0; r < names.length; r++) if (names[r] == null) v.fail(r);
            } else if (volume instanceof Raid5Volume v) {
                for (int r = 0; r < names.length; r++) if (names[r] == null) v.fail(r);
            }
            Array array = new Array(name, fresh.level(), fresh.layout(), a.raidDisks(), fresh.chunkSectors(), fresh.sizeSectors(),
                    a.setUuid(), a.events(), "assembled", volume, names, copies);
            if (fresh.level() != 0) array.consistency = fresh.hasBitmap() ? "bitmap" : "resync";
            if (fresh.hasBitmap() && fresh.level() != 0) {
                try {
                    MemorySegment area = loadBitmap(a, volume);
                    array.resyncedRegions = resyncDirty(array, area);
                    attachIntent(array, area);
                } catch (RuntimeException e) {
                    volume.close();
                    throw e;
                } catch (IOException | MdFormatException | RpcException e) {
                    volume.close();
                    throw new IllegalStateException("write-intent bitmap: " + e.getMessage(), e);
                }
            }
            if (a.activeCount() < a.raidDisks()) recordDegradedStart(array);
            if (fresh.level() == 5 && fresh.hasPpl()) array.consistency = "ppl";
            array.recovery = recovery[0];
            markDirty(array, "assembly");
            register(array);
            assembleSync(array, a);
            return name;
        } catch (RuntimeException e) {
            for (String d : memberNames) drives.release(d, holder);
            throw e;
        }
    }

    /** The bitmap of a member that carries the array's events count (a stale member's bitmap is older). */
    private MemorySegment loadBitmap(MdAssembly a, BlockDevice volume) throws IOException, MdFormatException, RpcException {
        for (MdMember m : a.byRole()) {
            if (m == null || m.superblock().events() != a.events()) continue;
            return RaidBitmaps.readArea(controlReactor(), drives.get(m.deviceName()).device(), m.superblock());
        }
        throw new IllegalStateException("no member carries the array's events count");
    }

    /**
     * After an unclean stop the bitmap's set bits are the regions whose copies or parity may disagree: resync
     * them, and only them, before the volume takes I/O. A degraded raid5 cannot: its parity is the only copy of
     * the missing member, so a region out of step would read back wrong — refused, as md refuses to start a
     * dirty degraded array.
     */
    private long resyncDirty(Array array, MemorySegment area) throws IOException, RpcException {
        long dirty = new io.basalt.raid.md.MdBitmap().wrap(area).dirtyCount();
        if (dirty == 0) return 0;
        int blockBytes = array.volume.geometry().logicalBlockBytes();
        long rowsPerStripe = 1, blocksPerStripe = 1;
        if (array.volume instanceof Raid5Volume v) {
            if (v.failedCount() > 0) {
                throw new IllegalStateException("raid5 '" + array.name + "' is degraded and its bitmap marks " + dirty
                        + " region(s) written when it stopped uncleanly: their parity may be out of step and the missing member's data "
                        + "would read back wrong; not started (md refuses a dirty degraded array too)");
            }
            rowsPerStripe = array.chunkSectors * MdSuperblock.SECTOR_BYTES / blockBytes;
            blocksPerStripe = rowsPerStripe * (array.raidDisks - 1);
        }
        long done = RaidBitmaps.resync(controlReactor(), array.volume, area, rowsPerStripe, blocksPerStripe);
        System.err.println("basalt: raid volume " + array.name + ": resynced " + done + " bitmap region(s) left dirty by an unclean stop");
        return done;
    }

    /**
     * A degraded start bumps the events count of the members present before any I/O, as md does: a member
     * missing now and back at a later start (even after a crash, with no clean stop between) is then stale,
     * never a current member whose old blocks a read could return.
     */
    private void recordDegradedStart(Array array) {
        try {
            updateSuperblocks(array);
        } catch (IOException | RpcException e) {
            if (array.intent != null) array.intent.close(false);
            array.volume.close();
            throw new IllegalStateException("degraded, and the missing members could not be recorded in the superblocks: "
                    + e.getMessage(), e);
        }
    }

    /**
     * raid5 at assembly: with a PPL (MD_FEATURE_PPL), an array not stopped cleanly is recovered from it (md's
     * ppl_load at array start) and every area reset; a clean one only gets its areas reset, as md writes an empty
     * header at every start. Without one, a dirty array is reported as needing a resync (the sync module's job).
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
                    : pplArea(m.deviceName(), drives.get(m.deviceName()).device(), m.superblock().pplSector(), m.superblock().pplSizeSectors());
            areas.add(area);
            if (area != null) areaShape = area.geometry();
        }
        for (int r = 0; r < areas.size(); r++) forVolume.add(areas.get(r) != null ? areas.get(r) : OffsetDevice.missing(name + "/ppl-role" + r, areaShape));
        try {
            PplRecovery.SyncIo sync = controlSync();
            if (!a.clean()) {
                Raid5Algorithm algorithm = Raid5Algorithm.fromMdLayout(fresh.layout());
                if (algorithm == null) throw new NotYetSupported("raid5 layout " + fresh.layout() + " is " + NOT_YET);
                PplRecovery.Result result = PplRecovery.recover(sync, present, areas,
                        new Raid5Layout(algorithm, a.raidDisks(), (int) fresh.chunkSectors()), signature);
                recovery[0] = "ppl: " + result.entriesRecovered() + " entries recovered, " + result.entriesSkipped()
                        + " skipped (a modified member missing), " + result.mismatches() + " mismatches, from " + result.headers() + " headers";
            } else {
                for (BlockDevice area : areas) if (area != null) PplRecovery.initialize(sync, area, signature);
            }
        } catch (IOException | RpcException e) {
            throw new IllegalStateException("raid5 " + name + ": partial parity log at assembly: " + e.getMessage(), e);
        }
        return new PplAreas(forVolume, signature);
    }

    private String volumeName(MdAssembly a) {
        String setName = a.name();
        int colon = setName.indexOf(':'); // mdadm writes host:name
        if (colon >= 0) setName = setName.substring(colon + 1);
        try {
            drives.checkNewName(setName);
            return setName;
        } catch (DriveRegistry.DriveException e) {
            String fallback = "md-" + HexFormat.of().formatHex(a.setUuid()).substring(0, 8);
            drives.checkNewName(fallback);
            return fallback;
        }
    }

    synchronized List<Array> list() {
        return new ArrayList<>(arrays.values());
    }

    // ------------------------------------------------------------------ sync jobs, spares, add and remove (docs/raid.md "Sync jobs")

    private void registerSync(RpcDispatcher dispatcher) {
        dispatcher.register("raid_add_member", this::addMember);
        dispatcher.register("raid_remove_member", this::removeMember);
        dispatcher.register("raid_check", params -> startSyncRpc("raid_check", SyncJob.CHECK, params));
        dispatcher.register("raid_repair", params -> startSyncRpc("raid_repair", SyncJob.REPAIR, params));
        dispatcher.register("raid_resync", params -> startSyncRpc("raid_resync", SyncJob.RESYNC, params));
        dispatcher.register("raid_rebuild", params -> startSyncRpc("raid_rebuild", SyncJob.REBUILD, params));
        dispatcher.register("raid_sync_limit", this::syncLimit);
        dispatcher.register("raid_sync_stop", this::syncStop);
    }

    private static String memberState(Array a, int role) {
        if (a.drives[role] == null) return "missing";
        return switch (a.volume) {
            case Raid1Volume v -> v.memberStateName(role);
            case Raid5Volume v -> v.memberStateName(role);
            default -> "active";
        };
    }

    private static long recoveryBytes(Array a) {
        long blocks = switch (a.volume) {
            case Raid1Volume v -> v.recoveryMemberBlocks();
            case Raid5Volume v -> v.recoveryMemberBlocks();
            default -> -1;
        };
        return blocks < 0 ? -1 : blocks * a.volume.geometry().logicalBlockBytes();
    }

    private static Map<String, Object> syncStatus(Array a) {
        Map<String, Object> m = new LinkedHashMap<>();
        SyncJob job = a.job;
        boolean running = job != null && job.state() == SyncJob.State.RUNNING;
        m.put("action", running ? job.actionName() : "idle");
        m.put("percent", job == null ? 0.0 : Math.floor(job.percent() * 10) / 10);
        m.put("done_bytes", job == null ? 0L : job.doneBytes());
        m.put("total_bytes", job == null ? 0L : job.totalBytes());
        m.put("rate_mib_s", job == null ? 0.0 : Math.round(job.rateMiBs() * 10) / 10.0);
        m.put("eta_seconds", running ? job.etaSeconds() : 0L);
        m.put("mismatch_sectors", job != null && (job.action() == SyncJob.CHECK || job.action() == SyncJob.REPAIR) ? job.mismatchSectors() : 0L);
        m.put("last_action", job == null ? null : job.actionName());
        m.put("last_state", job == null ? null : job.state().name().toLowerCase());
        m.put("last_error", job == null ? null : job.error());
        m.put("max_mib_s", a.syncLimitMiBs);
        m.put("units_in_flight", (long) a.syncUnitsInFlight);
        return m;
    }

    /**
     * dev_roles as md's super_1_sync writes them: every entry spare (0xffff, also for removed devices), then each
     * member's dev_number gets its role (active or recovering) or faulty (0xfffe); max_dev grows to cover the
     * highest dev_number in use.
     */
    private static void applyRoles(Array array, MdSuperblock sb) {
        boolean[] active = activeRoles(array);
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
    private static void recoveryFields(Array array, int role, MdSuperblock sb) {
        boolean rebuilding = memberState(array, role).equals("rebuilding");
        int features = sb.featureMap() & ~MdSuperblock.MD_FEATURE_RECOVERY_OFFSET;
        if (rebuilding) {
            sb.featureMap(features | MdSuperblock.MD_FEATURE_RECOVERY_OFFSET).recoveryOffsetSectors(recoveryBytes(array) / MdSuperblock.SECTOR_BYTES);
        } else {
            sb.featureMap(features).recoveryOffsetSectors(0);
        }
    }

    private void writeSpares(Array array, long events, long now, Reactor reactor) throws IOException {
        for (Map.Entry<String, MemorySegment> e : array.spares.entrySet()) {
            BlockDevice device = drives.get(e.getKey()).device();
            MemorySegment buffer = ControlIo.buffer(MdSuperblock.BUFFER_BYTES, device.geometry().logicalBlockBytes());
            MemorySegment.copy(e.getValue(), 0, buffer, 0, MdSuperblock.BUFFER_BYTES);
            MdSuperblock sb = new MdSuperblock().wrap(buffer);
            sb.events(events).utime(now & 0xff_ffff_ffffL).resyncOffsetSectors(MdSuperblock.MAX_SECTOR);
            applyRoles(array, sb);
            sb.featureMap(sb.featureMap() & ~MdSuperblock.MD_FEATURE_RECOVERY_OFFSET).recoveryOffsetSectors(0);
            sb.updateChecksum();
            writeSuperblock(reactor, device, buffer);
            ControlIo.flush(reactor, device);
            e.setValue(heapCopy(buffer));
        }
    }

    private static SyncTarget target(Array a) {
        return a.volume instanceof SyncTarget t ? t : null;
    }

    private static boolean jobRunning(Array a) {
        return a.job != null && a.job.isRunning();
    }

    /** Stops a running job cleanly (its last checkpoint goes to the recorder). Never under the array's superblock writes. */
    private static void stopJob(Array a) {
        SyncJob job = a.job;
        if (job != null && job.isRunning()) job.stop();
    }

    private SyncJob startJob(Array a, int action, List<long[]> regions) throws RpcException {
        SyncTarget target = target(a);
        if (target == null) throw new IllegalStateException("raid" + a.level + " has no redundancy to sync");
        SyncJob.Checkpoint checkpoint = action != SyncJob.REBUILD ? null : (job, unit, finished) -> {
            try {
                recorder.execute(() -> recordCheckpoint(a, finished));
            } catch (RejectedExecutionException e) {
                // the daemon is stopping: the last checkpoint was queued before
            }
        };
        SyncJob job = new SyncJob(target, action, controlReactor(), regions, a.syncLimitMiBs, a.syncUnitsInFlight, checkpoint);
        job.start();
        a.job = job;
        return job;
    }

    /** A rebuild checkpoint or end: the next generation of superblocks, the rebuilding member's with its recovery_offset. */
    private synchronized void recordCheckpoint(Array array, boolean finished) {
        if (arrays.get(array.name) != array) return; // stopped: raid_stop wrote the superblocks
        try {
            updateSuperblocks(array);
        } catch (IOException | RpcException e) {
            System.err.println("basalt: raid volume " + array.name + ": rebuild checkpoint not written: " + e.getMessage());
        }
        if (finished) {
            System.err.println("basalt: raid volume " + array.name + ": rebuild finished");
            arrayChanged.run();
        }
    }

    private void startRebuild(Array a, String why) {
        try {
            startJob(a, SyncJob.REBUILD, null);
        } catch (RpcException | RuntimeException e) {
            System.err.println("basalt: raid volume " + a.name + ": rebuild not started (" + why + "): " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------ raid_check, raid_repair, raid_resync, raid_sync_limit, raid_sync_stop

    private synchronized Object startSyncRpc(String method, int action, RpcParams params) throws RpcException {
        if (action == SyncJob.RESYNC) params.allowOnly("name", "regions");
        else params.allowOnly("name");
        Array a = array(method, params.requireString("name"));
        if (target(a) == null) throw RpcException.invalidParams(method + ": param 'name': raid" + a.level + " volume '" + a.name + "' has no redundancy to sync");
        if (jobRunning(a)) {
            throw RpcException.invalidParams(method + ": param 'name': volume '" + a.name + "' runs a " + a.job.actionName()
                    + " (" + Math.round(a.job.percent()) + "%); wait for it or raid_sync_stop it");
        }
        List<long[]> regions = params.has("regions") ? regions(method, params) : null;
        try {
            startJob(a, action, regions);
        } catch (IllegalStateException | IllegalArgumentException e) {
            throw RpcException.invalidParams(method + ": " + e.getMessage());
        }
        return describe(a);
    }

    private static List<long[]> regions(String method, RpcParams params) throws RpcException {
        if (!(params.asMap().get("regions") instanceof List<?> list)) {
            throw RpcException.invalidParams(method + ": param 'regions' must be an array of [start_block, blocks] pairs");
        }
        List<long[]> out = new ArrayList<>();
        for (Object o : list) {
            if (!(o instanceof List<?> pair) || pair.size() != 2 || !(pair.get(0) instanceof Long start) || !(pair.get(1) instanceof Long blocks)) {
                throw RpcException.invalidParams(method + ": param 'regions': each region is [start_block, blocks] (integers), got " + o);
            }
            out.add(new long[] {start, blocks});
        }
        return out;
    }

    private synchronized Object syncLimit(RpcParams params) throws RpcException {
        params.allowOnly("name", "max_mib_s", "units_in_flight");
        Array a = array("raid_sync_limit", params.requireString("name"));
        long rate = params.optionalLong("max_mib_s", a.syncLimitMiBs);
        long inFlight = params.optionalLong("units_in_flight", a.syncUnitsInFlight);
        if (rate < 1 || rate > 1_000_000) throw RpcException.invalidParams("raid_sync_limit: param 'max_mib_s' must be 1 to 1000000, was " + rate);
        if (inFlight < 1 || inFlight > 64) throw RpcException.invalidParams("raid_sync_limit: param 'units_in_flight' must be 1 to 64, was " + inFlight);
        a.syncLimitMiBs = rate;
        a.syncUnitsInFlight = (int) inFlight;
        SyncJob job = a.job;
        if (job != null && job.isRunning()) {
            job.setRateMiBs(rate);
            job.setUnitsInFlight((int) inFlight);
        }
        return syncStatus(a);
    }

    private synchronized Object syncStop(RpcParams params) throws RpcException {
        params.allowOnly("name");
        Array a = array("raid_sync_stop", params.requireString("name"));
        boolean was = jobRunning(a);
        stopJob(a);
        return was;
    }

    // ------------------------------------------------------------------ raid_add_member, raid_remove_member, spares

    private synchronized Object addMember(RpcParams params) throws RpcException {
        params.allowOnly("name", "drive");
        Array a = array("raid_add_member", params.requireString("name"));
        String drive = params.requireString("drive");
        if (target(a) == null) {
            throw RpcException.invalidParams("raid_add_member: param 'name': raid" + a.level + " volume '" + a.name + "' has no redundancy: it takes no spare");
        }
        DriveRegistry.Drive claimed;
        try {
            claimed = drives.claimDrives(List.of(drive), a.holder(), "drive").getFirst();
        } catch (DriveRegistry.DriveException e) {
            throw RpcException.invalidParams("raid_add_member: param 'drive': " + e.getMessage());
        }
        try {
            MemorySegment sb = newMemberSuperblock(a, claimed);
            if (a.intent != null) { // the newcomer carries the bitmap as the others have it (md writes it to every member)
                MemorySegment area = a.intent.copyArea(ControlIo.buffer(a.intent.areaBytes(), RaidBitmaps.PAGE));
                RaidBitmaps.writeArea(controlReactor(), claimed.device(), new MdSuperblock().wrap(sb), area, 0, area.byteSize());
            }
            int role = replaceableRole(a);
            if (role >= 0 && jobRunning(a) && a.job.action() != SyncJob.REBUILD) stopJob(a); // recovery first, as md
            if (role < 0 || jobRunning(a) && a.job.action() == SyncJob.REBUILD) {
                a.spares.put(drive, sb);
                updateSuperblocks(a);
            } else {
                replace(a, role, drive, sb);
            }
        } catch (RpcException e) {
            drives.release(drive, a.holder());
            a.spares.remove(drive);
            throw e;
        } catch (IOException e) {
            throw new RpcException(RpcException.INTERNAL_ERROR, "raid_add_member: superblocks not all written: " + e.getMessage());
        } catch (RuntimeException e) {
            drives.release(drive, a.holder());
            a.spares.remove(drive);
            throw RpcException.invalidParams("raid_add_member: " + e.getMessage());
        }
        return describe(a);
    }

    /** A role a new member rebuilds: missing or faulty, when nothing rebuilds yet; -1 when healthy (the drive becomes a spare). */
    private static int replaceableRole(Array a) {
        for (int r = 0; r < a.raidDisks; r++) {
            String state = memberState(a, r);
            if (state.equals("rebuilding")) return -1;
        }
        for (int r = 0; r < a.raidDisks; r++) {
            String state = memberState(a, r);
            if (state.equals("missing") || state.equals("faulty")) return r;
        }
        return -1;
    }

    /**
     * The new member's superblock: the array's fields from a current member, its own dev_number (the lowest no
     * member or spare uses), a new device_uuid, data_size from its size; role spare until it replaces a member.
     */
    private MemorySegment newMemberSuperblock(Array a, DriveRegistry.Drive drive) throws RpcException {
        MdSuperblock model = new MdSuperblock().wrap(a.superblocks[firstPresent(a)]);
        Geometry g = drive.device().geometry();
        int blockBytes = a.volume.geometry().logicalBlockBytes();
        if (g.logicalBlockBytes() != blockBytes) {
            throw RpcException.invalidParams("raid_add_member: param 'drive': " + drive.name() + " has " + g.logicalBlockBytes()
                    + "-byte blocks, the volume " + blockBytes);
        }
        long sectors = g.sizeBytes() / MdSuperblock.SECTOR_BYTES;
        long needed = model.dataOffsetSectors() + a.sizeSectors;
        if (!g.persistent() || sectors < needed) {
            throw RpcException.invalidParams("raid_add_member: param 'drive': " + drive.name() + " (" + g.sizeBytes() + " bytes"
                    + (g.persistent() ? "" : ", keeps no data") + ") is smaller than a member needs (" + needed * MdSuperblock.SECTOR_BYTES + " bytes)");
        }
        java.util.Set<Long> used = new java.util.HashSet<>();
        for (int r = 0; r < a.raidDisks; r++) {
            if (a.superblocks[r] != null && a.drives[r] != null) used.add(new MdSuperblock().wrap(a.superblocks[r]).devNumber());
        }
        for (MemorySegment spare : a.spares.values()) used.add(new MdSuperblock().wrap(spare).devNumber());
        long devNumber = 0;
        while (used.contains(devNumber)) devNumber++;
        MemorySegment copy = heapCopy(model.segment());
        byte[] deviceUuid = new byte[MdSuperblock.UUID_BYTES];
        random.nextBytes(deviceUuid);
        new MdSuperblock().wrap(copy).devNumber(devNumber).deviceUuid(deviceUuid)
                .dataSizeSectors(sectors - model.dataOffsetSectors()).cntCorrectedRead(0).devflags(0)
                .featureMap(model.featureMap() & ~MdSuperblock.MD_FEATURE_RECOVERY_OFFSET).recoveryOffsetSectors(0);
        return copy;
    }

    /** {@code drive} takes role {@code role} (missing or faulty; a faulty member's drive is released) and rebuilds. */
    private void replace(Array a, int role, String drive, MemorySegment superblock) throws IOException, RpcException {
        int blockBytes = a.volume.geometry().logicalBlockBytes();
        MdSuperblock sb = new MdSuperblock().wrap(superblock);
        BlockDevice device = drives.get(drive).device();
        OffsetDevice slice = new OffsetDevice(drive, device, sb.dataOffsetSectors() * MdSuperblock.SECTOR_BYTES / blockBytes,
                a.sizeSectors * MdSuperblock.SECTOR_BYTES / blockBytes);
        String old = a.drives[role]; // faulty and still claimed: it leaves (md hot-removes a faulty device before recovery uses its slot)
        switch (a.volume) {
            case Raid1Volume v -> v.replaceMember(role, slice);
            case Raid5Volume v when v.ppl() != null -> {
                OffsetDevice area = pplArea(drive, device, sb.pplSector(), sb.pplSizeSectors());
                PplRecovery.initialize(controlSync(), area, v.ppl().signature()); // an empty log, as mdadm writes it
                v.replaceMember(role, slice, area);
            }
            case Raid5Volume v -> v.replaceMember(role, slice);
            default -> throw new IllegalStateException("raid" + a.level + " has no redundancy");
        }
        if (old != null) drives.release(old, a.holder());
        a.spares.remove(drive);
        a.drives[role] = drive;
        a.superblocks[role] = superblock;
        updateSuperblocks(a);
        startRebuild(a, "new member " + drive);
    }

    /** After a failure: a spare, if there is one, replaces the failed member and rebuilds (as md's recovery does). */
    private void useSpare(Array a, String why) {
        if (a.spares.isEmpty()) return;
        int role = replaceableRole(a);
        if (role < 0 || jobRunning(a) && a.job.action() == SyncJob.REBUILD) return;
        stopJob(a); // a check or resync gives way to the recovery
        String spare = a.spares.keySet().iterator().next();
        try {
            replace(a, role, spare, a.spares.get(spare));
            arrayChanged.run();
        } catch (IOException | RpcException | RuntimeException e) {
            System.err.println("basalt: raid volume " + a.name + ": spare " + spare + " not used after " + why + ": " + e.getMessage());
        }
    }

    private synchronized Object removeMember(RpcParams params) throws RpcException {
        params.allowOnly("name", "drive");
        Array a = array("raid_remove_member", params.requireString("name"));
        String drive = params.requireString("drive");
        if (a.spares.containsKey(drive)) {
            a.spares.remove(drive);
            drives.release(drive, a.holder());
            return written(a, "raid_remove_member");
        }
        int role = -1;
        for (int r = 0; r < a.raidDisks; r++) if (drive.equals(a.drives[r])) role = r;
        if (role < 0) throw RpcException.invalidParams("raid_remove_member: param 'drive': '" + drive + "' is not a member or spare of '" + a.name + "'");
        String state = memberState(a, role);
        if (!state.equals("faulty")) {
            throw RpcException.invalidParams("raid_remove_member: param 'drive': '" + drive + "' is " + (state.equals("active") ? "an active" : "a " + state)
                    + " member of raid" + a.level + " volume '" + a.name + "': fail it first (raid_fail_member)");
        }
        a.drives[role] = null; // md: the dev_roles entry of a removed device becomes spare (0xffff)
        drives.release(drive, a.holder());
        return written(a, "raid_remove_member");
    }

    private Object written(Array a, String method) throws RpcException {
        try {
            updateSuperblocks(a);
        } catch (IOException e) {
            throw new RpcException(RpcException.INTERNAL_ERROR, method + ": done, but the superblocks were not all written: " + e.getMessage());
        }
        return describe(a);
    }

    /** At assembly: spares are claimed, and a member in recovery (MD_FEATURE_RECOVERY_OFFSET) resumes its rebuild. */
    private void assembleSync(Array array, MdAssembly assembly) {
        for (MdMember spare : assembly.spares()) {
            try {
                drives.claimDrives(List.of(spare.deviceName()), array.holder(), "spare");
                array.spares.put(spare.deviceName(), heapCopy(spare.superblock().segment()));
            } catch (RuntimeException e) {
                System.err.println("basalt: raid volume " + array.name + ": spare " + spare.deviceName() + " not claimed: " + e.getMessage());
            }
        }
        for (int r = 0; r < array.raidDisks; r++) {
            MdMember m = assembly.byRole().get(r);
            if (m == null || (m.superblock().featureMap() & MdSuperblock.MD_FEATURE_RECOVERY_OFFSET) == 0) continue;
            long fromBlocks = m.superblock().recoveryOffsetSectors() * MdSuperblock.SECTOR_BYTES / array.volume.geometry().logicalBlockBytes();
            try {
                switch (array.volume) {
                    case Raid1Volume v -> v.resumeRebuild(r, fromBlocks);
                    case Raid5Volume v -> v.resumeRebuild(r, fromBlocks);
                    default -> throw new IllegalStateException("raid" + array.level + " has no redundancy");
                }
            } catch (RuntimeException e) {
                System.err.println("basalt: raid volume " + array.name + ": member " + m.deviceName() + " in recovery not resumed: " + e.getMessage());
                continue;
            }
            startRebuild(array, "resumed at assembly from " + fromBlocks + " blocks");
            return;
        }
        // Not stopped cleanly with neither a PPL nor a bitmap to say where: md resyncs the whole array, in the background.
        if (array.recovery != null && array.recovery.startsWith("needs resync") && array.intent == null && array.level != 0) {
            try {
                startJob(array, SyncJob.RESYNC, null);
                array.recovery = "full resync started at assembly: not stopped cleanly, no partial parity log or bitmap";
            } catch (RpcException | RuntimeException e) {
                System.err.println("basalt: raid volume " + array.name + ": the resync after an unclean stop did not start: " + e.getMessage());
            }
        }
    }
}
