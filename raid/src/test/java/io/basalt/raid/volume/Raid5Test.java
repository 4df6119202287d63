package io.basalt.raid.volume;

import io.basalt.engine.fixtures.ReactorFixture;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import io.basalt.engine.conformance.ConformanceHarness;
import io.basalt.engine.fault.FaultBlockDevice;
import io.basalt.raid.parity.ChunkAddress;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.parity.Raid5Layout;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static io.basalt.engine.conformance.ConformanceHarness.blockMatches;
import static io.basalt.engine.conformance.ConformanceHarness.fill;
import static io.basalt.engine.conformance.ConformanceHarness.firstMismatch;
import static org.junit.jupiter.api.Assertions.*;

/** RAID5 placement and parity on the members, write strategies, concurrent writes to shared stripes, degraded and failed volumes. */
class Raid5Test {
    private static final int BLOCK = 4096;
    private static final int CHUNK_BYTES = 16 * 1024;
    private static final long SEED = 0x5EED5;
    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.handDriven("raid5");
    private Reactor reactor;

    @BeforeEach
    void start() {
        reactor = fixture.reactor();
    }

    private static Raid5Volume volume(int members, String size) {
        return TestVolumes.raid5(members, size, CHUNK_BYTES);
    }

    private static Raid5Volume faultVolume(int members) {
        List<BlockDevice> list = new ArrayList<>();
        for (int i = 0; i < members; i++) list.add(DeviceSpec.open("f" + i, "fault:memory:1M,fault_seed=" + (i + 1)));
        return new Raid5Volume("r5", list, CHUNK_BYTES);
    }

    /** Every member's used blocks, read directly (tests only: the volume owns its members). */
    private MemorySegment[] readMembers(Raid5Volume volume) {
        MemorySegment[] result = new MemorySegment[volume.memberCount()];
        for (int m = 0; m < result.length; m++) {
            BlockChannel direct = volume.member(m).openChannel(reactor);
            result[m] = fixture.buffer(volume.memberBlocksUsed());
            assertEquals(Status.OK, new ConformanceHarness(reactor, direct).read(0, (int) volume.memberBlocksUsed(), result[m]));
            direct.close();
        }
        return result;
    }

    /** Each parity block equals the XOR of the same block of the other members; returns the count checked. */
    private static long assertParityConsistent(Raid5Volume volume, MemorySegment[] onMembers) {
        Raid5Layout layout = volume.layout();
        long checked = 0;
        for (long mb = 0; mb < volume.memberBlocksUsed(); mb++) {
            long stripe = mb / volume.chunkBlocks();
            int parity = layout.parityDisk(stripe);
            for (long o = 0; o < BLOCK; o += 8) {
                long x = 0;
                for (int m = 0; m < onMembers.length; m++) {
                    if (m != parity) x ^= onMembers[m].get(ValueLayout.JAVA_LONG_UNALIGNED, mb * BLOCK + o);
                }
                long p = onMembers[parity].get(ValueLayout.JAVA_LONG_UNALIGNED, mb * BLOCK + o);
                if (x != p) fail("parity of member block " + mb + " (stripe " + stripe + ", parity member " + parity + ") at byte " + o);
            }
            checked++;
        }
        return checked;
    }

    @Test
    void everyBlockLandsWhereMdRaid5PutsItAndParityIsTheXorOfTheData() {
        for (int n : new int[] {3, 4, 5}) {
            try (Raid5Volume volume = volume(n, "256K")) {
                BlockChannel channel = volume.openChannel(reactor);
                ConformanceHarness io = new ConformanceHarness(reactor, channel);
                long blocks = volume.geometry().blockCount();
                assertEquals((n - 1) * 64L, blocks);
                MemorySegment all = fixture.buffer(blocks);
                fill(all, 0, BLOCK, SEED + n);
                // Odd-sized writes so that some are partial stripes, some span stripes, some are full.
                SplittableRandom random = new SplittableRandom(SEED + n);
                for (long lba = 0; lba < blocks; ) {
                    int count = (int) Math.min(blocks - lba, 1 + random.nextInt(3 * volume.chunkBlocks()));
                    assertEquals(Status.OK, io.write(lba, count, all.asSlice(lba * BLOCK, (long) count * BLOCK)), "write at " + lba);
                    lba += count;
                }
                MemorySegment[] onMembers = readMembers(volume);
                ChunkAddress where = new ChunkAddress();
                int sectorsPerBlock = BLOCK / Raid5Layout.SECTOR_BYTES;
                for (long lba = 0; lba < blocks; lba++) {
                    volume.layout().map(lba * sectorsPerBlock, where);
                    long memberBlock = where.diskSector() / sectorsPerBlock;
                    assertTrue(blockMatches(onMembers[where.disk()], (int) memberBlock, lba, BLOCK, SEED + n),
                            n + " members: block " + lba + " on member " + where.disk() + " block " + memberBlock);
                }
                assertEquals(volume.memberBlocksUsed(), assertParityConsistent(volume, onMembers));
                channel.close();
            }
        }
    }

    @Test
    void fullStripeReadModifyWriteAndReconstructWriteAreEachChosen() {
        try (Raid5Volume five = volume(5, "256K"); Raid5Volume four = volume(4, "256K")) {
            ConformanceHarness io5 = new ConformanceHarness(reactor, five.openChannel(reactor));
            ConformanceHarness io4 = new ConformanceHarness(reactor, four.openChannel(reactor));
            int chunk = four.chunkBlocks();
            MemorySegment data = fixture.buffer(4L * chunk);
            fill(data, 0, BLOCK, SEED);
            // 5 members, one block: read-modify-write reads 2 (P, old D), reconstruct-write 3.
            assertEquals(Status.OK, io5.write(1, 1, data.asSlice(0, BLOCK)));
            assertEquals(1, five.counter(Raid5Volume.RMW_WRITES));
            assertEquals(0, five.counter(Raid5Volume.RCW_WRITES));
            // 4 members, two whole chunks of three: reconstruct-write reads 1, read-modify-write 3.
            assertEquals(Status.OK, io4.write(0, 2 * chunk, data.asSlice(0, 2L * chunk * BLOCK)));
            assertEquals(1, four.counter(Raid5Volume.RCW_WRITES));
            assertEquals(0, four.counter(Raid5Volume.RMW_WRITES));
            // 4 members, a whole stripe: no reads.
            assertEquals(Status.OK, io4.write(3L * chunk, 3 * chunk, data.asSlice(0, 3L * chunk * BLOCK)));
            assertEquals(1, four.counter(Raid5Volume.FULL_STRIPE_WRITES));
            assertParityConsistent(five, readMembers(five));
            assertParityConsistent(four, readMembers(four));
            MemorySegment back = fixture.buffer(1);
            assertEquals(Status.OK, io5.read(1, 1, back));
            assertEquals(-1, firstMismatch(back, 0, BLOCK, SEED), "the read-modify-written block");
            io4.channel().close();
            io5.channel().close();
        }
    }

    /**
     * 64 writes in flight at once over 8 stripes: each write has its own blocks, but many share stripes, so a
     * read-modify-write racing another on the same stripe would leave wrong parity. 30 seeded rounds.
     */
    @Test
    void queueDepth64WritesToSharedStripesKeepDataAndParityConsistent() {
        try (Raid5Volume volume = volume(4, "256K")) {
            BlockChannel channel = volume.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            int regionBlocks = 8 * 3 * volume.chunkBlocks(); // 8 stripes of 12 blocks
            MemorySegment expected = fixture.buffer(volume.geometry().blockCount());
            MemorySegment zero = fixture.buffer(volume.geometry().blockCount());
            assertEquals(Status.OK, io.write(0, (int) volume.geometry().blockCount(), zero));
            for (int round = 0; round < 30; round++) {
                SplittableRandom random = new SplittableRandom(SEED * 31 + round);
                int[] starts = new int[64];
                int[] counts = new int[64];
                // Cut the region into 64 runs of 1..2 blocks with random gaps, then submit them in shuffled order.
                int lba = random.nextInt(4), writes = 0;
                while (writes < 64 && lba < regionBlocks) {
                    int count = Math.min(1 + random.nextInt(2), regionBlocks - lba);
                    starts[writes] = lba;
                    counts[writes++] = count;
                    lba += count + (random.nextInt(4) == 0 ? 1 : 0);
                }
                for (int i = writes - 1; i > 0; i--) {
                    int j = random.nextInt(i + 1);
                    int s = starts[i]; starts[i] = starts[j]; starts[j] = s;
                    int c = counts[i]; counts[i] = counts[j]; counts[j] = c;
                }
                long seed = SEED + 1000 + round;
                for (int i = 0; i < writes; i++) {
                    MemorySegment slice = expected.asSlice((long) starts[i] * BLOCK, (long) counts[i] * BLOCK);
                    fill(slice, starts[i], BLOCK, seed);
                    int tag = i;
                    io.submitOrWait(() -> io.submitWrite(tag, starts[tag], counts[tag], slice));
                }
                for (int i = 0; i < writes; i++) assertEquals(Status.OK, io.await(i), "round " + round + " write " + i);
            }
            MemorySegment back = fixture.buffer(regionBlocks);
            assertEquals(Status.OK, io.read(0, regionBlocks, back));
            assertEquals(-1L, back.mismatch(expected.asSlice(0, (long) regionBlocks * BLOCK)), "data read back");
            assertParityConsistent(volume, readMembers(volume));
            assertTrue(volume.counter(Raid5Volume.STRIPE_WAITS) > 0, "writes did meet on a stripe and wait");
            channel.close();
        }
    }

    @Test
    void degradedReadsRebuildTheMissingChunkAndDegradedWritesStayReadable() {
        for (int failed = 0; failed < 4; failed++) {
            try (Raid5Volume volume = faultVolume(4)) {
                BlockChannel channel = volume.openChannel(reactor);
                ConformanceHarness io = new ConformanceHarness(reactor, channel);
                int blocks = (int) volume.geometry().blockCount();
                MemorySegment all = fixture.buffer(blocks);
                fill(all, 0, BLOCK, SEED + failed);
                assertEquals(Status.OK, io.write(0, blocks, all));
                ((FaultBlockDevice) volume.member(failed)).setFailed(true); // pulled: the data path finds out
                MemorySegment back = fixture.buffer(blocks);
                for (int lba = 0; lba < blocks; lba += 3) {
                    int count = Math.min(3, blocks - lba);
                    assertEquals(Status.OK, io.read(lba, count, back.asSlice((long) lba * BLOCK, (long) count * BLOCK)), "read at " + lba);
                }
                assertEquals(-1L, back.mismatch(all), "degraded reads, member " + failed + " pulled");
                assertFalse(volume.isActive(failed));
                assertTrue(volume.counter(Raid5Volume.RECONSTRUCT_READS) > 0);
                // Degraded writes of every shape, then read back.
                fill(all, 0, BLOCK, SEED + 100 + failed);
                SplittableRandom random = new SplittableRandom(SEED + failed);
                for (int lba = 0; lba < blocks; ) {
                    int count = Math.min(blocks - lba, 1 + random.nextInt(14));
                    assertEquals(Status.OK, io.write(lba, count, all.asSlice((long) lba * BLOCK, (long) count * BLOCK)));
                    lba += count;
                }
                assertTrue(volume.counter(Raid5Volume.DEGRADED_WRITES) > 0);
                assertEquals(Status.OK, io.read(0, blocks, back));
                assertEquals(-1L, back.mismatch(all), "after degraded writes, member " + failed + " pulled");
                assertEquals(1, volume.counter(Raid5Volume.MEMBER_FAILURES));
                channel.close();
            }
        }
    }

    /**
     * A member dies (every request DEVICE_GONE after its 400th) while 64 writes with random latency are in
     * flight over shared stripes: writes caught in their read phase re-plan as degraded, writes caught in
     * their write phase keep their data in the parity. Every write succeeds and everything reads back.
     */
    @Test
    void aMemberDyingUnderConcurrentWritesLosesNothing() {
        List<BlockDevice> list = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            list.add(DeviceSpec.open("f" + i, "fault:memory:1M,fault_seed=" + (i + 7) + ",fault_latency_us=0-40"
                    + (i == 2 ? ",fault_fail_after=400" : "")));
        }
        try (Raid5Volume volume = new Raid5Volume("r5", list, CHUNK_BYTES)) {
            BlockChannel channel = volume.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            int regionBlocks = 16 * 3 * volume.chunkBlocks();
            MemorySegment expected = fixture.buffer(regionBlocks);
            assertEquals(Status.OK, io.write(0, regionBlocks, expected)); // zeroes, parity consistent
            for (int round = 0; round < 12; round++) {
                SplittableRandom random = new SplittableRandom(SEED * 17 + round);
                int[] starts = new int[64];
                int[] counts = new int[64];
                int lba = random.nextInt(3), writes = 0;
                while (writes < 64 && lba < regionBlocks) {
                    int count = Math.min(1 + random.nextInt(6), regionBlocks - lba);
                    starts[writes] = lba;
                    counts[writes++] = count;
                    lba += count + random.nextInt(3);
                }
                long seed = SEED + 5000 + round;
                for (int i = 0; i < writes; i++) {
                    MemorySegment slice = expected.asSlice((long) starts[i] * BLOCK, (long) counts[i] * BLOCK);
                    fill(slice, starts[i], BLOCK, seed);
                    int tag = i;
                    io.submitOrWait(() -> io.submitWrite(tag, starts[tag], counts[tag], slice));
                }
                for (int i = 0; i < writes; i++) assertEquals(Status.OK, io.await(i), "round " + round + " write " + i);
            }
            assertFalse(volume.isActive(2), "member 2 died on the way");
            assertEquals(1, volume.failedCount());
            MemorySegment back = fixture.buffer(regionBlocks);
            assertEquals(Status.OK, io.read(0, regionBlocks, back));
            assertEquals(-1L, back.mismatch(expected), "data read back, degraded");
            channel.close();
        }
    }

    @Test
    void aSecondFailureFailsEveryRequestAndNeverReturnsData() {
        try (Raid5Volume volume = faultVolume(4)) {
            BlockChannel channel = volume.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            MemorySegment data = fixture.buffer(12);
            fill(data, 0, BLOCK, SEED);
            assertEquals(Status.OK, io.write(0, 12, data));
            assertTrue(volume.fail(1));
            assertEquals(Status.OK, io.read(0, 12, data), "one failure: degraded");
            ((FaultBlockDevice) volume.member(2)).setFailed(true);
            MemorySegment back = fixture.buffer(12);
            int status = io.read(0, 12, back);
            assertTrue(status == Status.DEVICE_GONE || status == Status.IO_ERROR, "read after a second failure: " + Status.name(status));
            assertTrue(volume.isFailed());
            assertEquals(Status.DEVICE_GONE, io.read(0, 1, back.asSlice(0, BLOCK)), "a block on a healthy member");
            assertEquals(Status.DEVICE_GONE, io.write(0, 12, data));
            assertEquals(Status.DEVICE_GONE, io.flush());
            channel.close();
        }
    }

    @Test
    void writeZeroesKeepsParityAndDiscardZeroesWholeStripesOnly() {
        try (Raid5Volume volume = volume(4, "256K")) {
            ConformanceHarness io = new ConformanceHarness(reactor, volume.openChannel(reactor));
            int blocks = (int) volume.geometry().blockCount();
            MemorySegment all = fixture.buffer(blocks);
            fill(all, 0, BLOCK, SEED + 9);
            assertEquals(Status.OK, io.write(0, blocks, all));
            assertEquals(Status.OK, io.writeZeroes(5, 30)); // partial, full and partial stripes
            all.asSlice(5L * BLOCK, 30L * BLOCK).fill((byte) 0);
            // 4 members of 16 KiB chunks: a stripe is 12 blocks. [40, 70) holds stripe 4 (48..59) whole: only it is
            // discarded (memory members read zeroes after a discard); the edges keep their data (Raid5DiscardTest).
            assertEquals(Status.OK, io.discard(40, 30));
            all.asSlice(48L * BLOCK, 12L * BLOCK).fill((byte) 0);
            MemorySegment back = fixture.buffer(blocks);
            assertEquals(Status.OK, io.read(0, blocks, back));
            assertEquals(-1L, back.mismatch(all));
            assertParityConsistent(volume, readMembers(volume));
            io.channel().close();
        }
    }

    /**
     * Two reactors (driven in turn on this thread, so the run is deterministic) write one volume through their
     * own channels, 64 writes in flight over 8 shared stripes: each stripe's owner orders the writes, so data
     * and parity stay consistent. Without owners, two channels' read-modify-writes of one stripe interleave.
     */
    @Test
    void twoReactorsWritingSharedStripesAreOrderedByTheStripesOwners() {
        Reactor second = new Reactor(ReactorConfig.defaults("raid5-second"));
        second.initOnCurrentThread();
        try (Raid5Volume volume = volume(4, "256K")) {
            BlockChannel[] channels = {volume.openChannel(reactor), volume.openChannel(second)};
            int regionBlocks = 8 * 3 * volume.chunkBlocks();
            MemorySegment expected = fixture.buffer(regionBlocks);
            int[] statuses = new int[64];
            int[] done = new int[1];
            io.basalt.engine.IoCompletion completion = (tag, status) -> {
                statuses[(int) tag] = status;
                done[0]++;
            };
            Runnable cycle = () -> {
                reactor.doWork();
                second.doWork();
            };
            submitAll(channels, new int[] {0}, new int[] {regionBlocks}, expected, completion, cycle, done);
            for (int round = 0; round < 30; round++) {
                SplittableRandom random = new SplittableRandom(SEED * 13 + round);
                int[] starts = new int[64];
                int[] counts = new int[64];
                int lba = random.nextInt(3), writes = 0;
                while (writes < 64 && lba < regionBlocks) {
                    int count = Math.min(1 + random.nextInt(2), regionBlocks - lba);
                    starts[writes] = lba;
                    counts[writes++] = count;
                    lba += count + (random.nextInt(4) == 0 ? 1 : 0);
                }
                for (int i = writes - 1; i > 0; i--) { // shuffled: the two channels meet on the same rows of a stripe
                    int j = random.nextInt(i + 1);
                    int t = starts[i]; starts[i] = starts[j]; starts[j] = t;
                    t = counts[i]; counts[i] = counts[j]; counts[j] = t;
                }
                for (int i = 0; i < writes; i++) fill(expected.asSlice((long) starts[i] * BLOCK, (long) counts[i] * BLOCK), starts[i], BLOCK, SEED + round);
                submitAll(channels, java.util.Arrays.copyOf(starts, writes), java.util.Arrays.copyOf(counts, writes), expected,
                        completion, cycle, done);
                for (int i = 0; i < writes; i++) assertEquals(Status.OK, statuses[i], "round " + round + " write " + i);
            }
            MemorySegment back = fixture.buffer(regionBlocks);
            done[0] = 0;
            assertTrue(channels[1].read(0, regionBlocks, back, 0, completion));
            while (done[0] < 1) cycle.run();
            assertEquals(Status.OK, statuses[0]);
            assertEquals(-1L, back.mismatch(expected), "data read back");
            for (BlockChannel c : channels) c.close();
            cycle.run();
            assertParityConsistent(volume, readMembers(volume));
            assertTrue(volume.counter(Raid5Volume.REMOTE_LOCKS) > 0, "steps asked a remote owner");
        } finally {
            second.close();
        }
    }

    /**
     * The same on two real reactor threads: each writes its own chunks (even or odd) of 4 shared stripes, 200
     * passes, every block's writes one after another but all blocks at once (queue depth 32 per reactor), new
     * contents every pass, members with random latency (0-30 us) so that steps overlap; then data and parity
     * are checked on the members.
     */
    /**
     * An exporter that opens a channel per connection (NVMe/TCP queues come and go): channels on two reactors are
     * opened, used and closed, then one reactor alone opens a new channel and writes across every stripe. Each write
     * must succeed and no member may be failed (the owner of half the stripes is a closed channel by then).
     */
    @Test
    void aChannelOpenedAfterEveryOwnerClosedWritesAllStripesWithoutFailingMembers() throws Exception {
        Reactor[] reactors = {Reactor.start(ReactorConfig.defaults("raid5-c0")), Reactor.start(ReactorConfig.defaults("raid5-c1"))};
        List<BlockDevice> members = new ArrayList<>();
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("raid5-reopen");
        for (int i = 0; i < 4; i++) members.add(DeviceSpec.open("c" + i, "uring:" + dir.resolve("c" + i + ".img") + ",size=1M"));
        List<BlockDevice> areas = TestVolumes.memories(4, "256K");
        try (Raid5Volume volume = new Raid5Volume("r5", members, CHUNK_BYTES, Raid5Algorithm.LEFT_SYMMETRIC,
                new PplAreas(areas, 0x12345678))) {
            int stripeBlocks = 3 * volume.chunkBlocks();
            MemorySegment buffer = fixture.arena().allocate(4L * BLOCK, BLOCK);
            for (int round = 0; round < 2; round++) {
                BlockChannel[] channels = new BlockChannel[2];
                for (int r = 0; r < 2; r++) {
                    Reactor reactorR = reactors[r];
                    channels[r] = reactorR.call(() -> volume.openChannel(reactorR)).get();
                }
                for (int r = 0; r < 2; r++) assertEquals(Status.OK, syncWrite(reactors[r], channels[r], (long) r * stripeBlocks, 4, buffer));
                for (int r = 0; r < 2; r++) {
                    BlockChannel c = channels[r];
                    reactors[r].call(() -> { c.close(); return null; }).get();
                }
            }
            Reactor only = reactors[1];
            BlockChannel alone = only.call(() -> volume.openChannel(only)).get();
            for (long stripe = 0; stripe < 8; stripe++) {
                assertEquals(Status.OK, syncWrite(only, alone, stripe * stripeBlocks + 1, 4, buffer), "stripe " + stripe);
            }
            only.call(() -> { alone.close(); return null; }).get();
            assertEquals(0, volume.failedCount(), "no member failed");
        } finally {
            for (Reactor r : reactors) r.close();
        }
    }

    /**
     * The log writer (the first reactor's channel) closes while the second reactor's channel goes on writing: its
     * read-modify-writes still log their partial parity through the closed writer, which stays until the other
     * channel is released, then goes (a later channel becomes the writer). Before, the released writer had closed
     * its log areas and the second channel's logged writes failed (seen with two bench jobs closing in turn).
     */
    @Test
    void theLogWriterClosingFirstLeavesTheOtherReactorsLoggedWritesWorking() throws Exception {
        Reactor[] reactors = {Reactor.start(ReactorConfig.defaults("raid5-w0")), Reactor.start(ReactorConfig.defaults("raid5-w1"))};
        List<BlockDevice> areas = TestVolumes.memories(4, "256K");
        try (Raid5Volume volume = new Raid5Volume("r5", TestVolumes.open(4, "memory:1M"), CHUNK_BYTES, Raid5Algorithm.LEFT_SYMMETRIC,
                new PplAreas(areas, 0x12345678))) {
            int stripeBlocks = 3 * volume.chunkBlocks();
            MemorySegment buffer = fixture.arena().allocate(4L * BLOCK, BLOCK);
            BlockChannel[] channels = new BlockChannel[2];
            for (int r = 0; r < 2; r++) {
                Reactor reactorR = reactors[r];
                channels[r] = reactorR.call(() -> volume.openChannel(reactorR)).get();
            }
            BlockChannel writer = channels[0];
            reactors[0].call(() -> { writer.close(); return null; }).get();
            long unitsBefore = reactors[0].call(volume::pplCounters).get()[0];
            for (long stripe = 0; stripe < 8; stripe++) { // one block of each: logged read-modify-writes
                assertEquals(Status.OK, syncWrite(reactors[1], channels[1], stripe * stripeBlocks + 1, 1, buffer), "stripe " + stripe);
            }
            assertTrue(reactors[0].call(volume::pplCounters).get()[0] > unitsBefore, "the writes were logged through the closed writer");
            assertFalse(reactors[0].call(() -> ((Raid5Channel) writer).isReleased()).get(), "held while the other channel lives");
            BlockChannel other = channels[1];
            reactors[1].call(() -> { other.close(); return null; }).get();
            io.basalt.engine.fixtures.Await.untilChecked(() -> reactors[0].call(() -> ((Raid5Channel) writer).isReleased()).get(), java.time.Duration.ofSeconds(10),
                    "the writer released once the other channel went");
            Reactor again = reactors[1];
            BlockChannel next = again.call(() -> volume.openChannel(again)).get();
            assertEquals(Status.OK, syncWrite(again, next, 2, 1, buffer), "a new channel writes (and logs) on its own");
            again.call(() -> { next.close(); return null; }).get();
            assertEquals(0, volume.failedCount(), "no member failed");
        } finally {
            for (Reactor r : reactors) r.close();
        }
    }

    /**
     * A FUA write on a volume is the write, then a flush of the members: when the members' flushes fail, the
     * write is not reported durable (a plain write, which promises nothing about durability, still succeeds).
     */
    @Test
    void aFuaWriteWhoseMemberFlushesFailIsNotReportedDurable() throws Exception {
        Reactor r = Reactor.start(ReactorConfig.defaults("raid5-fua"));
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < 4; i++) members.add(DeviceSpec.open("f" + i, "fault:memory:1M,fault_flush_error=1"));
        try (Raid5Volume volume = new Raid5Volume("r5", members, CHUNK_BYTES)) {
            BlockChannel channel = r.call(() -> volume.openChannel(r)).get();
            MemorySegment buffer = fixture.arena().allocate(BLOCK, BLOCK);
            assertEquals(Status.OK, syncWrite(r, channel, 8, 1, buffer), "a plain write");
            io.basalt.engine.IoVector vector = new io.basalt.engine.IoVector(1);
            vector.add(buffer);
            java.util.concurrent.CompletableFuture<Integer> done = new java.util.concurrent.CompletableFuture<>();
            assertTrue(r.call(() -> channel.writev(0, 1, vector, BlockChannel.WRITE_FUA, 0, (tag, status) -> done.complete(status))).get());
            assertNotEquals(Status.OK, (int) done.get(10, java.util.concurrent.TimeUnit.SECONDS), "FUA write over failing flushes");
            r.call(() -> { channel.close(); return null; }).get();
        } finally {
            r.close();
        }
    }

    /** One write through {@code channel} on its reactor; its status. */
    private static int syncWrite(Reactor reactor, BlockChannel channel, long lba, int blocks, MemorySegment buffer) throws Exception {
        java.util.concurrent.CompletableFuture<Integer> done = new java.util.concurrent.CompletableFuture<>();
        boolean accepted = reactor.call(() -> channel.write(lba, blocks, buffer.asSlice(0, (long) blocks * BLOCK), 0, (tag, status) -> done.complete(status))).get();
        assertTrue(accepted, "write accepted");
        return done.get(10, java.util.concurrent.TimeUnit.SECONDS);
    }

    @Test
    void twoReactorThreadsWritingSharedStripesKeepParity() throws Exception {
        Reactor[] reactors = {Reactor.start(ReactorConfig.defaults("raid5-t0")), Reactor.start(ReactorConfig.defaults("raid5-t1"))};
        List<BlockDevice> members = new ArrayList<>();
        // 5 members: a one-block write is a read-modify-write, which carries a wrong parity on (a reconstruct-write
        // would heal it with the next write of the row and hide the race).
        for (int i = 0; i < 5; i++) members.add(DeviceSpec.open("f" + i, "fault:memory:256K,fault_seed=" + (i + 3) + ",fault_latency_us=0-30"));
        try (Raid5Volume volume = new Raid5Volume("r5", members, CHUNK_BYTES)) {
            BlockChannel[] channels = new BlockChannel[2];
            for (int r = 0; r < 2; r++) {
                Reactor reactorR = reactors[r];
                channels[r] = reactorR.call(() -> volume.openChannel(reactorR)).get();
            }
            int regionBlocks = 4 * 4 * volume.chunkBlocks();
            int passes = 200;
            java.util.concurrent.CountDownLatch finished = new java.util.concurrent.CountDownLatch(2);
            ThreadWriter[] writers = new ThreadWriter[2];
            for (int r = 0; r < 2; r++) {
                writers[r] = new ThreadWriter(reactors[r], channels[r], r, regionBlocks, volume.chunkBlocks(), passes, fixture.arena(), finished);
                ThreadWriter w = writers[r];
                assertTrue(reactors[r].post(w::start));
            }
            assertTrue(finished.await(60, java.util.concurrent.TimeUnit.SECONDS), "writers finished");
            for (ThreadWriter w : writers) assertEquals(0, w.errors, "write errors");
            for (int r = 0; r < 2; r++) {
                BlockChannel c = channels[r];
                reactors[r].call(() -> { c.close(); return null; }).get();
            }
            MemorySegment[] onMembers = readMembers(volume);
            assertParityConsistent(volume, onMembers);
            ChunkAddress where = new ChunkAddress();
            int sectorsPerBlock = BLOCK / Raid5Layout.SECTOR_BYTES;
            for (long lba = 0; lba < regionBlocks; lba++) {
                volume.layout().map(lba * sectorsPerBlock, where);
                assertTrue(blockMatches(onMembers[where.disk()], (int) (where.diskSector() / sectorsPerBlock), lba, BLOCK,
                        SEED + passes - 1), "block " + lba + " holds the last pass");
            }
            assertTrue(volume.counter(Raid5Volume.REMOTE_LOCKS) > 0, "steps asked a remote owner");
            assertTrue(volume.counter(Raid5Volume.RMW_WRITES) > 0, "read-modify-writes");
        } finally {
            for (Reactor r : reactors) r.close();
        }
    }

    /**
     * Runs on one reactor thread: one chain per block of its half of the region (the chunks whose index has
     * this parity, so both reactors write the same rows of a stripe's different chunks), each
     * chain writing its block pass after pass, the next pass when the last completed (so the last pass is the
     * one that stays); all chains in flight at once.
     */
    static final class ThreadWriter implements io.basalt.engine.IoCompletion {
        private final Reactor reactor;
        private final BlockChannel channel;
        private final long[] lbas;
        private final int[] passes;
        private final int passCount;
        private final MemorySegment[] buffers;
        private final java.util.concurrent.CountDownLatch finished;
        private int chainsLeft;
        int errors;

        ThreadWriter(Reactor reactor, BlockChannel channel, int parity, int regionBlocks, int chunkBlocks, int passCount, Arena arena,
                     java.util.concurrent.CountDownLatch finished) {
            this.reactor = reactor;
            this.channel = channel;
            this.finished = finished;
            this.passCount = passCount;
            int chains = regionBlocks / 2;
            lbas = new long[chains];
            passes = new int[chains];
            buffers = new MemorySegment[chains];
            int chain = 0;
            for (long lba = 0; lba < regionBlocks; lba++) {
                if (lba / chunkBlocks % 2 != parity) continue;
                lbas[chain] = lba;
                buffers[chain++] = arena.allocate(BLOCK, BLOCK);
            }
            chainsLeft = chains;
        }

        void start() {
            for (int chain = 0; chain < lbas.length; chain++) submit(chain);
        }

        private void submit(int chain) {
            fill(buffers[chain], lbas[chain], BLOCK, SEED + passes[chain]);
            if (!channel.write(lbas[chain], 1, buffers[chain], chain, this)) reactor.post(() -> submit(chain));
        }

        @Override
        public void complete(long tag, int status) {
            int chain = (int) tag;
            if (status != Status.OK) errors++;
            if (++passes[chain] < passCount) {
                submit(chain);
            } else if (--chainsLeft == 0) {
                finished.countDown();
            }
        }
    }

    /** Writes runs i to channels[i % 2], all in flight at once, and drives both reactors until all complete. */
    private static void submitAll(BlockChannel[] channels, int[] starts, int[] counts, MemorySegment data,
                                  io.basalt.engine.IoCompletion completion, Runnable cycle, int[] done) {
        done[0] = 0;
        long deadline = System.nanoTime() + 30_000_000_000L;
        for (int i = 0; i < starts.length; i++) {
            MemorySegment slice = data.asSlice((long) starts[i] * BLOCK, (long) counts[i] * BLOCK);
            while (!channels[i % 2].write(starts[i], counts[i], slice, i, completion)) {
                cycle.run();
                if (System.nanoTime() > deadline) fail("channel stayed busy");
            }
        }
        while (done[0] < starts.length) {
            cycle.run();
            if (System.nanoTime() > deadline) fail("stuck at " + done[0] + " of " + starts.length);
        }
    }

    @Test
    void badMemberSetsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> volume(2, "256K"));
        assertThrows(IllegalArgumentException.class,
                () -> TestVolumes.raid5(3, "256K", 12 * 1024));
        try (Raid5Volume v = volume(3, "256K")) {
            assertEquals(2 * v.chunkBlocks(), v.geometry().optimalTransferBlocks());
            assertTrue(v.describe().startsWith("raid5(left_symmetric, chunk=16K"), v.describe());
        }
    }
}
