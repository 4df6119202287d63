package io.basalt.raid.md;

import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.raid.md.MdFormatException.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PPL header and its checksums against md's definitions: a C program fills {@code struct ppl_header} of
 * {@code <linux/raid/md_p.h>} field by field and computes md's checksums with a bitwise crc32c_le (the kernel's
 * lib/crc32 semantics: raw state in and out, polynomial 0x82f63b78), as raid5-ppl.c uses it:
 * {@code ~crc32c_le(~0, ...)}. The Java flyweight must produce the same 4 KiB, byte for byte, and the same numbers.
 */
class MdPplTest {
    private final MdTestSupport t = new MdTestSupport();

    @AfterEach
    void close() {
        t.close();
    }

    private static final String SOURCE = """
            #include <stdio.h>
            #include <string.h>
            #include <linux/types.h>
            #include <linux/raid/md_p.h>

            static __u32 crc32c_le(__u32 crc, const unsigned char *p, size_t len) {
                while (len--) {
                    crc ^= *p++;
                    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82f63b78u & -(crc & 1));
                }
                return crc;
            }

            int main(void) {
                unsigned char uuid[16], pp[8192];
                for (int i = 0; i < 16; i++) uuid[i] = (unsigned char) (i * 17 + 3);
                for (int i = 0; i < 8192; i++) pp[i] = (unsigned char) (i * 31 + 7);
                static union { struct ppl_header h; unsigned char raw[PPL_HEADER_SIZE]; } u;
                memset(&u, 0, sizeof(u));
                memset(u.h.reserved, 0xff, PPL_HDR_RESERVED);
                u.h.signature = ~crc32c_le(~0u, uuid, 16);
                u.h.generation = 0x123456789aULL;
                u.h.entries_count = 2;
                u.h.entries[0].data_sector = 4096 + 8;
                u.h.entries[0].pp_size = 8192;
                u.h.entries[0].data_size = 16384;
                u.h.entries[0].parity_disk = 3;
                u.h.entries[0].checksum = ~crc32c_le(~0u, pp, 8192);
                u.h.entries[1].data_sector = 1ULL << 33;
                u.h.entries[1].pp_size = 0;
                u.h.entries[1].data_size = 3 * 65536;
                u.h.entries[1].parity_disk = 1;
                u.h.entries[1].checksum = ~crc32c_le(~0u, pp, 0);
                u.h.checksum = 0;
                u.h.checksum = ~crc32c_le(~0u, u.raw, PPL_HEADER_SIZE);
                printf("%u %u %u\\n", u.h.signature, u.h.entries[0].checksum, u.h.checksum);
                fwrite(u.raw, 1, PPL_HEADER_SIZE, stdout);
                return 0;
            }
            """;

    @Test
    void headerAndChecksumsMatchMdAsGccBuildsThem() throws Exception {
        Path dir = Path.of(MdPplTest.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getParent().resolve("md-ppl");
        Files.createDirectories(dir);
        Path source = dir.resolve("md_ppl.c");
        Path binary = dir.resolve("md_ppl");
        Files.writeString(source, SOURCE);
        run(dir, "gcc", "-std=gnu11", "-Wall", "-Werror", "-o", binary.toString(), source.toString());
        byte[] out = run(dir, binary.toString());
        int newline = 0;
        while (out[newline] != '\n') newline++;
        String[] numbers = new String(out, 0, newline, StandardCharsets.US_ASCII).split(" ");
        byte[] cHeader = java.util.Arrays.copyOfRange(out, newline + 1, out.length);
        assertEquals(MdPpl.HEADER_BYTES, cHeader.length);

        byte[] uuid = new byte[16];
        for (int i = 0; i < 16; i++) uuid[i] = (byte) (i * 17 + 3);
        byte[] pp = new byte[8192];
        for (int i = 0; i < pp.length; i++) pp[i] = (byte) (i * 31 + 7);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment header = arena.allocate(MdPpl.HEADER_BYTES, 4096);
            MdPpl ppl = new MdPpl().wrap(header).reset(MdPpl.signature(uuid)).generation(0x123456789aL).entriesCount(2);
            int ppChecksum = MdPpl.crc32c(MemorySegment.ofArray(pp));
            ppl.entry(0, 4096 + 8, 8192, 16384, 3, ppChecksum).entry(1, 1L << 33, 0, 3 * 65536, 1, 0);
            ppl.seal(new CRC32C(), header.asByteBuffer());
            assertEquals(Long.parseLong(numbers[0]), ppl.signature(), "signature = ~crc32c_le(~0, uuid, 16)");
            assertEquals(Long.parseLong(numbers[1]), ppl.entryChecksum(0), "entry checksum over its partial parity");
            assertEquals(Long.parseLong(numbers[2]), ppl.checksum(), "header checksum over 4 KiB with the field 0");
            assertEquals(-1L, MemorySegment.ofArray(cHeader).mismatch(header), "the same 4 KiB as struct ppl_header (no mismatch)");
            assertTrue(ppl.checksumValid());
            header.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 600, (byte) 1);
            assertFalse(ppl.checksumValid(), "a flipped byte breaks the header checksum");
        }
    }

    @Test
    void crc32cKnownAnswer() {
        assertEquals(0xe3069283, MdPpl.crc32c(MemorySegment.ofArray("123456789".getBytes(StandardCharsets.US_ASCII))),
                "the CRC-32C check value (RFC 3720 / iSCSI)");
    }

    @Test
    void createPplPlacesTheAreaAsMdadm() {
        MdArraySpec spec = MdArraySpec.createPpl("basalt:p", MdSuperblock.ALGORITHM_LEFT_SYMMETRIC, MdArraySpec.DEFAULT_CHUNK_SECTORS,
                4, MdTestSupport.MEMBER_SECTORS, MdTestSupport.CTIME, new SplittableRandom(3));
        assertEquals(MdPpl.AREA_SECTORS_MDADM, spec.pplSectors());
        assertEquals(0, spec.bitmapSectors());
        assertEquals(MdArraySpec.mdadmDataOffsetSectors(MdTestSupport.MEMBER_SECTORS, 1024, 2048), spec.dataOffsetSectors());
        try (MemoryBlockDevice d = t.device("p", MdTestSupport.MEMBER_BYTES)) {
            t.writeMember(d, spec, 1);
            MdMember member = MdMember.read(t.reactor, d);
            assertTrue(member.valid(), member::toString);
            MdSuperblock sb = member.superblock();
            assertEquals(MdSuperblock.MD_FEATURE_PPL, sb.featureMap(), "PPL only: no bitmap");
            assertEquals(8, sb.pplOffsetSectors(), "ppl.offset: right after the 4 KiB superblock");
            assertEquals(2048, sb.pplSizeSectors(), "ppl.size: mdadm's MULTIPLE_PPL_AREA_SIZE_SUPER1");
            assertEquals(16, sb.pplSector());
            assertEquals(8 + 2048, sb.bblogOffsetSectors(), "bad block log after the PPL area, as mdadm puts it");
            assertFalse(sb.isDirty());
        }
    }

    @Test
    void pplWithABitmapOrTooSmallIsRefused() {
        MdArraySpec spec = MdArraySpec.createPpl("basalt:p", MdSuperblock.ALGORITHM_LEFT_SYMMETRIC, MdArraySpec.DEFAULT_CHUNK_SECTORS,
                3, MdTestSupport.MEMBER_SECTORS, MdTestSupport.CTIME, new SplittableRandom(4));
        MemorySegment buffer = t.arena.allocate(MdSuperblock.BUFFER_BYTES, 4096);
        MdSuperblock sb = spec.writeSuperblock(buffer, 0, MdTestSupport.deviceUuid(0), 1);
        sb.featureMap(MdSuperblock.MD_FEATURE_PPL | MdSuperblock.MD_FEATURE_BITMAP_OFFSET).updateChecksum();
        MdFormatException both = assertThrows(MdFormatException.class, () -> sb.validate(MdTestSupport.MEMBER_SECTORS));
        assertEquals(Reason.UNSUPPORTED_FEATURE, both.reason());
        assertTrue(both.getMessage().contains("bitmap"), both::getMessage);
        sb.featureMap(MdSuperblock.MD_FEATURE_PPL).pplSizeSectors(8).updateChecksum();
        assertEquals(Reason.BAD_GEOMETRY, assertThrows(MdFormatException.class, () -> sb.validate(MdTestSupport.MEMBER_SECTORS)).reason());
        sb.pplSizeSectors(60000).updateChecksum();
        assertEquals(Reason.OFFSET_OUTSIDE_DEVICE, assertThrows(MdFormatException.class, () -> sb.validate(MdTestSupport.MEMBER_SECTORS)).reason());
    }

    private static byte[] run(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(false).start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), command[0] + " did not finish");
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed (needs gcc and linux-libc-dev):\n" + err);
        return out;
    }
}
