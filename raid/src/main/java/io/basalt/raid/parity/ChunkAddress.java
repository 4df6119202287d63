package io.basalt.raid.parity;

/**
 * Where one array sector lives: a mutable result that a layout fills in, so that mapping an I/O allocates
 * nothing (the caller keeps one per channel). Sectors are 512 bytes, as in md; member sectors count from the
 * member's data area (md's data_offset is added by the caller).
 */
public final class ChunkAddress {
    long stripe;
    int dataIndex;
    int disk;
    int parityDisk;
    long diskSector;
    int sectorInChunk;

    /** The stripe: the row of chunks, one per member, at the same member offset. */
    public long stripe() {
        return stripe;
    }

    /** The position of the chunk among the stripe's data chunks, 0 .. dataDiskCount - 1. */
    public int dataIndex() {
        return dataIndex;
    }

    /** The member (md's raid_disk role) holding the sector. */
    public int disk() {
        return disk;
    }

    /** The member holding the stripe's parity, or -1 where there is none (RAID0). */
    public int parityDisk() {
        return parityDisk;
    }

    /** The sector on the member, from the start of its data area. */
    public long diskSector() {
        return diskSector;
    }

    /** The sector's offset inside its chunk. */
    public int sectorInChunk() {
        return sectorInChunk;
    }

    @Override
    public String toString() {
        return "stripe " + stripe + " data " + dataIndex + " disk " + disk + " parity " + parityDisk
                + " diskSector " + diskSector + " (+" + sectorInChunk + ")";
    }
}
