package io.basalt.raid.volume;

import java.time.Duration;
import io.basalt.engine.fixtures.Await;
import io.basalt.engine.fixtures.ReactorFixture;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import io.basalt.raid.parity.Raid5Layout;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.basalt.raid.volume.SyncTestSupport.BLOCK;
import static io.basalt.raid.volume.SyncTestSupport.firstWrongBlock;
import static io.basalt.raid.volume.SyncTestSupport.fillVolume;
import static io.basalt.raid.volume.SyncTestSupport.readAll;
import static io.basalt.raid.volume.SyncTestSupport.writeDirect;
import static org.junit.jupiter.api.Assertions.*;

/**
 * raid5 sync jobs on two real reactor threads: the job's worker on one, a foreground load (writes and checked
 * reads over every stripe) on the other, which owns every stripe, so each sync step takes its stripe remotely.
 */
class Raid5SyncTest {
    private static final int CHUNK_BYTES = 16 * 1024;
    private static final long SEED = 0x5C;
    @RegisterExtension
    final ReactorFixture jobReactorFixture = ReactorFixture.started("sync-job");
    @RegisterExtension
    final ReactorFixture ioReactorFixture = ReactorFixture.started("sync-io");
    private Reactor jobReactor, ioReactor;

    @BeforeEach
    void start() {
        jobReactor = jobReactorFixture.reactor();
        ioReactor = ioReactorFixture.reactor();
    }

    private Raid5Volume volume(int members, String size) {
        return TestVolumes.raid5(members, size, CHUNK_BYTES);
    }

    private BlockChannel open(Raid5Volume volume) throws Exception {
        return ioReactor.call(() -> volume.openChannel(ioReactor)).get();
    }

    private void close(BlockChannel channel) throws Exception {
        ioReactor.call(() -> {
            channel.close();
            return null;
        }).get();
    }

    private SyncJob run(Raid5Volume volume, int action, List<long[]> regions, long rateMiBs, SyncJob.Checkpoint checkpoint) {
        SyncJob job = new SyncJob(volume, action, jobReactor, regions, rateMiBs, SyncJob.DEFAULT_UNITS_IN_FLIGHT, checkpoint).start();
        assertTrue(job.awaitEnd(TimeUnit.SECONDS.toNanos(60)), "job ended");
        assertEquals(SyncJob.State.DONE, job.state(), () -> "job state, error " + job.error());
        return job;
    }

    /** Every parity block is the XOR of the data blocks of its row, read from the members directly; returns mismatched blocks. */
    private long wrongParityBlocks(Raid5Volume volume) throws Exception {
        MemorySegment[] on = new MemorySegment[volume.memberCount()];
        for (int m = 0; m < on.length; m++) on[m] = readAll(jobReactor, volume.member(m), volume.memberBlocksUsed(), jobReactorFixture.arena());
        Raid5Layout layout = volume.layout();
        long wrong = 0;
        for (long mb = 0; mb < volume.memberBlocksUsed(); mb++) {
            int parity = layout.parityDisk(mb / volume.chunkBlocks());
            for (long o = 0; o < BLOCK; o += 8) {
                long x = 0;
                for (int m = 0; m < on.length; m++) x ^= on[m].get(ValueLayout.JAVA_LONG_UNALIGNED, mb * BLOCK + o);
                if (x != 0) {
                    wrong++;
                    break;
                }
            }
        }
        return wrong;
    }

    private long[] seeds(long blocks) {
        long[] seeds = new long[(int) blocks];
        java.util.Arrays.fill(seeds, SEED);
        return seeds;
    }

    @Test
    void rebuildOntoAFreshMemberUnderForegroundWritesAndReadsKeepsEveryBlockAndParity() throws Exception {
        rebuildUnderLoad(volume(4, "2M"), DeviceSpec.open("fresh", "memory:2M"), jobReactor);
    }

    /** The same with the job's worker on the stripes' owner reactor (local locks) and members of random latency (0-30 us). */
    @Test
    void rebuildOnTheOwnerReactorOverSlowMembersUnderLoadKeepsEveryBlockAndParity() throws Exception {
        List<io.basalt.engine.BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < 5; i++) members.add(DeviceSpec.open("f" + i, "fault:memory:2M,fault_seed=" + (i + 9) + ",fault_latency_us=0-30"));
        rebuildUnderLoad(new Raid5Volume("r5", members, CHUNK_BYTES), DeviceSpec.open("fresh", "fault:memory:2M,fault_seed=77,fault_latency_us=0-30"),
                ioReactor);
    }

    /**
     * A rebuild started before any channel (as at assembly): the job's reactor becomes the first stripe owner, and
     * the foreground channel opened afterwards on the same reactor uses the same table (the job's steps hold stripes
     * in it: a table of its own would give a stripe two owners).
     */
    @Test
    void aRebuildStartedBeforeAnyChannelStaysTheOwnerWhenForegroundChannelsOpen() throws Exception {
        try (Raid5Volume volume = volume(4, "2M")) {
            assertTrue(volume.fail(1));
            volume.replaceMember(1, DeviceSpec.open("fresh", "memory:2M"));
            SyncJob job = new SyncJob(volume, SyncJob.REBUILD, ioReactor, null, 6, SyncJob.DEFAULT_UNITS_IN_FLIGHT, null).start();
            Await.until(() -> job.doneBytes() > 0, Duration.ofSeconds(30), "the job owns the channel and has run");
            BlockChannel channel = open(volume);
            assertSame(((Raid5Channel) channel).locks().table, volume.ownerOf(0), "the job's reactor's table, which the channel shares, orders stripe 0");
            long blocks = volume.geometry().blockCount();
            long[] seeds = seeds(blocks);
            fillVolume(ioReactor, channel, blocks, SEED, jobReactorFixture.arena());
            SyncTestSupport.Load load = new SyncTestSupport.Load(ioReactor, channel, seeds, volume.chunkBlocks(), 5, jobReactorFixture.arena());
            load.start();
            assertTrue(job.awaitEnd(TimeUnit.SECONDS.toNanos(60)));
            assertTrue(job.isRunning() == false && job.state() == SyncJob.State.DONE, job::error);
            load.stop();
            assertEquals(0, load.errors + load.wrongReads);
            assertEquals(-1, firstWrongBlock(ioReactor, channel, seeds, jobReactorFixture.arena()));
            assertEquals(0, wrongParityBlocks(volume));
            assertEquals(0, run(volume, SyncJob.CHECK, null, 1000, null).mismatchSectors());
            close(channel);
        }
    }

    /**
     * Two reactors driven by hand on this thread (deterministic): a read on the second reactor of the rebuilding
     * member's chunk asks the stripe's owner (the first) for the stripe shared; before the grant arrives the rebuild
     * passes the stripe, so the read is re-planned plain. It must give the stripe back, or the owner keeps it
     * locked and the next write of the stripe waits for ever.
     */
    @Test
    void aReadPlannedToRebuildThenPlainGivesItsRemoteStripeBack() {
        Reactor first = new Reactor(ReactorConfig.defaults("hand-0"));
        first.initOnCurrentThread();
        Reactor second = new Reactor(ReactorConfig.defaults("hand-1"));
        second.initOnCurrentThread();
        try (Raid5Volume volume = volume(3, "256K")) {
            BlockChannel owner = volume.openChannel(first), reader = volume.openChannel(second);
            assertSame(((Raid5Channel) owner).locks().table, volume.ownerOf(0), "the first reactor orders stripe 0");
            assertTrue(volume.fail(1));
            volume.replaceMember(1, DeviceSpec.open("fresh", "memory:256K"));
            int chunk = volume.chunkBlocks();
            assertEquals(1, volume.layout().dataDisk(0, 1), "stripe 0's second data chunk is on the rebuilding member");
            MemorySegment buffer = jobReactorFixture.arena().allocate(BLOCK, BLOCK);
            int[] statuses = {-1, -1};
            io.basalt.engine.IoCompletion completion = (tag, status) -> statuses[(int) tag] = status;
            assertTrue(reader.read(chunk, 1, buffer, 0, completion));
            second.doWork(); // the lock request is posted to the owner, not run yet
            volume.recoveredTo(volume.unitCount());
            volume.finishRebuild();
            for (int i = 0; i < 1000 && statuses[0] < 0; i++) {
                second.doWork();
                first.doWork();
            }
            assertEquals(Status.OK, statuses[0], "the read completed");
            assertTrue(owner.write(0, 1, buffer, 1, completion));
            for (int i = 0; i < 1000 && statuses[1] < 0; i++) {
                first.doWork();
                second.doWork();
            }
            assertEquals(Status.OK, statuses[1], "a write of the stripe is not stuck behind a lock left at the owner");
            owner.close();
            reader.close();
            first.doWork();
            second.doWork();
        } finally {
            second.close();
            first.close();
        }
    }

    /**
     * Two reactors driven by hand on this thread (deterministic). The first reactor orders every stripe; a rebuild step
     * on the second takes stripe 0 from it by a remote grant and reads the members it rebuilds from. Then the first
     * reactor's channel closes and a new one opens there (the control plane's ControlIo opens one per request) and
     * writes the rebuilding member's chunk of stripe 0. The write must wait for the step to give the stripe back.
     * Before, the reactor's lock table was its channel's: the new channel took the stripes over with an empty table,
     * granted itself stripe 0, and the step then wrote the chunk it had rebuilt from the old data over the new one
     * (the new data lost, the parity no longer the XOR of its row).
     */
    @Test
    void aStripeGrantedToAnotherReactorsStepStaysHeldWhenTheOwnersChannelCloses() throws Exception {
        Reactor first = new Reactor(ReactorConfig.defaults("hand-owner"));
        first.initOnCurrentThread();
        Reactor second = new Reactor(ReactorConfig.defaults("hand-step"));
        second.initOnCurrentThread();
        try (Raid5Volume volume = volume(3, "256K")) {
            assertTrue(volume.fail(1));
            volume.replaceMember(1, DeviceSpec.open("fresh", "memory:256K")); // rebuilding from stripe 0
            int chunk = volume.chunkBlocks();
            assertEquals(1, volume.layout().dataDisk(0, 1), "stripe 0's second data chunk is on the rebuilding member");
            BlockChannel owner = volume.openChannel(first); // the first reactor orders every stripe
            SyncTarget.Worker rebuild = volume.openWorker(second); // owns none: its steps ask the first reactor
            int[] statuses = {-1, -1, -1};
            io.basalt.engine.IoCompletion completion = (tag, status) -> statuses[(int) tag] = status;
            assertTrue(rebuild.submit(0, SyncJob.REBUILD, 0, completion));
            second.doWork(); // the stripe is asked for (posted to the first reactor)
            first.doWork(); // the first reactor's table grants it to the step
            second.doWork(); // the grant arrives: the step reads members 0 and 2 (memory members copy at submit)
            assertTrue(volume.counter(Raid5Volume.REMOTE_LOCKS) > 0, "the step asked the first reactor for its stripe");
            assertEquals(-1, statuses[0], "the rebuild step is in progress");
            owner.close();
            first.doWork();
            BlockChannel next = volume.openChannel(first);
            MemorySegment data = jobReactorFixture.arena().allocate(BLOCK, BLOCK);
            data.fill((byte) 0x5a);
            assertTrue(next.write(chunk, 1, data, 1, completion)); // stripe 0, on the rebuilding member
            for (int i = 0; i < HAND_CYCLES; i++) first.doWork(); // the step's reactor does not run meanwhile
            boolean wroteUnderTheStep = statuses[1] >= 0;
            for (int i = 0; i < HAND_CYCLES && (statuses[0] < 0 || statuses[1] < 0); i++) {
                second.doWork();
                first.doWork();
            }
            assertEquals(Status.OK, statuses[0], "the rebuild step completed");
            assertEquals(Status.OK, statuses[1], "the write completed");
            volume.recoveredTo(volume.unitCount()); // member 1 is read again (only stripe 0 was ever written)
            volume.finishRebuild();
            MemorySegment back = jobReactorFixture.arena().allocate(BLOCK, BLOCK);
            assertTrue(next.read(chunk, 1, back, 2, completion));
            for (int i = 0; i < HAND_CYCLES && statuses[2] < 0; i++) first.doWork();
            assertEquals(Status.OK, statuses[2]);
            assertEquals(-1L, back.mismatch(data), "the write's data, not the step's rebuilt copy of the old data");
            assertEquals(0, wrongParityBlocks(volume), "parity blocks that are not the XOR of the data");
            assertFalse(wroteUnderTheStep, "the write went on while the rebuild step held its stripe");
            next.close();
            rebuild.close();
            first.doWork();
            second.doWork();
        } finally {
            second.close();
            first.close();
        }
    }

    /** Cycles a hand-driven step is given: far more than a memory-backed step needs to complete. */
    private static final int HAND_CYCLES = 100;

    private void rebuildUnderLoad(Raid5Volume volumeToRebuild, io.basalt.engine.BlockDevice fresh, Reactor workerReactor) throws Exception {
        try (Raid5Volume volume = volumeToRebuild) {
            BlockChannel channel = open(volume);
            long blocks = volume.geometry().blockCount();
            long[] seeds = seeds(blocks);
            fillVolume(ioReactor, channel, blocks, SEED, jobReactorFixture.arena());
            assertTrue(volume.fail(2));
            SyncTestSupport.Load load = new SyncTestSupport.Load(ioReactor, channel, seeds, volume.chunkBlocks(), 7, jobReactorFixture.arena());
            load.start(); // degraded writes before the replacement, then across the rebuild
            Await.until(() -> load.writes > 0, Duration.ofSeconds(10), "degraded writes before the replacement");
            volume.replaceMember(2, fresh);
            assertEquals("rebuilding", volume.memberStateName(2));
            List<Long> checkpoints = new ArrayList<>();
            long writesBefore = load.writes;
            SyncJob job = new SyncJob(volume, SyncJob.REBUILD, workerReactor, null, 8, SyncJob.DEFAULT_UNITS_IN_FLIGHT,
                    (j, unit, finished) -> checkpoints.add(unit)).start();
            assertTrue(job.awaitEnd(TimeUnit.SECONDS.toNanos(60)), "job ended");
            assertEquals(SyncJob.State.DONE, job.state(), job::error);
            long writesDuring = load.writes - writesBefore;
            load.stop();
            assertEquals("active", volume.memberStateName(2));
            assertEquals(0, volume.failedCount());
            assertEquals(0, load.errors, "foreground errors");
            assertEquals(0, load.wrongReads, "foreground reads of unwritten rows that returned wrong data");
            assertTrue(load.reads > 100 && writesDuring > 100, "foreground I/O ran during the rebuild: " + writesDuring + " writes");
            assertEquals(volume.unitCount(), checkpoints.getLast(), "the last checkpoint is the end");
            assertEquals(volume.memberBlocksUsed() * BLOCK, job.totalBytes());
            assertEquals(-1, firstWrongBlock(ioReactor, channel, seeds, jobReactorFixture.arena()), "a block differs from the reference");
            assertEquals(0, wrongParityBlocks(volume), "parity blocks that are not the XOR of the data");
            assertEquals(0, run(volume, SyncJob.CHECK, null, 1000, null).mismatchSectors());
            // The rebuilt member alone: fail another one, so reads of member 0's chunks come from member 2.
            assertTrue(volume.fail(0));
            assertEquals(-1, firstWrongBlock(ioReactor, channel, seeds, jobReactorFixture.arena()), "a block read degraded through the rebuilt member");
            close(channel);
        }
    }

    @Test
    void checkCountsInjectedCorruptionRepairFixesItAndASecondCheckFindsNone() throws Exception {
        try (Raid5Volume volume = volume(4, "1M")) {
            BlockChannel channel = open(volume);
            long blocks = volume.geometry().blockCount();
            fillVolume(ioReactor, channel, blocks, SEED, jobReactorFixture.arena());
            MemorySegment garbage = jobReactorFixture.arena().allocate(2L * BLOCK, BLOCK);
            garbage.fill((byte) 0x5a);
            long stripe = 3;
            int parity = volume.layout().parityDisk(stripe);
            writeDirect(jobReactor, volume.member(parity), stripe * volume.chunkBlocks() + 1, garbage); // 2 parity blocks
            writeDirect(jobReactor, volume.member(volume.layout().dataDisk(9, 0)), 9L * volume.chunkBlocks(), garbage.asSlice(0, BLOCK)); // 1 data block
            long sectorsPerBlock = BLOCK / 512;
            assertEquals(3 * sectorsPerBlock, run(volume, SyncJob.CHECK, null, 1000, null).mismatchSectors());
            assertEquals(3, wrongParityBlocks(volume), "check changes nothing");
            assertEquals(3 * sectorsPerBlock, run(volume, SyncJob.REPAIR, null, 1000, null).mismatchSectors());
            assertEquals(0, wrongParityBlocks(volume));
            assertEquals(0, run(volume, SyncJob.CHECK, null, 1000, null).mismatchSectors());
            close(channel);
        }
    }

    @Test
    void resyncOfAListOfRegionsRecomputesOnlyTheirStripes() throws Exception {
        try (Raid5Volume volume = volume(3, "1M")) {
            BlockChannel channel = open(volume);
            fillVolume(ioReactor, channel, volume.geometry().blockCount(), SEED, jobReactorFixture.arena());
            MemorySegment garbage = jobReactorFixture.arena().allocate(BLOCK, BLOCK);
            garbage.fill((byte) 0x33);
            int chunk = volume.chunkBlocks();
            writeDirect(jobReactor, volume.member(volume.layout().parityDisk(5)), 5L * chunk + 2, garbage);
            writeDirect(jobReactor, volume.member(volume.layout().parityDisk(40)), 40L * chunk, garbage);
            SyncJob resync = run(volume, SyncJob.RESYNC, List.of(new long[] {5L * chunk + 1, 2}, new long[] {20L * chunk, 2L * chunk}), 1000, null);
            assertEquals(3L * chunk * BLOCK, resync.totalBytes(), "stripes 5, 20, 21");
            assertEquals(1, wrongParityBlocks(volume), "stripe 40 is left as it was");
            assertThrows(IllegalArgumentException.class, () -> new SyncJob(volume, SyncJob.RESYNC, jobReactor,
                    List.<long[]>of(new long[] {volume.memberBlocksUsed(), 1}), 100, 4, null));
            close(channel);
        }
    }

    /**
     * A reactor opening a channel (a control-plane write opens one per request) while a member is replaced: the
     * replacement waits for every channel's reactor to swap the member, so it must not hold the lock openChannel takes.
     * It did, and the two waited for each other until the swap's 30 s timeout (the write unanswered, the spare unused).
     */
    @Test
    void aChannelOpenedWhileAMemberIsReplacedNeitherWaitsForTheOther() throws Exception {
        try (Raid5Volume volume = volume(3, "2M")) {
            BlockChannel channel = open(volume); // on ioReactor: the replacement swaps its member there
            long blocks = volume.geometry().blockCount();
            fillVolume(ioReactor, channel, blocks, SEED, jobReactorFixture.arena());
            assertTrue(volume.fail(1));
            java.util.concurrent.CountDownLatch replacing = new java.util.concurrent.CountDownLatch(1);
            io.basalt.engine.BlockDevice fresh = announcing(DeviceSpec.open("fresh", "memory:2M"), replacing);
            // ioReactor waits until the replacement has begun (it reads the new device's geometry), then opens a channel.
            java.util.concurrent.CompletableFuture<BlockChannel> opened = ioReactor.call(() -> {
                replacing.await();
                return volume.openChannel(ioReactor);
            });
            java.util.concurrent.CompletableFuture<Void> replaced = java.util.concurrent.CompletableFuture.runAsync(() -> volume.replaceMember(1, fresh));
            BlockChannel second = opened.get(REPLACE_WAIT_SECONDS, TimeUnit.SECONDS);
            replaced.get(REPLACE_WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals("rebuilding", volume.memberStateName(1));
            run(volume, SyncJob.REBUILD, null, 1000, null);
            assertEquals("active", volume.memberStateName(1));
            assertTrue(volume.fail(0)); // member 1's chunks now come from the rebuilt member, read through the new channel
            assertEquals(-1, firstWrongBlock(ioReactor, second, seeds(blocks), jobReactorFixture.arena()), "a block differs from the reference");
            close(second);
            close(channel);
        }
    }

    /** Bounds the waits of the test above: a deadlock shows as a timeout here, before the swap's own 30 s. */
    private static final long REPLACE_WAIT_SECONDS = 20;

    /** {@code device}, counting {@code latch} down when its geometry is first read (a replacement checks it first). */
    private static io.basalt.engine.BlockDevice announcing(io.basalt.engine.BlockDevice device, java.util.concurrent.CountDownLatch latch) {
        return new io.basalt.engine.BlockDevice() {
            @Override public String name() { return device.name(); }
            @Override public io.basalt.engine.Geometry geometry() {
                latch.countDown();
                return device.geometry();
            }
            @Override public BlockChannel openChannel(Reactor reactor) { return device.openChannel(reactor); }
            @Override public void close() { device.close(); }
            @Override public String describe() { return device.describe(); }
        };
    }

    @Test
    void theRateLimitBoundsTheRebuildTime() throws Exception {
        try (Raid5Volume volume = volume(3, "4M")) {
            BlockChannel channel = open(volume);
            assertTrue(volume.fail(1));
            volume.replaceMember(1, DeviceSpec.open("fresh", "memory:4M"));
            long rateMiBs = 16;
            SyncJob job = run(volume, SyncJob.REBUILD, null, rateMiBs, null);
            // 4 MiB of member data at 16 MiB/s: at least 0.25 s less the units the first waits let through.
            double floorSeconds = (job.totalBytes() - (double) SyncJob.DEFAULT_UNITS_IN_FLIGHT * CHUNK_BYTES) / (rateMiBs << 20);
            assertTrue(job.elapsedNs() / 1e9 >= floorSeconds * 0.95, "took " + job.elapsedNs() / 1e6 + " ms, floor " + floorSeconds * 1e3 + " ms");
            assertEquals(0, wrongParityBlocks(volume));
            close(channel);
        }
    }

    @Test
    void aStoppedRebuildCheckpointsAndAResumedOneStartsThere() throws Exception {
        try (Raid5Volume volume = volume(4, "4M")) {
            BlockChannel channel = open(volume);
            long blocks = volume.geometry().blockCount();
            fillVolume(ioReactor, channel, blocks, SEED, jobReactorFixture.arena());
            assertTrue(volume.fail(3));
            volume.replaceMember(3, DeviceSpec.open("fresh", "memory:4M"));
            long[] last = {-1};
            SyncJob first = new SyncJob(volume, SyncJob.REBUILD, jobReactor, null, 4, 4, (j, unit, finished) -> last[0] = unit).start();
            Await.until(() -> first.doneBytes() > 0, Duration.ofSeconds(30), "the first job rebuilt a unit");
            first.stop();
            assertEquals(SyncJob.State.STOPPED, first.state());
            long position = volume.recoveryUnit();
            assertTrue(position > 0 && position < volume.unitCount(), "stopped part way: " + position);
            assertEquals(position, last[0], "the stop checkpointed the position");
            assertEquals(position * volume.chunkBlocks(), volume.recoveryMemberBlocks());
            assertEquals("rebuilding", volume.memberStateName(3));
            SyncJob second = run(volume, SyncJob.REBUILD, null, 1000, null);
            assertEquals((volume.unitCount() - position) * CHUNK_BYTES, second.totalBytes(), "resumed at the checkpoint");
            assertEquals("active", volume.memberStateName(3));
            assertEquals(0, wrongParityBlocks(volume));
            long[] seeds = seeds(blocks);
            assertTrue(volume.fail(0));
            assertEquals(-1, firstWrongBlock(ioReactor, channel, seeds, jobReactorFixture.arena()));
            close(channel);
        }
    }

    @Test
    void jobsRefuseWhatTheVolumeCannotDo() {
        try (Raid5Volume volume = volume(3, "1M")) {
            assertThrows(IllegalStateException.class, () -> new SyncJob(volume, SyncJob.REBUILD, jobReactor, null, 100, 4, null).start(),
                    "nothing to rebuild");
            volume.fail(0);
            assertThrows(IllegalStateException.class, () -> new SyncJob(volume, SyncJob.CHECK, jobReactor, null, 100, 4, null).start(),
                    "check of a degraded volume");
            assertThrows(IllegalArgumentException.class, () -> volume.replaceMember(0, DeviceSpec.open("small", "memory:64K")));
            assertThrows(IllegalStateException.class, () -> volume.replaceMember(1, DeviceSpec.open("x", "memory:1M")), "not failed");
        }
    }
}
