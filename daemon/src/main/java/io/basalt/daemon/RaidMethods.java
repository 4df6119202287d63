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
import io.basalt.raid.md.MdScanner;
import io.basalt.raid.md.MdSuperblock;
import io.basalt.raid.volume.OffsetDevice;
import io.basalt.raid.volume.Raid0Volume;
import io.basalt.raid.volume.Raid1Volume;
import io.basalt.raid.volume.Raid5Volume;
import io.basalt.raid.parity.Raid5Algorithm;

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
 * The RAID methods (raid_create, raid_status, raid_stop, raid_fail_member, raid_assemble; the rest of issue 4's
 * list answers "not yet supported") and the md assembly at start-up. A volume is registered in the
 * {@link DriveRegistry} next to the drives, claims its member drives, and sees each member as an
 * {@link OffsetDevice} starting at the md data offset. Superblock I/O goes through the members' devices on a
 * reactor ({@link ControlIo}). Calls are serialised on this object (the control plane is rare and short).
 */
final class RaidMethods {
    /** JSON-RPC server error (-32000..-32099 are the implementation's): a method or level not written yet. */
    static final int NOT_SUPPORTED = -32000;
    static final String NOT_YET = "not yet supported (issue 4 in progress)";
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

    RaidMethods(DriveRegistry drives, Supplier<List<Reactor>> reactors) {
        this.drives = drives;
        this.reactors = reactors;
    }

    static RaidMethods register(RpcDispatcher dispatcher, DriveRegistry drives, Supplier<List<Reactor>> reactors) {
        RaidMethods m = new RaidMethods(drives, reactors);
        dispatcher.register("raid_create", m::create);
        dispatcher.register("raid_status", m::status);
        dispatcher.register("raid_stop", m::stop);
        dispatcher.register("raid_fail_member", m::failMember);
        dispatcher.register("raid_assemble", m::assembleRpc);
        for (String method : List.of("raid_add_member", "raid_remove_member", "raid_check", "raid_repair")) {
            dispatcher.register(method, params -> {
                throw new RpcException(NOT_SUPPORTED, method + ": " + NOT_YET);
            });
        }
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
        return switch (level) {
            case 0 -> new Raid0Volume(name, slices, chunkBytes);
            case 1 -> new Raid1Volume(name, slices);
            case 5 -> {
                Raid5Algorithm algorithm = Raid5Algorithm.fromMdLayout(layout);
                if (algorithm == null) throw new NotYetSupported("raid5 layout " + layout + " is " + NOT_YET);
                yield new Raid5Volume(name, slices, chunkBytes, algorithm);
            }
            default -> throw new NotYetSupported("raid" + level + " is " + NOT_YET);
        };
    }

    private static int membersMax(int level) {
        return level == 0 ? Raid0Volume.MEMBERS_MAX : level == 1 ? Raid1Volume.MEMBERS_MAX : MdSuperblock.MAX_DEV_MAX;
    }

    // ------------------------------------------------------------------ raid_create

    private synchronized Object create(RpcParams params) throws RpcException {
        params.allowOnly("name", "level", "members", "chunk_kib", "if_missing");
        String name = params.requireString("name");
        // if_missing: a config replayed at every start creates the array once; later starts find it assembled.
        if (Boolean.TRUE.equals(params.asMap().get("if_missing")) && arrays.containsKey(name)) return describe(arrays.get(name));
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
        String holder = holderOf(name);
        List<DriveRegistry.Drive> claimed;
        try {
            claimed = drives.claimDrives(members, holder, "members");
        } catch (DriveRegistry.DriveException e) {
            throw RpcException.invalidParams("raid_create: param '" + e.param() + "': " + e.getMessage());
        }
        try {
            return describe(createClaimed(name, (int) level, claimed, chunkKib * 2));
        } catch (RpcException | RuntimeException e) {
            for (String m : members) drives.release(m, holder);
            throw e;
        }
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

    private Array createClaimed(String name, int level, List<DriveRegistry.Drive> members, long chunkSectors) throws RpcException {
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
            spec = MdArraySpec.create(name, level, level == 5 ? MdSuperblock.ALGORITHM_LEFT_SYMMETRIC : 0, chunkSectors, members.size(), memberSectors, false, now, random);
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
        try {
            volume = openVolume(name, level, layout, slices, (int) (chunkSectors * MdSuperblock.SECTOR_BYTES));
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
            }
            for (DriveRegistry.Drive d : members) ControlIo.flush(reactor, d.device());
        } catch (IOException e) {
            volume.close();
            throw new RpcException(RpcException.INTERNAL_ERROR, "raid_create: writing the md superblocks failed: " + e.getMessage());
        }
        Array array = new Array(name, level, layout, members.size(), spec.chunkSectors(), spec.sizeSectors(), spec.setUuid(), spec.events(),
                "created", volume, names, copies);
        register(array);
        return array;
    }

    private void register(Array array) {
        drives.addVolume(array.name, array.volume.describe(), array.volume);
        arrays.put(array.name, array);
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

    /** A member failed on I/O: mark it faulty in the other members' superblocks, so that it is stale at the next start. */
    private synchronized void recordIoFailure(Array array, int role, int status) {
        if (arrays.get(array.name) != array) return; // stopped meanwhile
        System.err.println("basalt: raid volume " + array.name + ": member " + array.drives[role] + " failed on I/O ("
                + io.basalt.engine.Status.name(status) + "); marking it faulty in the superblocks");
        try {
            updateSuperblocks(array);
        } catch (IOException | RpcException e) {
            System.err.println("basalt: raid volume " + array.name + ": superblock update after the failure of "
                    + array.drives[role] + " failed: " + e.getMessage());
        }
    }

    /** Stops recording failures (the daemon is stopping). */
    void close() {
        recorder.shutdown();
        try {
            recorder.awaitTermination(ControlIo.TIMEOUT_NS, java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Reactor controlReactor() throws RpcException {
        for (Reactor r : reactors.get()) if (r.isRunning()) return r;
        throw new RpcException(RpcException.INTERNAL_ERROR, "no running reactor for the md superblock I/O");
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
    private static MdMember readMember(Reactor reactor, DriveRegistry.Drive drive) {
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
            sb.events(events).utime(now & 0xff_ffff_ffffL).resyncOffsetSectors(MdSuperblock.MAX_SECTOR);
            for (int other = 0; other < array.raidDisks; other++) {
                if (!active[other] && array.superblocks[other] != null) {
                    int devNumber = (int) new MdSuperblock().wrap(array.superblocks[other]).devNumber();
                    if (devNumber < sb.maxDev()) sb.devRole(devNumber, MdSuperblock.ROLE_FAULTY);
                }
            }
            sb.updateChecksum();
            writeSuperblock(reactor, device, buffer);
            ControlIo.flush(reactor, device);
            array.superblocks[r] = heapCopy(buffer);
        }
        array.events = events;
    }

    private static boolean[] activeRoles(Array array) {
        boolean[] active = new boolean[array.raidDisks];
        Raid1Volume.MemberState[] states = array.volume instanceof Raid1Volume v ? v.memberStates() : null;
        for (int r = 0; r < active.length; r++) {
            boolean alive = switch (array.volume) {
                case Raid1Volume v -> states[r] == Raid1Volume.MemberState.ACTIVE;
                case Raid5Volume v -> v.isActive(r);
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
            member.put("state", a.drives[r] == null ? "missing" : active[r] ? "active" : "faulty");
            if (active[r]) activeCount++;
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
        m.put("uuid", uuidText(a.uuid));
        m.put("origin", a.origin);
        m.put("used_by", drives.holder(a.name));
        m.put("describe", a.volume.describe());
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
        a.volume.close();
        String warning = null;
        try {
            updateSuperblocks(a);
        } catch (IOException e) {
            warning = e.getMessage();
            System.err.println("basalt: raid_stop " + name + ": the clean superblocks were not all written: " + warning);
        } finally {
            for (String d : a.memberDrives()) drives.release(d, holderOf(name));
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
        for (boolean b : active) if (b) activeCount++;
        int needed = a.volume instanceof Raid5Volume ? a.raidDisks - 1 : 1; // raid5 survives one loss, a mirror all but one
        if (activeCount - 1 < needed) {
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
                log.accept(label + ": not started: " + a.activeCount() + " of " + a.raidDisks() + " members usable; its drives stay unclaimed");
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
            long lengthBlocks = fresh.sizeSectors() * MdSuperblock.SECTOR_BYTES / blockBytes;
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
                if (device.geometry().logicalBlockBytes() != blockBytes) throw new IllegalArgumentException("members of different block sizes");
                OffsetDevice slice = new OffsetDevice(m.deviceName(), device,
                        m.superblock().dataOffsetSectors() * MdSuperblock.SECTOR_BYTES / blockBytes, lengthBlocks);
                slices.add(slice);
                shape = slice.geometry();
                names[r] = m.deviceName();
                copies[r] = heapCopy(m.superblock().segment());
            }
            for (int r = 0; r < slices.size(); r++) {
                if (slices.get(r) == null) slices.set(r, OffsetDevice.missing(name + "/role" + r, shape));
            }
            BlockDevice volume = openVolume(name, fresh.level(), fresh.layout(), slices, (int) (fresh.chunkSectors() * MdSuperblock.SECTOR_BYTES));
            if (volume instanceof Raid1Volume v) {
                for (int r = 0; r < names.length; r++) if (names[r] == null) v.fail(r);
            } else if (volume instanceof Raid5Volume v) {
                for (int r = 0; r < names.length; r++) if (names[r] == null) v.fail(r);
            }
            Array array = new Array(name, fresh.level(), fresh.layout(), a.raidDisks(), fresh.chunkSectors(), fresh.sizeSectors(),
                    a.setUuid(), a.events(), "assembled", volume, names, copies);
            register(array);
            return name;
        } catch (RuntimeException e) {
            for (String d : memberNames) drives.release(d, holder);
            throw e;
        }
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
}
