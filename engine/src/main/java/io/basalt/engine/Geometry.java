package io.basalt.engine;

import io.basalt.shims.Check;

/**
 * What a block device looks like to its users.
 *
 * @param logicalBlockBytes   unit of addressing and of buffer alignment (512 or 4096)
 * @param blockCount          number of logical blocks
 * @param optimalTransferBlocks the transfer size that runs best (a RAID volume's full stripe); 1 if none
 * @param maxTransferBlocks   the largest single request accepted
 * @param maxSegments         the most buffers one vectored request may carry
 * @param persistent          whether data written can be read back (false for the null device)
 */
public record Geometry(int logicalBlockBytes, long blockCount, int optimalTransferBlocks, int maxTransferBlocks,
                       int maxSegments, boolean persistent) {
    public Geometry {
        Check.powerOfTwo(logicalBlockBytes, "logicalBlockBytes");
        Check.that(logicalBlockBytes >= 512, "logical block at least 512 bytes", logicalBlockBytes);
        Check.that(blockCount > 0, "blockCount positive", blockCount);
        Check.that(optimalTransferBlocks > 0, "optimalTransferBlocks positive", optimalTransferBlocks);
        Check.that(maxTransferBlocks > 0, "maxTransferBlocks positive", maxTransferBlocks);
        Check.that(maxSegments > 0, "maxSegments positive", maxSegments);
    }

    public long sizeBytes() {
        return blockCount * logicalBlockBytes;
    }

    /** OK, or the status a request on [lba, lba + blocks) gets before touching the device. */
    public int checkRange(long lba, long blocks) {
        if (lba < 0 || blocks <= 0 || lba > blockCount || blocks > blockCount - lba) return Status.OUT_OF_RANGE;
        return Status.OK;
    }
}
