package io.basalt.shims;

/**
 * struct stat on x86_64 glibc (bits/struct_stat.h), 144 bytes: only the fields Basalt reads.
 * Checked against the C header by {@code StructLayoutTest}.
 */
public final class Stat {
    private Stat() {}

    public static final int SIZE = 144;
    public static final int ST_MODE_OFFSET = 24;
    public static final int ST_RDEV_OFFSET = 40;
    public static final int ST_SIZE_OFFSET = 48;
    public static final int ST_BLKSIZE_OFFSET = 56;
    public static final int ST_BLOCKS_OFFSET = 64; // 512-byte units allocated

    public static final int S_IFMT = 0xF000;
    public static final int S_IFREG = 0x8000;
    public static final int S_IFBLK = 0x6000;
}
