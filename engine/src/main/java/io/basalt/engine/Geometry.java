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
 * @param capabilities        which of DISCARD and WRITE_ZEROES the device really performs (what exporters advertise)
 */
public record Geometry(int logicalBlockBytes, long blockCount, int optimalTransferBlocks, int maxTransferBlocks,
                       int maxSegments, boolean persistent, Capabilities capabilities) {
    /**
     * A device that says nothing about its optional operations: {@link Capabilities#NONE}, so an exporter never
     * advertises an operation the device was not shown to do.
     */
    public Geometry(int logicalBlockBytes, long blockCount, int optimalTransferBlocks, int maxTransferBlocks,
                    int maxSegments, boolean persistent) {
        this(logicalBlockBytes, blockCount, optimalTransferBlocks, maxTransferBlocks, maxSegments, persistent, Capabilities.NONE);
    }

    public Geometry {
        Check.that(capabilities != null, "capabilities given (Capabilities.NONE when none)");
        Check.powerOfTwo(logicalBlockBytes, "logicalBlockBytes");
        Check.that(logicalBlockBytes >= 512, "logical block at least 512 bytes", logicalBlockBytes);
        Check.that(blockCount > 0, "blockCount positive", blockCount);
        Check.that(optimalTransferBlocks > 0, "optimalTransferBlocks positive", optimalTransferBlocks);
        Check.that(maxTransferBlocks > 0, "maxTransferBlocks positive", maxTransferBlocks);
        Check.that(maxSegments > 0, "maxSegments positive", maxSegments);
    }

    public Geometry withCapabilities(Capabilities c) {
        return new Geometry(logicalBlockBytes, blockCount, optimalTransferBlocks, maxTransferBlocks, maxSegments, persistent, c);
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
