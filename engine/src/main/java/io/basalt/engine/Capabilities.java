package io.basalt.engine;

import io.basalt.shims.Check;

/**
 * Which of the optional operations a {@link BlockDevice} really performs, so that an exporter advertises only
 * those (virtio-blk's DISCARD and WRITE_ZEROES features, their config fields). A device that cannot tell says
 * {@link #NONE}: a guest never sends what is not advertised, and a request sent anyway still gets
 * {@link Status#UNSUPPORTED}.
 *
 * @param discard                  DISCARD completes OK (the blocks read back as zeroes or their old data)
 * @param discardReadsZeroes       and a discarded block reads back as zeroes, always (a file's punched hole, a
 *                                 zeroed RAM range): what a RAID5 volume needs before it discards its members,
 *                                 since the parity of zero blocks is zero (md's devices_handle_discard_safely)
 * @param discardGranularityBlocks the unit a discard acts on: blocks outside whole units may be left as they were
 *                                 (a RAID5 volume discards whole stripes only); 1 for a plain device
 * @param writeZeroes              WRITE_ZEROES completes OK and the blocks read back as zeroes
 * @param writeZeroesUnmaps        and it may deallocate them (virtio-blk's write_zeroes_may_unmap)
 */
public record Capabilities(boolean discard, boolean discardReadsZeroes, long discardGranularityBlocks,
                           boolean writeZeroes, boolean writeZeroesUnmaps) {
    /** Nothing optional: neither DISCARD nor WRITE_ZEROES is advertised. */
    public static final Capabilities NONE = new Capabilities(false, false, 1, false, false);

    public Capabilities {
        Check.that(discardGranularityBlocks >= 1, "discard granularity at least one block", discardGranularityBlocks);
        Check.that(discard || !discardReadsZeroes, "discardReadsZeroes only with discard");
        Check.that(writeZeroes || !writeZeroesUnmaps, "writeZeroesUnmaps only with writeZeroes");
    }

    /** DISCARD that zeroes (one-block granularity) and WRITE_ZEROES without deallocation: a RAM disk, a file with holes. */
    public static Capabilities zeroingDiscard() {
        return new Capabilities(true, true, 1, true, false);
    }

    public Capabilities withDiscard(boolean supported, boolean readsZeroes) {
        return new Capabilities(supported, supported && readsZeroes, discardGranularityBlocks, writeZeroes, writeZeroesUnmaps);
    }

    public Capabilities withDiscardGranularityBlocks(long blocks) {
        return new Capabilities(discard, discardReadsZeroes, blocks, writeZeroes, writeZeroesUnmaps);
    }

    public Capabilities withWriteZeroes(boolean supported, boolean unmaps) {
        return new Capabilities(discard, discardReadsZeroes, discardGranularityBlocks, supported, supported && unmaps);
    }

    /**
     * What a volume that sends each operation to every one of these members can promise: an operation only when
     * every member does it, the coarsest granularity.
     */
    public static Capabilities common(Iterable<Capabilities> members) {
        boolean discard = true, zeroes = true, writeZeroes = true, unmaps = true;
        long granularity = 1;
        boolean any = false;
        for (Capabilities c : members) {
            any = true;
            discard &= c.discard;
            zeroes &= c.discardReadsZeroes;
            writeZeroes &= c.writeZeroes;
            unmaps &= c.writeZeroesUnmaps;
            granularity = Math.max(granularity, c.discardGranularityBlocks);
        }
        if (!any) return NONE;
        return new Capabilities(discard, discard && zeroes, granularity, writeZeroes, writeZeroes && unmaps);
    }
}
