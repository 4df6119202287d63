package io.basalt.raid.model;

import io.basalt.engine.BlockDevice;

import java.util.List;

/**
 * Where write-hole protection (md's partial parity log, issue 4) plugs into the model test: set
 * {@link VolumeUnderTest#powerCutRecovery} and every raid5 of the model test is opened through it, recovered
 * after each power cut, and {@code RaidModelTest.powerCutThenMemberLoss_needsPplRecovery} runs (member loss
 * after a power cut then in the mix, and no mismatch allowed). The harness's offline rebuild XORs whole
 * members, so a log area on a rebuilt member holds garbage: recovery must reject it (md's PPL header carries
 * a checksum), or the PPL work replaces the stand-in rebuild as well.
 */
interface PowerCutRecovery {
    /**
     * A raid5 volume over {@code members} (each a whole medium, block 0 on: carve the log area as needed) that
     * protects against the write hole; called at every (re)opening, after a power cut too.
     */
    BlockDevice openRaid5(String name, List<BlockDevice> members, int chunkBytes);

    /** Fails a member of a volume made by {@link #openRaid5} (the control plane's raid_fail_member). */
    void fail(BlockDevice volume, int member);

    /** Runs after the volume was reopened following a power cut: true once its parity is consistent again. */
    boolean recover(BlockDevice volume);
}
