package io.basalt.raid.parity;

import io.basalt.shims.Check;

/**
 * md's RAID0 address arithmetic for members of equal size: one strip zone, so md's map_sector
 * (drivers/md/raid0.c) reduces to plain striping. With unequal members md makes several zones (and the
 * RAID0_ORIG/ALT_MULTIZONE layout question); Basalt refuses those members instead.
 *
 * <pre>
 *   chunkNumber = sector / chunkSectors        sectorInChunk = sector % chunkSectors
 *   disk        = chunkNumber % diskCount      stripe        = chunkNumber / diskCount
 *   diskSector  = stripe * chunkSectors + sectorInChunk
 * </pre>
 */
public final class Raid0Layout {
    public static final int CHUNK_SECTORS_MIN = 8;
    public static final int DISK_COUNT_MAX = 256;

    private final int diskCount;
    private final int chunkSectors;

    /** chunkSectors need not be a power of two (md's raid0 takes any multiple of 4 KiB). */
    public Raid0Layout(int diskCount, int chunkSectors) {
        Check.that(diskCount >= 1 && diskCount <= DISK_COUNT_MAX, "RAID0 member count 1..256", diskCount);
        Check.that(chunkSectors >= CHUNK_SECTORS_MIN && chunkSectors % CHUNK_SECTORS_MIN == 0,
                "RAID0 chunk a multiple of 4 KiB", chunkSectors);
        this.diskCount = diskCount;
        this.chunkSectors = chunkSectors;
    }

    public int diskCount() {
        return diskCount;
    }

    public int chunkSectors() {
        return chunkSectors;
    }

    public long fullStripeSectors() {
        return (long) chunkSectors * diskCount;
    }

    /** md rounds each member down to whole chunks (raid0.c create_strip_zones). */
    public long arraySectors(long memberDataSectors) {
        Check.that(memberDataSectors >= 0, "member size not negative", memberDataSectors);
        return memberDataSectors / chunkSectors * chunkSectors * diskCount;
    }

    /** Maps an array sector; fills {@code out} (parityDisk -1, dataIndex == disk). */
    public void map(long arraySector, ChunkAddress out) {
        Check.that(arraySector >= 0, "array sector not negative", arraySector);
        long chunkNumber = arraySector / chunkSectors;
        int sectorInChunk = (int) (arraySector - chunkNumber * chunkSectors);
        long stripe = chunkNumber / diskCount;
        int disk = (int) (chunkNumber - stripe * diskCount);
        out.stripe = stripe;
        out.dataIndex = disk;
        out.disk = disk;
        out.parityDisk = -1;
        out.sectorInChunk = sectorInChunk;
        out.diskSector = stripe * chunkSectors + sectorInChunk;
    }

    /** The array sector stored at a member sector. The inverse of {@link #map}. */
    public long arraySector(int disk, long diskSector) {
        Check.that(disk >= 0 && disk < diskCount, "member index within the array", disk);
        Check.that(diskSector >= 0, "member sector not negative", diskSector);
        long stripe = diskSector / chunkSectors;
        long sectorInChunk = diskSector - stripe * chunkSectors;
        return (stripe * diskCount + disk) * chunkSectors + sectorInChunk;
    }
}
