package io.basalt.raid.md;

import io.basalt.raid.md.MdFormatException.Reason;
import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Flyweight over the Linux md version-1 superblock, {@code struct mdp_superblock_1} of
 * {@code include/uapi/linux/raid/md_p.h}, as metadata 1.2 places it: 4 KiB from the start of each member
 * ({@code super_offset} = 8 sectors). Every field is little-endian on disk (md_p.h: "__le32 magic ... little
 * endian"), whatever the host. Offsets are checked against gcc and the installed header by
 * {@code MdLayoutTest}.
 *
 * <pre>
 *   0 magic  4 major_version  8 feature_map  12 pad0          constant array information (128 bytes)
 *  16 set_uuid[16]  32 set_name[32]  64 ctime  72 level  76 layout  80 size  88 chunksize  92 raid_disks
 *  96 bitmap_offset (signed; union with ppl.offset/size)  100 new_level  104 reshape_position
 * 112 delta_disks  116 new_layout  120 new_chunk  124 new_offset
 * 128 data_offset  136 data_size  144 super_offset  152 recovery_offset    this-device information (64 bytes)
 * 160 dev_number  164 cnt_corrected_read  168 device_uuid[16]  184 devflags  185 bblog_shift
 * 186 bblog_size  188 bblog_offset (signed)
 * 192 utime  200 events  208 resync_offset  216 sb_csum  220 max_dev  224 pad3[32]   array state (64 bytes)
 * 256 dev_roles[max_dev] (u16 each, indexed by dev_number)
 * </pre>
 *
 * <p>Sizes and offsets named {@code *Sectors} are in 512-byte sectors, as md keeps them, whatever the member's
 * logical block size. The checksum is md's {@code calc_sb_1_csum} (drivers/md/md.c): the sum of the
 * little-endian 32-bit words of the first {@code 256 + 2 * max_dev} bytes with {@code sb_csum} taken as zero
 * (a trailing 16-bit word added as such), the carry out of 32 bits folded back once.
 *
 * <p>The flyweight holds no state but the segment: {@link #wrap} re-points it, so one instance serves many
 * buffers. Reading a field never checks it; {@link #validate} does, once, on everything read from a disk.
 */
public final class MdSuperblock {
    // ------------------------------------------------------------------ constants from md_p.h
    public static final int MD_SB_MAGIC = 0xa92b4efc;
    public static final int MAJOR_VERSION = 1;
    /** The buffer md reads and writes for a version-1 superblock (MAX_SB_SIZE in mdadm's super1.c). */
    public static final int BUFFER_BYTES = 4096;
    /** sizeof(struct mdp_superblock_1), without the flexible dev_roles array. */
    public static final int SIZE = 256;
    public static final int SECTOR_BYTES = 512;
    /** Metadata 1.2: the superblock 4 KiB from the start of the member. */
    public static final long SUPER_OFFSET_SECTORS = 8;
    /** Most dev_roles entries that fit the 4 KiB buffer (md.c super_1_load rejects more). */
    public static final int MAX_DEV_MAX = (BUFFER_BYTES - SIZE) / 2;
    /** md's MaxSector, (sector_t)~0: "everything in sync" for resync_offset, "done" for recovery_offset. */
    public static final long MAX_SECTOR = -1L;

    public static final int ROLE_SPARE = 0xffff;
    public static final int ROLE_FAULTY = 0xfffe;
    public static final int ROLE_JOURNAL = 0xfffd;
    /** md.h MD_DISK_ROLE_MAX: roles at or above are states, not slots. */
    public static final int ROLE_MAX = 0xff00;

    public static final int MD_FEATURE_BITMAP_OFFSET = 1;
    public static final int MD_FEATURE_RECOVERY_OFFSET = 2;
    public static final int MD_FEATURE_RESHAPE_ACTIVE = 4;
    public static final int MD_FEATURE_BAD_BLOCKS = 8;
    public static final int MD_FEATURE_REPLACEMENT = 16;
    public static final int MD_FEATURE_RESHAPE_BACKWARDS = 32;
    public static final int MD_FEATURE_NEW_OFFSET = 64;
    public static final int MD_FEATURE_RECOVERY_BITMAP = 128;
    public static final int MD_FEATURE_CLUSTERED = 256;
    public static final int MD_FEATURE_JOURNAL = 512;
    public static final int MD_FEATURE_PPL = 1024;
    public static final int MD_FEATURE_MULTIPLE_PPLS = 2048;
    public static final int MD_FEATURE_RAID0_LAYOUT = 4096;
    public static final int MD_FEATURE_ALL = MD_FEATURE_BITMAP_OFFSET | MD_FEATURE_RECOVERY_OFFSET
            | MD_FEATURE_RESHAPE_ACTIVE | MD_FEATURE_BAD_BLOCKS | MD_FEATURE_REPLACEMENT
            | MD_FEATURE_RESHAPE_BACKWARDS | MD_FEATURE_NEW_OFFSET | MD_FEATURE_RECOVERY_BITMAP
            | MD_FEATURE_CLUSTERED | MD_FEATURE_JOURNAL | MD_FEATURE_PPL | MD_FEATURE_MULTIPLE_PPLS
            | MD_FEATURE_RAID0_LAYOUT;
    /** The features Basalt reads today; any other known bit is refused by name. */
    public static final int FEATURES_SUPPORTED = MD_FEATURE_BITMAP_OFFSET | MD_FEATURE_RECOVERY_OFFSET
            | MD_FEATURE_RAID0_LAYOUT | MD_FEATURE_PPL;

    public static final int DEVFLAG_WRITE_MOSTLY = 1;
    public static final int DEVFLAG_FAIL_FAST = 2;

    /** RAID5 layouts, md's numbering (drivers/md/raid5.h ALGORITHM_*). */
    public static final int ALGORITHM_LEFT_ASYMMETRIC = 0;
    public static final int ALGORITHM_RIGHT_ASYMMETRIC = 1;
    public static final int ALGORITHM_LEFT_SYMMETRIC = 2;
    public static final int ALGORITHM_RIGHT_SYMMETRIC = 3;
    /** RAID0 layouts with MD_FEATURE_RAID0_LAYOUT (drivers/md/raid0.h). */
    public static final int RAID0_ORIG_LAYOUT = 1;
    public static final int RAID0_ALT_MULTIZONE_LAYOUT = 2;

    // ------------------------------------------------------------------ field offsets (bytes)
    public static final int MAGIC_OFFSET = 0;
    public static final int MAJOR_VERSION_OFFSET = 4;
    public static final int FEATURE_MAP_OFFSET = 8;
    public static final int PAD0_OFFSET = 12;
    public static final int SET_UUID_OFFSET = 16;
    public static final int UUID_BYTES = 16;
    public static final int SET_NAME_OFFSET = 32;
    public static final int SET_NAME_BYTES = 32;
    public static final int CTIME_OFFSET = 64;
    public static final int LEVEL_OFFSET = 72;
    public static final int LAYOUT_OFFSET = 76;
    public static final int SIZE_OFFSET = 80;
    public static final int CHUNKSIZE_OFFSET = 88;
    public static final int RAID_DISKS_OFFSET = 92;
    public static final int BITMAP_OFFSET_OFFSET = 96;
    /** md_p.h: union { bitmap_offset; struct { __le16 offset; __le16 size; } ppl; }, meaningful with MD_FEATURE_PPL. */
    public static final int PPL_OFFSET_OFFSET = 96;
    public static final int PPL_SIZE_OFFSET = 98;
    public static final int NEW_LEVEL_OFFSET = 100;
    public static final int RESHAPE_POSITION_OFFSET = 104;
    public static final int DELTA_DISKS_OFFSET = 112;
    public static final int NEW_LAYOUT_OFFSET = 116;
    public static final int NEW_CHUNK_OFFSET = 120;
    public static final int NEW_OFFSET_OFFSET = 124;
    public static final int DATA_OFFSET_OFFSET = 128;
    public static final int DATA_SIZE_OFFSET = 136;
    public static final int SUPER_OFFSET_OFFSET = 144;
    public static final int RECOVERY_OFFSET_OFFSET = 152;
    public static final int DEV_NUMBER_OFFSET = 160;
    public static final int CNT_CORRECTED_READ_OFFSET = 164;
    public static final int DEVICE_UUID_OFFSET = 168;
    public static final int DEVFLAGS_OFFSET = 184;
    public static final int BBLOG_SHIFT_OFFSET = 185;
    public static final int BBLOG_SIZE_OFFSET = 186;
    public static final int BBLOG_OFFSET_OFFSET = 188;
    public static final int UTIME_OFFSET = 192;
    public static final int EVENTS_OFFSET = 200;
    public static final int RESYNC_OFFSET_OFFSET = 208;
    public static final int SB_CSUM_OFFSET = 216;
    public static final int MAX_DEV_OFFSET = 220;
    public static final int PAD3_OFFSET = 224;
    public static final int PAD3_BYTES = 32;
    public static final int DEV_ROLES_OFFSET = 256;

    static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private MemorySegment segment;

    public MdSuperblock wrap(MemorySegment buffer) {
        Check.that(buffer.byteSize() >= BUFFER_BYTES, "md superblock buffer holds 4 KiB", buffer.byteSize());
        this.segment = buffer;
        return this;
    }

    public MemorySegment segment() { return segment; }

    // ------------------------------------------------------------------ raw accessors
    private int u8(int offset) { return segment.get(ValueLayout.JAVA_BYTE, offset) & 0xff; }
    private int u16(int offset) { return segment.get(LE16, offset) & 0xffff; }
    private int i32(int offset) { return segment.get(LE32, offset); }
    private long u32(int offset) { return segment.get(LE32, offset) & 0xffff_ffffL; }
    private long i64(int offset) { return segment.get(LE64, offset); }
    private void put8(int offset, int value) { segment.set(ValueLayout.JAVA_BYTE, offset, (byte) value); }
    private void put16(int offset, int value) { segment.set(LE16, offset, (short) value); }
    private void put32(int offset, long value) { segment.set(LE32, offset, (int) value); }
    private void put64(int offset, long value) { segment.set(LE64, offset, value); }

    // ------------------------------------------------------------------ fields
    public int magic() { return i32(MAGIC_OFFSET); }
    public MdSuperblock magic(int v) { put32(MAGIC_OFFSET, v); return this; }
    public long majorVersion() { return u32(MAJOR_VERSION_OFFSET); }
    public MdSuperblock majorVersion(long v) { put32(MAJOR_VERSION_OFFSET, v); return this; }
    public int featureMap() { return i32(FEATURE_MAP_OFFSET); }
    public MdSuperblock featureMap(int v) { put32(FEATURE_MAP_OFFSET, v); return this; }
    public long pad0() { return u32(PAD0_OFFSET); }
    public byte[] setUuid() { return bytes(SET_UUID_OFFSET, UUID_BYTES); }
    public MdSuperblock setUuid(byte[] uuid) { putBytes(SET_UUID_OFFSET, uuid, UUID_BYTES); return this; }

    /** set_name up to its first NUL (md allows all 32 bytes used, with no NUL). */
    public String setName() {
        byte[] raw = bytes(SET_NAME_OFFSET, SET_NAME_BYTES);
        int length = 0;
        while (length < raw.length && raw[length] != 0) length++;
        return new String(raw, 0, length, StandardCharsets.ISO_8859_1);
    }

    public MdSuperblock setName(String name) {
        byte[] raw = name.getBytes(StandardCharsets.US_ASCII);
        Check.that(raw.length <= SET_NAME_BYTES, "md set name at most 32 ASCII bytes", raw.length);
        segment.asSlice(SET_NAME_OFFSET, SET_NAME_BYTES).fill((byte) 0);
        putBytes(SET_NAME_OFFSET, raw, raw.length);
        return this;
    }

    public long ctime() { return i64(CTIME_OFFSET); }
    public MdSuperblock ctime(long v) { put64(CTIME_OFFSET, v); return this; }
    /** Signed: -4 multipath, -1 linear, 0, 1, 4, 5, 6, 10. */
    public int level() { return i32(LEVEL_OFFSET); }
    public MdSuperblock level(int v) { put32(LEVEL_OFFSET, v); return this; }
    public int layout() { return i32(LAYOUT_OFFSET); }
    public MdSuperblock layout(int v) { put32(LAYOUT_OFFSET, v); return this; }
    /** Used size of each component, in sectors (the array's per-member size). */
    public long sizeSectors() { return i64(SIZE_OFFSET); }
    public MdSuperblock sizeSectors(long v) { put64(SIZE_OFFSET, v); return this; }
    public long chunkSectors() { return u32(CHUNKSIZE_OFFSET); }
    public MdSuperblock chunkSectors(long v) { put32(CHUNKSIZE_OFFSET, v); return this; }
    public long raidDisks() { return u32(RAID_DISKS_OFFSET); }
    public MdSuperblock raidDisks(long v) { put32(RAID_DISKS_OFFSET, v); return this; }
    /** Signed sectors from the start of the superblock to the bitmap; meaningful with MD_FEATURE_BITMAP_OFFSET. */
    public int bitmapOffsetSectors() { return i32(BITMAP_OFFSET_OFFSET); }
    public MdSuperblock bitmapOffsetSectors(int v) { put32(BITMAP_OFFSET_OFFSET, v); return this; }
    /** Signed sectors from the start of the superblock to the partial parity log; meaningful with MD_FEATURE_PPL. */
    public int pplOffsetSectors() { return segment.get(LE16, PPL_OFFSET_OFFSET); }
    public MdSuperblock pplOffsetSectors(int v) { put16(PPL_OFFSET_OFFSET, v); return this; }
    /** Sectors of the partial parity log area (header + partial parity); meaningful with MD_FEATURE_PPL. */
    public int pplSizeSectors() { return u16(PPL_SIZE_OFFSET); }
    public MdSuperblock pplSizeSectors(int v) { put16(PPL_SIZE_OFFSET, v); return this; }
    public boolean hasPpl() { return (featureMap() & MD_FEATURE_PPL) != 0; }
    /** Absolute sector of the PPL area on the member (md's rdev->ppl.sector). */
    public long pplSector() { return superOffsetSectors() + pplOffsetSectors(); }
    /** Whether the array was not stopped cleanly (md: resync_offset != MaxSector, "active" in mdadm --examine). */
    public boolean isDirty() { return resyncOffsetSectors() != MAX_SECTOR; }
    public int newLevel() { return i32(NEW_LEVEL_OFFSET); }
    public MdSuperblock newLevel(int v) { put32(NEW_LEVEL_OFFSET, v); return this; }
    public long reshapePosition() { return i64(RESHAPE_POSITION_OFFSET); }
    public MdSuperblock reshapePosition(long v) { put64(RESHAPE_POSITION_OFFSET, v); return this; }
    public int deltaDisks() { return i32(DELTA_DISKS_OFFSET); }
    public MdSuperblock deltaDisks(int v) { put32(DELTA_DISKS_OFFSET, v); return this; }
    public int newLayout() { return i32(NEW_LAYOUT_OFFSET); }
    public MdSuperblock newLayout(int v) { put32(NEW_LAYOUT_OFFSET, v); return this; }
    public long newChunkSectors() { return u32(NEW_CHUNK_OFFSET); }
    public MdSuperblock newChunkSectors(long v) { put32(NEW_CHUNK_OFFSET, v); return this; }
    public int newOffsetSectors() { return i32(NEW_OFFSET_OFFSET); }
    public MdSuperblock newOffsetSectors(int v) { put32(NEW_OFFSET_OFFSET, v); return this; }
    public long dataOffsetSectors() { return i64(DATA_OFFSET_OFFSET); }
    public MdSuperblock dataOffsetSectors(long v) { put64(DATA_OFFSET_OFFSET, v); return this; }
    public long dataSizeSectors() { return i64(DATA_SIZE_OFFSET); }
    public MdSuperblock dataSizeSectors(long v) { put64(DATA_SIZE_OFFSET, v); return this; }
    public long superOffsetSectors() { return i64(SUPER_OFFSET_OFFSET); }
    public MdSuperblock superOffsetSectors(long v) { put64(SUPER_OFFSET_OFFSET, v); return this; }
    public long recoveryOffsetSectors() { return i64(RECOVERY_OFFSET_OFFSET); }
    public MdSuperblock recoveryOffsetSectors(long v) { put64(RECOVERY_OFFSET_OFFSET, v); return this; }
    public long devNumber() { return u32(DEV_NUMBER_OFFSET); }
    public MdSuperblock devNumber(long v) { put32(DEV_NUMBER_OFFSET, v); return this; }
    public long cntCorrectedRead() { return u32(CNT_CORRECTED_READ_OFFSET); }
    public MdSuperblock cntCorrectedRead(long v) { put32(CNT_CORRECTED_READ_OFFSET, v); return this; }
    public byte[] deviceUuid() { return bytes(DEVICE_UUID_OFFSET, UUID_BYTES); }
    public MdSuperblock deviceUuid(byte[] uuid) { putBytes(DEVICE_UUID_OFFSET, uuid, UUID_BYTES); return this; }
    public int devflags() { return u8(DEVFLAGS_OFFSET); }
    public MdSuperblock devflags(int v) { put8(DEVFLAGS_OFFSET, v); return this; }
    public int bblogShift() { return u8(BBLOG_SHIFT_OFFSET); }
    public MdSuperblock bblogShift(int v) { put8(BBLOG_SHIFT_OFFSET, v); return this; }
    public int bblogSizeSectors() { return u16(BBLOG_SIZE_OFFSET); }
    public MdSuperblock bblogSizeSectors(int v) { put16(BBLOG_SIZE_OFFSET, v); return this; }
    /** Signed sectors from the start of the superblock to the bad block log. */
    public int bblogOffsetSectors() { return i32(BBLOG_OFFSET_OFFSET); }
    public MdSuperblock bblogOffsetSectors(int v) { put32(BBLOG_OFFSET_OFFSET, v); return this; }
    public long utime() { return i64(UTIME_OFFSET); }
    public MdSuperblock utime(long v) { put64(UTIME_OFFSET, v); return this; }
    public long events() { return i64(EVENTS_OFFSET); }
    public MdSuperblock events(long v) { put64(EVENTS_OFFSET, v); return this; }
    /** Sectors (from data_offset) known in sync; {@link #MAX_SECTOR} when the array is clean. */
    public long resyncOffsetSectors() { return i64(RESYNC_OFFSET_OFFSET); }
    public MdSuperblock resyncOffsetSectors(long v) { put64(RESYNC_OFFSET_OFFSET, v); return this; }
    public int sbCsum() { return i32(SB_CSUM_OFFSET); }
    public MdSuperblock sbCsum(int v) { put32(SB_CSUM_OFFSET, v); return this; }
    public long maxDev() { return u32(MAX_DEV_OFFSET); }
    public MdSuperblock maxDev(long v) { put32(MAX_DEV_OFFSET, v); return this; }
    public int devRole(int devNumber) { return u16(DEV_ROLES_OFFSET + 2 * devNumber); }
    public MdSuperblock devRole(int devNumber, int role) { put16(DEV_ROLES_OFFSET + 2 * devNumber, role); return this; }

    /**
     * Sectors of each member the array uses: {@code size}, or for raid0 with size 0 (as mdadm writes it) what md's
     * raid0 uses, data_size rounded down to the chunk.
     */
    public long usedSectors() {
        long size = sizeSectors();
        if (size != 0 || level() != 0 || chunkSectors() == 0) return size;
        return dataSizeSectors() - dataSizeSectors() % chunkSectors();
    }

    public boolean clean() { return resyncOffsetSectors() == MAX_SECTOR; }
    public boolean hasBitmap() { return (featureMap() & MD_FEATURE_BITMAP_OFFSET) != 0; }

    /** This member's role: its dev_roles entry, or spare when dev_number is past max_dev (md.c role_from_sb). */
    public int role() {
        long d = devNumber();
        return d < maxDev() && d < MAX_DEV_MAX ? devRole((int) d) : ROLE_SPARE;
    }

    private byte[] bytes(int offset, int length) {
        byte[] out = new byte[length];
        MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, offset, out, 0, length);
        return out;
    }

    private void putBytes(int offset, byte[] value, int length) {
        Check.that(value.length == length, "field length", value.length);
        MemorySegment.copy(value, 0, segment, ValueLayout.JAVA_BYTE, offset, length);
    }

    // ------------------------------------------------------------------ checksum

    /**
     * md's calc_sb_1_csum (drivers/md/md.c) over this buffer, {@code sb_csum} taken as zero. {@code max_dev} is
     * clamped to the buffer so a hostile value cannot read past it ({@link #validate} rejects it anyway).
     */
    public int computeChecksum() {
        long maxDev = Math.min(maxDev(), MAX_DEV_MAX);
        int remainingBytes = SIZE + (int) maxDev * 2;
        long sum = 0;
        int offset = 0;
        for (; remainingBytes >= 4; remainingBytes -= 4, offset += 4) {
            if (offset != SB_CSUM_OFFSET) sum += u32(offset);
        }
        if (remainingBytes == 2) sum += u16(offset);
        return (int) ((sum & 0xffff_ffffL) + (sum >>> 32));
    }

    /** Stores the checksum of the current contents. Call last, after every other field. */
    public MdSuperblock updateChecksum() {
        sbCsum(computeChecksum());
        return this;
    }

    // ------------------------------------------------------------------ validation

    /**
     * Checks everything md's super_1_load checks, and what Basalt cannot serve, against a member of
     * {@code deviceSectors} 512-byte sectors. Throws with the first problem found, in this order: magic, version,
     * max_dev, checksum, reserved bytes, features, placement, geometry, roles.
     */
    public void validate(long deviceSectors) throws MdFormatException {
        if (magic() != MD_SB_MAGIC) {
            throw new MdFormatException(Reason.BAD_MAGIC, String.format("magic 0x%08x, md v1 wants 0x%08x", magic(), MD_SB_MAGIC));
        }
        if (majorVersion() != MAJOR_VERSION) {
            throw new MdFormatException(Reason.BAD_VERSION, "major_version " + majorVersion() + ", only 1 is known");
        }
        if (maxDev() > MAX_DEV_MAX) {
            throw new MdFormatException(Reason.MAX_DEV_TOO_LARGE, "max_dev " + maxDev() + " > " + MAX_DEV_MAX
                    + " (dev_roles would not fit the 4 KiB superblock)");
        }
        if (sbCsum() != computeChecksum()) {
            throw new MdFormatException(Reason.BAD_CHECKSUM, String.format("sb_csum 0x%08x, computed 0x%08x",
                    sbCsum(), computeChecksum()));
        }
        if (pad0() != 0 || !zero(PAD3_OFFSET, PAD3_BYTES)) {
            throw new MdFormatException(Reason.RESERVED_NOT_ZERO, "pad0 or pad3 not zero (md.c super_1_load refuses it)");
        }
        validateFeatures();
        validatePlacement(deviceSectors);
        validateGeometry();
        validateRoles();
    }

    private boolean zero(int offset, int length) {
        for (int i = 0; i < length; i++) if (segment.get(ValueLayout.JAVA_BYTE, offset + i) != 0) return false;
        return true;
    }

    private void validateFeatures() throws MdFormatException {
        int features = featureMap();
        if ((features & ~MD_FEATURE_ALL) != 0) {
            throw new MdFormatException(Reason.UNSUPPORTED_FEATURE, String.format("unknown feature bits 0x%x", features & ~MD_FEATURE_ALL));
        }
        int unsupported = features & ~FEATURES_SUPPORTED;
        if (unsupported != 0) {
            throw new MdFormatException(Reason.UNSUPPORTED_FEATURE, "features not supported by Basalt: " + featureNames(unsupported));
        }
        if ((features & MD_FEATURE_PPL) != 0 && ((features & MD_FEATURE_BITMAP_OFFSET) != 0 || level() != 5)) {
            // md: ppl_init_log refuses a bitmap ("PPL is not compatible with bitmap") and levels other than 5
            throw new MdFormatException(Reason.UNSUPPORTED_FEATURE, "PPL with " + ((features & MD_FEATURE_BITMAP_OFFSET) != 0
                    ? "a bitmap (md refuses both at once)" : "level " + level() + " (md has PPL for raid5 only)"));
        }
    }

    static String featureNames(int bits) {
        String[] names = {"BITMAP_OFFSET", "RECOVERY_OFFSET", "RESHAPE_ACTIVE", "BAD_BLOCKS", "REPLACEMENT",
                "RESHAPE_BACKWARDS", "NEW_OFFSET", "RECOVERY_BITMAP", "CLUSTERED", "JOURNAL", "PPL", "MULTIPLE_PPLS",
                "RAID0_LAYOUT"};
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < names.length; i++) {
            if ((bits & (1 << i)) != 0) out.append(out.isEmpty() ? "" : ",").append(names[i]);
        }
        return out.toString();
    }

    private void validatePlacement(long deviceSectors) throws MdFormatException {
        long superOffset = superOffsetSectors();
        if (superOffset != SUPER_OFFSET_SECTORS) {
            throw new MdFormatException(Reason.OFFSET_OUTSIDE_DEVICE, "super_offset " + superOffset
                    + " but this superblock was read at sector " + SUPER_OFFSET_SECTORS + " (metadata 1.2)");
        }
        long dataOffset = dataOffsetSectors();
        long dataSize = dataSizeSectors();
        long metadataEnd = superOffset + BUFFER_BYTES / SECTOR_BYTES;
        if (dataOffset < metadataEnd || dataSize <= 0 || dataOffset > deviceSectors || dataSize > deviceSectors - dataOffset) {
            throw new MdFormatException(Reason.OFFSET_OUTSIDE_DEVICE, "data [" + dataOffset + ", +" + dataSize
                    + ") sectors is not inside the member's [" + metadataEnd + ", " + deviceSectors + ")");
        }
        if (hasBitmap()) checkMetadataArea("bitmap", bitmapOffsetSectors(), BUFFER_BYTES / SECTOR_BYTES, metadataEnd, dataOffset);
        if (hasPpl()) {
            // md ppl_validate_rdev: room for the 4 KiB header and at least one 4 KiB of partial parity
            if (pplSizeSectors() < 2 * MdPpl.HEADER_BYTES / SECTOR_BYTES) {
                throw new MdFormatException(Reason.BAD_GEOMETRY, "ppl size " + pplSizeSectors() + " sectors: md needs the 8-sector header and 8 sectors of partial parity");
            }
            checkMetadataArea("ppl", pplOffsetSectors(), pplSizeSectors(), metadataEnd, dataOffset);
        }
        if (bblogSizeSectors() != 0) checkMetadataArea("bad block log", bblogOffsetSectors(), bblogSizeSectors(), metadataEnd, dataOffset);
    }

    /** A metadata area at a signed offset from the superblock must sit between the superblock and the data. */
    private void checkMetadataArea(String what, int offsetSectors, long lengthSectors, long metadataEnd, long dataOffset)
            throws MdFormatException {
        long start = superOffsetSectors() + offsetSectors;
        if (start < metadataEnd || start + lengthSectors > dataOffset) {
            throw new MdFormatException(Reason.OFFSET_OUTSIDE_DEVICE, what + " at sector " + start + " (+" + lengthSectors
                    + ") is not between the superblock end " + metadataEnd + " and data_offset " + dataOffset);
        }
    }

    private void validateGeometry() throws MdFormatException {
        int level = level();
        long disks = raidDisks();
        long chunk = chunkSectors();
        if (level != 0 && level != 1 && level != 5) {
            throw new MdFormatException(Reason.UNSUPPORTED_LEVEL, "level " + level + " (Basalt serves raid0, raid1, raid5)");
        }
        checkLayout(level, layout());
        long disksMin = level == 5 ? 2 : 1;
        if (disks < disksMin || disks > maxDev()) {
            throw new MdFormatException(Reason.BAD_GEOMETRY, "raid_disks " + disks + " for level " + level
                    + " (at least " + disksMin + ", at most max_dev " + maxDev() + ")");
        }
        if (level != 1 && (chunk < 8 || Long.bitCount(chunk) != 1)) {
            throw new MdFormatException(Reason.BAD_GEOMETRY, "chunksize " + chunk + " sectors: a power of two >= 8 (4 KiB) is needed");
        }
        // mdadm writes size 0 for raid0 (md's raid0 ignores it and stripes over data_size rounded down to the
        // chunk; seen from mdadm 4.2 --create in the QEMU interop test): allowed there, nowhere else.
        if (level == 0 && sizeSectors() == 0) return;
        if (sizeSectors() <= 0 || sizeSectors() > dataSizeSectors()) {
            throw new MdFormatException(Reason.BAD_GEOMETRY, "size " + sizeSectors() + " sectors per member is not in (0, data_size "
                    + dataSizeSectors() + "]");
        }
    }

    private static void checkLayout(int level, int layout) throws MdFormatException {
        boolean ok = switch (level) {
            case 5 -> layout >= ALGORITHM_LEFT_ASYMMETRIC && layout <= ALGORITHM_RIGHT_SYMMETRIC;
            case 0 -> layout == 0 || layout == RAID0_ORIG_LAYOUT || layout == RAID0_ALT_MULTIZONE_LAYOUT;
            default -> layout == 0;
        };
        if (!ok) throw new MdFormatException(Reason.UNSUPPORTED_LAYOUT, "layout " + layout + " for level " + level);
    }

    private void validateRoles() throws MdFormatException {
        int maxDev = (int) maxDev();
        if (devNumber() >= maxDev) {
            throw new MdFormatException(Reason.BAD_DEV_NUMBER, "dev_number " + devNumber() + " >= max_dev " + maxDev);
        }
        long disks = raidDisks();
        for (int d = 0; d < maxDev; d++) {
            int role = devRole(d);
            if (role < ROLE_MAX && role >= disks) {
                throw new MdFormatException(Reason.BAD_GEOMETRY, "dev_roles[" + d + "] = " + role + " >= raid_disks " + disks);
            }
        }
    }
}
