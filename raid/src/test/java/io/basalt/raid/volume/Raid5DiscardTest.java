package io.basalt.raid.volume;

import io.basalt.engine.fixtures.ReactorFixture;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Capabilities;
import io.basalt.engine.Geometry;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.raid.md.MdPpl;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.parity.Raid5Layout;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.basalt.engine.conformance.ConformanceHarness.blockIsZero;
import static io.basalt.engine.conformance.ConformanceHarness.blockMatches;
import static io.basalt.raid.volume.SyncTestSupport.BLOCK;
import static io.basalt.raid.volume.SyncTestSupport.fillVolume;
import static io.basalt.raid.volume.SyncTestSupport.readAll;
import static org.junit.jupiter.api.Assertions.*;

/**
 * raid5 DISCARD (Raid5Discard, md's make_discard_request): whole stripes become member discards of data and parity
 * (zeroes, whose parity is zero), the partial stripes at the edges are left alone; the bitmap records the stripes
 * first and the PPL logs them as full-stripe entries; over members that may keep old data it is not offered.
 * 4 members of 1 MiB, 16 KiB chunks: a stripe is 12 blocks, the volume 768.
 */
class Raid5DiscardTest {
    private static final int CHUNK_BYTES = 16 * 1024;
    private static final int STRIPE_BLOCKS = 12;
    private static final long SEED = 0xD15C;
    @RegisterExtension
    final ReactorFixture ioReactorFixture = ReactorFixture.started("discard-io");
    @RegisterExtension
    final ReactorFixture jobReactorFixture = ReactorFixture.started("discard-job");
    private Reactor ioReactor, jobReactor;

    @BeforeEach
    void start() {
        ioReactor = ioReactorFixture.reactor();
        jobReactor = jobReactorFixture.reactor();
    }

    @Test
    void wholeStripesReadBackZeroesTheEdgesKeepTheirDataAndACheckFindsParityConsistent() throws Exception {
        try (Raid5Volume volume = TestVolumes.raid5(4, "1M", CHUNK_BYTES)) {
            Capabilities c = volume.geometry().capabilities();
            assertEquals(new Capabilities(true, true, STRIPE_BLOCKS, true, false), c, "memory members: whole-stripe discards offered");
            BlockChannel channel = open(volume);
            long blocks = volume.geometry().blockCount();
            fillVolume(ioReactor, channel, blocks, SEED, ioReactorFixture.arena());
            assertEquals(Status.OK, discard(channel, 5, 100)); // stripes 1..7 whole; 5..11 and 96..104 are edges
            assertEquals(Status.OK, discard(channel, 200, 10)); // inside stripe 16: nothing whole, nothing done
            MemorySegment all = readVolume(channel, blocks);
            for (long b = 0; b < blocks; b++) {
                boolean discarded = b >= 12 && b < 96;
                if (discarded) assertTrue(blockIsZero(all, (int) b, BLOCK), "block " + b + " of a whole discarded stripe reads zeroes");
                else assertTrue(blockMatches(all, (int) b, b, BLOCK, SEED), "block " + b + " keeps its data");
            }
            assertEquals(0, wrongParityBlocks(volume), "parity = XOR of the data on every row, read from the members");
            assertEquals(0, check(volume), "a check job finds no mismatch");
            close(channel);
        }
    }

    @Test
    void aDegradedReadAfterADiscardReturnsZeroesAndADegradedDiscardToo() throws Exception {
        try (Raid5Volume volume = TestVolumes.raid5(4, "1M", CHUNK_BYTES)) {
            BlockChannel channel = open(volume);
            long blocks = volume.geometry().blockCount();
            fillVolume(ioReactor, channel, blocks, SEED, ioReactorFixture.arena());
            assertEquals(Status.OK, discard(channel, 0, 4 * STRIPE_BLOCKS));
            volume.fail(1); // its chunks are now rebuilt from the others
            assertEquals(Status.OK, discard(channel, 10 * STRIPE_BLOCKS, 3 * STRIPE_BLOCKS)); // degraded: survivors discarded
            MemorySegment all = readVolume(channel, blocks);
            for (long b = 0; b < blocks; b++) {
                boolean discarded = b < 4 * STRIPE_BLOCKS || (b >= 10 * STRIPE_BLOCKS && b < 13 * STRIPE_BLOCKS);
                if (discarded) assertTrue(blockIsZero(all, (int) b, BLOCK), "degraded read of discarded block " + b);
                else assertTrue(blockMatches(all, (int) b, b, BLOCK, SEED), "degraded read of block " + b);
            }
            close(channel);
        }
    }

    @Test
    void membersWhoseDiscardMayKeepOldDataMakeItUnsupported() throws Exception {
        List<BlockDevice> members = new ArrayList<>();
        for (BlockDevice m : TestVolumes.memories(4, "1M")) members.add(new CapabilityDevice(m, new Capabilities(true, false, 1, true, false)));
        try (Raid5Volume volume = new Raid5Volume("r5", members, CHUNK_BYTES)) {
            assertFalse(volume.geometry().capabilities().discard(), "parity would not follow a member that keeps old data");
            assertTrue(volume.geometry().capabilities().writeZeroes());
            BlockChannel channel = open(volume);
            assertEquals(Status.UNSUPPORTED, discard(channel, 0, 4 * STRIPE_BLOCKS));
            close(channel);
        }
    }

    /** A member put in later that may keep old data gets the stripe's zeroes written instead of a discard. */
    @Test
    void aMemberThatNoLongerReadsZeroesAfterADiscardGetsZeroesWritten() throws Exception {
        List<BlockDevice> members = new ArrayList<>(TestVolumes.memories(4, "1M"));
        CapabilityDevice odd = new CapabilityDevice(members.get(2), Capabilities.zeroingDiscard());
        members.set(2, odd);
        try (Raid5Volume volume = new Raid5Volume("r5", members, CHUNK_BYTES)) {
            BlockChannel channel = open(volume);
            long blocks = volume.geometry().blockCount();
            fillVolume(ioReactor, channel, blocks, SEED, ioReactorFixture.arena());
            odd.capabilities = new Capabilities(true, false, 1, true, false);
            assertEquals(Status.OK, discard(channel, 0, 6 * STRIPE_BLOCKS));
            assertEquals(0, odd.discards.get(), "no discard reached the member that may keep old data");
            MemorySegment all = readVolume(channel, 6 * STRIPE_BLOCKS);
            for (int b = 0; b < 6 * STRIPE_BLOCKS; b++) assertTrue(blockIsZero(all, b, BLOCK), "block " + b);
            assertEquals(0, wrongParityBlocks(volume));
            close(channel);
        }
    }

    @Test
    void theWriteIntentRecordsTheDiscardedStripesBeforeAnyMemberSeesThem() throws Exception {
        try (Raid5Volume volume = TestVolumes.raid5(4, "1M", CHUNK_BYTES)) {
            List<long[]> begun = new ArrayList<>(), ended = new ArrayList<>();
            volume.setWriteIntent(new WriteIntent() {
                @Override public boolean begin(long firstBlock, long blockCount) { begun.add(new long[] {firstBlock, blockCount}); return true; }
                @Override public void end(long firstBlock, long blockCount) { ended.add(new long[] {firstBlock, blockCount}); }
            });
            BlockChannel channel = open(volume);
            assertEquals(Status.OK, discard(channel, 2 * STRIPE_BLOCKS, 3 * STRIPE_BLOCKS));
            int chunkBlocks = volume.chunkBlocks();
            assertEquals(1, begun.size());
            assertArrayEquals(new long[] {2L * chunkBlocks, 3L * chunkBlocks}, begun.getFirst(), "member rows of stripes 2..4");
            assertArrayEquals(begun.getFirst(), ended.getFirst(), "released when the discard finished");
            close(channel);
        }
    }

    @Test
    void withAPartialParityLogAWholeStripeDiscardIsAFullStripeEntry() throws Exception {
        List<BlockDevice> areas = TestVolumes.memories(4, "256K");
        try (Raid5Volume volume = new Raid5Volume("r5", TestVolumes.memories(4, "1M"), CHUNK_BYTES, Raid5Algorithm.LEFT_SYMMETRIC,
                new PplAreas(areas, 0x5151))) {
            BlockChannel channel = open(volume);
            fillVolume(ioReactor, channel, volume.geometry().blockCount(), SEED, ioReactorFixture.arena());
            close(channel);
            channel = open(volume); // a fresh log: its io_units start empty
            assertEquals(Status.OK, discard(channel, 0, STRIPE_BLOCKS));
            close(channel);
            Raid5Layout layout = volume.layout();
            MdPpl header = new MdPpl().wrap(readAll(jobReactor, areas.get(layout.parityDisk(0)), 1, ioReactorFixture.arena()));
            assertTrue(header.checksumValid());
            int last = (int) header.entriesCount() - 1;
            assertTrue(last >= 0, "the discard was logged");
            assertEquals(0, header.dataSector(last), "stripe 0");
            assertEquals(0, header.ppSize(last), "every data chunk: no partial parity, recovery recomputes the parity");
            assertEquals(3L * volume.chunkBlocks() * BLOCK, header.dataSize(last));
            assertEquals(0, wrongParityBlocks(volume));
        }
    }

    // ------------------------------------------------------------------ helpers

    private BlockChannel open(Raid5Volume volume) throws Exception {
        return ioReactor.call(() -> volume.openChannel(ioReactor)).get();
    }

    private void close(BlockChannel channel) throws Exception {
        ioReactor.call(() -> {
            channel.close();
            return null;
        }).get();
    }

    private int discard(BlockChannel channel, long lba, long blocks) throws Exception {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        IoCompletion completion = (tag, status) -> done.complete(status);
        Runnable submit = new Runnable() {
            @Override
            public void run() {
                if (!channel.discard(lba, blocks, 0, completion)) ioReactor.post(this);
            }
        };
        ioReactor.post(submit);
        return done.get(30, TimeUnit.SECONDS);
    }

    private MemorySegment readVolume(BlockChannel channel, long blocks) throws Exception {
        MemorySegment all = ioReactorFixture.arena().allocate(blocks * BLOCK, BLOCK);
        for (long at = 0; at < blocks; at += 48) {
            int n = (int) Math.min(48, blocks - at);
            assertEquals(Status.OK, SyncTestSupport.io(ioReactor, channel, false, at, n, all.asSlice(at * BLOCK, (long) n * BLOCK)));
        }
        return all;
    }

    private long check(Raid5Volume volume) {
        SyncJob job = new SyncJob(volume, SyncJob.CHECK, jobReactor, null, 1000, SyncJob.DEFAULT_UNITS_IN_FLIGHT, null).start();
        assertTrue(job.awaitEnd(TimeUnit.SECONDS.toNanos(60)), "check ended");
        assertEquals(SyncJob.State.DONE, job.state(), job::error);
        return job.mismatchSectors();
    }

    /** Rows whose XOR over every member (data and parity) is not zero, read from the members directly. */
    private long wrongParityBlocks(Raid5Volume volume) throws Exception {
        MemorySegment[] on = new MemorySegment[volume.memberCount()];
        for (int m = 0; m < on.length; m++) on[m] = readAll(jobReactor, volume.member(m), volume.memberBlocksUsed(), ioReactorFixture.arena());
        long wrong = 0;
        for (long mb = 0; mb < volume.memberBlocksUsed(); mb++) {
            for (long o = 0; o < BLOCK; o += 8) {
                long x = 0;
                for (MemorySegment member : on) x ^= member.get(ValueLayout.JAVA_LONG_UNALIGNED, mb * BLOCK + o);
                if (x != 0) {
                    wrong++;
                    break;
                }
            }
        }
        return wrong;
    }

    /** A member that says what it can do as told (and counts the discards it gets), doing its inner device's I/O. */
    private static final class CapabilityDevice implements BlockDevice {
        final BlockDevice inner;
        volatile Capabilities capabilities;
        final AtomicInteger discards = new AtomicInteger();

        CapabilityDevice(BlockDevice inner, Capabilities capabilities) {
            this.inner = inner;
            this.capabilities = capabilities;
        }

        @Override public String name() { return inner.name(); }
        @Override public Geometry geometry() { return inner.geometry().withCapabilities(capabilities); }
        @Override public String describe() { return inner.describe(); }
        @Override public void close() { inner.close(); }

        @Override
        public BlockChannel openChannel(Reactor reactor) {
            BlockChannel c = inner.openChannel(reactor);
            return (BlockChannel) java.lang.reflect.Proxy.newProxyInstance(BlockChannel.class.getClassLoader(), new Class<?>[] {BlockChannel.class},
                    (proxy, method, args) -> {
                        if (method.getName().equals("discard")) discards.incrementAndGet();
                        if (method.getName().equals("device")) return CapabilityDevice.this;
                        try {
                            return method.invoke(c, args);
                        } catch (java.lang.reflect.InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
        }
    }
}
