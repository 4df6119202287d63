package io.basalt.bench;

import io.basalt.shims.Check;
import org.HdrHistogram.Histogram;

import java.util.concurrent.TimeUnit;

/**
 * The bench's latency recorder: HdrHistogram at 2 significant digits (any value kept within 1%), over 1 ns to 1
 * hour, preallocated, so recording is a few shifts and an increment: fine for every I/O of a benchmark. It
 * replaced a hand-written log-linear histogram of the same layout once JMH showed it no slower (docs/decisions.md,
 * decision 1). The exact maximum and sum are kept beside it: the report's max and mean are not rounded to a bucket.
 * One owner (the job's thread); {@link #add} merges after the run.
 */
public final class LatencyHistogram {
    /** Longer latencies are counted in the top bucket (the maximum stays exact); a benchmark I/O never takes that long. */
    static final long HIGHEST_NS = TimeUnit.HOURS.toNanos(1);
    static final int SIGNIFICANT_DIGITS = 2;

    private final Histogram histogram = new Histogram(1, HIGHEST_NS, SIGNIFICANT_DIGITS);
    private long maxNs;
    private long sumNs;

    public void record(long valueNs) {
        long v = Math.max(0, valueNs);
        histogram.recordValue(Math.min(v, HIGHEST_NS));
        sumNs += v;
        if (v > maxNs) maxNs = v;
    }

    /** The value at {@code quantile} (0..1): the middle of its bucket, never above the maximum recorded. */
    public long valueAt(double quantile) {
        Check.that(quantile >= 0 && quantile <= 1, "quantile in [0, 1]");
        if (histogram.getTotalCount() == 0) return 0;
        long bucketValue = histogram.getValueAtPercentile(quantile * 100);
        return Math.min(maxNs, histogram.medianEquivalentValue(bucketValue));
    }

    public void add(LatencyHistogram other) {
        histogram.add(other.histogram);
        sumNs += other.sumNs;
        maxNs = Math.max(maxNs, other.maxNs);
    }

    public void reset() {
        histogram.reset();
        sumNs = 0;
        maxNs = 0;
    }

    public long count() { return histogram.getTotalCount(); }
    public long maxNs() { return maxNs; }
    public double meanNs() { return count() == 0 ? 0 : (double) sumNs / count(); }
}
