package io.basalt.bench;

import io.basalt.engine.BlockDevice;
import io.basalt.raid.volume.Raid0Volume;
import io.basalt.raid.volume.Raid1Volume;
import io.basalt.raid.volume.Raid5Volume;
import io.basalt.raid.volume.RaidDefaults;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Volume specs for {@code basalt bench --target}: the parser's good and bad inputs, and the volumes they open. */
class VolumeSpecTest {
    @Test
    void parsesLevelOptionsAndMembersWhoseCommasAndColonsStayTheirs() {
        VolumeSpec spec = VolumeSpec.parse("raid5,chunk=16k,layout=right-asymmetric,consistency=resync(uring:/tmp/a,direct=0,size=1G;memory:64M;null:1G)");
        assertEquals(io.basalt.raid.volume.RaidLevel.RAID5, spec.level());
        assertEquals(List.of("uring:/tmp/a,direct=0,size=1G", "memory:64M", "null:1G"), spec.members());
        assertEquals(16 * 1024, spec.chunkBytes());
        assertEquals("RIGHT_ASYMMETRIC", spec.algorithm().name());
        assertEquals(io.basalt.raid.volume.Consistency.RESYNC, spec.consistency());
        assertEquals(RaidDefaults.CHUNK_BYTES, VolumeSpec.parse("raid0(memory:1M;memory:1M)").chunkBytes(), "the one default");
    }

    @Test
    void nestedVolumesKeepTheirMembers() {
        VolumeSpec spec = VolumeSpec.parse("raid1(raid0,chunk=8k(memory:4M;memory:4M);memory:8M)");
        assertEquals(List.of("raid0,chunk=8k(memory:4M;memory:4M)", "memory:8M"), spec.members());
        try (BlockDevice device = spec.open("v")) {
            Raid1Volume mirror = assertInstanceOf(Raid1Volume.class, device);
            assertInstanceOf(Raid0Volume.class, mirror.member(0));
        }
    }

    @Test
    void toldApartFromBackendSpecs() {
        assertTrue(VolumeSpec.isVolume("raid5(memory:1M;memory:1M;memory:1M)"));
        assertTrue(VolumeSpec.isVolume("raid0,chunk=4k(memory:1M;memory:1M)"));
        assertFalse(VolumeSpec.isVolume("uring:/srv/raid5(old).img"), "a path with parentheses is a file, not a volume");
        assertFalse(VolumeSpec.isVolume("memory:1G"));
        assertFalse(VolumeSpec.isVolume("raid6(memory:1M;memory:1M)"));
    }

    @Test
    void opensRaid5WithChunkAndFailedMember() {
        try (BlockDevice device = VolumeSpec.parse("raid5,chunk=16k,failed=2,consistency=resync(memory:4M;memory:4M;memory:4M;memory:4M)").open("v")) {
            Raid5Volume volume = assertInstanceOf(Raid5Volume.class, device);
            assertEquals(4, volume.memberCount());
            assertEquals(16 * 1024 / 4096, volume.chunkBlocks());
            assertFalse(volume.isActive(2));
            assertEquals(1, volume.failedCount());
        }
    }

    @Test
    void badSpecsSayWhatIsWrong() {
        bad("raid5(memory:1M;memory:1M;memory:1M", "must look like");
        bad("raid6(memory:1M;memory:1M)", "level 'raid6' is not raid0, raid1 or raid5");
        bad("raid5,chunk=3k(memory:1M;memory:1M;memory:1M)", "chunk=3k must be a power of two");
        bad("raid5,chunk=lots(memory:1M;memory:1M;memory:1M)", "chunk=lots is not a size");
        bad("raid1,chunk=64k(memory:1M;memory:1M)", "raid1 has no option 'chunk'");
        bad("raid5,chunk(memory:1M;memory:1M;memory:1M)", "option 'chunk' must be key=value");
        bad("raid5,chunk=4k,chunk=8k(memory:1M;memory:1M;memory:1M)", "option 'chunk' given twice");
        bad("raid5(memory:1M;;memory:1M)", "member 1 is empty");
        bad("raid5(memory:1M;/dev/sdb;memory:1M)", "member 1 '/dev/sdb' is not a backend spec");
        bad("raid5,layout=diagonal(memory:1M;memory:1M;memory:1M)", "layout=diagonal is not one of");
        bad("raid5,failed=3(memory:1M;memory:1M;memory:1M)", "member 3 is not in 0..2");
        bad("raid5,failed=x(memory:1M;memory:1M;memory:1M)", "failed=x must be member indexes");
        bad("raid5,consistency=journal(memory:1M;memory:1M;memory:1M)", "consistency 'journal' is not one of ppl, resync");
        bad("raid0(raid0(memory:1M;memory:1M);memory:1M", "must look like");
    }

    @Test
    void openingErrorsNameTheMemberAndPplTakesTheFirstMiBOfEachMember() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VolumeSpec.parse("raid0(memory:1M;tape:/dev/st0)").open("v"));
        assertTrue(e.getMessage().startsWith("member 1 (tape:/dev/st0): unknown backend 'tape'"), e.getMessage());
        try (BlockDevice ppl = VolumeSpec.parse("raid5,chunk=64k,consistency=ppl(memory:4M;memory:4M;memory:4M)").open("v")) {
            assertTrue(ppl.describe().contains("with PPL"), ppl.describe());
            assertEquals(2L * (3L << 20) / 4096, ppl.geometry().blockCount(), "1 MiB of each member holds the log");
        }
        e = assertThrows(IllegalArgumentException.class, () -> VolumeSpec.parse("raid5,chunk=1m(memory:64k;memory:64k;memory:64k)").open("v"));
        assertTrue(e.getMessage().contains("holds no whole chunk"), e.getMessage());
    }

    @Test
    void benchTargetRunsOnAVolumeSpec() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int exit = BenchCli.run(new String[] {"--target", "raid5,chunk=16k(memory:8M;memory:8M;memory:8M;memory:8M)",
                        "--rw", "randrw", "--seconds", "0.2", "--ramp-seconds", "0", "--jobs", "2", "--json"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, exit, err.toString(StandardCharsets.UTF_8));
        assertTrue(text.contains("\"target\":\"raid5,chunk=16k(") && text.contains("\"errors\":0"), text);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("writing bench once before reading"), "memory members are written first");
    }

    private static void bad(String spec, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VolumeSpec.parse(spec), spec);
        assertTrue(e.getMessage().contains(expected), "'" + spec + "': " + e.getMessage());
    }
}
