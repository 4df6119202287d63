package io.basalt.raid.volume;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;

/**
 * What a volume's members have in common: one logical block size (refused otherwise, naming the member), and
 * the limits every member can take: the smallest block count, transfer and segment count, and whether all
 * keep their data.
 */
record MemberGeometry(int blockBytes, long smallestBlocks, int transferBlocksMax, int segmentsMax, boolean persistent) {
    static MemberGeometry of(String level, String volume, BlockDevice[] members) {
        int blockBytes = members[0].geometry().logicalBlockBytes();
        long smallest = Long.MAX_VALUE;
        int transferMax = Integer.MAX_VALUE, segmentsMax = Integer.MAX_VALUE;
        boolean persistent = true;
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
        }
        return new MemberGeometry(blockBytes, smallest, transferMax, segmentsMax, persistent);
    }
}
