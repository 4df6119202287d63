package io.basalt.raid.model;

import java.lang.foreign.MemorySegment;

/**
 * What the model test drives: a RAID volume with its members, one operation per call, each run to its end
 * (completions awaited) so that the model can be updated in order. Statuses are {@link io.basalt.engine.Status}
 * values. {@code reactor} picks the channel (volumes may be open on several reactors).
 *
 * <p>The operations that change the array itself ({@link #powerCut}, {@link #failMember},
 * {@link #startRebuild}/{@link #finishRebuild}, {@link #recoverAfterPowerCut}) are one call each so that the
 * write-hole recovery (PPL) plugs in here without touching the sequence generator.
 */
interface RaidUnderTest extends AutoCloseable {
    enum Level { RAID0, RAID1, RAID5 }

    Level level();

    int memberCount();

    long blockCount();

    int blockBytes();

    /** Blocks in one full stripe of data (raid1: 1). */
    int stripeBlocks();

    int reactorCount();

    String describe();

    int write(int reactor, long lba, int blockCount, MemorySegment buffer);

    /** The same write, its buffer cut into {@code pieces} segments of uneven sizes. */
    int writev(int reactor, long lba, int blockCount, MemorySegment buffer, int pieces);

    int writeZeroes(int reactor, long lba, int blockCount);

    int read(int reactor, long lba, int blockCount, MemorySegment buffer);

    int flush(int reactor);

    /** Several writes in flight at once (spread over the reactors), awaited together; their statuses. */
    int[] writeBurst(long[] lbas, int[] blockCounts, MemorySegment[] buffers, int count);

    /** Whether {@link #powerCut} is possible (members in power-cut mode: one reactor only). */
    boolean supportsPowerCut();

    /**
     * Every member loses what it did not flush (with torn writes: each unflushed block is kept or lost on a
     * seeded coin flip), then the volume is reopened over the same media, members known failed failed again
     * (as md's superblocks would record).
     */
    void powerCut();

    /**
     * Whether the volume recovered from a power cut (closing the write hole: PPL recovery, or a resync). False
     * when no recovery exists: the sequence must then not lose a raid5 member after a power cut.
     */
    boolean recoverAfterPowerCut();

    /**
     * After {@link #recoverAfterPowerCut}: whether volume block {@code lba}, if it was written since the last flush,
     * may now hold anything. md's partial parity log says so of a block whose member was missing at the recovery
     * (raid5-ppl.rst: "If a dirty disk of a stripe is lost, no PPL recovery is performed for this stripe ... it is
     * possible to have arbitrary data in the written part of a stripe if that disk is lost"): its row's parity is
     * left as it was, and the block is rebuilt from it.
     */
    default boolean mayHoldAnythingAfterCut(long lba) {
        return false;
    }

    /** Fails a member: by the control plane ({@code pulled} false) or as a pulled drive the data path finds. */
    void failMember(int member, boolean pulled);

    boolean isFailed(int member);

    int failedCount();

    /**
     * Replaces a failed member with a blank one and starts bringing it back in sync: true when a rebuild job now
     * runs in the background (requests go on meanwhile, then {@link #finishRebuild}); false when it was done
     * offline, at once (the volume is healthy already).
     */
    boolean startRebuild(int member);

    /** Whether {@link #startRebuild} runs a job (false: the offline stand-in, which needs the volume flushed first). */
    boolean rebuildsOnline();

    /** Whether the rebuild job is running and part-way: some of its units done, not all (requests now overlap it). */
    boolean rebuildInProgress();

    /** Waits for the rebuild job to end; throws unless it completed and the volume is healthy. */
    void finishRebuild();

    @Override
    void close();
}
