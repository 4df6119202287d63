package io.basalt.engine;

import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.backend.NullBlockDevice;
import io.basalt.engine.backend.UringBlockDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Each backend says which of DISCARD and WRITE_ZEROES it performs; volumes combine their members' answers. */
class CapabilitiesTest {
    private static final long SIZE_BYTES = 1 << 20;

    @Test
    void aFileOnExt4PunchesHolesAndZeroesRangesAndTheProbeLeavesItsSizeAlone(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("d.img");
        try (UringBlockDevice d = UringBlockDevice.open("d", file.toString(), new UringBlockDevice.Options(true, 0, SIZE_BYTES, false))) {
            Capabilities c = d.geometry().capabilities();
            assertEquals(new Capabilities(true, true, 1, true, false), c, "ext4: PUNCH_HOLE and ZERO_RANGE (the build's /tmp)");
        }
        assertEquals(SIZE_BYTES, Files.size(file), "probing past the end keeps the size");
    }

    @Test
    void aFileOnTmpfsHasHolesButNoZeroRange() throws Exception {
        Path shm = Path.of("/dev/shm");
        Path file = Files.createTempFile(shm, "basalt-capabilities", ".img");
        try (UringBlockDevice d = UringBlockDevice.open("d", file.toString(), new UringBlockDevice.Options(false, 0, SIZE_BYTES, false))) {
            Capabilities c = d.geometry().capabilities();
            assertTrue(c.discard() && c.discardReadsZeroes(), "tmpfs punches holes");
            assertFalse(c.writeZeroes(), "tmpfs has no FALLOC_FL_ZERO_RANGE");
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void aReadOnlyFileOffersNothing(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("ro.img");
        Files.write(file, new byte[(int) SIZE_BYTES]);
        try (UringBlockDevice d = UringBlockDevice.open("d", file.toString(), new UringBlockDevice.Options(true, 0, 0, true))) {
            assertEquals(Capabilities.NONE, d.geometry().capabilities());
        }
    }

    @Test
    void memoryZeroesAndNullDropsAndAGeometryWithoutCapabilitiesOffersNothing() {
        try (MemoryBlockDevice m = new MemoryBlockDevice("m", SIZE_BYTES, 4096);
             NullBlockDevice n = new NullBlockDevice("n", SIZE_BYTES, 4096)) {
            assertEquals(Capabilities.zeroingDiscard(), m.geometry().capabilities());
            assertTrue(n.geometry().capabilities().discard());
            assertFalse(n.geometry().capabilities().discardReadsZeroes(), "the null device's reads never zero a buffer");
        }
        assertEquals(Capabilities.NONE, new Geometry(4096, 16, 1, 16, 1, true).capabilities());
    }

    @Test
    void membersCombineToWhatEveryOneDoes() {
        Capabilities file = new Capabilities(true, true, 1, true, false);
        Capabilities tmpfs = new Capabilities(true, true, 4, false, false);
        assertEquals(new Capabilities(true, true, 4, false, false), Capabilities.common(List.of(file, tmpfs)));
        assertEquals(new Capabilities(false, false, 1, true, false), Capabilities.common(List.of(file, Capabilities.NONE.withWriteZeroes(true, true))));
        assertEquals(Capabilities.NONE, Capabilities.common(List.of()));
    }
}
