package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.Capabilities;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Status;

import java.lang.foreign.MemorySegment;

/**
 * raid5 DISCARD, md's way (drivers/md/raid5.c: make_discard_request, and the discard limits raid5 sets up):
 *
 * <ul>
 *   <li><b>Whole stripes only.</b> The range is cut to the stripes it covers wholly; the partial stripes at its edges
 *       are skipped, left as they are (the BlockChannel contract lets discarded blocks keep their old data), as md
 *       skips them. Zeroing them instead would turn a hint into a read-modify-write of each edge stripe. The guest
 *       learns the unit: the volume's discard granularity is one stripe (virtio-blk discard_sector_alignment, which
 *       Linux makes its discard_granularity), so file systems trim in whole stripes.</li>
 *   <li><b>A whole stripe is a full-stripe write of zeroes</b> through the channel's usual step: the stripe taken
 *       exclusively, its rows recorded in the write-intent bitmap first, and with a partial parity log an entry that
 *       covers every data chunk (no partial parity: recovery recomputes that stripe's parity from its data, which is
 *       then consistent whichever member discards reached the disk). Only the member requests change: each data
 *       write and the parity write (of zeroes: the parity of zero chunks) becomes a member DISCARD.</li>
 *   <li><b>Only over members that read a discarded block back as zeroes</b> (md's devices_handle_discard_safely): a
 *       member that might return its old data would leave the parity wrong. The volume advertises DISCARD only
 *       when every member does; a member put in later that does not (a replacement on another file system) gets
 *       zero blocks written instead, slower and still right. Without the capability a DISCARD is UNSUPPORTED.</li>
 * </ul>
 *
 * <p>Owned by one channel (one reactor): its arrays are the channel's per-slot request state.
 */
final class Raid5Discard {
    private final Raid5Volume volume;
    private final long stripeBlocks;
    private final boolean offered;
    private final long[] lbas, blockCounts, cursors;
    private final int[] firstErrors;

    Raid5Discard(Raid5Volume volume, long[] lbas, long[] blockCounts, long[] cursors, int[] firstErrors) {
        this.volume = volume;
        this.stripeBlocks = (long) volume.chunkBlocks() * (volume.memberCount() - 1);
        this.offered = volume.geometry().capabilities().discard();
        this.lbas = lbas;
        this.blockCounts = blockCounts;
        this.cursors = cursors;
        this.firstErrors = firstErrors;
    }

    /**
     * What a raid5 volume over members able to do {@code members} offers: DISCARD of whole stripes when every member's
     * discard reads back zeroes on whole chunks (a discarded stripe then reads zeroes, granularity one stripe);
     * WRITE_ZEROES always (written from a zero chunk, never deallocating).
     */
    static Capabilities capabilities(Capabilities members, int chunkBlocks, long stripeBlocks) {
        boolean safe = members.discardReadsZeroes() && chunkBlocks % members.discardGranularityBlocks() == 0;
        return new Capabilities(safe, safe, stripeBlocks, true, false);
    }

    /**
     * Called when the slot's next step is planned: true when the request ends here (DISCARD not offered, which is
     * UNSUPPORTED, or only a partial stripe left), else the cursor is moved past a partial stripe at the head so
     * that the step is one whole stripe.
     */
    boolean endsBeforeNextStep(int slot) {
        if (!offered) {
            firstErrors[slot] = Status.UNSUPPORTED;
            return true;
        }
        long at = lbas[slot] + cursors[slot], end = lbas[slot] + blockCounts[slot];
        long intoStripe = at % stripeBlocks;
        if (intoStripe != 0) at = Math.min(end, at - intoStripe + stripeBlocks); // the head's partial stripe
        if (end - at < stripeBlocks) at = end;                                   // the tail's
        cursors[slot] = at - lbas[slot];
        return at == end;
    }

    /**
     * The step's write of [lba, +blocks) on {@code member}: a member DISCARD where that member's discard reads back
     * zeroes, else a write from the zero chunk {@code zeroes}.
     */
    boolean submit(BlockChannel channel, int member, long lba, int blocks, MemorySegment zeroes, long tag, IoCompletion completion) {
        if (volume.member(member).geometry().capabilities().discardReadsZeroes()) return channel.discard(lba, blocks, tag, completion);
        return channel.write(lba, blocks, zeroes.asSlice(0, (long) blocks * volume.geometry().logicalBlockBytes()), tag, completion);
    }
}
