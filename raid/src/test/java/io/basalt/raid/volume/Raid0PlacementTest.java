package io.basalt.raid.volume;

import io.basalt.engine.fixtures.ReactorFixture;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.engine.conformance.ConformanceHarness;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;

import static io.basalt.engine.conformance.ConformanceHarness.blockMatches;
import static io.basalt.engine.conformance.ConformanceHarness.fill;
import static org.junit.jupiter.api.Assertions.*;

/** Where raid0 puts blocks (md's mapping), its geometry, and splits checked against a reference. */
class Raid0PlacementTest {
    private static final int BLOCK = 4096;
    private static final long SEED = 0xC0FFEE;
    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.handDriven("placement");
    private Reactor reactor;

    @BeforeEach
    void start() {
        reactor = fixture.reactor();
    }

    private static List<BlockDevice> members(int count, String size) {
        return TestVolumes.memories(count, size);
    }

    @Test
    void everyBlockLandsWhereMdRaid0PutsIt() {
        for (int n : new int[] {2, 3, 4}) {
            try (Raid0Volume volume = new Raid0Volume("r0", members(n, "256K"), 16 * 1024)) {
                BlockChannel channel = volume.openChannel(reactor);
                ConformanceHarness io = new ConformanceHarness(reactor, channel);
                long blocks = volume.geometry().blockCount();
                assertEquals(n * 64L, blocks);
                MemorySegment all = fixture.buffer(blocks);
                fill(all, 0, BLOCK, SEED + n);
                assertEquals(Status.OK, io.write(0, (int) blocks, all));
                int chunk = volume.chunkBlocks();
                for (int m = 0; m < n; m++) {
                    BlockChannel direct = volume.member(m).openChannel(reactor);
                    ConformanceHarness memberIo = new ConformanceHarness(reactor, direct);
                    MemorySegment onMember = fixture.buffer(volume.memberBlocksUsed());
                    assertEquals(Status.OK, memberIo.read(0, (int) volume.memberBlocksUsed(), onMember));
                    for (long mb = 0; mb < volume.memberBlocksUsed(); mb++) {
                        long volumeChunk = mb / chunk * n + m; // member = chunk mod N, offset = (chunk / N) * chunk + within
                        long lba = volumeChunk * chunk + mb % chunk;
                        assertEquals(m, volume.memberOf(lba));
                        assertEquals(mb, volume.memberLbaOf(lba));
                        assertTrue(blockMatches(onMember, (int) mb, lba, BLOCK, SEED + n), n + " members: member " + m + " block " + mb);
                    }
                    direct.close();
                }
                channel.close();
                io.drain();
            }
        }
    }

    @Test
    void geometryFollowsTheSmallestMemberInWholeChunks() {
        List<BlockDevice> members = List.of(DeviceSpec.open("a", "memory:1M"), DeviceSpec.open("b", "memory:1040K"),
                DeviceSpec.open("c", "memory:2M"));
        try (Raid0Volume volume = new Raid0Volume("r0", members, 64 * 1024)) {
            assertEquals(16, volume.chunkBlocks());
            assertEquals(256, volume.memberBlocksUsed());
            assertEquals(768, volume.geometry().blockCount());
            assertEquals(48, volume.geometry().optimalTransferBlocks(), "a full stripe");
            assertTrue(volume.geometry().maxTransferBlocks() >= 48);
        }
        try (Raid0Volume volume = new Raid0Volume("r0", List.of(DeviceSpec.open("a", "memory:400K"), DeviceSpec.open("b", "memory:400K")), 64 * 1024)) {
            assertEquals(96, volume.memberBlocksUsed(), "100 blocks rounded down to whole 16-block chunks");
        }
        try (Raid0Volume volume = new Raid0Volume("r0", members(2, "4M"))) {
            assertEquals(Raid0Volume.DEFAULT_CHUNK_BYTES / BLOCK, volume.chunkBlocks());
            assertEquals(2 * Raid0Volume.DEFAULT_CHUNK_BYTES / BLOCK, volume.geometry().optimalTransferBlocks(), "two chunks: a full stripe");
        }
    }

    @Test
    void badMemberSetsAreRefusedClearly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                new Raid0Volume("r0", List.of(DeviceSpec.open("a", "memory:1M"), DeviceSpec.open("b", "memory:1M,block=512"))));
        assertTrue(e.getMessage().contains("block size"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Raid0Volume("r0", members(1, "1M")));
        assertThrows(IllegalArgumentException.class, () -> new Raid0Volume("r0", members(2, "1M"), 1000));
        assertThrows(IllegalArgumentException.class, () -> new Raid0Volume("r0", members(2, "32K"), 64 * 1024), "no whole chunk");
    }

    /** Random writes, vectored writes with odd segments, write-zeroes and discards against a reference copy. */
    @Test
    void randomSplitsMatchAReference() {
        try (Raid0Volume volume = new Raid0Volume("r0", members(3, "512K"), 8 * 1024)) {
            BlockChannel channel = volume.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            int blocks = (int) volume.geometry().blockCount();
            MemorySegment reference = fixture.buffer(blocks);
            fill(reference, 0, BLOCK, SEED);
            assertEquals(Status.OK, io.write(0, blocks, reference));
            SplittableRandom random = new SplittableRandom(SEED);
            IoVector vector = new IoVector(volume.geometry().maxSegments());
            for (int round = 0; round < 300; round++) {
                int count = 1 + random.nextInt(24);
                int lba = random.nextInt(blocks - count + 1);
                int kind = random.nextInt(4);
                if (kind == 0 || kind == 1) {
                    MemorySegment data = fixture.buffer(count);
                    fill(data, lba, BLOCK, SEED + round);
                    if (kind == 0) {
                        assertEquals(Status.OK, io.write(lba, count, data));
                    } else {
                        vector.clear();
                        for (int done = 0; done < count; ) {
                            int part = 1 + random.nextInt(count - done);
                            vector.add(data.asSlice((long) done * BLOCK, (long) part * BLOCK));
                            done += part;
                        }
                        assertEquals(Status.OK, io.writev(lba, count, vector));
                    }
                    MemorySegment.copy(data, 0, reference, (long) lba * BLOCK, data.byteSize());
                } else {
                    assertEquals(Status.OK, kind == 2 ? io.writeZeroes(lba, count) : io.discard(lba, count));
                    reference.asSlice((long) lba * BLOCK, (long) count * BLOCK).fill((byte) 0); // memory discards zero
                }
            }
            MemorySegment back = fixture.buffer(blocks);
            assertEquals(Status.OK, io.read(0, blocks, back));
            assertEquals(-1, back.mismatch(reference), "volume differs from the reference");
            vector.clear();
            MemorySegment a = fixture.buffer(5), b = fixture.buffer(blocks - 5);
            vector.add(a);
            vector.add(b);
            assertEquals(Status.OK, io.readv(0, blocks, vector));
            assertEquals(-1, a.mismatch(reference.asSlice(0, a.byteSize())));
            assertEquals(-1, b.mismatch(reference.asSlice(a.byteSize())));
            channel.close();
        }
    }

    @Test
    void aFailingMemberFailsTheRequestsThatTouchIt() {
        List<BlockDevice> members = List.of(DeviceSpec.open("a", "memory:1M"),
                DeviceSpec.open("b", "fault:memory:1M,fault_seed=3,fault_write_error=1.0"));
        try (Raid0Volume volume = new Raid0Volume("r0", members, 16 * 1024)) {
            BlockChannel channel = volume.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            MemorySegment data = fixture.buffer(8);
            assertEquals(Status.OK, io.write(0, 4, data.asSlice(0, 4L * BLOCK)), "chunk 0 is on the healthy member");
            assertEquals(Status.IO_ERROR, io.write(4, 4, data.asSlice(0, 4L * BLOCK)), "chunk 1 is on the failing one");
            assertEquals(Status.IO_ERROR, io.write(2, 8, data), "a request across both fails");
            assertEquals(Status.OK, io.read(0, 8, data), "reads still work");
            channel.close();
        }
    }

    /**
     * One-block chunks make a 1500-block write 750 pieces per member; two of them overrun a memory member's
     * queue depth (1024), so the second is partly refused by the members and must finish from the retry list.
     */
    @Test
    void piecesRefusedByABusyMemberAreRetried() {
        try (Raid0Volume volume = new Raid0Volume("r0", members(2, "16M"), BLOCK)) {
            BlockChannel channel = volume.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            int count = 1500;
            MemorySegment first = fixture.buffer(count), second = fixture.buffer(count);
            fill(first, 0, BLOCK, SEED + 1);
            fill(second, count, BLOCK, SEED + 2);
            assertTrue(io.submitWrite(0, 0, count, first));
            assertTrue(io.submitWrite(1, count, count, second), "partly accepted: taken, the rest retried");
            assertFalse(io.submitWrite(2, 2 * count, 1, fixture.buffer(1)), "members full: refused as busy, nothing happened");
            assertEquals(Status.OK, io.await(0));
            assertEquals(Status.OK, io.await(1));
            MemorySegment back = fixture.buffer(count);
            assertEquals(Status.OK, io.read(0, count, back));
            assertEquals(-1, ConformanceHarness.firstMismatch(back, 0, BLOCK, SEED + 1));
            assertEquals(Status.OK, io.read(count, count, back));
            assertEquals(-1, ConformanceHarness.firstMismatch(back, count, BLOCK, SEED + 2));
            channel.close();
        }
    }
}
