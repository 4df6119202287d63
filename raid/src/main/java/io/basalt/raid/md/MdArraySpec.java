package io.basalt.raid.md;

import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * What a new md v1.2 array looks like on every member, and the superblock each member gets
 * ({@link #writeSuperblock}). Placement follows mdadm 4.2 (super1.c) so that {@code mdadm --assemble} finds what
 * it would have written itself:
 * <ul>
 * <li>superblock at sector 8 (4 KiB), the write-intent bitmap at +8 sectors from it (sector 16), the bad block
 *     log right after the bitmap space;</li>
 * <li>bitmap space {@link #mdadmBitmapSpaceSectors} (choose_bm_space): 4 KiB up to 8 GiB members, 64 KiB up to
 *     200 GiB, 128 KiB above;</li>
 * <li>data offset {@link #mdadmDataOffsetSectors} (validate_geometry1): 12 KiB of metadata + the bitmap space
 *     + reshape headroom of about 0.1% of the member (at most 128 MiB, halved while it exceeds 0.1% and, for
 *     striped levels, while half of it is still at least two chunks), rounded up to 1 MiB. Small members get
 *     1 MiB (raid1) or 2 MiB (512 KiB chunks); members of 128 GiB and more get 128 MiB + 1 MiB.</li>
 * </ul>
 *
 * @param setUuid           set_uuid, random per array
 * @param name              set_name (at most 32 ASCII bytes)
 * @param ctimeSeconds      creation time (the low 40 bits of ctime; microseconds left 0)
 * @param level             0, 1 or 5
 * @param layout            md layout number (RAID5: {@link MdSuperblock#ALGORITHM_LEFT_SYMMETRIC} by default)
 * @param chunkSectors      chunk in sectors (0 for raid1)
 * @param raidDisks         members holding data or parity
 * @param sizeSectors       used size of each member (md's "size"), a multiple of the chunk
 * @param dataOffsetSectors where data starts on each member
 * @param dataSizeSectors   sectors each member offers after data_offset (md's "data_size")
 * @param bitmapSectors     space reserved for the write-intent bitmap at +8 sectors (0: no bitmap)
 * @param bitmapChunkBytes  bytes of array per bitmap bit (0 without a bitmap)
 * @param events            the starting events count
 * @param pplSectors        the partial parity log area at +8 sectors from the superblock (raid5 with
 *                          {@code --consistency-policy=ppl}; 0: none). Excludes a bitmap, as in md.
 */
public record MdArraySpec(byte[] setUuid, String name, long ctimeSeconds, int level, int layout, long chunkSectors,
                          int raidDisks, long sizeSectors, long dataOffsetSectors, long dataSizeSectors,
                          long bitmapSectors, long bitmapChunkBytes, long events, long pplSectors) {
    /** mdadm's DEFAULT_CHUNK for raid0/5 (512 KiB). */
    public static final long DEFAULT_CHUNK_SECTORS = 1024;
    /** The bitmap sits 8 sectors (4 KiB) after the superblock (mdadm super1.c, metadata 1.2). */
    public static final int BITMAP_OFFSET_SECTORS = 8;
    /** mdadm's default for an internal bitmap chunk: 64 MiB, or more when the bits do not fit the space. */
    public static final long BITMAP_CHUNK_BYTES_MIN = 64L << 20;
    public static final int BBLOG_SECTORS = 8;
    private static final long ONE_MEG_SECTORS = 2048;

    public MdArraySpec {
        Check.that(setUuid.length == MdSuperblock.UUID_BYTES, "set uuid is 16 bytes", setUuid.length);
        Check.that(level == 0 || level == 1 || level == 5, "level 0, 1 or 5", level);
        Check.that(raidDisks >= (level == 5 ? 2 : 1) && raidDisks <= MdSuperblock.MAX_DEV_MAX, "raid_disks", raidDisks);
        Check.that(level == 1 ? chunkSectors == 0 : chunkSectors >= 8 && Long.bitCount(chunkSectors) == 1,
                "chunk: a power of two >= 8 sectors (0 for raid1)", chunkSectors);
        Check.that(sizeSectors > 0 && sizeSectors <= dataSizeSectors, "size within data_size", sizeSectors);
        Check.that(level == 1 || sizeSectors % chunkSectors == 0, "size a multiple of the chunk", sizeSectors);
        Check.that(dataOffsetSectors >= MdSuperblock.SUPER_OFFSET_SECTORS + BITMAP_OFFSET_SECTORS + bitmapSectors,
                "data offset past the superblock and bitmap", dataOffsetSectors);
        Check.that(pplSectors == 0 || (level == 5 && bitmapSectors == 0 && pplSectors <= 0xffff
                && dataOffsetSectors >= MdSuperblock.SUPER_OFFSET_SECTORS + BITMAP_OFFSET_SECTORS + pplSectors),
                "ppl: raid5 only, no bitmap, fits u16 and before the data", pplSectors);
        setUuid = setUuid.clone();
    }

    /** Without a partial parity log. */
    public MdArraySpec(byte[] setUuid, String name, long ctimeSeconds, int level, int layout, long chunkSectors,
                       int raidDisks, long sizeSectors, long dataOffsetSectors, long dataSizeSectors,
                       long bitmapSectors, long bitmapChunkBytes, long events) {
        this(setUuid, name, ctimeSeconds, level, layout, chunkSectors, raidDisks, sizeSectors, dataOffsetSectors,
                dataSizeSectors, bitmapSectors, bitmapChunkBytes, events, 0);
    }

    /**
     * A raid5 array with md's partial parity log, placed as mdadm 4.2 does for {@code --consistency-policy=ppl} on
     * metadata 1.2 (super1.c write_init_super1): ppl.offset = 8 sectors after the superblock, ppl.size = 2048
     * sectors (MULTIPLE_PPL_AREA_SIZE_SUPER1, 1 MiB), the space validate_geometry1 reserves in place of a bitmap.
     */
    public static MdArraySpec createPpl(String name, int layout, long chunkSectors, int raidDisks, long memberSectors,
                                        long ctimeSeconds, RandomGenerator random) {
        MdArraySpec plain = create(name, 5, layout, chunkSectors, raidDisks, memberSectors, false, ctimeSeconds, random);
        long dataOffset = mdadmDataOffsetSectors(memberSectors, chunkSectors, MdPpl.AREA_SECTORS_MDADM);
        Check.that(memberSectors > dataOffset + chunkSectors, "member large enough for md metadata and a ppl", memberSectors);
        long dataSize = memberSectors - dataOffset;
        long size = dataSize - dataSize % chunkSectors;
        return new MdArraySpec(plain.setUuid, name, ctimeSeconds, 5, layout, chunkSectors, raidDisks, size, dataOffset,
                dataSize, 0, 0, 0, MdPpl.AREA_SECTORS_MDADM);
    }

    @Override
    public byte[] setUuid() {
        return setUuid.clone();
    }

    /**
     * An array over members of {@code memberSectors} each (the smallest member when they differ; mdadm does the
     * same and warns), with mdadm 4.2's placement.
     */
    public static MdArraySpec create(String name, int level, int layout, long chunkSectors, int raidDisks,
                                     long memberSectors, boolean bitmap, long ctimeSeconds, RandomGenerator random) {
        byte[] uuid = new byte[MdSuperblock.UUID_BYTES];
        random.nextBytes(uuid);
        long chunk = level == 1 ? 0 : chunkSectors;
        long bitmapSpace = mdadmBitmapSpaceSectors(memberSectors);
        long dataOffset = mdadmDataOffsetSectors(memberSectors, chunk);
        Check.that(memberSectors > dataOffset + Math.max(chunk, 8), "member large enough for md metadata", memberSectors);
        long dataSize = memberSectors - dataOffset;
        long size = chunk == 0 ? dataSize & ~7L : dataSize - dataSize % chunk;
        long bitmapChunk = bitmap ? bitmapChunkBytes(size, bitmapSpace) : 0;
        return new MdArraySpec(uuid, name, ctimeSeconds, level, layout, chunk, raidDisks, size, dataOffset, dataSize,
                bitmap ? bitmapSpace : 0, bitmapChunk, 0);
    }

    /** mdadm super1.c choose_bm_space: the bitmap space for a member of {@code memberSectors}. */
    public static long mdadmBitmapSpaceSectors(long memberSectors) {
        if (memberSectors < 64 * 2) return 0;
        if (memberSectors - 64 * 2 >= 200L * 1024 * 1024 * 2) return 128 * 2;
        if (memberSectors - 4 * 2 > 8L * 1024 * 1024 * 2) return 64 * 2;
        return 4 * 2;
    }

    /** mdadm super1.c validate_geometry1, metadata 1.2, no --data-offset given. {@code chunkSectors} 0: none. */
    public static long mdadmDataOffsetSectors(long memberSectors, long chunkSectors) {
        return mdadmDataOffsetSectors(memberSectors, chunkSectors, mdadmBitmapSpaceSectors(memberSectors));
    }

    /** The same with {@code metadataSpaceSectors} reserved after the superblock (bitmap space, or the PPL area). */
    public static long mdadmDataOffsetSectors(long memberSectors, long chunkSectors, long metadataSpaceSectors) {
        long headroom = 128L * 1024 * 2;
        while ((headroom << 10) > memberSectors && (chunkSectors == 0 || headroom / 2 >= chunkSectors * 2)) {
            headroom >>= 1;
        }
        long offset = 12 * 2 + metadataSpaceSectors + headroom;
        return (offset + ONE_MEG_SECTORS - 1) / ONE_MEG_SECTORS * ONE_MEG_SECTORS;
    }

    /** The smallest power-of-two chunk from 4 KiB whose bits fit the space, raised to 64 MiB (mdadm's default). */
    static long bitmapChunkBytes(long syncSectors, long bitmapSectors) {
        long bitsMax = (bitmapSectors * MdSuperblock.SECTOR_BYTES - MdBitmap.SIZE) * 8;
        long chunk = 4096;
        while ((syncSectors * MdSuperblock.SECTOR_BYTES + chunk - 1) / chunk > bitsMax) chunk <<= 1;
        return Math.max(chunk, BITMAP_CHUNK_BYTES_MIN);
    }

    /**
     * Writes member {@code devNumber}'s superblock into {@code buffer} (4 KiB, zeroed first): roles 0..raidDisks-1
     * in dev_number order, the rest of dev_roles 0xffff as mdadm leaves it, clean (resync_offset = MaxSector).
     */
    public MdSuperblock writeSuperblock(MemorySegment buffer, int devNumber, byte[] deviceUuid, long utimeSeconds) {
        Check.that(devNumber >= 0 && devNumber < raidDisks, "dev_number within raid_disks", devNumber);
        buffer.asSlice(0, MdSuperblock.BUFFER_BYTES).fill((byte) 0);
        buffer.asSlice(MdSuperblock.DEV_ROLES_OFFSET, MdSuperblock.BUFFER_BYTES - MdSuperblock.DEV_ROLES_OFFSET).fill((byte) 0xff);
        MdSuperblock sb = new MdSuperblock().wrap(buffer);
        int features = (bitmapSectors > 0 ? MdSuperblock.MD_FEATURE_BITMAP_OFFSET : 0) | (pplSectors > 0 ? MdSuperblock.MD_FEATURE_PPL : 0);
        sb.magic(MdSuperblock.MD_SB_MAGIC).majorVersion(MdSuperblock.MAJOR_VERSION).featureMap(features)
                .setUuid(setUuid).setName(name).ctime(ctimeSeconds & 0xff_ffff_ffffL)
                .level(level).layout(layout).sizeSectors(sizeSectors).chunkSectors(chunkSectors).raidDisks(raidDisks)
                .bitmapOffsetSectors(bitmapSectors > 0 ? BITMAP_OFFSET_SECTORS : 0)
                .dataOffsetSectors(dataOffsetSectors).dataSizeSectors(dataSizeSectors)
                .superOffsetSectors(MdSuperblock.SUPER_OFFSET_SECTORS).recoveryOffsetSectors(0)
                .devNumber(devNumber).deviceUuid(deviceUuid)
                .utime(utimeSeconds & 0xff_ffff_ffffL).events(events).resyncOffsetSectors(MdSuperblock.MAX_SECTOR)
                .maxDev(raidDisks);
        if (pplSectors > 0) sb.pplOffsetSectors(BITMAP_OFFSET_SECTORS).pplSizeSectors((int) pplSectors);
        reserveBadBlockLog(sb);
        for (int d = 0; d < raidDisks; d++) sb.devRole(d, d);
        return sb.updateChecksum();
    }

    /**
     * mdadm puts an 8-sector bad block log right after the bitmap space when there is room (empty: no feature bit).
     * raid0 cannot have a bitmap, so mdadm reserves no bitmap space there and the log sits at +8 (mdadm 4.2 in the
     * QEMU interop test: bblog_offset 8 for raid0, 16 for raid1/raid5 of 64 MiB members, bitmap or not).
     */
    private void reserveBadBlockLog(MdSuperblock sb) {
        long bitmapSpace = level == 0 ? 0 : pplSectors > 0 ? pplSectors : mdadmBitmapSpaceSectors(dataOffsetSectors + dataSizeSectors);
        long offsetFromSuper = BITMAP_OFFSET_SECTORS + bitmapSpace;
        if (MdSuperblock.SUPER_OFFSET_SECTORS + offsetFromSuper + BBLOG_SECTORS <= dataOffsetSectors) {
            sb.bblogSizeSectors(BBLOG_SECTORS).bblogOffsetSectors((int) offsetFromSuper);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MdArraySpec s && Arrays.equals(setUuid, s.setUuid) && name.equals(s.name)
                && ctimeSeconds == s.ctimeSeconds && level == s.level && layout == s.layout
                && chunkSectors == s.chunkSectors && raidDisks == s.raidDisks && sizeSectors == s.sizeSectors
                && dataOffsetSectors == s.dataOffsetSectors && dataSizeSectors == s.dataSizeSectors
                && bitmapSectors == s.bitmapSectors && bitmapChunkBytes == s.bitmapChunkBytes && events == s.events
                && pplSectors == s.pplSectors;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(setUuid) * 31 + Long.hashCode(sizeSectors);
    }

    @Override
    public String toString() {
        return "MdArraySpec[" + name + " raid" + level + " layout " + layout + " chunk " + chunkSectors + " x" + raidDisks
                + " size " + sizeSectors + " data_offset " + dataOffsetSectors + " bitmap " + bitmapSectors + " ppl " + pplSectors + "]";
    }
}
