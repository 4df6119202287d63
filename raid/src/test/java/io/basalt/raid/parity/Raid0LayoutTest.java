package io.basalt.raid.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class Raid0LayoutTest {
    /** 3 members, chunk 8: chunks 0 1 2 on members 0 1 2 at member chunk 0, chunks 3 4 5 at member chunk 1. */
    @Test
    void stripesAcrossMembers() {
        Raid0Layout layout = new Raid0Layout(3, 8);
        ChunkAddress address = new ChunkAddress();
        long[][] cases = {   // array sector, disk, disk sector
            {0, 0, 0}, {7, 0, 7}, {8, 1, 0}, {17, 2, 1}, {24, 0, 8}, {4 * 8 + 3, 1, 11}, {3 * 8 * 10 + 2 * 8 + 6, 2, 86},
        };
        for (long[] c : cases) {
            layout.map(c[0], address);
            assertEquals(c[1], address.disk(), "sector " + c[0]);
            assertEquals(c[2], address.diskSector(), "sector " + c[0]);
            assertEquals(-1, address.parityDisk());
            assertEquals(c[0], layout.arraySector((int) c[1], c[2]));
        }
    }

    @Test
    void everySectorHasOneHomeAndMapsBack() {
        ChunkAddress address = new ChunkAddress();
        for (int disks = 1; disks <= 7; disks++) {
            for (int chunkSectors : new int[] {8, 24, 128}) {   // md raid0 accepts a chunk that is no power of two
                Raid0Layout layout = new Raid0Layout(disks, chunkSectors);
                Set<Long> homes = new HashSet<>();
                long sectors = 5L * disks * chunkSectors;
                for (long sector = 0; sector < sectors; sector++) {
                    layout.map(sector, address);
                    assertTrue(homes.add(address.diskSector() * disks + address.disk()), "two sectors share a home");
                    assertEquals(sector, layout.arraySector(address.disk(), address.diskSector()));
                }
            }
        }
    }

    @Test
    void geometryHelpers() {
        Raid0Layout layout = new Raid0Layout(4, 1024);
        assertEquals(4096, layout.fullStripeSectors());
        assertEquals(4 * 2048L, layout.arraySectors(2048 + 1000));
        assertThrows(IllegalStateException.class, () -> new Raid0Layout(0, 8));
        assertThrows(IllegalStateException.class, () -> new Raid0Layout(2, 12));
    }
}
