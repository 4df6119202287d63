package io.basalt.raid.array;

import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.raid.md.MdFormatException;
import io.basalt.raid.md.MdMember;
import io.basalt.raid.md.MdScanner;
import io.basalt.raid.md.MdSuperblock;
import io.basalt.raid.md.MdWriteIntent;
import io.basalt.raid.volume.RedundantVolume;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The md arrays of one process: create, assemble, stop; fail, add and remove members and spares; sync jobs
 * (docs/raid.md, "Arrays"). Members are drives named by a {@link MemberSource}; each array's volume sees each
 * member as an {@link io.basalt.raid.volume.OffsetDevice} from the md data offset, and is registered there under
 * the array's name. Superblock, bitmap and PPL I/O runs on a reactor given by the supplier ({@link ControlIo});
 * calling threads wait for it.
 *
 * <p>Threads: every method is serialised on this object (the control plane is rare and short). The data path
 * never takes the lock: a member failure it sees and a rebuild's checkpoints are recorded by the recorder thread,
 * which does. Changes are told to the {@link ArrayEvents} listener on an event thread, outside the lock.
 */
public final class RaidArrays {
    /** md's set_name field: the longest array (volume) name. */
    public static final int SET_NAME_CHARS_MAX = MdSuperblock.SET_NAME_BYTES;

    private final ArrayContext context;
    private final Superblocks superblocks;
    private final Map<String, RaidArray> arrays = new LinkedHashMap<>();
    private final ArrayCreation creation;
    private final ArrayAssembly assembly;
    private final MemberChanges memberChanges;
    private final SyncJobs syncJobs;

    /**
     * @param members        the drives, and the namespace volumes are registered in
     * @param controlReactor a running reactor for metadata I/O, or null when none runs
     * @param events         told of every change, on the event thread
     */
    public RaidArrays(MemberSource members, Supplier<Reactor> controlReactor, ArrayEvents events) {
        this.context = new ArrayContext(members, controlReactor, events);
        this.superblocks = new Superblocks(context);
        this.syncJobs = new SyncJobs(this, context, superblocks);
        this.memberChanges = new MemberChanges(context, superblocks, syncJobs);
        this.creation = new ArrayCreation(this, context, superblocks);
        this.assembly = new ArrayAssembly(this, context, superblocks, syncJobs);
    }

    /** The holder name an array's drives are claimed under. */
    public static String holderOf(String volume) {
        return "raid volume '" + volume + "'";
    }

    // ------------------------------------------------------------------ the API

    /** Checks a new array's name: free in the member source's namespace, and short enough for md's set_name. */
    public void checkNewName(String name) throws ArrayException {
        ArrayCreation.checkName(context.members, name);
    }

    /** Claims the members, writes the md metadata and starts the array (its superblocks active). */
    public synchronized ArrayStatus create(CreateRequest request) throws ArrayException {
        return ArrayStatus.of(creation.create(request));
    }

    /**
     * Scans every drive nobody claims for an md superblock and starts each array that is healthy or degraded but
     * usable, as a volume named by its set_name (or md-UUIDPREFIX when that name is unusable or taken). Every
     * member left out, every array not started, is reported through {@code log}; such drives stay unclaimed.
     * Returns the names of the arrays started.
     */
    public synchronized List<String> assemble(Consumer<String> log) throws ArrayException {
        return assembly.assemble(log);
    }

    /**
     * raid_create's {@code if_missing} guard, for a config replayed at every start (the embedded default): a drive
     * that carries an md superblock belongs to an array that did not assemble (degraded past use, or another
     * array), and creating would write a new array over its data. Throws INVALID naming the drive; a drive
     * without md magic (what a first start has) passes. Nothing else creates an array, so no path writes one over
     * members.
     */
    public synchronized void refuseMembersOfAnArray(List<String> drives) throws ArrayException {
        Reactor reactor = context.controlReactor();
        for (String drive : drives) {
            MdMember m = Superblocks.readMember(reactor, drive, context.members.device(drive));
            if (m == null || !m.valid() && m.error().reason() == MdFormatException.Reason.BAD_MAGIC) continue;
            throw ArrayException.invalid("members: drive '" + drive + "' carries an md superblock"
                    + (m.valid() ? " of array " + MdScanner.uuidText(m.superblock().setUuid()) + " ('" + m.superblock().setName() + "')" : "")
                    + " that did not assemble; if_missing never creates over it (see the assembly messages; zero the superblock to reuse the drive)");
        }
    }

    /** Throws unless an array named {@code name} runs. */
    public synchronized void requireArray(String name) throws ArrayException {
        array(name);
    }

    public synchronized ArrayStatus status(String name) throws ArrayException {
        return ArrayStatus.of(array(name));
    }

    /** The array's status, or null when there is no such array. */
    public synchronized ArrayStatus find(String name) {
        RaidArray a = arrays.get(name);
        return a == null ? null : ArrayStatus.of(a);
    }

    /** Every running array, in start order. */
    public synchronized List<ArrayStatus> statuses() {
        List<ArrayStatus> result = new ArrayList<>();
        for (RaidArray a : arrays.values()) result.add(ArrayStatus.of(a));
        return result;
    }

    /**
     * Stops an array: its sync job, the volume, then clean superblocks; its drives are released whatever the
     * superblock writes did (an INTERNAL error then says so, the array being stopped all the same).
     */
    public synchronized void stop(String name) throws ArrayException {
        RaidArray a = array(name);
        try {
            context.members.removeVolume(name);
        } catch (IllegalArgumentException e) {
            throw ArrayException.invalid("param 'name': " + e.getMessage());
        }
        arrays.remove(name);
        SyncJobs.stop(a);
        a.volume.close();
        if (a.intent != null) a.intent.close(true);
        a.running = false;
        String warning = null;
        try {
            superblocks.update(a);
        } catch (IOException e) {
            warning = e.getMessage();
            System.err.println("basalt: raid_stop " + name + ": the clean superblocks were not all written: " + warning);
        } finally {
            for (String d : a.memberDrives()) context.members.release(d, holderOf(name));
            for (String d : a.spares.keySet()) context.members.release(d, holderOf(name));
        }
        context.emit(l -> l.arrayStopped(name));
        if (warning != null) {
            throw ArrayException.internal("volume '" + name + "' stopped and its drives released, "
                    + "but the clean superblocks were not all written: " + warning);
        }
    }

    /** Fails member {@code drive} (as md's --fail); a spare, if any, takes its place and rebuilds. */
    public synchronized ArrayStatus failMember(String name, String drive) throws ArrayException {
        return ArrayStatus.of(memberChanges.fail(array(name), drive));
    }

    /** Adds {@code drive}: it rebuilds a missing or faulty role at once, or waits as a spare. */
    public synchronized ArrayStatus addMember(String name, String drive) throws ArrayException {
        return ArrayStatus.of(memberChanges.add(array(name), drive));
    }

    /** Removes a spare, or a faulty member (its role stays empty); the drive is released. */
    public synchronized ArrayStatus removeMember(String name, String drive) throws ArrayException {
        return ArrayStatus.of(memberChanges.remove(array(name), drive));
    }

    /** Starts a sync job; {@code regions} ([start_block, blocks] pairs of the volume) limit a resync, null: all. */
    public synchronized ArrayStatus startSync(String name, SyncAction action, List<long[]> regions) throws ArrayException {
        RaidArray a = array(name);
        syncJobs.startByRequest(a, action, regions);
        return ArrayStatus.of(a);
    }

    /** Sets the sync rate limit and units in flight (null: unchanged), for the running job and the next ones. */
    public synchronized ArrayStatus.Sync setSyncLimit(String name, Long maxMiBs, Long unitsInFlight) throws ArrayException {
        RaidArray a = array(name);
        SyncJobs.setLimit(a, maxMiBs == null ? a.syncLimitMiBs : maxMiBs, unitsInFlight == null ? a.syncUnitsInFlight : unitsInFlight);
        return ArrayStatus.sync(a);
    }

    /** Stops the running sync job (a rebuild resumes from its checkpoint when started again); false when none ran. */
    public synchronized boolean stopSync(String name) throws ArrayException {
        RaidArray a = array(name);
        boolean was = a.jobRunning();
        SyncJobs.stop(a);
        return was;
    }

    /**
     * The process is stopping: stops the sync jobs (each checkpoints through the recorder, drained below) and the
     * recording of failures. When {@code clean} (the exports have stopped, so every acknowledged write reached its
     * members: md's clean stop) every running array's write-intent bitmap is cleared and its superblocks written
     * clean. Not clean (a test's stand-in for a crash): bitmaps and superblocks stay as they are on disk.
     */
    public void close(boolean clean) {
        for (RaidArray a : list()) SyncJobs.stop(a);
        if (clean) {
            synchronized (this) {
                for (RaidArray a : arrays.values()) closeClean(a);
            }
        }
        context.shutdown();
        for (RaidArray a : list()) {
            if (a.intent != null) a.intent.close(clean);
        }
    }

    private void closeClean(RaidArray a) {
        if (!a.running) return;
        a.volume.close();
        a.running = false;
        if (a.intent != null) a.intent.close(true);
        try {
            superblocks.update(a);
        } catch (IOException | ArrayException e) {
            System.err.println("basalt: raid volume " + a.name + ": the clean superblocks were not all written at stop: " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------ for the parts (under the lock)

    private synchronized List<RaidArray> list() {
        return new ArrayList<>(arrays.values());
    }

    RaidArray array(String name) throws ArrayException {
        RaidArray a = arrays.get(name);
        if (a == null) throw ArrayException.invalid("param 'name': no raid volume named '" + name + "'");
        return a;
    }

    /** Whether {@code array} still runs (a recorder task queued before a stop finds it gone). Under the lock. */
    boolean isCurrent(RaidArray array) {
        return arrays.get(array.name) == array;
    }

    /** Registers a started array: its volume in the member source, its failures recorded, the event told. */
    void register(RaidArray array) {
        context.members.addVolume(array.name, array.volume.describe(), array.volume);
        arrays.put(array.name, array);
        if (array.redundant != null) { // recorded off the reactor, and a spare takes over (MemberChanges)
            array.redundant.setMemberFailureListener((role, status) -> context.record(() -> recordIoFailure(array, role, status)));
        }
        context.emit(l -> l.arrayStarted(array.name, array.origin));
    }

    /** Puts the write-intent bitmap in front of every write of the array's volume. */
    void attachIntent(RaidArray array, MemorySegment area) {
        int blockBytes = array.volume.geometry().logicalBlockBytes();
        RaidBitmaps.Store store = new RaidBitmaps.Store(array.name, array.raidDisks,
                role -> array.activeRoles()[role] ? context.members.device(array.drives[role]) : null,
                role -> new MdSuperblock().wrap(array.superblocks[role]),
                role -> failFromBitmap(array, role),
                context::reactorOrNull);
        MdWriteIntent intent = new MdWriteIntent(array.name, area, blockBytes, store);
        array.intent = intent;
        array.redundant.setWriteIntent(intent);
    }

    /** A member could not take a bitmap write: it is failed like a member that failed a data write. */
    private void failFromBitmap(RaidArray array, int role) {
        RedundantVolume v = array.redundant;
        // a second loss of a parity array is the data path's to see (it fails the volume with the right status)
        boolean changed = (!array.level.hasParity() || v.outCount() == 0) && v.fail(role);
        if (changed) context.record(() -> recordIoFailure(array, role, Status.IO_ERROR));
    }

    /** A member failed on I/O: mark it faulty in the other members' superblocks, so that it is stale at the next start. */
    private synchronized void recordIoFailure(RaidArray array, int role, int status) {
        if (!isCurrent(array)) return; // stopped meanwhile
        String drive = array.drives[role];
        System.err.println("basalt: raid volume " + array.name + ": member " + drive + " failed on I/O ("
                + Status.name(status) + "); marking it faulty in the superblocks");
        context.emit(l -> l.memberFailed(array.name, drive, false));
        try {
            superblocks.update(array);
            memberChanges.useSpare(array, "member failure");
        } catch (IOException | ArrayException e) {
            System.err.println("basalt: raid volume " + array.name + ": superblock update after the failure of "
                    + drive + " failed: " + e.getMessage());
        }
    }
}
