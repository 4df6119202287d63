package io.basalt.raid.model;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.parity.Raid5Layout;
import io.basalt.raid.volume.PplAreas;
import io.basalt.raid.volume.PplRecovery;
import io.basalt.raid.volume.Raid5Volume;

import java.io.IOException;
import java.util.List;

/**
 * md's partial parity log in the model test: each medium ends with a log area of 1 to 4 chunks plus the 4 KiB
 * header (from the seed: a small area fills and drains often), initialized empty as mdadm does at create;
 * {@link PplRecovery#recover} runs over the media after every power cut, then every area is empty again.
 */
final class PplPowerCutRecovery implements PowerCutRecovery {
    static final PplPowerCutRecovery INSTANCE = new PplPowerCutRecovery();
    /** Any value will do: the volume writes and recovery checks the same one (md: the CRC-32C of the set uuid). */
    static final int SIGNATURE = 0x5EED_0991;

    @Override
    public long areaBlocks(int chunkBytes, int blockBytes, long seed) {
        return (io.basalt.raid.md.MdPpl.HEADER_BYTES + (long) chunkBytes * (1 + (int) ((seed >>> 23) % 4))) / blockBytes;
    }

    @Override
    public void initializeArea(Reactor reactor, BlockDevice area) throws IOException {
        PplRecovery.initialize(reactor, area, SIGNATURE);
    }

    @Override
    public Raid5Volume openRaid5(String name, List<BlockDevice> members, List<BlockDevice> areas, int chunkBytes, Raid5Algorithm algorithm) {
        return new Raid5Volume(name, members, chunkBytes, algorithm, new PplAreas(areas, SIGNATURE));
    }

    @Override
    public int[] recover(Reactor reactor, List<BlockDevice> members, List<BlockDevice> areas, Raid5Layout layout) throws IOException {
        PplRecovery.Result r = PplRecovery.recover(reactor, members, areas, layout, SIGNATURE);
        return new int[] {r.headers(), r.entriesRecovered(), r.entriesSkipped()};
    }
}
