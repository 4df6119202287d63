package io.basalt.raid.md;

import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Flyweight over md's partial parity log header, {@code struct ppl_header} and {@code struct ppl_header_entry} of
 * {@code include/uapi/linux/raid/md_p.h} (Documentation/driver-api/md/raid5-ppl.rst; drivers/md/raid5-ppl.c).
 * Little-endian on disk, packed. One io_unit is this 4 KiB header followed by the partial parity of its entries,
 * in entry order:
 *
 * <pre>
 *    0 reserved[512] (0xff)   512 signature   516 padding (0)   520 generation   528 entries_count   532 checksum
 *  536 entries[148], 24 bytes each:
 *        +0 data_sector (le64, 512-byte sectors of the array for md's native metadata: ppl_conf->block_size = 512)
 *        +8 pp_size (bytes of partial parity)   +12 data_size (bytes of data)   +16 parity_disk   +20 checksum
 * 4088 .. 4096 unused (PPL_HEADER_SIZE is 4096, sizeof(struct ppl_header) 4088)
 * </pre>
 *
 * <p>Checksums are md's {@code ~crc32c_le(~0, ...)}, which is the standard CRC-32C ({@link CRC32C}): the header's
 * over its 4 KiB with the checksum field 0, an entry's over its partial parity, the signature over the 16-byte
 * array uuid (ppl_init_log: {@code ~crc32c_le(~0, mddev->uuid, 16)}; mdadm write_init_ppl1 the same over set_uuid).
 *
 * <p>Entry semantics (ppl_recover_entry): with {@code pp_size < chunk}, the entry is a rectangle of
 * {@code data_size / pp_size} consecutive data chunks by {@code pp_size} bytes of rows starting at
 * {@code data_sector}; {@code pp_size = 0} means every data chunk over {@code data_size / data disks} bytes of rows;
 * {@code pp_size >= chunk} means the contiguous array range [data_sector, + data_size) of one stripe, partial
 * parity indexed by the offset from data_sector within a chunk. Recovery writes, per row,
 * parity = partial parity ^ every modified data block, and skips an entry if a modified data member is missing.
 */
public final class MdPpl {
    public static final int HEADER_BYTES = 4096;
    public static final int RESERVED_BYTES = 512;
    public static final int SIGNATURE_OFFSET = 512;
    public static final int PADDING_OFFSET = 516;
    public static final int GENERATION_OFFSET = 520;
    public static final int ENTRIES_COUNT_OFFSET = 528;
    public static final int CHECKSUM_OFFSET = 532;
    public static final int ENTRIES_OFFSET = 536;
    public static final int ENTRY_BYTES = 24;
    /** PPL_HDR_MAX_ENTRIES: (4096 - 512 - 4 * 4 - 8) / 24. */
    public static final int ENTRIES_MAX = (HEADER_BYTES - RESERVED_BYTES - 4 * 4 - 8) / ENTRY_BYTES;
    public static final int ENTRY_DATA_SECTOR = 0, ENTRY_PP_SIZE = 8, ENTRY_DATA_SIZE = 12, ENTRY_PARITY_DISK = 16,
            ENTRY_CHECKSUM = 20;
    /** mdadm MULTIPLE_PPL_AREA_SIZE_SUPER1: the PPL area mdadm reserves per member for metadata 1.x, in sectors. */
    public static final int AREA_SECTORS_MDADM = (1024 * 1024) / MdSuperblock.SECTOR_BYTES;

    private MemorySegment segment;

    public MdPpl wrap(MemorySegment header) {
        Check.that(header.byteSize() >= HEADER_BYTES, "ppl header buffer holds 4 KiB", header.byteSize());
        this.segment = header;
        return this;
    }

    public MemorySegment segment() { return segment; }

    public long signature() { return u32(SIGNATURE_OFFSET); }
    public long padding() { return u32(PADDING_OFFSET); }
    public long generation() { return segment.get(MdSuperblock.LE64, GENERATION_OFFSET); }
    public MdPpl generation(long v) { segment.set(MdSuperblock.LE64, GENERATION_OFFSET, v); return this; }
    public long entriesCount() { return u32(ENTRIES_COUNT_OFFSET); }
    public MdPpl entriesCount(int v) { segment.set(MdSuperblock.LE32, ENTRIES_COUNT_OFFSET, v); return this; }
    public long checksum() { return u32(CHECKSUM_OFFSET); }

    public long dataSector(int i) { return segment.get(MdSuperblock.LE64, entry(i) + ENTRY_DATA_SECTOR); }
    public long ppSize(int i) { return u32(entry(i) + ENTRY_PP_SIZE); }
    public long dataSize(int i) { return u32(entry(i) + ENTRY_DATA_SIZE); }
    public long parityDisk(int i) { return u32(entry(i) + ENTRY_PARITY_DISK); }
    public long entryChecksum(int i) { return u32(entry(i) + ENTRY_CHECKSUM); }

    /** Writes entry {@code i}; the checksum is the CRC-32C of the entry's partial parity (0 when it has none). */
    public MdPpl entry(int i, long dataSector, int ppSizeBytes, int dataSizeBytes, int parityDisk, int checksum) {
        long at = entry(i);
        segment.set(MdSuperblock.LE64, at + ENTRY_DATA_SECTOR, dataSector);
        segment.set(MdSuperblock.LE32, at + ENTRY_PP_SIZE, ppSizeBytes);
        segment.set(MdSuperblock.LE32, at + ENTRY_DATA_SIZE, dataSizeBytes);
        segment.set(MdSuperblock.LE32, at + ENTRY_PARITY_DISK, parityDisk);
        segment.set(MdSuperblock.LE32, at + ENTRY_CHECKSUM, checksum);
        return this;
    }

    /** An empty header as md and mdadm write it: 0xff reserved, the signature, everything else 0 (checksum not set). */
    public MdPpl reset(int signature) {
        // Long stores rather than fills of slices: no slice object, so the data path's io_units allocate nothing.
        for (long o = 0; o < HEADER_BYTES; o += 8) segment.set(ValueLayout.JAVA_LONG_UNALIGNED, o, o < RESERVED_BYTES ? -1L : 0L);
        segment.set(MdSuperblock.LE32, SIGNATURE_OFFSET, signature);
        return this;
    }

    /** Sets the header checksum (over the 4 KiB with the field 0), with a caller-owned CRC and buffer view: no allocation. */
    public MdPpl seal(CRC32C crc, ByteBuffer headerView) {
        segment.set(MdSuperblock.LE32, CHECKSUM_OFFSET, 0);
        segment.set(MdSuperblock.LE32, CHECKSUM_OFFSET, headerChecksum(crc, headerView));
        return this;
    }

    /** Whether the stored checksum matches (computed with the field as 0; the field is restored). */
    public boolean checksumValid() {
        int stored = (int) checksum();
        segment.set(MdSuperblock.LE32, CHECKSUM_OFFSET, 0);
        int computed = crc32c(segment.asSlice(0, HEADER_BYTES));
        segment.set(MdSuperblock.LE32, CHECKSUM_OFFSET, stored);
        return computed == stored;
    }

    private int headerChecksum(CRC32C crc, ByteBuffer headerView) {
        crc.reset();
        headerView.clear().limit(HEADER_BYTES);
        crc.update(headerView);
        return (int) crc.getValue();
    }

    /** md's PPL signature for an array: the CRC-32C of its 16-byte set uuid. */
    public static int signature(byte[] setUuid) {
        Check.that(setUuid.length == MdSuperblock.UUID_BYTES, "set uuid is 16 bytes", setUuid.length);
        CRC32C crc = new CRC32C();
        crc.update(setUuid);
        return (int) crc.getValue();
    }

    /** CRC-32C of a segment (control path: allocates a buffer view). */
    public static int crc32c(MemorySegment bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes.asByteBuffer());
        return (int) crc.getValue();
    }

    private long entry(int i) {
        Check.that(i >= 0 && i < ENTRIES_MAX, "ppl entry index within 148", i);
        return ENTRIES_OFFSET + (long) i * ENTRY_BYTES;
    }

    private long u32(long offset) {
        return segment.get(MdSuperblock.LE32, offset) & 0xffff_ffffL;
    }
}
