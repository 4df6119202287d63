package io.basalt.raid.md;

import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.raid.md.MdFormatException.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MdSuperblockTest {
    private final MdTestSupport t = new MdTestSupport();

    @AfterEach
    void close() {
        t.close();
    }

    @Test
    void roundTripThroughAMemoryDevice() {
        for (int level : new int[] {0, 1, 5}) {
            MdArraySpec spec = MdTestSupport.spec(level, 4, level != 0, level);
            try (MemoryBlockDevice d = t.device("m" + level, MdTestSupport.MEMBER_BYTES)) {
                MdSuperblock written = t.writeMember(d, spec, 2);
                MdMember member = MdMember.read(t.reactor, d);
                assertTrue(member.valid(), () -> member.toString());
                MdSuperblock sb = member.superblock();
                assertEquals(MdSuperblock.MD_SB_MAGIC, sb.magic());
                assertEquals(1, sb.majorVersion());
                assertArrayEquals(spec.setUuid(), sb.setUuid());
                assertEquals("basalt:vol0", sb.setName());
                assertEquals(level, sb.level());
                assertEquals(level == 5 ? 2 : 0, sb.layout());
                assertEquals(4, sb.raidDisks());
                assertEquals(2, sb.devNumber());
                assertEquals(2, sb.role());
                assertArrayEquals(MdTestSupport.deviceUuid(2), sb.deviceUuid());
                assertEquals(8, sb.superOffsetSectors());
                assertEquals(spec.dataOffsetSectors(), sb.dataOffsetSectors());
                assertEquals(MdTestSupport.MEMBER_SECTORS - spec.dataOffsetSectors(), sb.dataSizeSectors());
                assertEquals(MdSuperblock.MAX_SECTOR, sb.resyncOffsetSectors());
                assertTrue(sb.clean());
                assertEquals(level != 0, sb.hasBitmap());
                assertEquals(written.sbCsum(), sb.sbCsum(), "checksum survives the trip");
                assertEquals(sb.sbCsum(), sb.computeChecksum(), "checksum stable on recompute");
                assertEquals(MdSuperblock.ROLE_SPARE, sb.devRole(4), "roles past max_dev are left 0xffff as mdadm does");
            }
        }
    }

    @Test
    void mdadmDataOffsets() {
        // 64 MiB members: raid1 gets 1 MiB (headroom 64 KiB), 512 KiB chunks keep 1 MiB headroom -> 2 MiB.
        assertEquals(2048, MdArraySpec.mdadmDataOffsetSectors(MdTestSupport.MEMBER_SECTORS, 0));
        assertEquals(4096, MdArraySpec.mdadmDataOffsetSectors(MdTestSupport.MEMBER_SECTORS, 1024));
        // 1 TiB members: 128 MiB headroom + 128 KiB bitmap space + 12 KiB, rounded up to 1 MiB -> 129 MiB.
        long tib = (1L << 40) / 512;
        assertEquals(129 * 2048, MdArraySpec.mdadmDataOffsetSectors(tib, 1024));
        assertEquals(256, MdArraySpec.mdadmBitmapSpaceSectors(tib));
        assertEquals(8, MdArraySpec.mdadmBitmapSpaceSectors(MdTestSupport.MEMBER_SECTORS));
        assertEquals(128, MdArraySpec.mdadmBitmapSpaceSectors(16L << 21));
        assertEquals(0, MdArraySpec.mdadmBitmapSpaceSectors(100));
    }

    @Test
    void checksumIsCarryFoldedSumOfLittleEndianWords() {
        MemorySegment buffer = MemorySegment.ofArray(new byte[4096]);
        MdSuperblock sb = new MdSuperblock().wrap(buffer);
        for (int o = 0; o < 256; o += 4) buffer.set(MdSuperblock.LE32, o, 0xffff_ffff);
        sb.maxDev(3);
        sb.devRole(0, 0xffff).devRole(1, 0xffff).devRole(2, 0x1234);
        // Words: 62 x 0xffffffff (all but sb_csum and max_dev), max_dev 3, roles word 0xffffffff, tail u16 0x1234.
        long sum = 63L * 0xffff_ffffL + 3 + 0x1234;
        int expected = (int) ((sum & 0xffff_ffffL) + (sum >>> 32));
        assertEquals(expected, sb.computeChecksum());
        sb.sbCsum(0x5555_5555);
        assertEquals(expected, sb.computeChecksum(), "sb_csum itself is not summed");
    }

    /** Our checksum against a C function written from md.c's calc_sb_1_csum, compiled by gcc, on random superblocks. */
    @Test
    void checksumMatchesTheKernelAlgorithmInC() throws Exception {
        Path dir = Path.of(getClass().getProtectionDomain().getCodeSource().getLocation().toURI()).getParent().resolve("md-csum");
        Files.createDirectories(dir);
        SplittableRandom random = new SplittableRandom(42);
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            byte[] raw = new byte[4096];
            random.nextBytes(raw);
            MdSuperblock sb = new MdSuperblock().wrap(MemorySegment.ofArray(raw));
            sb.maxDev(i == 0 ? 0 : i == 1 ? 1920 : random.nextInt(1921));
            Files.write(dir.resolve("sb" + i), raw);
            expected.append(Integer.toUnsignedString(sb.computeChecksum())).append('\n');
        }
        Files.writeString(dir.resolve("csum.c"), """
                #include <stdio.h>
                #include <string.h>
                #include <endian.h>
                #include <linux/raid/md_p.h>
                static unsigned int csum(struct mdp_superblock_1 *sb) {
                    unsigned long long total = 0;
                    int size = 256 + le32toh(sb->max_dev) * 2;
                    unsigned int saved = sb->sb_csum, *word = (unsigned int *) sb;
                    sb->sb_csum = 0;
                    for (; size >= 4; size -= 4) total += le32toh(*word++);
                    if (size == 2) total += le16toh(*(unsigned short *) word);
                    sb->sb_csum = saved;
                    return (unsigned int) ((total & 0xffffffff) + (total >> 32));
                }
                int main(int argc, char **argv) {
                    for (int i = 1; i < argc; i++) {
                        static unsigned char buf[4096];
                        FILE *f = fopen(argv[i], "rb");
                        if (!f || fread(buf, 1, sizeof buf, f) != sizeof buf) return 1;
                        fclose(f);
                        printf("%u\\n", csum((struct mdp_superblock_1 *) buf));
                    }
                    return 0;
                }
                """);
        run(dir, "gcc", "-std=gnu11", "-O1", "-Wall", "-Werror", "-o", "csum", "csum.c");
        String[] args = new String[9];
        args[0] = dir.resolve("csum").toString();
        for (int i = 0; i < 8; i++) args[i + 1] = dir.resolve("sb" + i).toString();
        assertEquals(expected.toString(), run(dir, args));
    }

    private static String run(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    // ------------------------------------------------------------------ corruption, one field at a time

    private MdSuperblock fresh() {
        MemorySegment buffer = MemorySegment.ofArray(new byte[4096]);
        return MdTestSupport.spec(5, 4, true, 7).writeSuperblock(buffer, 1, MdTestSupport.deviceUuid(1), MdTestSupport.CTIME);
    }

    private void rejects(Reason reason, boolean fixChecksum, Consumer<MdSuperblock> corrupt) {
        MdSuperblock sb = fresh();
        corrupt.accept(sb);
        if (fixChecksum) sb.updateChecksum();
        MdFormatException e = assertThrows(MdFormatException.class, () -> sb.validate(MdTestSupport.MEMBER_SECTORS));
        assertEquals(reason, e.reason(), e.getMessage());
    }

    @Test
    void freshSuperblockValidates() throws MdFormatException {
        fresh().validate(MdTestSupport.MEMBER_SECTORS);
    }

    @Test
    void corruptionIsRefusedWithTheRightReason() {
        rejects(Reason.BAD_MAGIC, true, sb -> sb.magic(0x12345678));
        rejects(Reason.BAD_MAGIC, false, sb -> sb.segment().fill((byte) 0));
        rejects(Reason.BAD_VERSION, true, sb -> sb.majorVersion(2));
        rejects(Reason.MAX_DEV_TOO_LARGE, true, sb -> sb.maxDev(1921));
        rejects(Reason.BAD_CHECKSUM, false, sb -> sb.events(sb.events() + 1));
        rejects(Reason.BAD_CHECKSUM, false, sb -> sb.devRole(3, 0xfffe));
        rejects(Reason.BAD_CHECKSUM, false, sb -> sb.sbCsum(sb.sbCsum() ^ 1));
        rejects(Reason.RESERVED_NOT_ZERO, true, sb -> sb.segment().set(ValueLayout.JAVA_BYTE, MdSuperblock.PAD0_OFFSET, (byte) 1));
        rejects(Reason.RESERVED_NOT_ZERO, true, sb -> sb.segment().set(ValueLayout.JAVA_BYTE, MdSuperblock.PAD3_OFFSET + 31, (byte) 1));
        rejects(Reason.UNSUPPORTED_FEATURE, true, sb -> sb.featureMap(sb.featureMap() | MdSuperblock.MD_FEATURE_RESHAPE_ACTIVE));
        rejects(Reason.UNSUPPORTED_FEATURE, true, sb -> sb.featureMap(sb.featureMap() | MdSuperblock.MD_FEATURE_PPL));
        rejects(Reason.UNSUPPORTED_FEATURE, true, sb -> sb.featureMap(sb.featureMap() | MdSuperblock.MD_FEATURE_JOURNAL));
        rejects(Reason.UNSUPPORTED_FEATURE, true, sb -> sb.featureMap(sb.featureMap() | (1 << 20)));
        rejects(Reason.OFFSET_OUTSIDE_DEVICE, true, sb -> sb.superOffsetSectors(0));
        rejects(Reason.OFFSET_OUTSIDE_DEVICE, true, sb -> sb.dataOffsetSectors(8));
        rejects(Reason.OFFSET_OUTSIDE_DEVICE, true, sb -> sb.dataSizeSectors(sb.dataSizeSectors() + 1));
        rejects(Reason.OFFSET_OUTSIDE_DEVICE, true, sb -> sb.dataOffsetSectors(Long.MAX_VALUE));
        rejects(Reason.OFFSET_OUTSIDE_DEVICE, true, sb -> sb.bitmapOffsetSectors(-8));
        rejects(Reason.OFFSET_OUTSIDE_DEVICE, true, sb -> sb.bitmapOffsetSectors((int) sb.dataOffsetSectors()));
        rejects(Reason.OFFSET_OUTSIDE_DEVICE, true, sb -> sb.bblogOffsetSectors((int) sb.dataOffsetSectors()));
        rejects(Reason.UNSUPPORTED_LEVEL, true, sb -> sb.level(6));
        rejects(Reason.UNSUPPORTED_LEVEL, true, sb -> sb.level(-1));
        rejects(Reason.UNSUPPORTED_LAYOUT, true, sb -> sb.layout(4));
        rejects(Reason.BAD_GEOMETRY, true, sb -> sb.raidDisks(0));
        rejects(Reason.BAD_GEOMETRY, true, sb -> sb.raidDisks(5));
        rejects(Reason.BAD_GEOMETRY, true, sb -> sb.chunkSectors(1000));
        rejects(Reason.BAD_GEOMETRY, true, sb -> sb.chunkSectors(4));
        rejects(Reason.BAD_GEOMETRY, true, sb -> sb.sizeSectors(sb.dataSizeSectors() + 1024));
        rejects(Reason.BAD_GEOMETRY, true, sb -> sb.sizeSectors(0));
        rejects(Reason.BAD_GEOMETRY, true, sb -> sb.devRole(2, 7));
        rejects(Reason.BAD_DEV_NUMBER, true, sb -> sb.devNumber(4));
    }

    /** mdadm 4.2 --create --level=0 leaves size 0 (md's raid0 ignores it): valid, and the used size is data_size by chunks. */
    @Test
    void raid0WithSizeZeroAsMdadmWritesItValidates() throws MdFormatException {
        MemorySegment buffer = MemorySegment.ofArray(new byte[4096]);
        MdSuperblock sb = MdTestSupport.spec(0, 2, false, 7).writeSuperblock(buffer, 1, MdTestSupport.deviceUuid(1), MdTestSupport.CTIME);
        assertEquals(8, sb.bblogOffsetSectors(), "raid0: no bitmap space, the bad block log right after the superblock");
        assertEquals(16, MdTestSupport.spec(5, 3, false, 7).writeSuperblock(MemorySegment.ofArray(new byte[4096]), 0,
                MdTestSupport.deviceUuid(1), MdTestSupport.CTIME).bblogOffsetSectors(), "raid5: after the bitmap space");
        long expected = sb.sizeSectors();
        sb.sizeSectors(0).updateChecksum();
        sb.validate(MdTestSupport.MEMBER_SECTORS);
        assertEquals(sb.dataSizeSectors() - sb.dataSizeSectors() % sb.chunkSectors(), sb.usedSectors());
        assertEquals(expected, sb.usedSectors());
        sb.level(1).chunkSectors(0).updateChecksum();
        MdFormatException e = assertThrows(MdFormatException.class, () -> sb.validate(MdTestSupport.MEMBER_SECTORS));
        assertEquals(Reason.BAD_GEOMETRY, e.reason(), e.getMessage());
    }

    @Test
    void everyBitFlipInTheChecksummedRangeIsCaught() {
        MdSuperblock sb = fresh();
        int checked = MdSuperblock.SIZE + 2 * (int) sb.maxDev();
        for (int bit = 0; bit < checked * 8; bit++) {
            int at = bit / 8;
            if (at >= MdSuperblock.SB_CSUM_OFFSET && at < MdSuperblock.SB_CSUM_OFFSET + 4) continue;
            byte old = sb.segment().get(ValueLayout.JAVA_BYTE, at);
            sb.segment().set(ValueLayout.JAVA_BYTE, at, (byte) (old ^ (1 << (bit % 8))));
            assertTrue(sb.sbCsum() != sb.computeChecksum(), "bit " + bit + " flip not caught");
            sb.segment().set(ValueLayout.JAVA_BYTE, at, old);
        }
    }

    @Test
    void tooSmallDeviceIsUnreadableNotAnException() {
        try (MemoryBlockDevice d = t.device("tiny", 4096)) {
            MdMember m = MdMember.read(t.reactor, d);
            assertEquals(Reason.IO_ERROR, m.error().reason());
        }
    }

    @Test
    void blankDeviceHasBadMagic() {
        try (MemoryBlockDevice d = t.device("blank", 1 << 20)) {
            assertEquals(Reason.BAD_MAGIC, MdMember.read(t.reactor, d).error().reason());
        }
    }
}
