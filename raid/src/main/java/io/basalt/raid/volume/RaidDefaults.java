package io.basalt.raid.volume;

/**
 * The one default chunk size of Basalt's striped volumes (raid0, raid5) and of {@code raid_create}, chosen by
 * measurement with {@code basalt bench raid --chunk 16k,64k,128k,256k,512k}: the table and the reasoning are in
 * docs/raid.md ("Chunk size"). Not md's 512 KiB (mdadm's DEFAULT_CHUNK, kept as
 * {@link io.basalt.raid.md.MdArraySpec#DEFAULT_CHUNK_SECTORS} for arrays made to mdadm's defaults).
 */
public final class RaidDefaults {
    private RaidDefaults() {}

    /** Chunk size in bytes; see the class comment for why this value. */
    public static final int CHUNK_BYTES = 64 * 1024;
}
