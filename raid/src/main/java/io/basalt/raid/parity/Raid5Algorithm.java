package io.basalt.raid.parity;

/**
 * md's RAID5 layouts, with the numbers md stores in the superblock's {@code layout} field
 * (include/linux/raid/md_p.h and drivers/md/raid5.h, ALGORITHM_*). Where each puts parity, for stripe s of n
 * members with n - 1 data chunks per stripe:
 * <ul>
 *   <li>LEFT_ASYMMETRIC: parity on member n-1-(s mod n), data fills the other members left to right.</li>
 *   <li>RIGHT_ASYMMETRIC: parity on member s mod n, data left to right.</li>
 *   <li>LEFT_SYMMETRIC (md's default): parity as LEFT_ASYMMETRIC, data starts on the member after parity and
 *       wraps, so consecutive chunks land on consecutive members.</li>
 *   <li>RIGHT_SYMMETRIC: parity as RIGHT_ASYMMETRIC, data starts after parity and wraps.</li>
 *   <li>PARITY_0: parity always on member 0 (RAID4 with parity first).</li>
 *   <li>PARITY_N: parity always on member n-1 (md's RAID4 layout).</li>
 * </ul>
 */
public enum Raid5Algorithm {
    LEFT_ASYMMETRIC(0),
    RIGHT_ASYMMETRIC(1),
    LEFT_SYMMETRIC(2),
    RIGHT_SYMMETRIC(3),
    PARITY_0(4),
    PARITY_N(5);

    /** The value in md's superblock {@code layout} field. */
    public final int mdLayout;

    Raid5Algorithm(int mdLayout) {
        this.mdLayout = mdLayout;
    }

    /** The algorithm for a superblock's layout value, or null for one we do not read (md's RAID6-only layouts). */
    public static Raid5Algorithm fromMdLayout(int mdLayout) {
        for (Raid5Algorithm algorithm : values()) {
            if (algorithm.mdLayout == mdLayout) return algorithm;
        }
        return null;
    }
}
