package io.basalt.raid.md;

import io.basalt.raid.md.MdFormatException.Reason;
import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static io.basalt.raid.md.MdSuperblock.LE32;
import static io.basalt.raid.md.MdSuperblock.LE64;

/**
 * Flyweight over md's internal write-intent bitmap: {@code bitmap_super_t} followed by one bit per bitmap chunk.
 * The struct is not in the uapi headers; it mirrors {@code drivers/md/md-bitmap.h} (Linux 6.x, "the superblock at
 * the front of the bitmap file -- little endian") and {@code MdLayoutTest} compiles that definition with gcc to
 * check these offsets. With metadata 1.2 mdadm places it at {@code bitmap_offset} = +8 sectors from the
 * superblock, that is sector 16 of the member.
 *
 * <pre>
 *   0 magic  4 version  8 uuid[16]  24 events  32 events_cleared  40 sync_size  48 state  52 chunksize
 *  56 daemon_sleep  60 write_behind  64 sectors_reserved  68 nodes  72 cluster_name[64]  136 pad[120]
 * 256 bits: chunk c is bit (c % 8) of byte 256 + c / 8 (version 4 is little-endian bit order, md-bitmap.c
 *     uses set_bit_le; the bits follow the superblock in the same pages, CHUNK_BIT_OFFSET)
 * </pre>
 * A set bit means the chunk (chunksize bytes of each member's data area, counted from data_offset over
 * sync_size sectors) may differ between members and needs a resync after an unclean stop.
 */
public final class MdBitmap {
    public static final int BITMAP_MAGIC = 0x6d746962;
    /** BITMAP_MAJOR_HI: little-endian bitmap, the only version Basalt writes and reads. */
    public static final int VERSION = 4;
    public static final int VERSION_HOSTENDIAN = 3;
    public static final int VERSION_CLUSTERED = 5;
    public static final int SIZE = 256;
    public static final int STATE_STALE = 0x2;
    public static final int STATE_WRITE_ERROR = 0x4;
    public static final int STATE_HOSTENDIAN = 0x8000;
    /** md-bitmap.h COUNTER_MAX: the largest write_behind md accepts. */
    public static final int WRITE_BEHIND_MAX = (1 << 14) - 1;
    /** mdadm's DEFAULT_BITMAP_DELAY, seconds between bitmap flushes. */
    public static final int DAEMON_SLEEP_DEFAULT_SECONDS = 5;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 4;
    public static final int UUID_OFFSET = 8;
    public static final int EVENTS_OFFSET = 24;
    public static final int EVENTS_CLEARED_OFFSET = 32;
    public static final int SYNC_SIZE_OFFSET = 40;
    public static final int STATE_OFFSET = 48;
    public static final int CHUNKSIZE_OFFSET = 52;
    public static final int DAEMON_SLEEP_OFFSET = 56;
    public static final int WRITE_BEHIND_OFFSET = 60;
    public static final int SECTORS_RESERVED_OFFSET = 64;
    public static final int NODES_OFFSET = 68;
    public static final int CLUSTER_NAME_OFFSET = 72;
    public static final int CLUSTER_NAME_BYTES = 64;
    public static final int PAD_OFFSET = 136;
    public static final int BITS_OFFSET = SIZE;

    /** Receives one run of dirty chunks, in sectors of each member's data area. */
    @FunctionalInterface
    public interface DirtyRange {
        void accept(long startSector, long sectorCount);
    }

    private MemorySegment segment;

    /** Wraps the bitmap area ({@code sectors_reserved} x 512 bytes, starting with the bitmap superblock). */
    public MdBitmap wrap(MemorySegment area) {
        Check.that(area.byteSize() >= SIZE, "bitmap area holds the bitmap superblock", area.byteSize());
        this.segment = area;
        return this;
    }

    public MemorySegment segment() { return segment; }

    public int magic() { return segment.get(LE32, MAGIC_OFFSET); }
    public MdBitmap magic(int v) { segment.set(LE32, MAGIC_OFFSET, v); return this; }
    public int version() { return segment.get(LE32, VERSION_OFFSET); }
    public MdBitmap version(int v) { segment.set(LE32, VERSION_OFFSET, v); return this; }

    public byte[] uuid() {
        byte[] out = new byte[MdSuperblock.UUID_BYTES];
        MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, UUID_OFFSET, out, 0, out.length);
        return out;
    }

    public MdBitmap uuid(byte[] uuid) {
        Check.that(uuid.length == MdSuperblock.UUID_BYTES, "uuid is 16 bytes", uuid.length);
        MemorySegment.copy(uuid, 0, segment, ValueLayout.JAVA_BYTE, UUID_OFFSET, uuid.length);
        return this;
    }

    public long events() { return segment.get(LE64, EVENTS_OFFSET); }
    public MdBitmap events(long v) { segment.set(LE64, EVENTS_OFFSET, v); return this; }
    public long eventsCleared() { return segment.get(LE64, EVENTS_CLEARED_OFFSET); }
    public MdBitmap eventsCleared(long v) { segment.set(LE64, EVENTS_CLEARED_OFFSET, v); return this; }
    /** Sectors of each member's data the bitmap covers (the superblock's size for raid1/5). */
    public long syncSizeSectors() { return segment.get(LE64, SYNC_SIZE_OFFSET); }
    public MdBitmap syncSizeSectors(long v) { segment.set(LE64, SYNC_SIZE_OFFSET, v); return this; }
    public int state() { return segment.get(LE32, STATE_OFFSET); }
    public MdBitmap state(int v) { segment.set(LE32, STATE_OFFSET, v); return this; }
    public long chunkBytes() { return segment.get(LE32, CHUNKSIZE_OFFSET) & 0xffff_ffffL; }
    public MdBitmap chunkBytes(long v) { segment.set(LE32, CHUNKSIZE_OFFSET, (int) v); return this; }
    public long daemonSleepSeconds() { return segment.get(LE32, DAEMON_SLEEP_OFFSET) & 0xffff_ffffL; }
    public MdBitmap daemonSleepSeconds(long v) { segment.set(LE32, DAEMON_SLEEP_OFFSET, (int) v); return this; }
    public long writeBehind() { return segment.get(LE32, WRITE_BEHIND_OFFSET) & 0xffff_ffffL; }
    public MdBitmap writeBehind(long v) { segment.set(LE32, WRITE_BEHIND_OFFSET, (int) v); return this; }
    public long sectorsReserved() { return segment.get(LE32, SECTORS_RESERVED_OFFSET) & 0xffff_ffffL; }
    public MdBitmap sectorsReserved(long v) { segment.set(LE32, SECTORS_RESERVED_OFFSET, (int) v); return this; }
    public long nodes() { return segment.get(LE32, NODES_OFFSET) & 0xffff_ffffL; }
    public MdBitmap nodes(long v) { segment.set(LE32, NODES_OFFSET, (int) v); return this; }

    /** Bitmap chunks covering sync_size: one bit each. */
    public long chunkCount() {
        long chunk = chunkBytes();
        Check.that(chunk > 0, "bitmap chunk size set", chunk);
        return (syncSizeSectors() * MdSuperblock.SECTOR_BYTES + chunk - 1) / chunk;
    }

    public long chunkSectors() {
        return chunkBytes() / MdSuperblock.SECTOR_BYTES;
    }

    /**
     * Sets up a fresh bitmap over {@code area} for the array {@code spec}: every bit clear (the array starts
     * clean), events and events_cleared equal to the superblock's.
     */
    public MdBitmap initialize(MdArraySpec spec) {
        Check.that(spec.bitmapSectors() > 0, "array spec has a bitmap", spec.bitmapSectors());
        Check.that(segment.byteSize() >= spec.bitmapSectors() * MdSuperblock.SECTOR_BYTES, "area holds the bitmap space",
                segment.byteSize());
        segment.asSlice(0, spec.bitmapSectors() * MdSuperblock.SECTOR_BYTES).fill((byte) 0);
        magic(BITMAP_MAGIC).version(VERSION).uuid(spec.setUuid()).events(spec.events()).eventsCleared(spec.events())
                .syncSizeSectors(spec.sizeSectors()).state(0).chunkBytes(spec.bitmapChunkBytes())
                .daemonSleepSeconds(DAEMON_SLEEP_DEFAULT_SECONDS).writeBehind(0).sectorsReserved(spec.bitmapSectors())
                .nodes(0);
        Check.that(BITS_OFFSET + (chunkCount() + 7) / 8 <= segment.byteSize(), "bits fit the bitmap space", chunkCount());
        return this;
    }

    // ------------------------------------------------------------------ bits

    private long byteOffset(long chunk) {
        Check.that(chunk >= 0 && chunk < chunkCount(), "bitmap chunk in range", chunk);
        return BITS_OFFSET + (chunk >>> 3);
    }

    public boolean test(long chunk) {
        return (segment.get(ValueLayout.JAVA_BYTE, byteOffset(chunk)) & (1 << (chunk & 7))) != 0;
    }

    public void set(long chunk) {
        long at = byteOffset(chunk);
        segment.set(ValueLayout.JAVA_BYTE, at, (byte) (segment.get(ValueLayout.JAVA_BYTE, at) | (1 << (chunk & 7))));
    }

    public void clear(long chunk) {
        long at = byteOffset(chunk);
        segment.set(ValueLayout.JAVA_BYTE, at, (byte) (segment.get(ValueLayout.JAVA_BYTE, at) & ~(1 << (chunk & 7))));
    }

    /** Marks the chunks covering data sectors [startSector, startSector + sectorCount) of each member. */
    public void setRange(long startSector, long sectorCount) {
        Check.that(startSector >= 0 && sectorCount > 0 && startSector + sectorCount <= syncSizeSectors(), "range in sync_size", startSector);
        long chunkSectors = chunkSectors();
        for (long c = startSector / chunkSectors; c <= (startSector + sectorCount - 1) / chunkSectors; c++) set(c);
    }

    /** Marks every chunk, as md does when the bitmap is older than the superblock. */
    public void setAll() {
        for (long c = 0; c < chunkCount(); c++) set(c);
    }

    /** The first dirty chunk at or after {@code fromChunk}, or -1. */
    public long nextDirty(long fromChunk) {
        long count = chunkCount();
        for (long c = Math.max(0, fromChunk); c < count; c++) {
            if ((c & 7) == 0 && c + 8 <= count && segment.get(ValueLayout.JAVA_BYTE, BITS_OFFSET + (c >>> 3)) == 0) {
                c += 7;
                continue;
            }
            if (test(c)) return c;
        }
        return -1;
    }

    public long dirtyCount() {
        long n = 0;
        for (long c = nextDirty(0); c >= 0; c = nextDirty(c + 1)) n++;
        return n;
    }

    /** Calls {@code out} once per run of adjacent dirty chunks, clipped to sync_size; returns the run count. */
    public int forEachDirtyRange(DirtyRange out) {
        long chunkSectors = chunkSectors();
        long syncSize = syncSizeSectors();
        int runs = 0;
        long c = nextDirty(0);
        while (c >= 0) {
            long end = c + 1;
            while (end < chunkCount() && test(end)) end++;
            long start = c * chunkSectors;
            out.accept(start, Math.min(end * chunkSectors, syncSize) - start);
            runs++;
            c = nextDirty(end);
        }
        return runs;
    }

    // ------------------------------------------------------------------ validation

    /**
     * Checks what md-bitmap.c md_bitmap_read_sb checks, for an internal bitmap of the array whose superblock is
     * {@code sb}. A bitmap older than the superblock is not an error (md then resyncs everything): see
     * {@link #isStale}.
     */
    public void validate(MdSuperblock sb) throws MdFormatException {
        if (magic() != BITMAP_MAGIC) {
            throw new MdFormatException(Reason.BITMAP_BAD_MAGIC, String.format("bitmap magic 0x%08x, wants 0x%08x", magic(), BITMAP_MAGIC));
        }
        if (version() != VERSION) {
            String why = version() == VERSION_HOSTENDIAN ? " (host-endian, not portable)"
                    : version() == VERSION_CLUSTERED ? " (clustered md)" : "";
            throw new MdFormatException(Reason.BITMAP_BAD_VERSION, "bitmap version " + version() + why + ", Basalt reads 4");
        }
        long chunk = chunkBytes();
        if (chunk < MdSuperblock.SECTOR_BYTES || Long.bitCount(chunk) != 1) {
            throw new MdFormatException(Reason.BITMAP_BAD_CHUNK, "bitmap chunksize " + chunk + " bytes: a power of two >= 512 is needed");
        }
        if (!Arrays.equals(uuid(), sb.setUuid())) {
            throw new MdFormatException(Reason.BITMAP_UUID_MISMATCH, "bitmap uuid is not the array's set_uuid");
        }
        if (daemonSleepSeconds() < 1 || writeBehind() > WRITE_BEHIND_MAX || nodes() > 1 || syncSizeSectors() <= 0) {
            throw new MdFormatException(Reason.BITMAP_BAD_FIELD, "daemon_sleep " + daemonSleepSeconds() + " s, write_behind "
                    + writeBehind() + ", nodes " + nodes() + ", sync_size " + syncSizeSectors() + " out of range");
        }
        if (syncSizeSectors() < sb.sizeSectors()) {
            throw new MdFormatException(Reason.BITMAP_TOO_SMALL, "bitmap covers " + syncSizeSectors() + " sectors, the array "
                    + sb.sizeSectors() + " per member");
        }
        // mdadm 4.2 leaves sectors_reserved 0 in the internal bitmaps it creates (seen in the QEMU interop test) and
        // md does not require it: 0 means "not recorded", and the area the caller wrapped is the limit.
        long areaBytes = sectorsReserved() == 0 ? segment.byteSize()
                : Math.min(segment.byteSize(), sectorsReserved() * MdSuperblock.SECTOR_BYTES);
        if (BITS_OFFSET + (chunkCount() + 7) / 8 > areaBytes) {
            throw new MdFormatException(Reason.BITMAP_TOO_SMALL, chunkCount() + " bits do not fit " + areaBytes
                    + " bytes reserved for the bitmap");
        }
    }

    /** md trusts the bits only when the bitmap's events are not older than the superblock's (md-bitmap.c). */
    public boolean isStale(MdSuperblock sb) {
        return (state() & STATE_STALE) != 0 || Long.compareUnsigned(events(), sb.events()) < 0;
    }
}
