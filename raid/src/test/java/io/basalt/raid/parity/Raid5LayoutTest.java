package io.basalt.raid.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Raid5Layout against tables worked by hand from raid5_compute_sector for 4 members, then properties over many
 * member counts: every data chunk has one home, never on the parity member, and the inverse map round trips.
 */
class Raid5LayoutTest {
    private static final int CHUNK_SECTORS = 8;

    /**
     * The first four stripes of a 4-member array, one row per stripe, one column per member (0..3):
     * Dn is data chunk n of the array, P the stripe's parity. Worked from raid5.c by hand:
     * left: pd = 3 - s % 4; right: pd = s % 4; asymmetric: dd >= pd ? dd + 1 : dd; symmetric: (pd + 1 + dd) % 4.
     */
    private static final String[][] TABLES = {
        {"LEFT_ASYMMETRIC", "D0 D1 D2 P | D3 D4 P D5 | D6 P D7 D8 | P D9 D10 D11"},
        {"RIGHT_ASYMMETRIC", "P D0 D1 D2 | D3 P D4 D5 | D6 D7 P D8 | D9 D10 D11 P"},
        {"LEFT_SYMMETRIC", "D0 D1 D2 P | D4 D5 P D3 | D8 P D6 D7 | P D9 D10 D11"},
        {"RIGHT_SYMMETRIC", "P D0 D1 D2 | D5 P D3 D4 | D7 D8 P D6 | D9 D10 D11 P"},
        {"PARITY_0", "P D0 D1 D2 | P D3 D4 D5 | P D6 D7 D8 | P D9 D10 D11"},
        {"PARITY_N", "D0 D1 D2 P | D3 D4 D5 P | D6 D7 D8 P | D9 D10 D11 P"},
    };

    @Test
    void fourMemberTablesMatchTheKernel() {
        ChunkAddress address = new ChunkAddress();
        for (String[] table : TABLES) {
            Raid5Layout layout = new Raid5Layout(Raid5Algorithm.valueOf(table[0]), 4, CHUNK_SECTORS);
            String[] rows = table[1].split("\\|");
            for (int stripe = 0; stripe < rows.length; stripe++) {
                String[] cells = rows[stripe].trim().split(" +");
                for (int disk = 0; disk < 4; disk++) {
                    String where = table[0] + " stripe " + stripe + " disk " + disk;
                    if (cells[disk].equals("P")) {
                        assertEquals(disk, layout.parityDisk(stripe), where);
                        assertEquals(-1, layout.dataIndex(stripe, disk), where);
                        continue;
                    }
                    long chunkNumber = Long.parseLong(cells[disk].substring(1));
                    // Sector 5 of the chunk: the offset inside the chunk carries over to the member.
                    layout.map(chunkNumber * CHUNK_SECTORS + 5, address);
                    assertEquals(stripe, address.stripe(), where);
                    assertEquals(disk, address.disk(), where);
                    assertEquals(layout.parityDisk(stripe), address.parityDisk(), where);
                    assertEquals(stripe * CHUNK_SECTORS + 5L, address.diskSector(), where);
                    assertEquals(chunkNumber * CHUNK_SECTORS + 5, layout.arraySector(disk, stripe * CHUNK_SECTORS + 5L));
                }
            }
        }
    }

    /** The tables repeat every 4 stripes (parity rotates with period n). */
    @Test
    void rotationRepeatsWithPeriodOfMemberCount() {
        for (Raid5Algorithm algorithm : Raid5Algorithm.values()) {
            Raid5Layout layout = new Raid5Layout(algorithm, 4, CHUNK_SECTORS);
            for (long stripe = 0; stripe < 4; stripe++) {
                assertEquals(layout.parityDisk(stripe), layout.parityDisk(stripe + 4 * 1_000_003L));
                for (int d = 0; d < 3; d++) {
                    assertEquals(layout.dataDisk(stripe, d), layout.dataDisk(stripe + 4 * 1_000_003L, d));
                }
            }
        }
    }

    @Test
    void everyChunkHasOneHomeOffParityAndMapsBack() {
        ChunkAddress address = new ChunkAddress();
        for (Raid5Algorithm algorithm : Raid5Algorithm.values()) {
            for (int disks = 2; disks <= 9; disks++) {
                for (int chunkSectors : new int[] {8, 128, 1024}) {
                    Raid5Layout layout = new Raid5Layout(algorithm, disks, chunkSectors);
                    Set<Long> homes = new HashSet<>();
                    long stripes = 3L * disks;
                    long chunks = stripes * layout.dataDiskCount();
                    for (long chunk = 0; chunk < chunks; chunk++) {
                        long sector = chunk * chunkSectors + (chunk * 7) % chunkSectors;
                        layout.map(sector, address);
                        String where = layout + " sector " + sector + " -> " + address;
                        assertNotEquals(address.parityDisk(), address.disk(), where);
                        assertTrue(address.disk() >= 0 && address.disk() < disks, where);
                        assertEquals(address.stripe(), layout.stripeOfDiskSector(address.diskSector()), where);
                        assertTrue(homes.add(address.stripe() * disks + address.disk()), "two chunks on " + where);
                        assertEquals(sector, layout.arraySector(address.disk(), address.diskSector()), where);
                        assertEquals(address.dataIndex(), layout.dataIndex(address.stripe(), address.disk()), where);
                    }
                    // Each stripe: dataDiskCount homes plus one parity make every member exactly once.
                    assertEquals(stripes * (disks - 1), homes.size());
                    for (long stripe = 0; stripe < stripes; stripe++) {
                        int parityDisk = layout.parityDisk(stripe);
                        assertFalse(homes.contains(stripe * disks + parityDisk), layout + " parity used for data");
                        assertEquals(-1L, layout.arraySector(parityDisk, stripe * chunkSectors));
                    }
                }
            }
        }
    }

    @Test
    void largeSectorsRoundTrip() {
        SplittableRandom random = new SplittableRandom(0x5EC7);
        ChunkAddress address = new ChunkAddress();
        for (Raid5Algorithm algorithm : Raid5Algorithm.values()) {
            Raid5Layout layout = new Raid5Layout(algorithm, 1 + random.nextInt(2, 17), 1 << random.nextInt(3, 12));
            for (int i = 0; i < 10_000; i++) {
                long sector = random.nextLong(1L << 50);   // 512 PiB
                layout.map(sector, address);
                assertEquals(sector, layout.arraySector(address.disk(), address.diskSector()), layout + " " + sector);
                assertNotEquals(address.parityDisk(), address.disk());
            }
        }
    }

    @Test
    void geometryHelpers() {
        Raid5Layout layout = new Raid5Layout(Raid5Algorithm.LEFT_SYMMETRIC, 4, 1024);   // 512 KiB, mdadm's default
        assertEquals(3 * 1024, layout.fullStripeSectors());
        assertEquals(3 * 2048L, layout.arraySectors(2048 + 1023), "a partial chunk at the end is not used");
        assertEquals(Raid5Algorithm.LEFT_SYMMETRIC, Raid5Algorithm.fromMdLayout(2));
        assertEquals(5, Raid5Algorithm.PARITY_N.mdLayout);
        assertNull(Raid5Algorithm.fromMdLayout(8), "a RAID6-only layout");
        assertThrows(IllegalArgumentException.class, () -> new Raid5Layout(Raid5Algorithm.LEFT_SYMMETRIC, 4, 12));
        assertThrows(IllegalStateException.class, () -> new Raid5Layout(Raid5Algorithm.LEFT_SYMMETRIC, 4, 4));
        assertThrows(IllegalStateException.class, () -> new Raid5Layout(Raid5Algorithm.LEFT_SYMMETRIC, 1, 8));
        assertThrows(IllegalStateException.class, () -> layout.map(-1, new ChunkAddress()));
        assertThrows(IllegalStateException.class, () -> layout.arraySector(4, 0));
    }
}
