package io.basalt.raid.parity;

import io.basalt.shims.Check;

/**
 * md's RAID5 address arithmetic: an array sector to (stripe, data member, member sector) and a stripe's parity
 * member, computed as Linux's raid5_compute_sector (drivers/md/raid5.c, level 5 branch) does, and the inverse
 * as its compute_blocknr does. Sectors are 512 bytes; member sectors count from the member's data area.
 *
 * <pre>
 *   chunkNumber = sector / chunkSectors        sectorInChunk = sector % chunkSectors
 *   stripe      = chunkNumber / dataDisks      dataIndex     = chunkNumber % dataDisks
 *   diskSector  = stripe * chunkSectors + sectorInChunk
 *   parity and data member: by algorithm, from stripe and dataIndex (see {@link Raid5Algorithm})
 * </pre>
 *
 * Immutable; {@link #map} fills a caller-owned {@link ChunkAddress} and allocates nothing.
 */
public final class Raid5Layout {
    public static final int SECTOR_BYTES = 512;
    /** md needs a chunk of at least a page and a power of two (raid5.c setup_conf). */
    public static final int CHUNK_SECTORS_MIN = 8;
    public static final int DISK_COUNT_MAX = 256;

    private final Raid5Algorithm algorithm;
    private final int diskCount;
    private final int dataDiskCount;
    private final int chunkSectors;
    private final int chunkShift;

    public Raid5Layout(Raid5Algorithm algorithm, int diskCount, int chunkSectors) {
        Check.that(algorithm != null, "RAID5 algorithm given");
        Check.that(diskCount >= 2 && diskCount <= DISK_COUNT_MAX, "RAID5 member count 2..256", diskCount);
        Check.powerOfTwo(chunkSectors, "chunkSectors");
        Check.that(chunkSectors >= CHUNK_SECTORS_MIN, "chunk at least 4 KiB", chunkSectors);
        this.algorithm = algorithm;
        this.diskCount = diskCount;
        this.dataDiskCount = diskCount - 1;
        this.chunkSectors = chunkSectors;
        this.chunkShift = Integer.numberOfTrailingZeros(chunkSectors);
    }

    public Raid5Algorithm algorithm() {
        return algorithm;
    }

    public int diskCount() {
        return diskCount;
    }

    public int dataDiskCount() {
        return dataDiskCount;
    }

    public int chunkSectors() {
        return chunkSectors;
    }

    /** The data a full-stripe write covers: one chunk on each data member. */
    public long fullStripeSectors() {
        return (long) chunkSectors * dataDiskCount;
    }

    /** The array's size for members with memberDataSectors each, as md's raid5_size: rounded down to chunks. */
    public long arraySectors(long memberDataSectors) {
        Check.that(memberDataSectors >= 0, "member size not negative", memberDataSectors);
        return (memberDataSectors & -(long) chunkSectors) * dataDiskCount;
    }

    /** The stripe a member sector belongs to (the same on every member). */
    public long stripeOfDiskSector(long diskSector) {
        Check.that(diskSector >= 0, "member sector not negative", diskSector);
        return diskSector >>> chunkShift;
    }

    /** The member that holds the parity chunk of a stripe. */
    public int parityDisk(long stripe) {
        Check.that(stripe >= 0, "stripe not negative", stripe);
        return switch (algorithm) {
            case LEFT_ASYMMETRIC, LEFT_SYMMETRIC -> dataDiskCount - (int) (stripe % diskCount);
            case RIGHT_ASYMMETRIC, RIGHT_SYMMETRIC -> (int) (stripe % diskCount);
            case PARITY_0 -> 0;
            case PARITY_N -> dataDiskCount;
        };
    }

    /** The member that holds data chunk dataIndex of a stripe. */
    public int dataDisk(long stripe, int dataIndex) {
        Check.that(dataIndex >= 0 && dataIndex < dataDiskCount, "data index within the stripe", dataIndex);
        int parityDisk = parityDisk(stripe);
        return switch (algorithm) {
            case LEFT_ASYMMETRIC, RIGHT_ASYMMETRIC -> dataIndex >= parityDisk ? dataIndex + 1 : dataIndex;
            case LEFT_SYMMETRIC, RIGHT_SYMMETRIC -> (parityDisk + 1 + dataIndex) % diskCount;
            case PARITY_0 -> dataIndex + 1;
            case PARITY_N -> dataIndex;
        };
    }

    /** Which data chunk of the stripe a member holds, or -1 if it holds the parity (compute_blocknr). */
    public int dataIndex(long stripe, int disk) {
        Check.that(disk >= 0 && disk < diskCount, "member index within the array", disk);
        int parityDisk = parityDisk(stripe);
        if (disk == parityDisk) return -1;
        return switch (algorithm) {
            case LEFT_ASYMMETRIC, RIGHT_ASYMMETRIC -> disk > parityDisk ? disk - 1 : disk;
            case LEFT_SYMMETRIC, RIGHT_SYMMETRIC -> (disk < parityDisk ? disk + diskCount : disk) - parityDisk - 1;
            case PARITY_0 -> disk - 1;
            case PARITY_N -> disk;
        };
    }

    /** Maps an array sector; fills {@code out}. */
    public void map(long arraySector, ChunkAddress out) {
        Check.that(arraySector >= 0, "array sector not negative", arraySector);
        long chunkNumber = arraySector >>> chunkShift;
        long stripe = chunkNumber / dataDiskCount;
        int dataIndex = (int) (chunkNumber - stripe * dataDiskCount);
        out.stripe = stripe;
        out.dataIndex = dataIndex;
        out.sectorInChunk = (int) (arraySector & (chunkSectors - 1));
        out.parityDisk = parityDisk(stripe);
        out.disk = dataDisk(stripe, dataIndex);
        out.diskSector = (stripe << chunkShift) + out.sectorInChunk;
    }

    /** The array sector stored at a member sector, or -1 if that sector is parity. The inverse of {@link #map}. */
    public long arraySector(int disk, long diskSector) {
        long stripe = stripeOfDiskSector(diskSector);
        int dataIndex = dataIndex(stripe, disk);
        if (dataIndex < 0) return -1;
        long chunkNumber = stripe * dataDiskCount + dataIndex;
        return (chunkNumber << chunkShift) + (diskSector & (chunkSectors - 1));
    }

    @Override
    public String toString() {
        return "raid5 " + algorithm.name().toLowerCase() + " " + diskCount + " members, chunk "
                + chunkSectors * SECTOR_BYTES / 1024 + " KiB";
    }
}
