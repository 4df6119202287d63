package io.basalt.raid.volume;

/**
 * Records, before a volume writes its members, that a region may be about to differ between members (a mirror
 * copy or a stripe's parity not yet matching its data): md's write-intent bitmap. After an unclean shutdown only
 * the regions recorded here need a resync.
 *
 * <p>Ranges are in member data blocks (rows of each member's data area, md's "sectors of each member"): for a
 * mirror the volume's own blocks, for raid5 the whole stripes a request touches ({@code stripe x chunk} rows).
 *
 * <p>Called on reactor threads, so neither method may block: {@link #begin} answers at once, and a write it
 * turns away asks again on a later reactor cycle.
 */
public interface WriteIntent {
    /**
     * Whether the write of member rows [firstBlock, firstBlock + blockCount) may go to the members now: true when
     * every region it touches is recorded dirty on stable storage (the write is then counted in those regions
     * until {@link #end}); false when a region's record is still being written (nothing counted: ask again).
     */
    boolean begin(long firstBlock, long blockCount);

    /** The write that {@link #begin} let through has finished on every member it went to (whatever its status). */
    void end(long firstBlock, long blockCount);
}
