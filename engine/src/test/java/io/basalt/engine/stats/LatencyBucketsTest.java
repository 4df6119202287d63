package io.basalt.engine.stats;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LatencyBucketsTest {
    @Test
    void bucketsTileTheValuesWithoutGapsOrOverlaps() {
        assertEquals(0, LatencyBuckets.lowNs(0));
        for (int i = 0; i + 1 < LatencyBuckets.BUCKET_COUNT; i++) {
            assertEquals(LatencyBuckets.highNs(i) + 1, LatencyBuckets.lowNs(i + 1), "bucket " + i);
            assertEquals(i, LatencyBuckets.index(LatencyBuckets.lowNs(i)));
            assertEquals(i, LatencyBuckets.index(LatencyBuckets.highNs(i)));
        }
        assertEquals(LatencyBuckets.BUCKET_COUNT - 1, LatencyBuckets.index(Long.MAX_VALUE));
        assertEquals(0, LatencyBuckets.index(-5));
    }

    @Test
    void powersOfTwoAreBucketEdgesAndValuesKeepWithinAnEighth() {
        for (int e = 4; e <= LatencyBuckets.EXPONENT_MAX; e++) {
            assertEquals(1L << e, LatencyBuckets.lowNs(LatencyBuckets.indexOfPowerOfTwo(e)));
        }
        for (long v = 16; v < (1L << 36); v = v * 3 + 1) {
            int i = LatencyBuckets.index(v);
            long width = LatencyBuckets.highNs(i) - LatencyBuckets.lowNs(i) + 1;
            assertTrue(width * 8 <= LatencyBuckets.lowNs(i), "bucket of " + v + " is at most an eighth of its low edge wide");
        }
    }

    @Test
    void quantilesFallInTheRightBucket() {
        long[] counts = new long[LatencyBuckets.BUCKET_COUNT];
        counts[LatencyBuckets.index(100_000)] = 98;   // 100 us
        counts[LatencyBuckets.index(5_000_000)] = 2;  // 5 ms
        assertEquals(LatencyBuckets.index(100_000), LatencyBuckets.index(LatencyBuckets.quantileNs(counts, 0.5)));
        assertEquals(LatencyBuckets.index(100_000), LatencyBuckets.index(LatencyBuckets.quantileNs(counts, 0.98)));
        assertEquals(LatencyBuckets.index(5_000_000), LatencyBuckets.index(LatencyBuckets.quantileNs(counts, 0.99)));
        assertEquals(0, LatencyBuckets.quantileNs(new long[LatencyBuckets.BUCKET_COUNT], 0.99));
    }
}
