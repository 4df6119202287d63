package io.basalt.raid.model;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.parity.Raid5Layout;

import java.io.IOException;
import java.util.List;

/**
 * Where write-hole protection plugs into the model test ({@link PplPowerCutRecovery}, md's partial parity log): a
 * raid5 sequence run with it opens its volume through it, carves a log area per member out of the same medium as
 * the member's data (so that a power cut, a pulled drive and a replacement treat both alike), and recovers the
 * media after each power cut <em>before</em> the volume is reopened, as md does at assembly. Member loss after a
 * power cut and power cuts of a degraded array are then in the mix, and no mismatch is allowed.
 */
interface PowerCutRecovery {
    /** Blocks of log area each medium carries after its data, for a raid5 of {@code chunkBytes} (at least 1 chunk + header). */
    long areaBlocks(int chunkBytes, int blockBytes, long seed);

    /** An empty log area: at creation and on a replacement medium. */
    void initializeArea(Reactor reactor, BlockDevice area) throws IOException;

    /** The protected raid5 over {@code members} and their log {@code areas} (member order). */
    io.basalt.raid.volume.Raid5Volume openRaid5(String name, List<BlockDevice> members, List<BlockDevice> areas, int chunkBytes,
                                                Raid5Algorithm algorithm);

    /**
     * After a power cut, with the volume closed: makes the parity of every stripe consistent again from the logs.
     * {@code members} and {@code areas} hold null for a member that is missing (failed, pulled, or rebuilding: md
     * treats a disk past its recovery offset as missing). Answers what it did, for the summary.
     */
    int[] recover(Reactor reactor, List<BlockDevice> members, List<BlockDevice> areas, Raid5Layout layout) throws IOException;
}
