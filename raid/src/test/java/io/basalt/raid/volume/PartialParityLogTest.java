package io.basalt.raid.volume;

import io.basalt.engine.fixtures.ReactorFixture;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.conformance.ConformanceHarness;
import io.basalt.raid.md.MdPpl;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.parity.Raid5Layout;
import io.basalt.raid.parity.Xor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

import static io.basalt.engine.conformance.ConformanceHarness.fill;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the partial parity log writes, entry by entry as md's ppl_recover_entry reads it, and a log shared by reactors. */
class PartialParityLogTest {
    private static final int BLOCK = 4096;
    private static final int CHUNK_BYTES = 16 * 1024; // 4 blocks
    private static final int SIGNATURE = 0x5a5a1234;
    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.handDriven("ppl");
    private Reactor reactor;

    @BeforeEach
    void start() {
        reactor = fixture.reactor();
    }

    private MemorySegment read(BlockDevice device, long lba, int blocks) {
        MemorySegment out = fixture.arena().allocate((long) blocks * BLOCK, BLOCK);
        BlockChannel c = device.openChannel(reactor);
        assertEquals(Status.OK, new ConformanceHarness(reactor, c).read(lba, blocks, out));
        c.close();
        return out;
    }

    /**
     * 4 members (3 data chunks of 4 blocks): a write of array blocks 2..9 of stripe 0 touches chunk 0 rows 2-3,
     * chunk 1 rows 0-3, chunk 2 rows 0-1: three bands, rows 0-1 (chunks 1-2), rows 2-3 (chunks 0-1), as md's
     * rectangles. Each entry's partial parity is the XOR of the row's unwritten chunk, its checksum the CRC-32C.
     */
    @Test
    void entriesAreMdRectanglesWithThePartialParityOfTheUnwrittenChunks() {
        List<BlockDevice> members = TestVolumes.memories(4, "1M"), areas = TestVolumes.memories(4, "256K");
        try (Raid5Volume volume = new Raid5Volume("r5", members, CHUNK_BYTES, Raid5Algorithm.LEFT_SYMMETRIC, new PplAreas(areas, SIGNATURE))) {
            BlockChannel channel = volume.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            MemorySegment old = fixture.arena().allocate(12L * BLOCK, BLOCK);
            fill(old, 0, BLOCK, 1);
            assertEquals(Status.OK, io.write(0, 12, old)); // a full stripe: one entry, no partial parity
            MemorySegment fresh = fixture.arena().allocate(8L * BLOCK, BLOCK);
            fill(fresh, 2, BLOCK, 2);
            assertEquals(Status.OK, io.write(2, 8, fresh));
            channel.close();
            reactor.doWork();
            Raid5Layout layout = volume.layout();
            int parity = layout.parityDisk(0);
            MdPpl header = new MdPpl().wrap(read(areas.get(parity), 0, 1));
            assertTrue(header.checksumValid(), "header checksum");
            assertEquals(SIGNATURE, (int) header.signature());
            assertEquals(2, header.generation(), "the second version of that member's io_unit");
            assertEquals(3, header.entriesCount(), "the full stripe's entry kept, then two bands: rows 0-1 over chunks 1-2, rows 2-3 over chunks 0-1");
            assertEquals(0, header.dataSector(0), "the full stripe: every chunk, no partial parity");
            assertEquals(0, header.ppSize(0));
            assertEquals(3 * 4 * BLOCK, header.dataSize(0));
            // rows 0-1, chunks 1 and 2: data_sector = array block 4 (chunk 1 row 0), in 512-byte sectors
            assertEquals(4 * 8, header.dataSector(1));
            assertEquals(2 * BLOCK, header.ppSize(1));
            assertEquals(2 * 2 * BLOCK, header.dataSize(1));
            assertEquals(parity, header.parityDisk(1));
            assertEquals(2 * 8, header.dataSector(2), "rows 2-3 of chunk 0: array block 2");
            assertEquals(2 * BLOCK, header.ppSize(2));
            assertEquals(2 * 2 * BLOCK, header.dataSize(2));
            MemorySegment pp = read(areas.get(parity), 1, 4);
            assertEquals((int) header.entryChecksum(1), MdPpl.crc32c(pp.asSlice(0, 2L * BLOCK)));
            assertEquals((int) header.entryChecksum(2), MdPpl.crc32c(pp.asSlice(2L * BLOCK, 2L * BLOCK)));
            // Partial parity = the unwritten chunk of the row, as it was: chunk 0 rows 0-1, chunk 2 rows 2-3.
            assertEquals(-1L, pp.asSlice(0, 2L * BLOCK).mismatch(old.asSlice(0, 2L * BLOCK)), "pp rows 0-1 = chunk 0");
            assertEquals(-1L, pp.asSlice(2L * BLOCK, 2L * BLOCK).mismatch(old.asSlice(10L * BLOCK, 2L * BLOCK)), "pp rows 2-3 = chunk 2");
        }
    }

    /**
     * Two reactors (driven in turn on this thread) write through their own channels; the log lives on the first
     * channel and the second's steps reach it through commands. Data and parity end consistent and the last io_unit
     * of every member is a valid md header.
     */
    @Test
    void twoReactorsShareTheFirstReactorsLog() {
        Reactor second = new Reactor(ReactorConfig.defaults("ppl-second"));
        second.initOnCurrentThread();
        List<BlockDevice> members = TestVolumes.memories(4, "1M"), areas = TestVolumes.memories(4, "256K");
        try (Raid5Volume volume = new Raid5Volume("r5", members, CHUNK_BYTES, Raid5Algorithm.LEFT_SYMMETRIC, new PplAreas(areas, SIGNATURE))) {
            BlockChannel[] channels = {volume.openChannel(reactor), volume.openChannel(second)};
            int blocks = (int) Math.min(volume.geometry().blockCount(), 96);
            MemorySegment expected = fixture.arena().allocate((long) blocks * BLOCK, BLOCK);
            int[] done = {0};
            IoCompletion completion = (tag, status) -> {
                assertEquals(Status.OK, status, "write " + tag);
                done[0]++;
            };
            for (int round = 0; round < 20; round++) {
                SplittableRandom random = new SplittableRandom(77 + round);
                done[0] = 0;
                int writes = 0;
                for (int lba = random.nextInt(3); lba < blocks; writes++) {
                    int count = Math.min(1 + random.nextInt(3), blocks - lba);
                    MemorySegment slice = expected.asSlice((long) lba * BLOCK, (long) count * BLOCK);
                    fill(slice, lba, BLOCK, 1000 + round);
                    while (!channels[writes % 2].write(lba, count, slice, writes, completion)) {
                        reactor.doWork();
                        second.doWork();
                    }
                    lba += count + random.nextInt(2);
                }
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (done[0] < writes) {
                    reactor.doWork();
                    second.doWork();
                    assertTrue(System.nanoTime() < deadline, "stuck at " + done[0] + " of " + writes);
                }
            }
            MemorySegment back = fixture.arena().allocate((long) blocks * BLOCK, BLOCK);
            assertEquals(Status.OK, new ConformanceHarness(second, channels[1]).read(0, blocks, back));
            assertEquals(-1L, back.mismatch(expected), "data read back");
            PartialParityLog log = volume.pplOwner().pplLog();
            long units = log.counter(PartialParityLog.UNITS), steps = log.counter(PartialParityLog.STEPS);
            assertTrue(units > 0 && steps > units, "io_units batch several steps: " + units + " units for " + steps + " steps");
            for (BlockChannel c : channels) c.close();
            reactor.doWork();
            second.doWork();
            MemorySegment[] onMembers = new MemorySegment[4];
            for (int m = 0; m < 4; m++) onMembers[m] = read(members.get(m), 0, (int) volume.memberBlocksUsed());
            MemorySegment xor = fixture.arena().allocate(BLOCK, BLOCK);
            for (long b = 0; b < volume.memberBlocksUsed(); b++) {
                xor.fill((byte) 0);
                for (int m = 0; m < 4; m++) Xor.xorInto(xor, onMembers[m].asSlice(b * BLOCK, BLOCK));
                assertEquals(-1L, xor.mismatch(fixture.arena().allocate(BLOCK)), "parity of member block " + b);
            }
            for (int m = 0; m < 4; m++) {
                MdPpl header = new MdPpl().wrap(read(areas.get(m), 0, 1));
                assertTrue(header.checksumValid(), "member " + m + " PPL header");
                assertTrue(header.generation() > 1, "member " + m + " logged io_units");
            }
        } finally {
            second.close();
        }
    }

    /**
     * The PPL area of a member stops answering (a pulled drive seen through its log slice): the log write fails, md's
     * answer is md_error on that member, so the member is failed, and the volume goes on degraded with every write
     * acknowledged and readable.
     */
    @Test
    void aFailingLogAreaFailsItsMemberAndWritesGoOn() {
        List<BlockDevice> members = TestVolumes.memories(4, "1M");
        List<BlockDevice> areas = new ArrayList<>();
        for (int i = 0; i < 4; i++) areas.add(io.basalt.engine.DeviceSpec.open("a" + i, "fault:memory:256K,fault_seed=" + (i + 1)));
        try (Raid5Volume volume = new Raid5Volume("r5", members, CHUNK_BYTES, Raid5Algorithm.LEFT_SYMMETRIC, new PplAreas(areas, SIGNATURE))) {
            BlockChannel channel = volume.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            int blocks = 96;
            MemorySegment expected = fixture.arena().allocate((long) blocks * BLOCK, BLOCK);
            fill(expected, 0, BLOCK, 5);
            assertEquals(Status.OK, io.write(0, blocks, expected));
            ((io.basalt.engine.fault.FaultBlockDevice) areas.get(2)).setFailed(true);
            SplittableRandom random = new SplittableRandom(9);
            for (int i = 0; i < 60; i++) {
                int lba = random.nextInt(blocks - 2), count = 1 + random.nextInt(2);
                MemorySegment slice = expected.asSlice((long) lba * BLOCK, (long) count * BLOCK);
                fill(slice, lba, BLOCK, 100 + i);
                int tag = i;
                io.submitOrWait(() -> io.submitWrite(tag, lba, count, slice));
            }
            for (int i = 0; i < 60; i++) assertEquals(Status.OK, io.await(i), "write " + i);
            assertTrue(!volume.isActive(2), "the member whose log failed is failed");
            assertEquals(1, volume.failedCount());
            MemorySegment back = fixture.arena().allocate((long) blocks * BLOCK, BLOCK);
            assertEquals(Status.OK, io.read(0, blocks, back));
            assertEquals(-1L, back.mismatch(expected), "data read back, degraded");
            channel.close();
        }
    }

    /**
     * Two real reactor threads write shared stripes of a PPL volume (5 members with 0-30 us latency, one-block
     * read-modify-writes, 150 passes): the second reactor's steps are logged by the first's log through commands,
     * their stripe buffers read there. Data and parity end consistent, and every member's last header is valid.
     */
    @Test
    void twoReactorThreadsShareOneLog() throws Exception {
        Reactor[] reactors = {Reactor.start(ReactorConfig.defaults("ppl-t0")), Reactor.start(ReactorConfig.defaults("ppl-t1"))};
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < 5; i++) members.add(io.basalt.engine.DeviceSpec.open("f" + i, "fault:memory:256K,fault_seed=" + (i + 3) + ",fault_latency_us=0-30"));
        List<BlockDevice> areas = TestVolumes.memories(5, "256K");
        try (Raid5Volume volume = new Raid5Volume("r5", members, CHUNK_BYTES, Raid5Algorithm.LEFT_SYMMETRIC, new PplAreas(areas, SIGNATURE))) {
            BlockChannel[] channels = new BlockChannel[2];
            for (int r = 0; r < 2; r++) {
                Reactor reactorR = reactors[r];
                channels[r] = reactorR.call(() -> volume.openChannel(reactorR)).get();
            }
            int regionBlocks = 4 * 4 * volume.chunkBlocks();
            int passes = 150;
            java.util.concurrent.CountDownLatch finished = new java.util.concurrent.CountDownLatch(2);
            Raid5Test.ThreadWriter[] writers = new Raid5Test.ThreadWriter[2];
            for (int r = 0; r < 2; r++) {
                writers[r] = new Raid5Test.ThreadWriter(reactors[r], channels[r], r, regionBlocks, volume.chunkBlocks(), passes, fixture.arena(), finished);
                Raid5Test.ThreadWriter w = writers[r];
                assertTrue(reactors[r].post(w::start));
            }
            assertTrue(finished.await(120, java.util.concurrent.TimeUnit.SECONDS), "writers finished");
            for (Raid5Test.ThreadWriter w : writers) assertEquals(0, w.errors, "write errors");
            for (int r = 0; r < 2; r++) {
                BlockChannel c = channels[r];
                reactors[r].call(() -> { c.close(); return null; }).get();
            }
            MemorySegment[] onMembers = new MemorySegment[5];
            for (int m = 0; m < 5; m++) onMembers[m] = read(members.get(m), 0, (int) volume.memberBlocksUsed());
            MemorySegment xor = fixture.arena().allocate(BLOCK, BLOCK), zero = fixture.arena().allocate(BLOCK, BLOCK);
            for (long b = 0; b < volume.memberBlocksUsed(); b++) {
                xor.fill((byte) 0);
                for (int m = 0; m < 5; m++) Xor.xorInto(xor, onMembers[m].asSlice(b * BLOCK, BLOCK));
                assertEquals(-1L, xor.mismatch(zero), "parity of member block " + b);
            }
            // Stripes 0-3 of 5 left-symmetric members have their parity on members 4, 3, 2, 1: those logs were written.
            for (int m = 1; m < 5; m++) assertTrue(new MdPpl().wrap(read(areas.get(m), 0, 1)).checksumValid(), "member " + m + " PPL header");
            assertTrue(volume.counter(Raid5Volume.REMOTE_LOCKS) > 0, "steps asked a remote owner");
        } finally {
            for (Reactor r : reactors) r.close();
        }
    }

    private void write(BlockDevice device, long lba, MemorySegment data) {
        BlockChannel c = device.openChannel(reactor);
        ConformanceHarness h = new ConformanceHarness(reactor, c);
        assertEquals(Status.OK, h.write(lba, (int) (data.byteSize() / BLOCK), data));
        assertEquals(Status.OK, h.flush());
        c.close();
    }

    /**
     * Recovery lets the newest entry covering a row decide it. Basalt's growing io_unit keeps the entries of steps
     * already done: stripe 0 row 0 has entry A (data chunk 1 written, partial parity = chunk 0 as it was then, W) and
     * a later entry B (chunk 0 written with X, partial parity = chunk 1). Chunk 0's member is missing at recovery, so
     * B is skipped; A must not be applied in its place (its partial parity predates B), or the missing chunk would
     * be rebuilt as W although X was written and flushed. (Found by the model test.)
     */
    @Test
    void recoveryLetsTheNewestEntryOfARowDecideItWhenThatEntryIsSkipped() throws Exception {
        Raid5Layout layout = new Raid5Layout(Raid5Algorithm.LEFT_SYMMETRIC, 3, BLOCK / 512);
        List<BlockDevice> members = new ArrayList<>(), areas = new ArrayList<>();
        for (int m = 0; m < 3; m++) {
            members.add(new MemoryBlockDevice("d" + m, 16L * BLOCK, BLOCK));
            areas.add(new MemoryBlockDevice("p" + m, 8L * BLOCK, BLOCK));
        }
        int parity = layout.parityDisk(0), disk0 = layout.dataDisk(0, 0), disk1 = layout.dataDisk(0, 1);
        MemorySegment w = fixture.arena().allocate(BLOCK, BLOCK), x = fixture.arena().allocate(BLOCK, BLOCK), y = fixture.arena().allocate(BLOCK, BLOCK);
        fill(w, 0, BLOCK, 1);
        fill(x, 0, BLOCK, 2);
        fill(y, 0, BLOCK, 3);
        MemorySegment p = fixture.arena().allocate(BLOCK, BLOCK);
        MemorySegment.copy(x, 0, p, 0, BLOCK);
        Xor.xorInto(p, y);
        write(members.get(disk0), 0, x); // what B wrote, flushed
        write(members.get(disk1), 0, y); // what A wrote
        write(members.get(parity), 0, p); // consistent
        MemorySegment area = fixture.arena().allocate(MdPpl.HEADER_BYTES + 2L * BLOCK, BLOCK);
        MemorySegment.copy(w, 0, area, MdPpl.HEADER_BYTES, BLOCK); // A's partial parity: chunk 0 before B
        MemorySegment.copy(y, 0, area, MdPpl.HEADER_BYTES + BLOCK, BLOCK); // B's: chunk 1
        MdPpl header = new MdPpl().wrap(area.asSlice(0, MdPpl.HEADER_BYTES)).reset(SIGNATURE).generation(1).entriesCount(2);
        header.entry(0, 1L * (BLOCK / 512), BLOCK, BLOCK, parity, MdPpl.crc32c(w)); // A: array sector of chunk 1
        header.entry(1, 0, BLOCK, BLOCK, parity, MdPpl.crc32c(y)); // B: chunk 0
        header.seal(new CRC32C(), area.asSlice(0, MdPpl.HEADER_BYTES).asByteBuffer());
        write(areas.get(parity), 0, area);
        List<BlockDevice> present = new ArrayList<>(members), presentAreas = new ArrayList<>(areas);
        present.set(disk0, null);
        presentAreas.set(disk0, null);
        PplRecovery.Result r = PplRecovery.recover(reactor, present, presentAreas, layout, SIGNATURE);
        assertEquals(1, r.entriesSkipped(), "B skipped: its written member is missing");
        MemorySegment rebuilt = read(members.get(parity), 0, 1);
        Xor.xorInto(rebuilt, read(members.get(disk1), 0, 1));
        assertEquals(-1L, rebuilt.mismatch(x), "the missing chunk rebuilds as X, what B wrote");
    }
}
