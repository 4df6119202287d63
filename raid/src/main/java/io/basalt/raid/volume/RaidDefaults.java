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
     * 128 KiB: in `basalt bench raid` over 4 members (3 rounds, medians) random 4 KiB reads, random 4 KiB
     * writes and degraded reads came out the same from 64 KiB to 512 KiB, while full-stripe writes gained
     * from 16 KiB (many small member writes) up to 128 KiB, the smallest chunk that met the 0.9 goal. Larger
     * chunks did no better at random I/O and make a full stripe need larger aligned writes (1.5 MiB at
     * 512 KiB x 4 members, more than the 512 KiB to 1 MiB a guest usually sends, so those writes become RMW /
     * RCW) and larger stripe buffers (16 sets x N x chunk per channel).
     */
    public static final int CHUNK_BYTES = 128 * 1024;
}
