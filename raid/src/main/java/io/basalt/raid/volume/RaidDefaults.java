package io.basalt.raid.volume;

/**
 * The one default chunk size of Basalt's striped volumes (raid0, raid5) and of {@code raid_create}, chosen by
 * measurement with {@code basalt bench raid --chunk 16k,64k,128k,256k,512k}: the table and the reasoning are in
 * docs/raid.md ("Chunk size"). Not md's 512 KiB (mdadm's DEFAULT_CHUNK, kept as
 * {@link io.basalt.raid.md.MdArraySpec#DEFAULT_CHUNK_SECTORS} for arrays made to mdadm's defaults).
 */
public final class RaidDefaults {
    private RaidDefaults() {}

    /**
     * 128 KiB: in `basalt bench raid` over 4 members (two sweeps, 3 rounds each, medians) random 4 KiB reads and
     * writes came out the same from 16 KiB to 512 KiB; full-stripe writes were lowest at 16 KiB (small member
     * writes) and met the 0.9 goal at 128 KiB in both sweeps, 64 KiB being tied with it within the machine's
     * noise. Larger chunks make a full stripe need larger aligned writes (1.5 MiB at 512 KiB x 4 members, more
     * than a guest usually sends, so those writes become RMW / RCW) and larger stripe buffers.
     */
    public static final int CHUNK_BYTES = 128 * 1024;
}
