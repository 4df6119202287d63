package io.basalt.raid.volume;

import io.basalt.engine.fixtures.ReactorFixture;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.conformance.ConformanceHarness;
import io.basalt.engine.fault.FaultBlockDevice;
import io.basalt.engine.fault.FaultConfig;
import io.basalt.raid.md.MdPpl;
import io.basalt.raid.parity.Raid5Algorithm;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static io.basalt.engine.conformance.ConformanceHarness.fill;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The raid5 write hole, and md's partial parity log closing it. Members are {@link FaultBlockDevice}s in power-cut
 * mode with torn writes: what was not flushed is lost at the cut, except a seeded random subset of the blocks. A
 * round: fill the volume and flush; submit 16 concurrent writes (1..7 blocks, so read-modify-writes,
 * reconstruct-writes and full stripes); run the reactor a random number of cycles; cut the power on every device;
 * then lose a member. Every block that was not being written must read back as it was, through the degraded volume
 * (a block on the lost member is rebuilt from the parity; a parity made inconsistent by a torn write rebuilds it
 * wrong: the hole).
 */
class Raid5WriteHoleTest {
    private static final int BLOCK = 4096;
    private static final int CHUNK_BYTES = 16 * 1024;
    private static final int MEMBERS = 4;
    private static final long MEMBER_BYTES = 256 * 1024;
    private static final long AREA_BYTES = 256 * 1024;
    private static final byte[] UUID = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    private static final int SIGNATURE = MdPpl.signature(UUID);
    private static final int SEEDS = 40;

    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.handDriven("write-hole");
    private Reactor reactor;

    @BeforeEach
    void start() {
        reactor = fixture.reactor();
    }

    /** What a round found. */
    private record Round(long mismatches, long blocksChecked, long blocksKeptTorn, PplRecovery.Result recovery, long drains) {}

    @Test
    void withPplEveryBlockNotBeingWrittenSurvivesAPowerCutAndAMemberLoss() throws Exception {
        long recoveredEntries = 0, torn = 0, checked = 0;
        for (int seed = 1; seed <= SEEDS; seed++) {
            Round r = round(seed, true);
            assertEquals(0, r.mismatches(), "seed " + seed + ": blocks not being written changed (recovery " + r.recovery() + ")");
            recoveredEntries += r.recovery().entriesRecovered();
            torn += r.blocksKeptTorn();
            checked += r.blocksChecked();
        }
        System.out.println("write hole with PPL: " + SEEDS + " seeds, " + checked + " blocks checked, " + recoveredEntries
                + " entries recovered, " + torn + " unflushed blocks kept by the cuts");
        assertTrue(recoveredEntries > 0, "recovery did rewrite parity from logged entries");
        assertTrue(torn > 0, "the power cuts did keep some unflushed blocks (torn writes)");
        assertTrue(checked > SEEDS * 100L, "blocks were checked: " + checked);
    }

    @Test
    void raid5_withoutPplLosesData() throws Exception {
        int holes = 0;
        long changed = 0;
        for (int seed = 1; seed <= SEEDS; seed++) {
            long m = round(seed, false).mismatches();
            changed += m;
            if (m > 0) holes++;
        }
        System.out.println("write hole without PPL: " + holes + " of " + SEEDS + " seeds, " + changed + " blocks not being written changed");
        assertTrue(holes > 0, "without the PPL, some seed shows a block not being written reading back changed (the write hole)");
    }

    /**
     * Many waves of writes (completed but never flushed, so their blocks count as being written too) over a larger
     * volume with a 64 KiB PPL area: the log's io_units fill up and drain again and again before the cut, which comes
     * in a random wave.
     */
    @Test
    void withPplManyWavesWithLogDrainsBeforeTheCutLoseNothing() throws Exception {
        long recoveredEntries = 0, checked = 0, drains = 0;
        for (int seed = 1; seed <= 20; seed++) {
            Round r = round(seed, true, 4L << 20, 64 * 1024, 12, 3);
            assertEquals(0, r.mismatches(), "seed " + seed + ": blocks not being written changed (recovery " + r.recovery() + ")");
            recoveredEntries += r.recovery().entriesRecovered();
            checked += r.blocksChecked();
            drains += r.drains();
        }
        System.out.println("write hole with PPL, waves: " + checked + " blocks checked, " + recoveredEntries + " entries recovered, "
                + drains + " log drains before the cuts");
        assertTrue(recoveredEntries > 0 && checked > 20_000 && drains > 20, "entries recovered " + recoveredEntries
                + ", blocks checked " + checked + ", drains " + drains);
    }

    private Round round(int seed, boolean withPpl) throws Exception {
        return round(seed, withPpl, MEMBER_BYTES, AREA_BYTES, 1, 7);
    }

    private Round round(int seed, boolean withPpl, long memberBytes, long areaBytes, int waves, int countMax) throws Exception {
        SplittableRandom random = new SplittableRandom(0x401E * 1000L + seed);
        List<FaultBlockDevice> data = new ArrayList<>(), areas = new ArrayList<>();
        for (int m = 0; m < MEMBERS; m++) {
            data.add(new FaultBlockDevice("d" + m, new MemoryBlockDevice("dm" + m, memberBytes, BLOCK),
                    FaultConfig.none(seed * 100L + m).withPowerCut(true)));
            areas.add(new FaultBlockDevice("p" + m, new MemoryBlockDevice("pm" + m, areaBytes, BLOCK),
                    FaultConfig.none(seed * 100L + 50 + m).withPowerCut(true)));
        }
        if (withPpl) for (BlockDevice a : areas) PplRecovery.initialize(reactor, a, SIGNATURE);
        Raid5Volume volume = new Raid5Volume("r5", List.copyOf(data), CHUNK_BYTES, Raid5Algorithm.LEFT_SYMMETRIC,
                withPpl ? new PplAreas(List.copyOf(areas), SIGNATURE) : null);
        int blocks = (int) volume.geometry().blockCount();
        MemorySegment expected = fixture.arena().allocate((long) blocks * BLOCK, BLOCK);
        fill(expected, 0, BLOCK, seed);
        BlockChannel channel = volume.openChannel(reactor);
        ConformanceHarness io = new ConformanceHarness(reactor, channel);
        for (int at = 0; at < blocks; at += 192) {
            int n = Math.min(192, blocks - at);
            assertEquals(Status.OK, io.write(at, n, expected.asSlice((long) at * BLOCK, (long) n * BLOCK)));
        }
        assertEquals(Status.OK, io.flush());

        // Waves of 16 concurrent writes over distinct ranges; the cut comes in a random wave. Every block written in
        // the round counts as being written (nothing was flushed after the fill).
        boolean[] written = new boolean[blocks];
        MemorySegment fresh = fixture.arena().allocate((long) blocks * BLOCK, BLOCK);
        int cutWave = random.nextInt(waves);
        int tags = 0, cutFirst = 0;
        for (int wave = 0; wave <= cutWave; wave++) {
            fill(fresh, 0, BLOCK, seed + 7777 + wave);
            boolean[] inWave = new boolean[blocks];
            int first = tags;
            cutFirst = first;
            for (int attempt = 0; attempt < 200 && tags - first < 16; attempt++) {
                int count = 1 + random.nextInt(countMax), lba = random.nextInt(blocks - count + 1);
                boolean free = true;
                for (int b = lba; b < lba + count; b++) free &= !inWave[b];
                if (!free) continue;
                for (int b = lba; b < lba + count; b++) inWave[b] = written[b] = true;
                int tag = tags++;
                io.submitOrWait(() -> io.submitWrite(tag, lba, count, fresh.asSlice((long) lba * BLOCK, (long) count * BLOCK)));
            }
            if (wave < cutWave) for (int t = first; t < tags; t++) assertEquals(Status.OK, io.await(t));
        }
        int cycles = random.nextInt(40);
        for (int c = 0; c < cycles; c++) reactor.doWork();

        // Power cut, then nothing more reaches the devices: drain the volume against pulled drives.
        long keptTorn = 0, drains = withPpl ? volume.pplOwner().pplLog().counter(PartialParityLog.DRAINS) : 0;
        for (FaultBlockDevice d : data) d.powerCut();
        for (FaultBlockDevice d : areas) d.powerCut();
        for (FaultBlockDevice d : data) keptTorn += d.counter(FaultBlockDevice.BLOCKS_KEPT_TORN);
        for (FaultBlockDevice d : data) d.setFailed(true);
        for (FaultBlockDevice d : areas) d.setFailed(true);
        for (int t = cutFirst; t < tags; t++) io.await(t);
        channel.close();
        for (int c = 0; c < 10; c++) reactor.doWork();
        for (FaultBlockDevice d : data) d.setFailed(false);
        for (FaultBlockDevice d : areas) d.setFailed(false);

        // A member is lost; the survivors assemble: recovery from the PPL, then read back degraded.
        int lost = random.nextInt(MEMBERS);
        PplRecovery.Result recovery = new PplRecovery.Result(0, 0, 0, 0);
        if (withPpl) {
            List<BlockDevice> members = new ArrayList<>(data), logAreas = new ArrayList<>(areas);
            members.set(lost, null);
            logAreas.set(lost, null);
            recovery = PplRecovery.recover(reactor, members, logAreas, volume.layout(), SIGNATURE);
        }
        Raid5Volume degraded = new Raid5Volume("r5-back", List.copyOf(data), CHUNK_BYTES);
        degraded.fail(lost);
        BlockChannel back = degraded.openChannel(reactor);
        MemorySegment read = fixture.arena().allocate((long) blocks * BLOCK, BLOCK);
        ConformanceHarness reader = new ConformanceHarness(reactor, back);
        for (int at = 0; at < blocks; at += 192) {
            int n = Math.min(192, blocks - at);
            assertEquals(Status.OK, reader.read(at, n, read.asSlice((long) at * BLOCK, (long) n * BLOCK)));
        }
        back.close();
        long mismatches = 0, blocksChecked = 0;
        for (int b = 0; b < blocks; b++) {
            if (written[b]) continue;
            blocksChecked++;
            if (read.asSlice((long) b * BLOCK, BLOCK).mismatch(expected.asSlice((long) b * BLOCK, BLOCK)) >= 0) mismatches++;
        }
        degraded.close();
        for (FaultBlockDevice a : areas) a.close();
        if (!withPpl) Arrays.fill(written, false);
        return new Round(mismatches, blocksChecked, keptTorn, recovery, drains);
    }
}
