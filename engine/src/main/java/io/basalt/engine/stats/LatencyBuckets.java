package io.basalt.engine.stats;

import io.basalt.shims.Check;

/**
 * The bucket layout of the I/O latency histograms: log-linear (HdrHistogram's idea, coarse), each power of two
 * of nanoseconds split into {@value #SUB_BUCKETS} sub-buckets, so a value is known within 1/8 (12.5%) and the
 * middle of its bucket within about 6%. Values under 16 ns get a bucket each; values of 2^{@value #EXPONENT_MAX}
 * ns (about 137 s) and more share the last bucket. Powers of two are bucket edges, which is what lets the
 * Prometheus histogram use them as exact {@code le} bounds.
 *
 * <p>Pure arithmetic, no state: the histograms themselves are plain {@code long[]} arrays of
 * {@link #BUCKET_COUNT} counts owned by an {@link IoStats}.
 */
public final class LatencyBuckets {
    static final int SUB_BITS = 3;
    public static final int SUB_BUCKETS = 1 << SUB_BITS;
    /** The last bucket starts at 2^37 ns; everything above lands in it. */
    public static final int EXPONENT_MAX = 37;
    public static final int BUCKET_COUNT = (EXPONENT_MAX - SUB_BITS + 2) * SUB_BUCKETS;

    private LatencyBuckets() {}

    /** The bucket holding {@code valueNs} (negative values count as 0). */
    public static int index(long valueNs) {
        if (valueNs < 2 * SUB_BUCKETS) return (int) Math.max(0, valueNs);
        int exponent = 63 - Long.numberOfLeadingZeros(valueNs); // >= SUB_BITS + 1
        if (exponent > EXPONENT_MAX) return BUCKET_COUNT - 1;
        int sub = (int) (valueNs >>> (exponent - SUB_BITS)) & (SUB_BUCKETS - 1);
        return (exponent - SUB_BITS + 1) * SUB_BUCKETS + sub;
    }

    /** The smallest value bucket {@code index} holds. */
    public static long lowNs(int index) {
        Check.that(index >= 0 && index < BUCKET_COUNT, "bucket index in range", index);
        if (index < 2 * SUB_BUCKETS) return index;
        int exponent = index / SUB_BUCKETS + SUB_BITS - 1;
        int sub = index % SUB_BUCKETS;
        return (1L << exponent) | ((long) sub << (exponent - SUB_BITS));
    }

    /** The largest value bucket {@code index} holds (the last bucket: Long.MAX_VALUE). */
    public static long highNs(int index) {
        return index + 1 < BUCKET_COUNT ? lowNs(index + 1) - 1 : Long.MAX_VALUE;
    }

    /** The bucket whose low edge is 2^exponent ns (exponent >= 4): the first one above an {@code le} bound. */
    public static int indexOfPowerOfTwo(int exponent) {
        Check.that(exponent > SUB_BITS && exponent <= EXPONENT_MAX, "a power of two that is a bucket edge", exponent);
        return index(1L << exponent);
    }

    /**
     * The value at {@code quantile} (0..1) of a histogram given as counts per bucket: the middle of the bucket
     * where the cumulative count reaches the rank. 0 when the histogram is empty.
     */
    public static long quantileNs(long[] counts, double quantile) {
        Check.that(counts.length == BUCKET_COUNT, "a histogram of BUCKET_COUNT buckets", counts.length);
        Check.that(quantile >= 0 && quantile <= 1, "quantile in [0, 1]");
        long total = 0;
        for (long c : counts) total += c;
        if (total == 0) return 0;
        long rank = Math.max(1, (long) Math.ceil(quantile * total));
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= rank) return i + 1 < BUCKET_COUNT ? lowNs(i) + (highNs(i) - lowNs(i)) / 2 : lowNs(i);
        }
        return lowNs(BUCKET_COUNT - 1);
    }
}
