package io.basalt.raid.model;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.conformance.ConformanceHarness;
import io.basalt.engine.fault.FaultBlockDevice;
import io.basalt.engine.fault.FaultConfig;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.parity.Xor;
import io.basalt.raid.volume.OffsetDevice;
import io.basalt.raid.volume.Raid0Volume;
import io.basalt.raid.volume.Raid1Volume;
import io.basalt.raid.volume.Raid5Volume;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link RaidUnderTest} over today's API: a {@link Raid0Volume}, {@link Raid1Volume} or {@link Raid5Volume}
 * whose members are {@link FaultBlockDevice}s over memory (in power-cut mode with torn writes when the volume
 * runs on one reactor), each seen by the volume through a non-owning {@link OffsetDevice}, so that the volume
 * can be closed and reopened over the same media (after a power cut, a rebuild).
 *
 * <p><b>Rebuild is done offline, in this harness</b> (no rebuild job exists yet): the volume is flushed and
 * closed, the failed member replaced by a blank one, its content reconstructed from the others read directly
 * (raid1: a copy of an active mirror; raid5: the XOR of every other member, row by row), written, flushed,
 * and the volume reopened healthy. The rebuild job being written (issue 4, resync/rebuild) replaces
 * {@link #replaceAndRebuild}: then the rebuild runs online, under I/O.
 *
 * <p><b>No power-cut recovery exists yet</b>: {@link #recoverAfterPowerCut} answers false unless a
 * {@link #powerCutRecovery} is set (the PPL recovery being written plugs in there: it then opens every raid5).
 */
final class VolumeUnderTest implements RaidUnderTest {
    /** Set by the PPL work when its recovery exists (see {@link PowerCutRecovery}); null today. */
    static volatile PowerCutRecovery powerCutRecovery;

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

    private BlockDevice volume;
    /** The volume itself, under the bug wrapper if any. */
    private BlockDevice rawVolume;
    private BlockChannel[] channels;
    private ConformanceHarness[] io;
    private final IoVector vector;

    VolumeUnderTest(Level level, int memberCount, int chunkBytes, Raid5Algorithm algorithm, long memberBytes, Reactor[] reactors,
                    long seed, BuggyDevice.Bug bug, long bugVictim) {
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
        this.failed = new boolean[memberCount];
        for (int i = 0; i < memberCount; i++) media[i] = newMedium(i);
        open();
        this.vector = new IoVector(Math.min(16, volume.geometry().maxSegments()));
    }

    private FaultBlockDevice newMedium(int member) {
        FaultConfig config = FaultConfig.none(seed * 31 + member * 7L + replacements);
        if (powerCutMode) config = config.withPowerCut(true);
        return new FaultBlockDevice("m" + member, new MemoryBlockDevice("m" + member, memberBytes, blockBytes), config);
    }

    private void open() {
        List<BlockDevice> members = new ArrayList<>();
        long blocks = memberBytes / blockBytes;
        for (int i = 0; i < memberCount; i++) {
            BlockDevice slice = new OffsetDevice("s" + i, media[i], 0, blocks);
            if (bug == BuggyDevice.Bug.DROP_ONE_WRITE && i == 0) slice = new BuggyDevice(slice, bug, bugVictim, bugWrites);
            members.add(slice);
        }
        BlockDevice v = switch (level) {
            case RAID0 -> new Raid0Volume("r0", members, chunkBytes);
            case RAID1 -> new Raid1Volume("r1", members);
            case RAID5 -> powerCutRecovery != null ? powerCutRecovery.openRaid5("r5", members, chunkBytes)
                    : new Raid5Volume("r5", members, chunkBytes, algorithm);
        };
        rawVolume = v;
        for (int i = 0; i < memberCount; i++) if (failed[i]) failInVolume(i);
        if (bug == BuggyDevice.Bug.CORRUPT_ONE_WRITE) v = new BuggyDevice(v, bug, bugVictim, bugWrites);
        volume = v;
        channels = new BlockChannel[reactors.length];
        io = new ConformanceHarness[reactors.length];
        for (int r = 0; r < reactors.length; r++) { // every reactor's channel before any I/O (raid5 stripe owners)
            channels[r] = volume.openChannel(reactors[r]);
            io[r] = new ConformanceHarness(reactors[r], channels[r]);
        }
    }

    private void shut() {
        for (int r = 0; r < reactors.length; r++) {
            drain(r);
            channels[r].close();
        }
        cycle();
        volume.close(); // closes the slices, never the media
    }

    private void cycle() {
        for (Reactor reactor : reactors) reactor.doWork();
    }

    private void drain(int r) {
        long deadline = System.nanoTime() + ConformanceHarness.AWAIT_TIMEOUT_NS;
        while (channels[r].inFlight() > 0) {
            cycle();
            if (System.nanoTime() - deadline > 0) throw new AssertionError("volume channel did not drain");
        }
    }

    /** Whether the injected bug's victim write came (a sequence may end before it). */
    boolean bugFired() { return bug != null && bugWrites.get() >= bugVictim; }

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
                + reactors.length + " reactor(s)" + (powerCutMode ? ", power-cut media (torn)" : "");
    }

    // ------------------------------------------------------------------ I/O, each awaited (several reactors: all cycled)

    private int await(int r, int tag) {
        long deadline = System.nanoTime() + ConformanceHarness.AWAIT_TIMEOUT_NS;
        while (!io[r].done(tag)) {
            cycle();
            if (System.nanoTime() - deadline > 0) throw new AssertionError("no completion on reactor " + r);
        }
        return io[r].await(tag);
    }

    private void submit(int r, java.util.function.BooleanSupplier submit) {
        long deadline = System.nanoTime() + ConformanceHarness.AWAIT_TIMEOUT_NS;
        while (!submit.getAsBoolean()) {
            cycle();
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

    @Override
    public int read(int r, long lba, int blockCount, MemorySegment buffer) {
        MemorySegment exact = buffer.asSlice(0, (long) blockCount * blockBytes);
        submit(r, () -> io[r].submitRead(0, lba, blockCount, exact));
        return await(r, 0);
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
        shut();
        for (FaultBlockDevice medium : media) medium.powerCut();
        open();
    }

    @Override
    public boolean recoverAfterPowerCut() {
        PowerCutRecovery recovery = powerCutRecovery;
        return recovery != null && level == Level.RAID5 && recovery.recover(rawVolume);
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
        else if (level == Level.RAID5 && powerCutRecovery != null) powerCutRecovery.fail(rawVolume, member);
    }

    /** Offline: see the class comment. The caller flushed the volume first (so nothing unflushed is copied). */
    @Override
    public void replaceAndRebuild(int member) {
        if (level == Level.RAID0) throw new IllegalArgumentException("raid0 cannot rebuild a member");
        if (!failed[member]) throw new IllegalArgumentException("member " + member + " is not failed");
        shut();
        media[member].close();
        replacements++;
        media[member] = newMedium(member);
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

    @Override
    public void close() {
        try {
            shut();
        } finally {
            for (FaultBlockDevice medium : media) medium.close();
            arena.close();
        }
    }
}
