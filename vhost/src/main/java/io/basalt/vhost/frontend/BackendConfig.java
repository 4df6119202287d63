package io.basalt.vhost.frontend;

import io.basalt.vhost.blk.BlkConfigSpace;
import io.basalt.vhost.blk.VirtioBlk;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * What the back-end said about the disk: the negotiated feature bits and its virtio_blk_config (virtio 1.2, 5.2.4).
 * A field counts only when its feature was negotiated, as a driver must read it.
 */
record BackendConfig(long features, long capacitySectors, int sizeMaxBytes, int segMax, int blockBytes, int numQueues,
                     long discardSectorsMax, int discardSectorAlignment, long writeZeroesSectorsMax, boolean writeZeroesMayUnmap) {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int SECTOR_BYTES = VirtioBlk.SECTOR_BYTES;
    private static final int BLOCK_BYTES_MAX = 1 << 16;

    boolean has(int bit) {
        return (features & (1L << bit)) != 0;
    }

    /** Reads the config space fields (the GET_CONFIG payload) under the negotiated features. */
    static BackendConfig parse(long features, MemorySegment config) {
        long capacity = config.get(U64, BlkConfigSpace.CAPACITY_OFFSET);
        int sizeMax = on(features, VirtioBlk.F_SIZE_MAX) ? config.get(U32, BlkConfigSpace.SIZE_MAX_OFFSET) : 0;
        int segMax = on(features, VirtioBlk.F_SEG_MAX) ? config.get(U32, BlkConfigSpace.SEG_MAX_OFFSET) : 0;
        int blk = on(features, VirtioBlk.F_BLK_SIZE) ? config.get(U32, BlkConfigSpace.BLK_SIZE_OFFSET) : SECTOR_BYTES;
        if (blk < SECTOR_BYTES || blk > BLOCK_BYTES_MAX || Integer.bitCount(blk) != 1) {
            throw new IllegalArgumentException("blk_size " + blk + " is not a power of two in [512, 64K]");
        }
        int queues = on(features, VirtioBlk.F_MQ) ? Short.toUnsignedInt(config.get(U16, BlkConfigSpace.NUM_QUEUES_OFFSET)) : 1;
        long discardMax = on(features, VirtioBlk.F_DISCARD) ? Integer.toUnsignedLong(config.get(U32, BlkConfigSpace.MAX_DISCARD_SECTORS_OFFSET)) : 0;
        int discardAlign = on(features, VirtioBlk.F_DISCARD) ? config.get(U32, BlkConfigSpace.DISCARD_SECTOR_ALIGNMENT_OFFSET) : 0;
        long zeroesMax = on(features, VirtioBlk.F_WRITE_ZEROES) ? Integer.toUnsignedLong(config.get(U32, BlkConfigSpace.MAX_WRITE_ZEROES_SECTORS_OFFSET)) : 0;
        boolean unmap = on(features, VirtioBlk.F_WRITE_ZEROES) && config.get(ValueLayout.JAVA_BYTE, BlkConfigSpace.WRITE_ZEROES_MAY_UNMAP_OFFSET) != 0;
        return new BackendConfig(features, capacity, sizeMax, segMax, blk, Math.max(1, queues), discardMax, discardAlign, zeroesMax, unmap);
    }

    private static boolean on(long features, int bit) {
        return (features & (1L << bit)) != 0;
    }

    long blockCount() {
        return capacitySectors / (blockBytes / SECTOR_BYTES);
    }

    boolean readOnly() { return has(VirtioBlk.F_RO); }
    boolean flush() { return has(VirtioBlk.F_FLUSH); }
}
