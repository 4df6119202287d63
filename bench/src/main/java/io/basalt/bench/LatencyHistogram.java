package io.basalt.bench;

import io.basalt.shims.Check;

/**
 * Log-linear latency histogram (the HdrHistogram layout, simplified): values below 128 ns are exact; above,
 * each power of two is split into 64 sub-buckets, so any value is kept within 1/64 (1.6%). Preallocated,
 * recording is a few shifts and an increment: fine for every I/O of a benchmark.
 */
public final class LatencyHistogram {
    private static final int SUB_BITS = 6;
    private static final int SUB_COUNT = 1 << SUB_BITS;
    private static final int BUCKETS = (64 - SUB_BITS) * SUB_COUNT + 2 * SUB_COUNT;

    private final long[] counts = new long[BUCKETS];
    private long total;
    private long maxNs;
    private long sumNs;

    public void record(long valueNs) {
        long v = Math.max(0, valueNs);
        counts[index(v)]++;
        total++;
        sumNs += v;
        if (v > maxNs) maxNs = v;
    }

    static int index(long v) {
        if (v < 2 * SUB_COUNT) return (int) v;
        int exponent = 63 - Long.numberOfLeadingZeros(v); // >= SUB_BITS + 1
        int sub = (int) (v >>> (exponent - SUB_BITS)) & (SUB_COUNT - 1);
        return (exponent - SUB_BITS + 1) * SUB_COUNT + sub;
    }

    /** The smallest value that maps to bucket {@code index}. */
    static long lowestValue(int index) {
        if (index < 2 * SUB_COUNT) return index;
        int exponent = index / SUB_COUNT + SUB_BITS - 1;
        int sub = index % SUB_COUNT;
        return (1L << exponent) | ((long) sub << (exponent - SUB_BITS));
    }

    /** The value at {@code quantile} (0..1), as the middle of its bucket. */
    public long valueAt(double quantile) {
        Check.that(quantile >= 0 && quantile <= 1, "quantile in [0, 1]");
        if (total == 0) return 0;
        long rank = Math.max(1, (long) Math.ceil(quantile * total));
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= rank) {
                long low = lowestValue(i);
                long high = i + 1 < counts.length ? lowestValue(i + 1) - 1 : low;
                return Math.min(maxNs, low + (high - low) / 2);
            }
        }
        return maxNs;
    }

    public void add(LatencyHistogram other) {
        for (int i = 0; i < counts.length; i++) counts[i] += other.counts[i];
        total += other.total;
        sumNs += other.sumNs;
        maxNs = Math.max(maxNs, other.maxNs);
    }

    public void reset() {
        java.util.Arrays.fill(counts, 0);
        total = 0;
        sumNs = 0;
        maxNs = 0;
    }

    public long count() { return total; }
    public long maxNs() { return maxNs; }
    public double meanNs() { return total == 0 ? 0 : (double) sumNs / total; }
}
