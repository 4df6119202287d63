package io.basalt.raid.model;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.conformance.ConformanceHarness;
import io.basalt.engine.fault.FaultBlockDevice;
import io.basalt.engine.fault.FaultConfig;
import io.basalt.raid.md.MdBitmap;
import io.basalt.raid.md.MdWriteIntent;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.parity.Xor;
import io.basalt.raid.volume.OffsetDevice;
import io.basalt.raid.volume.Raid0Volume;
import io.basalt.raid.volume.Raid1Volume;
import io.basalt.raid.volume.Raid5Volume;
import io.basalt.raid.volume.SyncJob;
import io.basalt.raid.volume.SyncTarget;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link RaidUnderTest} over today's API: a {@link Raid0Volume}, {@link Raid1Volume} or {@link Raid5Volume}
 * whose members are {@link FaultBlockDevice}s over memory (in power-cut mode with torn writes when the volume
 * runs on one reactor), each seen by the volume through a non-owning {@link OffsetDevice}, so that the volume
 * can be closed and reopened over the same media (after a power cut, a rebuild).
 *
 * <p><b>Rebuild is the volume's own {@link SyncJob}</b>, online: {@link #startRebuild} puts a blank medium in the
 * failed member's place ({@code replaceMember}) and starts a REBUILD job on the first reactor; the sequence
 * keeps issuing requests while it runs (the job's units complete only while those requests cycle the
 * reactors), then {@link #finishRebuild} waits for the job and checks the volume healthy. Only a raid5 opened
 * through a {@link #powerCutRecovery} (not a {@link SyncTarget}) keeps the old offline stand-in: volume closed,
 * the member reconstructed in the harness from the others read directly, volume reopened.
 *
 * <p><b>Write-intent bitmap</b> ({@code bitmap} mode): raid1 and raid5 volumes carry an {@link MdWriteIntent}
 * whose store keeps the bitmap's "disk" copy in memory that a power cut leaves alone (as the members' bitmap
 * areas would be: the store writes them through and makes them durable at once) and flushes the member media
 * for real (posted to the first reactor) before bits are cleared. At every (re)opening the bitmap is loaded
 * from that copy; after a power cut {@link #recoverAfterPowerCut} resyncs the regions whose bits are set with a
 * RESYNC {@link SyncJob} over that region list, as assembly after an unclean stop does. {@code SKIP} mode keeps
 * the bitmap but skips the resync (and claims recovery): the model must catch it.
 *
 * <p><b>Partial parity log</b> (a raid5 with a {@link PowerCutRecovery}): each medium holds the member's data and,
 * after it, the member's log area, each seen through its own slice; after a power cut the recovery runs over the
 * media (the volume closed, as at assembly), then the volume is reopened and a rebuild cut short is started
 * again. Without a bitmap or a log, {@link #recoverAfterPowerCut} answers false.
 */
final class VolumeUnderTest implements RaidUnderTest {
    /** raid5 only, null for none: md's partial parity log, recovered after each power cut. */
    private final PowerCutRecovery powerCutRecovery;
    /** Blocks of log area after each member's data on its medium (0 without a log). */
    private final long areaBlocks;
    private boolean recoveredLastCut;
    /** Members missing at the last PPL recovery (bit per member). */
    private int missingAtRecovery;
    private final io.basalt.raid.parity.ChunkAddress address = new io.basalt.raid.parity.ChunkAddress();

    private final Level level;
    private final Raid5Algorithm algorithm;
    private final int memberCount;
    private final int chunkBytes;
    private final long memberBytes;
    private final int blockBytes;
    private final Reactor[] reactors;
    private final boolean powerCutMode;
    private final long seed;
    private final FaultBlockDevice[] media;
    private final boolean[] failed;
    private final Arena arena = Arena.ofConfined();
    private final BuggyDevice.Bug bug;
    private final long bugVictim;
    private final AtomicLong bugWrites = new AtomicLong();
    private int replacements;
    private final SharedChannelDevice[] shared;
    private final ModelSequence.Bitmap bitmapMode;
    private final long regionBlocks;
    /** The bitmap as the members hold it: written only by the store, so a power cut leaves it as it was. */
    private final MemorySegment bitmapDisk;
    private MdWriteIntent intent;
    private BitmapStore store;
    private SyncJob rebuildJob;
    private int rebuildMember = -1;
    private int jobsStarted;
    int jobRebuilds, offlineRebuilds, bitmapResyncs, resyncedRegions, pplRecoveries, pplEntriesRecovered, pplEntriesSkipped;

    private BlockDevice volume;
    /** The volume itself, under the bug wrapper if any. */
    private BlockDevice rawVolume;
    private BlockChannel[] channels;
    private ConformanceHarness[] io;
    private final IoVector vector;

    VolumeUnderTest(Level level, int memberCount, int chunkBytes, Raid5Algorithm algorithm, long memberBytes, Reactor[] reactors,
                    long seed, BuggyDevice.Bug bug, long bugVictim) {
        this(level, memberCount, chunkBytes, algorithm, memberBytes, reactors, seed, bug, bugVictim, ModelSequence.Bitmap.NONE, null);
    }

    VolumeUnderTest(Level level, int memberCount, int chunkBytes, Raid5Algorithm algorithm, long memberBytes, Reactor[] reactors,
                    long seed, BuggyDevice.Bug bug, long bugVictim, ModelSequence.Bitmap bitmapMode, PowerCutRecovery recovery) {
        this.powerCutRecovery = level == Level.RAID5 ? recovery : null;
        this.areaBlocks = powerCutRecovery == null ? 0 : powerCutRecovery.areaBlocks(chunkBytes, 4096, seed);
        this.level = level;
        this.algorithm = algorithm;
        this.memberCount = memberCount;
        this.chunkBytes = chunkBytes;
        this.memberBytes = memberBytes;
        this.blockBytes = 4096;
        this.reactors = reactors;
        this.powerCutMode = reactors.length == 1;
        this.seed = seed;
        this.bug = bug;
        this.bugVictim = bugVictim;
        this.media = new FaultBlockDevice[memberCount];
        this.shared = new SharedChannelDevice[memberCount];
        this.failed = new boolean[memberCount];
        for (int i = 0; i < memberCount; i++) {
            media[i] = newMedium(i);
            shared[i] = newShared(i);
        }
        this.bitmapMode = level == Level.RAID0 ? ModelSequence.Bitmap.NONE : bitmapMode;
        // Regions of 1 to 3 chunks' rows (a raid5 region is whole stripes' rows; several regions per member).
        this.regionBlocks = (long) chunkBytes / blockBytes * (1 + (int) ((seed >>> 7) % 3));
        this.bitmapDisk = this.bitmapMode == ModelSequence.Bitmap.NONE ? null : newBitmap(memberBytes / blockBytes);
        for (int i = 0; i < memberCount && areaBlocks > 0; i++) initializeArea(i);
        open();
        this.vector = new IoVector(Math.min(16, volume.geometry().maxSegments()));
    }

    /**
     * raid1: members advertising transfers of 8 or 16 blocks (from the seed), so that the volume's sync window is
     * that size and a rebuild of these small volumes crosses several windows under the foreground requests (writes
     * here are at most 5 blocks; whole-volume reads are cut to the volume's maximum transfer).
     */
    private SharedChannelDevice newShared(int member) {
        if (level != Level.RAID1) return new SharedChannelDevice(media[member]);
        return new SharedChannelDevice(media[member], 8 << (int) ((seed >>> 17) & 1));
    }

    private FaultBlockDevice newMedium(int member) {
        FaultConfig config = FaultConfig.none(seed * 31 + member * 7L + replacements);
        if (powerCutMode) config = config.withPowerCut(true);
        return new FaultBlockDevice("m" + member, new MemoryBlockDevice("m" + member, memberBytes + areaBlocks * blockBytes, blockBytes), config);
    }

    /** The member's log area: the medium's blocks after its data. */
    private BlockDevice area(int member) {
        return new OffsetDevice("p" + member, shared[member], memberBytes / blockBytes, areaBlocks);
    }

    /** An empty log (mdadm at create, md on a re-added disk), written and flushed through the member's slice. */
    private void initializeArea(int member) {
        try (BlockDevice area = area(member)) {
            powerCutRecovery.initializeArea(reactors[0], area);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("initializing the log area of member " + member + ": " + e.getMessage(), e);
        }
    }

    /** A fresh bitmap (every bit clear) over {@code memberBlocks} rows, in native memory the flusher thread may read. */
    private MemorySegment newBitmap(long memberBlocks) {
        MemorySegment disk = Arena.ofAuto().allocate(MdBitmap.BITS_OFFSET + 4096, 4096);
        new MdBitmap().wrap(disk).magic(MdBitmap.BITMAP_MAGIC).version(MdBitmap.VERSION).chunkBytes(regionBlocks * blockBytes)
                .syncSizeSectors(memberBlocks * blockBytes / 512).daemonSleepSeconds(MdBitmap.DAEMON_SLEEP_DEFAULT_SECONDS);
        return disk;
    }

    private BlockDevice slice(int member) {
        BlockDevice slice = new OffsetDevice("s" + member, shared[member], 0, memberBytes / blockBytes);
        if (bug == BuggyDevice.Bug.DROP_ONE_WRITE && member == 0) slice = new BuggyDevice(slice, bug, bugVictim, bugWrites);
        return slice;
    }

    private void open() {
        open(false);
    }

    /**
     * The bitmap as the members hold it, loaded and put in front of the volume's writes. As the daemon does it, only
     * after the resync of its dirty regions: a loaded bit whose region has no write is cleared after one clear
     * delay (with a flush first), so an intent attached before the resync could forget a region not yet repaired
     * (the first version of this harness did, and the model caught it: mirrors left disagreeing).
     */
    private void attachIntent() {
        if (bitmapMode == ModelSequence.Bitmap.NONE) return;
        MemorySegment area = Arena.ofAuto().allocate(bitmapDisk.byteSize(), 4096);
        synchronized (bitmapDisk) {
            MemorySegment.copy(bitmapDisk, 0, area, 0, area.byteSize());
        }
        store = new BitmapStore();
        // A clear delay of 2 ms (md: 5 s) so that bits are set and cleared many times within a sequence.
        intent = new MdWriteIntent(rawVolume.name(), area, blockBytes, store, 2_000_000L);
        if (rawVolume instanceof Raid1Volume r1) r1.setWriteIntent(intent);
        else ((Raid5Volume) rawVolume).setWriteIntent(intent);
    }

    private void open(boolean afterPowerCut) {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < memberCount; i++) members.add(slice(i));
        BlockDevice v = switch (level) {
            case RAID0 -> new Raid0Volume("r0", members, chunkBytes);
            case RAID1 -> new Raid1Volume("r1", members);
            case RAID5 -> powerCutRecovery != null ? powerCutRecovery.openRaid5("r5", members, areas(), chunkBytes, algorithm)
                    : new Raid5Volume("r5", members, chunkBytes, algorithm);
        };
        rawVolume = v;
        for (int i = 0; i < memberCount; i++) {
            if (i == rebuildMember) resumeRebuild(v, i);
            else if (failed[i]) failInVolume(i);
        }
        if (!afterPowerCut) attachIntent(); // after a cut: once the dirty regions are resynced
        if (bug == BuggyDevice.Bug.CORRUPT_ONE_WRITE) v = new BuggyDevice(v, bug, bugVictim, bugWrites);
        volume = v;
        channels = new BlockChannel[reactors.length];
        io = new ConformanceHarness[reactors.length];
        for (int r = 0; r < reactors.length; r++) { // every reactor's channel before any I/O (raid5 stripe owners)
            channels[r] = volume.openChannel(reactors[r]);
            io[r] = new ConformanceHarness(reactors[r], channels[r]);
        }
    }

    private List<BlockDevice> areas() {
        List<BlockDevice> areas = new ArrayList<>();
        for (int i = 0; i < memberCount; i++) areas.add(area(i));
        return areas;
    }

    private void shut() {
        for (int r = 0; r < reactors.length; r++) {
            drain(r);
            channels[r].close();
        }
        cycle();
        volume.close(); // closes the slices, never the media
        if (intent != null) { // after the last volume write: nothing may pass a bit the store failed to write
            store.down = true;
            intent.close(false);
            store.close();
            intent = null;
        }
    }

    private int cycle() {
        int work = 0;
        for (Reactor reactor : reactors) work += reactor.doWork();
        return work;
    }

    /**
     * A cycle while waiting; when it did nothing and a job thread runs (a rebuild, a resync: each unit needs that
     * thread scheduled), gives the core away: on a loaded 2-core machine a spinning test thread otherwise starves
     * it for a scheduler tick per unit.
     */
    private void cycleWaiting(boolean jobRuns) {
        if (cycle() == 0 && jobRuns) java.util.concurrent.locks.LockSupport.parkNanos(20_000);
    }

    private void drain(int r) {
        long deadline = System.nanoTime() + ConformanceHarness.AWAIT_TIMEOUT_NS;
        while (channels[r].inFlight() > 0) {
            cycle();
            if (System.nanoTime() - deadline > 0) throw new AssertionError("volume channel did not drain");
        }
    }

    /** Whether the injected bug's victim write came (a sequence may end before it). */
    boolean bugFired() {
        if (bug == BuggyDevice.Bug.REBUILD_SKIPS_ITS_LAST_UNIT) return jobsStarted > 0;
        return bug != null && bugWrites.get() >= bugVictim;
    }

    @Override public Level level() { return level; }
    @Override public int memberCount() { return memberCount; }
    @Override public long blockCount() { return volume.geometry().blockCount(); }
    @Override public int blockBytes() { return blockBytes; }
    @Override public int reactorCount() { return reactors.length; }
    @Override public boolean supportsPowerCut() { return powerCutMode; }
    @Override public boolean isFailed(int member) { return failed[member]; }

    @Override
    public int stripeBlocks() {
        int chunk = chunkBytes / blockBytes;
        return switch (level) {
            case RAID0 -> chunk * memberCount;
            case RAID1 -> 1;
            case RAID5 -> chunk * (memberCount - 1);
        };
    }

    @Override
    public int failedCount() {
        int n = 0;
        for (boolean f : failed) if (f) n++;
        return n;
    }

    @Override
    public String describe() {
        return level + (level == Level.RAID5 ? " " + algorithm.name().toLowerCase() : "") + " " + memberCount + " members, chunk " + chunkBytes / 1024 + " KiB, " + blockCount() + " blocks, "
                + reactors.length + " reactor(s)" + (powerCutMode ? ", power-cut media (torn)" : "")
                + (bitmapMode == ModelSequence.Bitmap.NONE ? "" : ", bitmap " + bitmapMode + " (" + regionBlocks + "-row regions)")
                + (powerCutRecovery == null ? "" : ", ppl (" + areaBlocks + "-block areas)");
    }

    // ------------------------------------------------------------------ I/O, each awaited (several reactors: all cycled)

    private int await(int r, int tag) {
        long deadline = System.nanoTime() + ConformanceHarness.AWAIT_TIMEOUT_NS;
        while (!io[r].done(tag)) {
            cycleWaiting(rebuildJob != null);
            if (System.nanoTime() - deadline > 0) throw new AssertionError("no completion on reactor " + r);
        }
        return io[r].await(tag);
    }

    private void submit(int r, java.util.function.BooleanSupplier submit) {
        long deadline = System.nanoTime() + ConformanceHarness.AWAIT_TIMEOUT_NS;
        while (!submit.getAsBoolean()) {
            cycleWaiting(rebuildJob != null);
            if (System.nanoTime() - deadline > 0) throw new AssertionError("channel stayed busy");
        }
    }

    @Override
    public int write(int r, long lba, int blockCount, MemorySegment buffer) {
        submit(r, () -> io[r].submitWrite(0, lba, blockCount, buffer));
        return await(r, 0);
    }

    @Override
    public int writev(int r, long lba, int blockCount, MemorySegment buffer, int pieces) {
        vector.clear();
        int count = Math.max(1, Math.min(Math.min(pieces, vector.capacity()), blockCount));
        int base = blockCount / count;
        long atBlocks = 0;
        for (int k = 0; k < count; k++) {
            // Uneven whole-block segments (segments must be block-aligned): base+1, base-1, ..., the rest last.
            long left = blockCount - atBlocks, others = count - 1 - k;
            long size = k == count - 1 ? left : Math.clamp(base + (k % 2 == 0 ? 1 : -1), 1, left - others);
            vector.add(buffer.asSlice(atBlocks * blockBytes, size * blockBytes));
            atBlocks += size;
        }
        if (atBlocks != blockCount) throw new AssertionError("segments cover the buffer");
        submit(r, () -> io[r].submitWritev(0, lba, blockCount, vector));
        return await(r, 0);
    }

    @Override
    public int writeZeroes(int r, long lba, int blockCount) {
        submit(r, () -> io[r].submitWriteZeroes(0, lba, blockCount));
        return await(r, 0);
    }

    /** A read, cut into pieces of the volume's maximum transfer (raid1 members advertise small ones); the first failure. */
    @Override
    public int read(int r, long lba, int blockCount, MemorySegment buffer) {
        int max = volume.geometry().maxTransferBlocks();
        for (int at = 0; at < blockCount; at += max) {
            int n = Math.min(max, blockCount - at);
            long from = lba + at;
            MemorySegment exact = buffer.asSlice((long) at * blockBytes, (long) n * blockBytes);
            submit(r, () -> io[r].submitRead(0, from, n, exact));
            int status = await(r, 0);
            if (status != Status.OK) return status;
        }
        return Status.OK;
    }

    @Override
    public int flush(int r) {
        submit(r, () -> io[r].submitFlush(0));
        return await(r, 0);
    }

    @Override
    public int[] writeBurst(long[] lbas, int[] blockCounts, MemorySegment[] buffers, int count) {
        int[] statuses = new int[count];
        for (int k = 0; k < count; k++) {
            int r = k % reactors.length, tag = 1 + k, at = k;
            MemorySegment exact = buffers[at].asSlice(0, (long) blockCounts[at] * blockBytes);
            submit(r, () -> io[r].submitWrite(tag, lbas[at], blockCounts[at], exact));
        }
        for (int k = 0; k < count; k++) statuses[k] = await(k % reactors.length, 1 + k);
        return statuses;
    }

    // ------------------------------------------------------------------ the array

    @Override
    public void powerCut() {
        if (!powerCutMode) throw new IllegalStateException("power cuts need one reactor (power-cut media allow one channel)");
        boolean resume = rebuildJob != null;
        if (resume) stopRebuildJob(); // the job dies with the power; nothing of its end reaches the media
        shut();
        for (FaultBlockDevice medium : media) medium.powerCut();
        if (powerCutRecovery != null) recoverLogs();
        open(true);
        if (resume) startRebuildJob();
    }

    /**
     * md's PPL recovery at assembly, over the media before the volume is reopened: a failed or pulled member and a
     * rebuilding one (md: past its recovery offset) are missing, with their log areas.
     */
    private void recoverLogs() {
        List<BlockDevice> members = new ArrayList<>(), areas = new ArrayList<>();
        missingAtRecovery = 0;
        for (int i = 0; i < memberCount; i++) {
            boolean missing = failed[i] || media[i].failed() || i == rebuildMember;
            if (missing) missingAtRecovery |= 1 << i;
            members.add(missing ? null : new OffsetDevice("s" + i, shared[i], 0, memberBytes / blockBytes));
            areas.add(missing ? null : area(i));
        }
        try {
            int[] did = powerCutRecovery.recover(reactors[0], members, areas, ((Raid5Volume) rawVolume).layout());
            pplRecoveries++;
            pplEntriesRecovered += did[1];
            pplEntriesSkipped += did[2];
            recoveredLastCut = true;
        } catch (java.io.IOException e) {
            throw new AssertionError("PPL recovery after a power cut: " + e.getMessage(), e);
        } finally {
            for (BlockDevice d : members) if (d != null) d.close();
            for (BlockDevice d : areas) if (d != null) d.close();
        }
    }

    /**
     * Stops the running rebuild job: stop() waits for the units in flight, which need the reactors cycled here.
     * Its stop checkpoint is not kept (see {@link #open}: a resumed rebuild starts from 0).
     */
    private void stopRebuildJob() {
        SyncJob job = rebuildJob;
        rebuildJob = null;
        Thread stopper = Thread.ofPlatform().start(job::stop);
        while (stopper.isAlive()) cycleWaiting(true);
    }

    @Override
    public boolean recoverAfterPowerCut() {
        if (bitmapMode == ModelSequence.Bitmap.SKIP) { // the lie the model must catch
            attachIntent();
            return true;
        }
        if (bitmapMode == ModelSequence.Bitmap.RESYNC) {
            boolean recovered = resyncDirtyRegions();
            attachIntent();
            return recovered;
        }
        boolean recovered = recoveredLastCut;
        recoveredLastCut = false;
        return recovered;
    }

    @Override
    public boolean mayHoldAnythingAfterCut(long lba) {
        if (powerCutRecovery == null || missingAtRecovery == 0) return false;
        ((Raid5Volume) rawVolume).layout().map(lba * (blockBytes / 512), address);
        return (missingAtRecovery & 1 << address.disk()) != 0;
    }

    /**
     * The bitmap's recovery after an unclean stop: the regions whose bits are set on "disk", resynced by a
     * RESYNC job over that region list before any request (raid5: parity recomputed from the data, stripe by
     * stripe; raid1: the first active mirror copied over the others). A degraded raid5 cannot be resynced (its
     * parity is the missing member's only copy): false, as md refuses a dirty degraded array.
     */
    private boolean resyncDirtyRegions() {
        if (level == Level.RAID5 && failedCount() > 0) return false;
        MdBitmap bits = new MdBitmap().wrap(bitmapDisk);
        long used = ((SyncTarget) rawVolume).unitCount() * ((SyncTarget) rawVolume).unitMemberBlocks();
        used = Math.min(used, memberBytes / blockBytes);
        List<long[]> regions = new ArrayList<>();
        for (long r = 0; r < bits.chunkCount(); r++) {
            if (!bits.test(r)) continue;
            long from = r * regionBlocks;
            if (from < used) regions.add(new long[] {from, Math.min(regionBlocks, used - from)});
        }
        bitmapResyncs++;
        resyncedRegions += regions.size();
        if (regions.isEmpty()) return true;
        SyncJob job = new SyncJob((SyncTarget) rawVolume, SyncJob.RESYNC, reactors[0], regions, 100_000, SyncJob.DEFAULT_UNITS_IN_FLIGHT, null).start();
        awaitJob(job, "resync of the bitmap's dirty regions");
        return true;
    }

    private void awaitJob(SyncJob job, String what) {
        awaitEnd(job, what);
        if (job.state() != SyncJob.State.DONE) throw new AssertionError(what + " ended " + job.state() + ": " + job.error());
    }

    private void awaitEnd(SyncJob job, String what) {
        long deadline = System.nanoTime() + ConformanceHarness.AWAIT_TIMEOUT_NS;
        while (job.isRunning()) {
            cycleWaiting(true);
            if (System.nanoTime() - deadline > 0) throw new AssertionError(what + " did not end");
        }
    }

    @Override
    public void failMember(int member, boolean pulled) {
        if (level == Level.RAID0 && !pulled) throw new IllegalArgumentException("raid0 has no fail(i): pull the drive");
        failed[member] = true;
        if (pulled) {
            media[member].setFailed(true);
            return;
        }
        failInVolume(member);
    }

    private void failInVolume(int member) {
        if (rawVolume instanceof Raid1Volume r1) r1.fail(member);
        else if (rawVolume instanceof Raid5Volume r5) r5.fail(member);
    }

    @Override
    public boolean startRebuild(int member) {
        if (level == Level.RAID0) throw new IllegalArgumentException("raid0 cannot rebuild a member");
        if (!failed[member]) throw new IllegalArgumentException("member " + member + " is not failed");
        if (rebuildJob != null) throw new IllegalStateException("a rebuild of member " + rebuildMember + " runs");
        if (!(rawVolume instanceof SyncTarget)) { // none today: the offline stand-in
            replaceAndRebuildOffline(member);
            return false;
        }
        failInVolume(member); // a pulled drive the data path has not met yet: failed first, as an admin would
        FaultBlockDevice old = media[member];
        replacements++;
        media[member] = newMedium(member);
        shared[member] = newShared(member);
        if (areaBlocks > 0) initializeArea(member);
        if (rawVolume instanceof Raid5Volume r5 && areaBlocks > 0) r5.replaceMember(member, slice(member), area(member));
        else if (rawVolume instanceof Raid5Volume r5) r5.replaceMember(member, slice(member));
        else ((Raid1Volume) rawVolume).replaceMember(member, slice(member));
        old.close(); // after the swap: the volume's channels no longer use it
        rebuildMember = member;
        startRebuildJob();
        return true;
    }

    /**
     * A member that was rebuilding when the power went, at reassembly: rebuilding again, from member block 0. md
     * resumes from the member's recovery_offset, written at checkpoints (every 256 units or 2 s, and on a clean
     * stop); the model's arrays are a few dozen stripes, so a crash always finds the checkpoint written when the
     * member was added: 0. Resuming at a later checkpoint is the daemon's test
     * ({@code RaidSyncRpcTest.aRebuildStoppedByShutdownResumesFromItsCheckpointAfterTheRestart}).
     */
    private static void resumeRebuild(BlockDevice volume, int member) {
        if (volume instanceof Raid5Volume r5) r5.resumeRebuild(member, 0);
        else ((Raid1Volume) volume).resumeRebuild(member, 0);
    }

    /** A REBUILD job on the first reactor, from the volume's recovery position; raid5: awaits its first stripe. */
    private void startRebuildJob() {
        // Units in flight from the seed (raid1 caps it at 1: one barrier window); no rate limit to speak of.
        int inFlight = 1 + (int) ((seed >>> 11) % 4);
        SyncTarget target = (SyncTarget) rawVolume;
        List<long[]> regions = null; // the whole member, from the recovery position
        if (bug == BuggyDevice.Bug.REBUILD_SKIPS_ITS_LAST_UNIT) { // the bug the model must catch
            regions = new ArrayList<>();
            long units = target.unitCount() - 1;
            if (units > 0) regions.add(new long[] {0, units * target.unitMemberBlocks()});
        }
        rebuildJob = new SyncJob(target, SyncJob.REBUILD, reactors[0], regions, 100_000, inFlight, null).start();
        jobsStarted++;
        if (target.unitCount() > 1) { // the first unit rebuilt before the sequence goes on: the requests then meet it part-way
            long deadline = System.nanoTime() + ConformanceHarness.AWAIT_TIMEOUT_NS;
            while (rebuildJob.isRunning() && rebuildJob.doneBytes() == 0) {
                cycleWaiting(true);
                if (System.nanoTime() - deadline > 0) throw new AssertionError("the rebuild job did no stripe");
            }
        }
    }

    @Override
    public boolean rebuildsOnline() {
        return rawVolume instanceof SyncTarget;
    }

    @Override
    public boolean rebuildInProgress() {
        SyncJob job = rebuildJob;
        return job != null && job.isRunning() && job.doneBytes() > 0 && job.doneBytes() < job.totalBytes();
    }

    @Override
    public void finishRebuild() {
        SyncJob job = rebuildJob;
        if (job == null) return;
        int member = rebuildMember;
        rebuildJob = null;
        rebuildMember = -1;
        awaitEnd(job, "rebuild of member " + member);
        if (job.state() != SyncJob.State.DONE) {
            throw new AssertionError("rebuild of member " + member + " ended " + job.state() + ": " + job.error());
        }
        boolean healthy = rawVolume instanceof Raid5Volume r5 ? r5.failedCount() == 0 && r5.rebuildingMember() < 0
                : ((Raid1Volume) rawVolume).activeCount() == memberCount - failedCountExcept(member);
        if (!healthy) throw new AssertionError("after the rebuild of member " + member + " the volume is " + describeStates());
        failed[member] = false;
        jobRebuilds++;
    }

    private int failedCountExcept(int member) {
        int n = 0;
        for (int i = 0; i < memberCount; i++) if (failed[i] && i != member) n++;
        return n;
    }

    private String describeStates() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < memberCount; i++) {
            String state = rawVolume instanceof Raid5Volume r5 ? r5.memberStateName(i) : ((Raid1Volume) rawVolume).memberStateName(i);
            b.append(i == 0 ? "" : ", ").append(i).append(' ').append(state);
        }
        return b.toString();
    }

    /** Offline: see the class comment. The caller flushed the volume first (so nothing unflushed is copied). */
    private void replaceAndRebuildOffline(int member) {
        shut();
        media[member].close();
        replacements++;
        media[member] = newMedium(member);
        shared[member] = newShared(member);
        long blocks = memberBytes / blockBytes;
        MemorySegment rebuilt = arena.allocate(memberBytes, blockBytes);
        MemorySegment scratch = arena.allocate(memberBytes, blockBytes);
        boolean first = true;
        for (int m = 0; m < memberCount; m++) {
            if (m == member || failed[m]) continue;
            readMedium(m, blocks, first ? rebuilt : scratch);
            if (!first) Xor.xorInto(rebuilt, scratch);
            first = false;
            if (level == Level.RAID1) break; // one mirror is the copy
        }
        if (first) throw new IllegalStateException("no member left to rebuild " + member + " from");
        writeMedium(member, blocks, rebuilt);
        failed[member] = false;
        offlineRebuilds++;
        open();
    }

    private void readMedium(int member, long blocks, MemorySegment into) {
        BlockChannel direct = media[member].openChannel(reactors[0]);
        int status = new ConformanceHarness(reactors[0], direct).read(0, (int) blocks, into);
        direct.close();
        if (status != Status.OK) throw new IllegalStateException("rebuild: reading member " + member + ": " + Status.name(status));
    }

    private void writeMedium(int member, long blocks, MemorySegment from) {
        BlockChannel direct = media[member].openChannel(reactors[0]);
        ConformanceHarness h = new ConformanceHarness(reactors[0], direct);
        int status = h.write(0, (int) blocks, from);
        if (status == Status.OK) status = h.flush();
        direct.close();
        if (status != Status.OK) throw new IllegalStateException("rebuild: writing member " + member + ": " + Status.name(status));
    }

    /**
     * The members' copy of the bitmap ({@link #bitmapDisk}, durable as soon as written: the daemon's store writes
     * every member and flushes), and a flush of every member medium for real, posted to the first reactor (the
     * flusher runs on its own thread). One store per opening; {@link #down} once the volume is shut, so that a
     * flusher still waiting gives up (as a flush in progress at a power cut fails).
     */
    private final class BitmapStore implements MdWriteIntent.Store {
        volatile boolean down;
        private final BlockChannel[] channels = new BlockChannel[memberCount];
        private final SharedChannelDevice[] opened = new SharedChannelDevice[memberCount];

        @Override
        public void write(MemorySegment area, long offsetBytes, long lengthBytes) throws IOException {
            if (down) throw new IOException("volume shut: no member took the bitmap write");
            synchronized (bitmapDisk) {
                MemorySegment.copy(area, offsetBytes, bitmapDisk, offsetBytes, lengthBytes);
            }
        }

        @Override
        public void flush() throws IOException {
            CompletableFuture<Integer> done = new CompletableFuture<>();
            if (!reactors[0].post(() -> flushMembers(done))) throw new IOException("reactor stopped");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                if (down) throw new IOException("volume shut during the members' flush");
                try {
                    int ok = done.get(1, TimeUnit.MILLISECONDS);
                    if (ok == 0) throw new IOException("no member took the flush");
                    return;
                } catch (TimeoutException e) {
                    if (System.nanoTime() > deadline) throw new IOException("members' flush took over 30 s");
                } catch (Exception e) {
                    throw new IOException("members' flush: " + e, e);
                }
            }
        }

        /** On the reactor: a flush of every medium not pulled; completes with the count that answered OK. */
        private void flushMembers(CompletableFuture<Integer> done) {
            if (down) {
                done.complete(0);
                return;
            }
            int[] left = {1}, ok = {0};
            IoCompletion completion = (tag, status) -> {
                if (status == Status.OK) ok[0]++;
                if (--left[0] == 0) done.complete(ok[0]);
            };
            for (int i = 0; i < memberCount; i++) {
                if (media[i].failed()) continue;
                if (opened[i] != shared[i]) {
                    if (channels[i] != null) channels[i].close();
                    channels[i] = shared[i].openChannel(reactors[0]);
                    opened[i] = shared[i];
                }
                left[0]++;
                if (!channels[i].flush(i, completion)) left[0]--;
            }
            completion.complete(-1, Status.IO_ERROR); // the initial count of one
        }

        /** On the test (reactor) thread, after {@link #down}: waits for its flushes, closes its channels. */
        void close() {
            long deadline = System.nanoTime() + ConformanceHarness.AWAIT_TIMEOUT_NS;
            for (BlockChannel c : channels) {
                if (c == null) continue;
                while (c.inFlight() > 0) {
                    cycle();
                    if (System.nanoTime() - deadline > 0) throw new AssertionError("bitmap store flush did not drain");
                }
                c.close();
            }
        }
    }

    /**
     * For a failure report ({@code -Draid.model.debug=true}): the first 8 bytes of member block {@code lba} on each
     * medium, read directly (raid1: the volume block), and the bits set in the bitmap's "disk" copy.
     */
    String debugBlock(long lba) {
        StringBuilder b = new StringBuilder();
        MemorySegment one = arena.allocate(blockBytes, blockBytes);
        for (int m = 0; m < memberCount; m++) {
            BlockChannel direct = shared[m].openChannel(reactors[0]);
            int st = new ConformanceHarness(reactors[0], direct).read(lba, 1, one);
            direct.close();
            b.append(" m").append(m).append(failed[m] ? "(failed)" : "").append('=').append(st).append(':')
                    .append(Long.toHexString(one.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0)));
        }
        b.append(" bits on disk:");
        MdBitmap bits = bitmapDisk == null ? null : new MdBitmap().wrap(bitmapDisk);
        if (bits != null) for (long r = 0; r < bits.chunkCount(); r++) if (bits.test(r)) b.append(' ').append(r);
        return b.toString() + " regionBlocks " + regionBlocks;
    }

    @Override
    public void close() {
        try {
            if (rebuildJob != null) stopRebuildJob();
            shut();
        } finally {
            for (FaultBlockDevice medium : media) medium.close();
            arena.close();
        }
    }
}
