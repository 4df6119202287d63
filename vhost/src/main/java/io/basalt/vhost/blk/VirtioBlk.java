package io.basalt.vhost.blk;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * virtio-blk wire constants and flyweights (virtio 1.x section 5.2 "Block Device", Linux
 * include/uapi/linux/virtio_blk.h). Little-endian throughout (VIRTIO_F_VERSION_1). Every value here is
 * compared with the installed header by VirtioLayoutTest.
 */
public final class VirtioBlk {
    private VirtioBlk() {}

    // ---- feature bits (5.2.3)
    public static final int F_SIZE_MAX = 1;
    public static final int F_SEG_MAX = 2;
    public static final int F_RO = 5;
    public static final int F_BLK_SIZE = 6;
    public static final int F_FLUSH = 9;
    public static final int F_TOPOLOGY = 10;
    public static final int F_CONFIG_WCE = 11;
    public static final int F_MQ = 12;
    public static final int F_DISCARD = 13;
    public static final int F_WRITE_ZEROES = 14;

    // ---- request types (5.2.6)
    public static final int T_IN = 0;
    public static final int T_OUT = 1;
    public static final int T_FLUSH = 4;
    public static final int T_GET_ID = 8;
    public static final int T_DISCARD = 11;
    public static final int T_WRITE_ZEROES = 13;

    // ---- status byte values
    public static final int S_OK = 0;
    public static final int S_IOERR = 1;
    public static final int S_UNSUPP = 2;

    /** Sectors are always 512 bytes, whatever blk_size says (5.2.6). */
    public static final int SECTOR_BYTES = 512;
    public static final int SECTOR_SHIFT = 9;
    /** GET_ID answers a 20-byte string, NUL-padded (VIRTIO_BLK_ID_BYTES). */
    public static final int ID_BYTES = 20;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * struct virtio_blk_outhdr, the first 16 device-readable bytes of every request:
     * <pre>
     *  0 type     u32  T_*
     *  4 reserved u32  (ioprio in legacy; ignored)
     *  8 sector   u64  offset in 512-byte sectors
     * </pre>
     */
    public static final class RequestHeader {
        private RequestHeader() {}
        public static final int TYPE_OFFSET = 0;
        public static final int RESERVED_OFFSET = 4;
        public static final int SECTOR_OFFSET = 8;
        public static final int SIZE = 16;

        public static int type(MemorySegment header) { return header.get(U32, TYPE_OFFSET); }
        public static long sector(MemorySegment header) { return header.get(U64, SECTOR_OFFSET); }
        public static void type(MemorySegment header, int type) { header.set(U32, TYPE_OFFSET, type); }
        public static void reserved(MemorySegment header, int value) { header.set(U32, RESERVED_OFFSET, value); }
        public static void sector(MemorySegment header, long sector) { header.set(U64, SECTOR_OFFSET, sector); }
    }

    /**
     * struct virtio_blk_discard_write_zeroes, the data of DISCARD and WRITE_ZEROES (one per range):
     * <pre>
     *  0 sector      u64
     *  8 num_sectors u32
     * 12 flags       u32  bit 0 UNMAP (WRITE_ZEROES only), the rest reserved (must be 0)
     * </pre>
     */
    public static final class DiscardSegment {
        private DiscardSegment() {}
        public static final int SECTOR_OFFSET = 0;
        public static final int NUM_SECTORS_OFFSET = 8;
        public static final int FLAGS_OFFSET = 12;
        public static final int SIZE = 16;
        public static final int FLAG_UNMAP = 1;

        public static long sector(MemorySegment s) { return s.get(U64, SECTOR_OFFSET); }
        public static long numSectors(MemorySegment s) { return Integer.toUnsignedLong(s.get(U32, NUM_SECTORS_OFFSET)); }
        public static int flags(MemorySegment s) { return s.get(U32, FLAGS_OFFSET); }
        public static void set(MemorySegment s, long sector, int numSectors, int flags) {
            s.set(U64, SECTOR_OFFSET, sector);
            s.set(U32, NUM_SECTORS_OFFSET, numSectors);
            s.set(U32, FLAGS_OFFSET, flags);
        }
    }
}
