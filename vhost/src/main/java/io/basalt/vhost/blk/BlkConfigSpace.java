package io.basalt.vhost.blk;

import io.basalt.engine.Capabilities;
import io.basalt.engine.Geometry;
import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * struct virtio_blk_config (virtio 1.x 5.2.4, Linux include/uapi/linux/virtio_blk.h; packed, little-endian),
 * what VHOST_USER_GET_CONFIG returns. Built from a device's {@link Geometry} and the export's options.
 * <pre>
 *  0 capacity u64 (512-byte sectors)          32 wce u8 (writeback)     33 unused0 u8     34 num_queues u16
 *  8 size_max u32                             36 max_discard_sectors u32
 * 12 seg_max u32                              40 max_discard_seg u32
 * 16 geometry {cylinders u16, heads u8,       44 discard_sector_alignment u32
 *              sectors u8}                    48 max_write_zeroes_sectors u32
 * 20 blk_size u32                             52 max_write_zeroes_seg u32
 * 24 physical_block_exp u8                    56 write_zeroes_may_unmap u8
 * 25 alignment_offset u8                      57 unused1[3]
 * 26 min_io_size u16 (logical blocks)         60 max_secure_erase_sectors u32, 64 max_secure_erase_seg u32,
 * 28 opt_io_size u32 (logical blocks)         68 secure_erase_sector_alignment u32 (not offered: zero)
 * </pre>
 * {@link #SIZE} is the struct up to unused1 (what the virtio 1.1/1.2 spec lists); {@link #SIZE_WITH_SECURE_ERASE}
 * covers the newer fields, kept zero. GET_CONFIG copies whatever length the front-end asked for (zero past the end).
 */
public final class BlkConfigSpace {
    public static final int CAPACITY_OFFSET = 0;
    public static final int SIZE_MAX_OFFSET = 8;
    public static final int SEG_MAX_OFFSET = 12;
    public static final int GEOMETRY_CYLINDERS_OFFSET = 16;
    public static final int GEOMETRY_HEADS_OFFSET = 18;
    public static final int GEOMETRY_SECTORS_OFFSET = 19;
    public static final int BLK_SIZE_OFFSET = 20;
    public static final int PHYSICAL_BLOCK_EXP_OFFSET = 24;
    public static final int ALIGNMENT_OFFSET_OFFSET = 25;
    public static final int MIN_IO_SIZE_OFFSET = 26;
    public static final int OPT_IO_SIZE_OFFSET = 28;
    public static final int WCE_OFFSET = 32;
    public static final int UNUSED0_OFFSET = 33;
    public static final int NUM_QUEUES_OFFSET = 34;
    public static final int MAX_DISCARD_SECTORS_OFFSET = 36;
    public static final int MAX_DISCARD_SEG_OFFSET = 40;
    public static final int DISCARD_SECTOR_ALIGNMENT_OFFSET = 44;
    public static final int MAX_WRITE_ZEROES_SECTORS_OFFSET = 48;
    public static final int MAX_WRITE_ZEROES_SEG_OFFSET = 52;
    public static final int WRITE_ZEROES_MAY_UNMAP_OFFSET = 56;
    public static final int UNUSED1_OFFSET = 57;
    public static final int SIZE = 60;
    public static final int MAX_SECURE_ERASE_SECTORS_OFFSET = 60;
    public static final int SIZE_WITH_SECURE_ERASE = 72;

    /** Linux needs max_segment_size >= its page size; 4 KiB on x86-64. */
    private static final long PAGE_BYTES = 4096;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Export options.
     * @param readOnly            offer VIRTIO_BLK_F_RO
     * @param numQueues           virtqueues offered (VIRTIO_BLK_F_MQ when > 1)
     * @param segMax              most data segments per request (also capped by the queue size - 2)
     * @param discardSectorsMax   largest DISCARD range in sectors (0: DISCARD not offered)
     * @param discardSegMax       most ranges in one DISCARD
     * @param writeZeroesSectorsMax largest WRITE_ZEROES range in sectors (0: not offered)
     * @param writeZeroesSegMax   most ranges in one WRITE_ZEROES
     * @param writeZeroesMayUnmap whether WRITE_ZEROES may deallocate
     */
    public record Options(boolean readOnly, int numQueues, int segMax, long discardSectorsMax, int discardSegMax,
                          long writeZeroesSectorsMax, int writeZeroesSegMax, boolean writeZeroesMayUnmap) {
        public Options {
            Check.that(numQueues >= 1 && numQueues <= 0xFFFF, "num_queues in [1, 65535]", numQueues);
            Check.positive(segMax, "segMax");
            Check.that(discardSectorsMax >= 0 && discardSectorsMax <= 0xFFFF_FFFFL, "discard sectors fit u32", discardSectorsMax);
            Check.that(writeZeroesSectorsMax >= 0 && writeZeroesSectorsMax <= 0xFFFF_FFFFL, "write-zeroes sectors fit u32", writeZeroesSectorsMax);
            Check.positive(discardSegMax, "discardSegMax");
            Check.positive(writeZeroesSegMax, "writeZeroesSegMax");
        }

        /**
         * Read-write, one queue, 126 segments, DISCARD and WRITE_ZEROES up to 2^22 sectors (2 GiB), one range each:
         * the most offered; a device that does not do one of them takes it out ({@link #limitedTo}).
         */
        public static Options defaults() {
            return new Options(false, 1, 126, 1L << 22, 1, 1L << 22, 1, true);
        }

        public Options withReadOnly(boolean ro) {
            return new Options(ro, numQueues, segMax, discardSectorsMax, discardSegMax, writeZeroesSectorsMax, writeZeroesSegMax, writeZeroesMayUnmap);
        }

        public Options withNumQueues(int n) {
            return new Options(readOnly, n, segMax, discardSectorsMax, discardSegMax, writeZeroesSectorsMax, writeZeroesSegMax, writeZeroesMayUnmap);
        }

        /**
         * What the device really does (its {@link Capabilities}): an operation it does not perform gets a zero limit,
         * so its feature bit is not offered (virtio 5.2.3: max_discard_sectors and friends exist only with the
         * feature), and WRITE_ZEROES may unmap only when the device's does.
         */
        public Options limitedTo(Capabilities c) {
            return new Options(readOnly, numQueues, segMax, c.discard() ? discardSectorsMax : 0, discardSegMax,
                    c.writeZeroes() ? writeZeroesSectorsMax : 0, writeZeroesSegMax, writeZeroesMayUnmap && c.writeZeroesUnmaps());
        }

        public Options withDiscardSegMax(int n) {
            return new Options(readOnly, numQueues, segMax, discardSectorsMax, n, writeZeroesSectorsMax, n, writeZeroesMayUnmap);
        }
    }

    private final Geometry geometry;
    private final Options options;
    private final byte[] bytes = new byte[SIZE_WITH_SECURE_ERASE];

    /** The config of {@code geometry}'s device: {@code options} limited to what the device does. */
    public BlkConfigSpace(Geometry geometry, Options requested) {
        this.geometry = geometry;
        Options options = requested.limitedTo(geometry.capabilities());
        this.options = options;
        MemorySegment s = MemorySegment.ofArray(bytes);
        int blockBytes = geometry.logicalBlockBytes();
        s.set(U64, CAPACITY_OFFSET, geometry.sizeBytes() / VirtioBlk.SECTOR_BYTES);
        // seg_max x size_max never exceeds the device's largest transfer, so no guest request needs splitting.
        long transferBytesMax = (long) geometry.maxTransferBlocks() * blockBytes;
        int segMax = (int) Math.max(1, Math.min(Math.min(options.segMax(), geometry.maxSegments()), transferBytesMax / PAGE_BYTES));
        long sizeMax = Math.max(PAGE_BYTES, Math.min(0xFFFF_F000L, (transferBytesMax / segMax) & -PAGE_BYTES));
        s.set(U32, SIZE_MAX_OFFSET, (int) sizeMax);
        s.set(U32, SEG_MAX_OFFSET, segMax);
        s.set(U32, BLK_SIZE_OFFSET, blockBytes);
        s.set(ValueLayout.JAVA_BYTE, PHYSICAL_BLOCK_EXP_OFFSET, (byte) 0);
        s.set(ValueLayout.JAVA_BYTE, ALIGNMENT_OFFSET_OFFSET, (byte) 0);
        s.set(U16, MIN_IO_SIZE_OFFSET, (short) 1);
        s.set(U32, OPT_IO_SIZE_OFFSET, geometry.optimalTransferBlocks());
        s.set(ValueLayout.JAVA_BYTE, WCE_OFFSET, (byte) 1); // writeback: the guest must FLUSH for durability
        s.set(U16, NUM_QUEUES_OFFSET, (short) options.numQueues());
        s.set(U32, MAX_DISCARD_SECTORS_OFFSET, (int) options.discardSectorsMax());
        s.set(U32, MAX_DISCARD_SEG_OFFSET, options.discardSegMax());
        // The guest's discard_granularity (Linux virtio_blk): a RAID5 volume discards whole stripes only.
        long granularitySectors = geometry.capabilities().discardGranularityBlocks() * blockBytes / VirtioBlk.SECTOR_BYTES;
        s.set(U32, DISCARD_SECTOR_ALIGNMENT_OFFSET, (int) Math.min(granularitySectors, 0xFFFF_FFFFL));
        s.set(U32, MAX_WRITE_ZEROES_SECTORS_OFFSET, (int) options.writeZeroesSectorsMax());
        s.set(U32, MAX_WRITE_ZEROES_SEG_OFFSET, options.writeZeroesSegMax());
        s.set(ValueLayout.JAVA_BYTE, WRITE_ZEROES_MAY_UNMAP_OFFSET, (byte) (options.writeZeroesMayUnmap() ? 1 : 0));
    }

    public Geometry geometry() { return geometry; }
    public int segMax() { return MemorySegment.ofArray(bytes).get(U32, SEG_MAX_OFFSET); }
    public long sizeMaxBytes() { return Integer.toUnsignedLong(MemorySegment.ofArray(bytes).get(U32, SIZE_MAX_OFFSET)); }
    public Options options() { return options; }

    /** The device feature bits to offer (virtio-blk ones and the transport ones this implementation handles). */
    public long deviceFeatures() {
        long f = (1L << VirtioBlk.F_SIZE_MAX) | (1L << VirtioBlk.F_SEG_MAX) | (1L << VirtioBlk.F_BLK_SIZE)
                | (1L << VirtioBlk.F_FLUSH) | (1L << VirtioBlk.F_TOPOLOGY) | (1L << VirtioBlk.F_CONFIG_WCE)
                | (1L << io.basalt.vhost.virtio.VirtioFeatures.VERSION_1)
                | (1L << io.basalt.vhost.virtio.VirtioFeatures.RING_INDIRECT_DESC)
                | (1L << io.basalt.vhost.virtio.VirtioFeatures.RING_EVENT_IDX)
                | (1L << io.basalt.vhost.virtio.VirtioFeatures.RING_PACKED);
        if (options.readOnly()) f |= 1L << VirtioBlk.F_RO;
        if (options.numQueues() > 1) f |= 1L << VirtioBlk.F_MQ;
        if (!options.readOnly() && options.discardSectorsMax() > 0) f |= 1L << VirtioBlk.F_DISCARD;
        if (!options.readOnly() && options.writeZeroesSectorsMax() > 0) f |= 1L << VirtioBlk.F_WRITE_ZEROES;
        return f;
    }

    /** Copies config bytes [offset, offset + length) into {@code out}; bytes past the struct read as 0. */
    public void read(int offset, MemorySegment out) {
        Check.that(offset >= 0, "config offset not negative", offset);
        out.fill((byte) 0);
        long n = Math.max(0, Math.min(out.byteSize(), (long) bytes.length - offset));
        if (n > 0) MemorySegment.copy(MemorySegment.ofArray(bytes), offset, out, 0, n);
    }

    /** A copy of the whole struct ({@link #SIZE_WITH_SECURE_ERASE} bytes). */
    public byte[] toBytes() {
        return bytes.clone();
    }
}
