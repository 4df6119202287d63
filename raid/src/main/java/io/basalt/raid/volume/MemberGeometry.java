package io.basalt.raid.volume;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Capabilities;
import io.basalt.engine.Geometry;

/**
 * What a volume's members have in common: one logical block size (refused otherwise, naming the member), and
 * the limits every member can take: the smallest block count, transfer and segment count, whether all
 * keep their data, and the optional operations (DISCARD, WRITE_ZEROES) every one of them does.
 */
record MemberGeometry(int blockBytes, long smallestBlocks, int transferBlocksMax, int segmentsMax, boolean persistent,
                      Capabilities capabilities) {
    static MemberGeometry of(String level, String volume, BlockDevice[] members) {
        int blockBytes = members[0].geometry().logicalBlockBytes();
        long smallest = Long.MAX_VALUE;
        int transferMax = Integer.MAX_VALUE, segmentsMax = Integer.MAX_VALUE;
        boolean persistent = true;
        java.util.List<Capabilities> capabilities = new java.util.ArrayList<>();
        for (BlockDevice m : members) {
            Geometry g = m.geometry();
            if (g.logicalBlockBytes() != blockBytes) {
                throw new IllegalArgumentException(level + " '" + volume + "': member " + m.name() + " has " + g.logicalBlockBytes()
                        + "-byte blocks, " + members[0].name() + " has " + blockBytes + ": members need one block size");
            }
            smallest = Math.min(smallest, g.blockCount());
            transferMax = Math.min(transferMax, g.maxTransferBlocks());
            segmentsMax = Math.min(segmentsMax, g.maxSegments());
            persistent &= g.persistent();
            capabilities.add(g.capabilities());
        }
        return new MemberGeometry(blockBytes, smallest, transferMax, segmentsMax, persistent, Capabilities.common(capabilities));
    }

    /**
     * Refuses a replacement member with another block size, fewer blocks than a member uses ({@code blocksUsed}),
     * or smaller request limits than the members the volume was built on: the volume passes requests of up to
     * {@code transferBlocks} blocks in up to {@code segments} buffers to a member unsplit, and a smaller member
     * (a remote namespace with a small MDTS, say) would fail them as INVALID and be failed itself.
     */
    static void checkReplacement(BlockDevice device, int blockBytes, long blocksUsed, int transferBlocks, int segments) {
        io.basalt.engine.Geometry g = device.geometry();
        if (g.logicalBlockBytes() != blockBytes || g.blockCount() < blocksUsed) {
            throw new IllegalArgumentException("replacement " + device.name() + " (" + g.blockCount() + " blocks of " + g.logicalBlockBytes()
                    + " bytes) is smaller than the " + blocksUsed + " blocks of " + blockBytes + " bytes a member uses");
        }
        checkRequestLimits(device, transferBlocks, segments);
    }

    /** The request-limit half of {@link #checkReplacement}: a spare is checked with it when it is added. */
    static void checkRequestLimits(BlockDevice device, int transferBlocks, int segments) {
        io.basalt.engine.Geometry g = device.geometry();
        if (g.maxTransferBlocks() < transferBlocks || g.maxSegments() < segments) {
            throw new IllegalArgumentException("replacement " + device.name() + " takes requests of at most " + g.maxTransferBlocks()
                    + " blocks in " + g.maxSegments() + " buffers; the volume's members take " + transferBlocks + " blocks in "
                    + segments + " buffers (the volume's limits were set by the members it was built on)");
        }
    }
}
