package io.basalt.raid.volume;

import java.time.Duration;
import io.basalt.engine.fixtures.Await;
import io.basalt.engine.fixtures.ReactorFixture;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.basalt.raid.volume.SyncTestSupport.BLOCK;
import static io.basalt.raid.volume.SyncTestSupport.fillVolume;
import static io.basalt.raid.volume.SyncTestSupport.firstWrongBlock;
import static io.basalt.raid.volume.SyncTestSupport.readAll;
import static io.basalt.raid.volume.SyncTestSupport.writeDirect;
import static org.junit.jupiter.api.Assertions.*;

/** raid1 sync jobs (window copy behind the write barrier) on two real reactor threads, with a foreground load on the other. */
class Raid1SyncTest {
    private static final long SEED = 0x1C;
    @RegisterExtension
    final ReactorFixture jobReactorFixture = ReactorFixture.started("sync1-job");
    @RegisterExtension
    final ReactorFixture ioReactorFixture = ReactorFixture.started("sync1-io");
    private Reactor jobReactor, ioReactor;

    @BeforeEach
    void start() {
        jobReactor = jobReactorFixture.reactor();
        ioReactor = ioReactorFixture.reactor();
    }

    private SyncJob run(Raid1Volume volume, int action, long rateMiBs) {
        SyncJob job = new SyncJob(volume, action, jobReactor, null, rateMiBs, 4, null).start();
        assertTrue(job.awaitEnd(TimeUnit.SECONDS.toNanos(60)), "job ended");
        assertEquals(SyncJob.State.DONE, job.state(), () -> "job state, error " + job.error());
        return job;
    }

    /** Blocks that differ between member 0 and the others, read directly. */
    private long differingBlocks(Raid1Volume volume) throws Exception {
        long blocks = volume.geometry().blockCount();
        MemorySegment first = readAll(jobReactor, volume.member(0), blocks, jobReactorFixture.arena());
        long wrong = 0;
        for (int m = 1; m < volume.memberCount(); m++) {
            MemorySegment other = readAll(jobReactor, volume.member(m), blocks, jobReactorFixture.arena());
            for (long b = 0; b < blocks; b++) {
                if (MemorySegment.mismatch(first, b * BLOCK, (b + 1) * BLOCK, other, b * BLOCK, (b + 1) * BLOCK) >= 0) wrong++;
            }
        }
        return wrong;
    }

    @Test
    void rebuildUnderForegroundWritesAndReadsLeavesIdenticalMirrors() throws Exception {
        try (Raid1Volume volume = TestVolumes.raid1(2, "8M")) {
            BlockChannel channel = ioReactor.call(() -> volume.openChannel(ioReactor)).get();
            long blocks = volume.geometry().blockCount();
            long[] seeds = new long[(int) blocks];
            java.util.Arrays.fill(seeds, SEED);
            fillVolume(ioReactor, channel, blocks, SEED, jobReactorFixture.arena());
            assertTrue(volume.fail(1));
            SyncTestSupport.Load load = new SyncTestSupport.Load(ioReactor, channel, seeds, 4, 11, jobReactorFixture.arena());
            load.start();
            Await.until(() -> load.writes > 0, Duration.ofSeconds(10), "degraded writes before the replacement");
            volume.replaceMember(1, DeviceSpec.open("fresh", "memory:8M"));
            assertEquals(Raid1Volume.MemberState.REBUILDING, volume.memberStates()[1]);
            List<Long> checkpoints = new ArrayList<>();
            long writesBefore = load.writes;
            SyncJob job = new SyncJob(volume, SyncJob.REBUILD, jobReactor, null, 16, 4, (j, unit, finished) -> checkpoints.add(unit)).start();
            assertTrue(job.awaitEnd(TimeUnit.SECONDS.toNanos(60)));
            assertEquals(SyncJob.State.DONE, job.state(), job::error);
            long writesDuring = load.writes - writesBefore;
            load.stop();
            assertEquals(0, load.errors);
            assertEquals(0, load.wrongReads);
            assertTrue(writesDuring > 100, "foreground writes during the rebuild: " + writesDuring);
            assertEquals(Raid1Volume.MemberState.ACTIVE, volume.memberStates()[1]);
            assertEquals(volume.unitCount(), checkpoints.getLast());
            assertEquals(0, differingBlocks(volume), "mirror blocks that differ");
            assertEquals(0, run(volume, SyncJob.CHECK, 1000).mismatchSectors());
            assertTrue(volume.fail(0));
            assertEquals(-1, firstWrongBlock(ioReactor, channel, seeds, jobReactorFixture.arena()), "a block read from the rebuilt member alone");
            ioReactor.call(() -> {
                channel.close();
                return null;
            }).get();
        }
    }

    /**
     * A replacement that takes smaller requests than the members the mirror was built on (a remote namespace with a
     * small MDTS) is refused with a message naming both limits, and the member stays failed, not half-added.
     */
    @Test
    void aReplacementWithASmallerTransferLimitIsRefused() throws Exception {
        try (Raid1Volume volume = TestVolumes.raid1(2, "8M");
             BlockDevice memory = DeviceSpec.open("small", "memory:8M")) {
            assertTrue(volume.fail(1));
            Geometry g = memory.geometry();
            BlockDevice small = new BlockDevice() {
                private final Geometry limited = new Geometry(g.logicalBlockBytes(), g.blockCount(), 1, 32, g.maxSegments(), true, g.capabilities());
                @Override public String name() { return "small"; }
                @Override public Geometry geometry() { return limited; }
                @Override public BlockChannel openChannel(Reactor reactor) { return memory.openChannel(reactor); }
                @Override public void close() { }
                @Override public String describe() { return "memory limited to 32 blocks per request"; }
            };
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> volume.replaceMember(1, small));
            assertTrue(e.getMessage().contains("at most 32 blocks") && e.getMessage().contains(volume.geometry().maxTransferBlocks() + " blocks"),
                    e.getMessage());
            assertEquals(Raid1Volume.MemberState.FAILED, volume.memberStates()[1]);
        }
    }

    @Test
    void checkCountsDifferingSectorsAndRepairCopiesTheFirstMemberOverTheOthers() throws Exception {
        try (Raid1Volume volume = TestVolumes.raid1(3, "2M")) {
            BlockChannel channel = ioReactor.call(() -> volume.openChannel(ioReactor)).get();
            fillVolume(ioReactor, channel, volume.geometry().blockCount(), SEED, jobReactorFixture.arena());
            MemorySegment garbage = jobReactorFixture.arena().allocate(3L * BLOCK, BLOCK);
            garbage.fill((byte) 0x77);
            writeDirect(jobReactor, volume.member(2), 300, garbage); // 3 blocks on member 2
            writeDirect(jobReactor, volume.member(1), 5, garbage.asSlice(0, BLOCK)); // 1 on member 1
            assertEquals(4 * (BLOCK / 512), run(volume, SyncJob.CHECK, 1000).mismatchSectors());
            assertEquals(4, differingBlocks(volume), "check changes nothing");
            assertEquals(4 * (BLOCK / 512), run(volume, SyncJob.REPAIR, 1000).mismatchSectors());
            assertEquals(0, differingBlocks(volume));
            assertEquals(0, run(volume, SyncJob.CHECK, 1000).mismatchSectors());
            long[] seeds = new long[(int) volume.geometry().blockCount()];
            java.util.Arrays.fill(seeds, SEED);
            assertEquals(-1, firstWrongBlock(ioReactor, channel, seeds, jobReactorFixture.arena()), "member 0's data won");
            ioReactor.call(() -> {
                channel.close();
                return null;
            }).get();
        }
    }

    @Test
    void aStoppedRebuildResumesAtItsCheckpoint() throws Exception {
        try (Raid1Volume volume = TestVolumes.raid1(2, "8M")) {
            assertTrue(volume.fail(0));
            volume.replaceMember(0, DeviceSpec.open("fresh", "memory:8M"));
            long[] last = {-1};
            SyncJob first = new SyncJob(volume, SyncJob.REBUILD, jobReactor, null, 4, 1, (j, unit, finished) -> last[0] = unit).start();
            Await.until(() -> first.doneBytes() > 0, Duration.ofSeconds(30), "the first job copied a window");
            first.stop();
            assertEquals(SyncJob.State.STOPPED, first.state());
            long position = volume.recoveryUnit();
            assertTrue(position > 0 && position < volume.unitCount(), "part way: " + position);
            assertEquals(position, last[0]);
            SyncJob second = run(volume, SyncJob.REBUILD, 1000);
            assertEquals((volume.unitCount() - position) * Raid1Volume.WINDOW_BYTES, second.totalBytes());
            assertEquals(0, differingBlocks(volume));
        }
    }

    @Test
    void aRebuildWhoseSourceMirrorIsPulledMidJobFinishesFromTheNextMirror() throws Exception {
        List<io.basalt.engine.BlockDevice> members = TestVolumes.faultMembers(3, "16M");
        try (Raid1Volume volume = new Raid1Volume("r1", members)) {
            BlockChannel channel = ioReactor.call(() -> volume.openChannel(ioReactor)).get();
            long blocks = volume.geometry().blockCount();
            long[] seeds = new long[(int) blocks];
            java.util.Arrays.fill(seeds, SEED);
            fillVolume(ioReactor, channel, blocks, SEED, jobReactorFixture.arena());
            assertTrue(volume.fail(2));
            volume.replaceMember(2, DeviceSpec.open("fresh", "memory:16M"));
            SyncJob job = new SyncJob(volume, SyncJob.REBUILD, jobReactor, null, 16, 4, null).start();
            Await.until(() -> volume.recoveryUnit() > 0, Duration.ofSeconds(30), "the job copied a window before the pull");
            long atPull = volume.recoveryUnit();
            // The source mirror's drive is pulled, and nothing but the sync notices: its next window read fails.
            ((io.basalt.engine.fault.FaultBlockDevice) members.get(0)).setFailed(true);
            assertTrue(job.awaitEnd(TimeUnit.SECONDS.toNanos(60)), "job ended");
            assertEquals(SyncJob.State.DONE, job.state(), job::error);
            assertTrue(atPull > 0 && atPull < volume.unitCount(), "pulled mid-job, at window " + atPull);
            assertArrayEquals(new Raid1Volume.MemberState[] {Raid1Volume.MemberState.FAILED, Raid1Volume.MemberState.ACTIVE,
                    Raid1Volume.MemberState.ACTIVE}, volume.memberStates());
            assertEquals(1, volume.counter(Raid1Volume.MEMBER_FAILURES) - 1, "member failures besides the requested one");
            MemorySegment second = readAll(jobReactor, volume.member(1), blocks, jobReactorFixture.arena());
            MemorySegment rebuilt = readAll(jobReactor, volume.member(2), blocks, jobReactorFixture.arena());
            assertEquals(-1, MemorySegment.mismatch(second, 0, blocks * BLOCK, rebuilt, 0, blocks * BLOCK), "rebuilt mirror = member 1");
            assertTrue(volume.fail(1));
            assertEquals(-1, firstWrongBlock(ioReactor, channel, seeds, jobReactorFixture.arena()), "a block read from the rebuilt member alone");
            ioReactor.call(() -> {
                channel.close();
                return null;
            }).get();
        }
    }
}
