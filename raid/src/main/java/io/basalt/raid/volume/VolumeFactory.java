package io.basalt.raid.volume;

import io.basalt.engine.BlockDevice;

import java.util.List;

/**
 * Opens one RAID level's volume over member devices (the array layer's md slices, or a bench spec's devices):
 * the one place a level plugs in ({@link RaidLevel#factory()}). Throws {@link IllegalArgumentException} when the
 * members cannot form the volume, {@link NotSupportedException} for a shape the volume layer does not have yet.
 */
@FunctionalInterface
public interface VolumeFactory {
    /**
     * @param members    one per role, in role order (a missing member is an {@link OffsetDevice#missing})
     * @param chunkBytes the chunk (striped levels; ignored by raid1)
     * @param mdLayout   md's superblock layout value (raid5: the {@link io.basalt.raid.parity.Raid5Algorithm}; else ignored)
     * @param ppl        raid5's partial parity log areas, or null for none (other levels refuse one)
     */
    BlockDevice open(String name, List<BlockDevice> members, int chunkBytes, int mdLayout, PplAreas ppl);

    /** A level or layout the API knows and the volume layer does not have yet. */
    final class NotSupportedException extends IllegalArgumentException {
        public static final String NOT_YET = "not supported yet";

        public NotSupportedException(String what) {
            super(what + " is " + NOT_YET);
        }
    }
}
