package io.basalt.raid.volume;

import io.basalt.engine.fixtures.ReactorFixture;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.engine.conformance.ConformanceHarness;
import io.basalt.raid.parity.Raid5Layout;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static io.basalt.engine.conformance.ConformanceHarness.fill;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Coalescing in {@link Raid5Channel}: small writes submitted together that cover a stripe become one full-stripe
 * parity computation with no reads; data and parity stay right, healthy and degraded, and a later write to the
 * same block never loses to an earlier one.
 */
class Raid5CoalescingTest {
    private static final int BLOCK = 4096;
    private static final int CHUNK_BYTES = 16 * 1024; // 4 blocks: a 4-member stripe holds 12 data blocks
    private static final long SEED = 0xC0A1E5CEL;
    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.handDriven("raid5-coalesce");
    private Reactor reactor;

    @BeforeEach
    void start() {
        reactor = fixture.reactor();
    }

    private static Raid5Volume volume() {
        return TestVolumes.raid5(4, "256K", CHUNK_BYTES);
    }

    /** Submits one-block writes of {@code expected}'s blocks at {@code lbas}, in that order, all in flight at once. */
    private static void writeStream(ConformanceHarness io, long[] lbas, MemorySegment[] sources) {
        for (int i = 0; i < lbas.length; i++) {
            int tag = i;
            io.submitOrWait(() -> io.submitWrite(tag, lbas[tag], 1, sources[tag]));
        }
        for (int i = 0; i < lbas.length; i++) assertEquals(Status.OK, io.await(i), "write " + i + " at " + lbas[i]);
    }

    private void assertParityConsistent(Raid5Volume volume) {
        Raid5Layout layout = volume.layout();
        MemorySegment[] members = new MemorySegment[volume.memberCount()];
        for (int m = 0; m < members.length; m++) {
            BlockChannel direct = volume.member(m).openChannel(reactor);
            members[m] = fixture.buffer(volume.memberBlocksUsed());
            assertEquals(Status.OK, new ConformanceHarness(reactor, direct).read(0, (int) volume.memberBlocksUsed(), members[m]));
            direct.close();
        }
        for (long mb = 0; mb < volume.memberBlocksUsed(); mb++) {
            int parity = layout.parityDisk(mb / volume.chunkBlocks());
            for (long o = 0; o < BLOCK; o += 8) {
                long x = 0;
                for (int m = 0; m < members.length; m++) if (m != parity) x ^= members[m].get(ValueLayout.JAVA_LONG_UNALIGNED, mb * BLOCK + o);
                assertEquals(x, members[parity].get(ValueLayout.JAVA_LONG_UNALIGNED, mb * BLOCK + o), "parity of member block " + mb);
            }
        }
    }

    /** 8 stripes written as 96 sequential 4 KiB writes in flight at once. */
    private void sequentialStream(Raid5Volume volume, ConformanceHarness io, MemorySegment expected) {
        int blocks = 8 * 12;
        long[] lbas = new long[blocks];
        MemorySegment[] sources = new MemorySegment[blocks];
        for (int i = 0; i < blocks; i++) {
            lbas[i] = i;
            sources[i] = expected.asSlice((long) i * BLOCK, BLOCK);
        }
        fill(expected.asSlice(0, (long) blocks * BLOCK), 0, BLOCK, SEED);
        writeStream(io, lbas, sources);
        MemorySegment back = fixture.buffer(blocks);
        assertEquals(Status.OK, io.read(0, blocks, back));
        assertEquals(-1L, back.mismatch(expected.asSlice(0, (long) blocks * BLOCK)), "the stream reads back");
    }

    @Test
    void aSequentialSmallWriteStreamBecomesFullStripeWritesWithNoReads() {
        try (Raid5Volume volume = volume()) {
            assertEquals(4, volume.chunkBlocks());
            ConformanceHarness io = new ConformanceHarness(reactor, volume.openChannel(reactor));
            sequentialStream(volume, io, fixture.buffer(96));
            assertEquals(8, volume.counter(Raid5Volume.FULL_STRIPE_WRITES), "one full-stripe write per stripe");
            assertEquals(0, volume.counter(Raid5Volume.RMW_WRITES), "no read-modify-write");
            assertEquals(0, volume.counter(Raid5Volume.RCW_WRITES), "no reconstruct-write");
            assertEquals(8 * 11, volume.counter(Raid5Volume.COALESCED_WRITES), "11 of each stripe's 12 writes joined the first");
            assertParityConsistent(volume);
            io.channel().close();
        }
    }

    @Test
    void withAFailedMemberTheStreamStillCoalescesAndReadsBack() {
        for (int failed = 0; failed < 4; failed++) {
            try (Raid5Volume volume = volume()) {
                ConformanceHarness io = new ConformanceHarness(reactor, volume.openChannel(reactor));
                MemorySegment zero = fixture.buffer(volume.geometry().blockCount());
                assertEquals(Status.OK, io.write(0, (int) volume.geometry().blockCount(), zero)); // parity consistent first
                long fullBefore = volume.counter(Raid5Volume.FULL_STRIPE_WRITES);
                volume.fail(failed);
                sequentialStream(volume, io, fixture.buffer(96));
                assertEquals(8 * 11, volume.counter(Raid5Volume.COALESCED_WRITES), "member " + failed + " failed");
                assertEquals(0, volume.counter(Raid5Volume.RMW_WRITES), "member " + failed + " failed");
                assertEquals(8, volume.counter(Raid5Volume.DEGRADED_WRITES), "one degraded step per stripe, each carrying 12 writes");
                assertEquals(fullBefore, volume.counter(Raid5Volume.FULL_STRIPE_WRITES), "degraded steps count as such");
                io.channel().close();
            }
        }
    }

    /**
     * A rebuilding member is written by coalesced groups too (docs/raid.md, "Sync jobs", rule 1): with its recovery
     * position past every stripe (so reads go to it directly, as after the rebuild's units), the stream must land on
     * it. The groups once wrote active members only, and the rebuilt member kept the blocks it had (found by the
     * model test: a coalesced burst during a rebuild read back old after it).
     */
    @Test
    void aRebuildingMemberPastItsRecoveryPositionIsWrittenByCoalescedGroups() {
        for (int rebuilding = 0; rebuilding < 4; rebuilding++) {
            try (Raid5Volume volume = volume()) {
                ConformanceHarness io = new ConformanceHarness(reactor, volume.openChannel(reactor));
                MemorySegment zero = fixture.buffer(volume.geometry().blockCount());
                assertEquals(Status.OK, io.write(0, (int) volume.geometry().blockCount(), zero));
                volume.fail(rebuilding);
                volume.replaceMember(rebuilding, DeviceSpec.open("fresh", "memory:256K"));
                volume.recoveredTo(volume.unitCount()); // every stripe rebuilt (the blank member is all zeroes, as the array)
                long coalescedBefore = volume.counter(Raid5Volume.COALESCED_WRITES);
                sequentialStream(volume, io, fixture.buffer(96));
                assertTrue(volume.counter(Raid5Volume.COALESCED_WRITES) > coalescedBefore, "member " + rebuilding + ": the stream coalesced");
                assertParityConsistent(volume);
                io.channel().close();
            }
        }
    }

    /**
     * 400 one-block writes over 2 stripes, with repeats, all in flight at once in 8 seeded rounds: whatever the
     * grouping, each block holds the data of its last write, and parity matches.
     */
    @Test
    void overlappingWritesKeepSubmissionOrder() {
        try (Raid5Volume volume = volume()) {
            ConformanceHarness io = new ConformanceHarness(reactor, volume.openChannel(reactor));
            int region = 24, writes = 200;
            MemorySegment expected = fixture.buffer(region);
            for (int round = 0; round < 8; round++) {
                SplittableRandom random = new SplittableRandom(SEED + round);
                long[] lbas = new long[writes];
                MemorySegment[] sources = new MemorySegment[writes];
                MemorySegment data = fixture.buffer(writes);
                for (int i = 0; i < writes; i++) {
                    // Mostly sequential runs (so groups form), with jumps back over blocks already written.
                    lbas[i] = random.nextInt(5) == 0 ? random.nextInt(region) : (i == 0 ? 0 : (lbas[i - 1] + 1) % region);
                    sources[i] = data.asSlice((long) i * BLOCK, BLOCK);
                    fill(sources[i], lbas[i], BLOCK, SEED * 7 + round * 1000 + i);
                    MemorySegment.copy(sources[i], 0, expected, lbas[i] * BLOCK, BLOCK);
                }
                writeStream(io, lbas, sources);
                MemorySegment back = fixture.buffer(region);
                assertEquals(Status.OK, io.read(0, region, back));
                long mismatch = back.mismatch(expected);
                assertEquals(-1L, mismatch, "round " + round + ": block " + (mismatch / BLOCK) + " is not its last write's");
            }
            assertTrue(volume.counter(Raid5Volume.COALESCED_WRITES) > 0, "groups formed");
            assertParityConsistent(volume);
            io.channel().close();
        }
    }
}
