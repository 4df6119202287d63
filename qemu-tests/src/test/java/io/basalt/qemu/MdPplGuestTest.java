package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import io.basalt.engine.IoCompletion;
import io.basalt.raid.md.MdArraySpec;
import io.basalt.raid.md.MdPpl;
import io.basalt.raid.md.MdSuperblock;
import io.basalt.raid.parity.ChunkAddress;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.parity.Raid5Layout;
import io.basalt.raid.volume.OffsetDevice;
import io.basalt.raid.volume.PplAreas;
import io.basalt.raid.volume.PplRecovery;
import io.basalt.raid.volume.Raid5Volume;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * md recovers a partial parity log that Basalt wrote. On the host: a raid5 of 3 member files with
 * {@link MdArraySpec#createPpl} superblocks marked active (resync_offset 0, as after a crash), written through a
 * {@link Raid5Volume} with PPL (16 MiB of full stripes, then 4 KiB writes: read-modify-writes with partial parity);
 * then the parity rows of every entry of every member's newest io_unit are overwritten with garbage, as if those
 * parity writes had not landed. In the guest, {@code mdadm --assemble} must start the array with md's PPL recovery
 * (resync_start "none": recovery succeeded, md set it clean and starts no resync), the data must hash as written,
 * and md's {@code check} must find 0 mismatches: md rebuilt the garbage parity from Basalt's partial parity.
 */
class MdPplGuestTest {
    private static final long MiB = 1L << 20;
    private static final long MEMBER_BYTES = 64 * MiB;
    private static final int BLOCK = 4096;
    private static final int CHUNK_SECTORS = 128; // 64 KiB
    private static final int PATTERN_BYTES = (int) (16 * MiB);

    @Test
    void mdRecoversParityFromAPplBasaltWrote() throws Exception {
        Path dir = GuestTests.workDir("mdPpl");
        List<String> qemuArgs = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Path f = dir.resolve("p-" + i + ".img");
            files.add(f);
            qemuArgs.addAll(List.of("-drive", "file=" + Guest.qemuEscape(f.toString()) + ",if=none,id=d" + i + ",format=raw",
                    "-device", "virtio-blk-pci,drive=d" + i));
        }
        MdArraySpec spec = MdArraySpec.createPpl("basalt:ppl", MdSuperblock.ALGORITHM_LEFT_SYMMETRIC, CHUNK_SECTORS, 3,
                MEMBER_BYTES / 512, System.currentTimeMillis() / 1000, new SplittableRandom(11));
        SplittableRandom random = new SplittableRandom(12);
        for (int i = 0; i < 3; i++) {
            try (FileChannel ch = FileChannel.open(files.get(i), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.allocate(1), MEMBER_BYTES - 1);
                byte[] sb = new byte[MdSuperblock.BUFFER_BYTES];
                byte[] deviceUuid = new byte[16];
                random.nextBytes(deviceUuid);
                spec.writeSuperblock(MemorySegment.ofArray(sb), i, deviceUuid, spec.ctimeSeconds()).resyncOffsetSectors(0).updateChecksum();
                ch.write(ByteBuffer.wrap(sb), MdSuperblock.SUPER_OFFSET_SECTORS * 512);
            }
        }
        byte[] expected = new byte[PATTERN_BYTES];
        new SplittableRandom(13).nextBytes(expected);
        int corrupted = writeThroughBasalt(spec, files, expected);
        assertTrue(corrupted > 0, "some logged parity rows were overwritten");

        String script = """
                loadmod md-mod raid456 || { echo "loadmod failed"; exit 10; }
                echo "BASALT-RESULT mdadm=$(mdadm --version 2>&1 | cut -d' ' -f3) kernel=$(uname -r)"
                mdadm --examine /dev/vda
                mdadm --assemble /dev/md0 /dev/vda /dev/vdb /dev/vdc; as=$?
                echo "BASALT-RESULT assemble=$as"
                cat /proc/mdstat
                if [ $as = 0 ]; then
                  echo "BASALT-RESULT policy=$(cat /sys/block/md0/md/consistency_policy) resync_start=$(cat /sys/block/md0/md/resync_start)"
                  echo "BASALT-RESULT sha=$(dd if=/dev/md0 bs=1M count=16 2>/dev/null | sha256sum | cut -d' ' -f1)"
                  echo check > /sys/block/md0/md/sync_action
                  i=0
                  while [ "$(cat /sys/block/md0/md/sync_action)" != idle ] && [ $i -lt 600 ]; do usleep 200000; i=$((i+1)); done
                  echo "BASALT-RESULT mismatch=$(cat /sys/block/md0/md/mismatch_cnt)"
                  mdadm --stop /dev/md0
                fi
                dmesg | grep -i 'md\\|ppl' | tail -20
                """;
        GuestResult r = Guest.builder(GuestTools.guest()).workDir(dir).qemuArgs(qemuArgs.toArray(String[]::new))
                .script(script).timeout(Duration.ofMinutes(5)).run();
        GuestTests.timing("md PPL recovery of a Basalt log", r.elapsed().toMillis());
        r.assertSuccess();
        System.out.println("[md ppl] guest mdadm " + r.markers().get("mdadm") + ", kernel " + r.markers().get("kernel")
                + ", " + corrupted + " logged parity blocks overwritten");
        assertEquals("0", r.markers().get("assemble"), "mdadm --assemble");
        assertEquals("ppl", r.markers().get("policy"), "md sees the PPL");
        assertEquals("none", r.markers().get("resync_start"), "md recovered from the PPL and marked the array clean (no resync)");
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(expected)), r.markers().get("sha"));
        assertEquals("0", r.markers().get("mismatch"), "md's check: every parity right after md's PPL recovery");
    }

    /** Writes the pattern and some 4 KiB writes through a PPL volume, then spoils the parity its last units cover. */
    private static int writeThroughBasalt(MdArraySpec spec, List<Path> files, byte[] expected) throws Exception {
        Reactor reactor = new Reactor(ReactorConfig.defaults("md-ppl-host"));
        reactor.initOnCurrentThread();
        int signature = MdPpl.signature(spec.setUuid());
        long dataBlock = spec.dataOffsetSectors() * 512 / BLOCK;
        long sizeBlocks = spec.sizeSectors() * 512 / BLOCK;
        List<BlockDevice> bases = new ArrayList<>(), slices = new ArrayList<>(), areas = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            for (int i = 0; i < 3; i++) {
                BlockDevice base = DeviceSpec.open("p" + i, "uring:" + files.get(i) + ",direct=0");
                bases.add(base);
                slices.add(new OffsetDevice("p" + i, base, dataBlock, sizeBlocks));
                areas.add(new OffsetDevice("p" + i + "/ppl", base, 16 * 512 / BLOCK, spec.pplSectors() * 512 / BLOCK));
            }
            for (BlockDevice a : areas) PplRecovery.initialize(reactor, a, signature);
            Raid5Volume volume = new Raid5Volume("ppl", slices, CHUNK_SECTORS * 512, Raid5Algorithm.LEFT_SYMMETRIC, new PplAreas(areas, signature));
            BlockChannel channel = volume.openChannel(reactor);
            MemorySegment buffer = arena.allocate(PATTERN_BYTES, BLOCK);
            MemorySegment.copy(MemorySegment.ofArray(expected), 0, buffer, 0, PATTERN_BYTES);
            for (long at = 0; at < PATTERN_BYTES; at += MiB) run(reactor, channel, at / BLOCK, (int) (MiB / BLOCK), buffer.asSlice(at, MiB));
            SplittableRandom random = new SplittableRandom(14);
            for (int w = 0; w < 40; w++) { // one at a time: each member's last unit then holds the last ones
                long lba = random.nextInt(PATTERN_BYTES / BLOCK);
                byte[] block = new byte[BLOCK];
                random.nextBytes(block);
                System.arraycopy(block, 0, expected, (int) (lba * BLOCK), BLOCK);
                MemorySegment one = arena.allocate(BLOCK, BLOCK);
                MemorySegment.copy(MemorySegment.ofArray(block), 0, one, 0, BLOCK);
                run(reactor, channel, lba, 1, one);
            }
            channel.close();
            reactor.doWork();
            for (BlockDevice b : bases) b.close();
        } finally {
            reactor.close();
        }
        return spoilLoggedParity(spec, files);
    }

    private static void run(Reactor reactor, BlockChannel channel, long lba, int blocks, MemorySegment buffer) {
        int[] status = {-1};
        IoCompletion done = (tag, s) -> status[0] = s;
        while (!channel.write(lba, blocks, buffer, 0, done)) reactor.doWork();
        while (status[0] < 0) reactor.doWork();
        assertEquals(Status.OK, status[0], "write at " + lba);
    }

    /** For every entry of every member's newest io_unit: the parity blocks of its rows become garbage. */
    private static int spoilLoggedParity(MdArraySpec spec, List<Path> files) throws Exception {
        Raid5Layout layout = new Raid5Layout(Raid5Algorithm.LEFT_SYMMETRIC, 3, CHUNK_SECTORS);
        ChunkAddress at = new ChunkAddress();
        int spoiled = 0;
        for (int m = 0; m < 3; m++) {
            ByteBuffer raw = ByteBuffer.allocate(MdPpl.HEADER_BYTES);
            try (FileChannel ch = FileChannel.open(files.get(m), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ch.read(raw, 16 * 512);
                MdPpl header = new MdPpl().wrap(MemorySegment.ofArray(raw.array()));
                assertTrue(header.checksumValid(), "member " + m + " PPL header");
                for (int e = 0; e < header.entriesCount(); e++) {
                    long first = header.dataSector(e);
                    long rows = header.ppSize(e) > 0 ? header.ppSize(e) / 512 : header.dataSize(e) / 512 / 2;
                    for (long s = 0; s < rows; s += BLOCK / 512) {
                        layout.map(first + s, at);
                        assertEquals(m, at.parityDisk(), "the entry's parity is on the log's member");
                        byte[] garbage = new byte[BLOCK];
                        new SplittableRandom(first + s).nextBytes(garbage);
                        ch.write(ByteBuffer.wrap(garbage), (spec.dataOffsetSectors() + at.diskSector()) * 512);
                        spoiled++;
                    }
                }
            }
        }
        return spoiled;
    }
}
