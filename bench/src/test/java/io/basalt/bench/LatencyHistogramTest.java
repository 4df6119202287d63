package io.basalt.bench;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class LatencyHistogramTest {
    @Test
    void quantilesAreWithinTwoPercentOfTheExactValue() {
        SplittableRandom random = new SplittableRandom(42);
        for (int round = 0; round < 20; round++) {
            int n = 1 + random.nextInt(50_000);
            long[] values = new long[n];
            LatencyHistogram h = new LatencyHistogram();
            for (int i = 0; i < n; i++) {
                // log-uniform from 1 ns to ~10 s, as latencies spread
                values[i] = (long) Math.exp(random.nextDouble() * Math.log(1e10));
                h.record(values[i]);
            }
            Arrays.sort(values);
            for (double q : new double[] {0.5, 0.9, 0.99, 0.999, 1.0}) {
                long exact = values[(int) Math.max(0, Math.ceil(q * n) - 1)];
                long approx = h.valueAt(q);
                assertTrue(Math.abs(approx - exact) <= Math.max(1, exact / 50),
                        "round " + round + " q=" + q + ": exact " + exact + " histogram " + approx);
            }
            assertEquals(values[n - 1], h.maxNs());
            assertEquals(n, h.count());
            assertEquals(Arrays.stream(values).average().orElseThrow(), h.meanNs(), 1e-6 * h.meanNs(), "the mean is exact");
        }
    }

    @Test
    void emptyAndMergedHistograms() {
        LatencyHistogram a = new LatencyHistogram();
        assertEquals(0, a.valueAt(0.99));
        LatencyHistogram b = new LatencyHistogram();
        for (int i = 1; i <= 100; i++) a.record(i * 1000L);
        for (int i = 101; i <= 200; i++) b.record(i * 1000L);
        a.add(b);
        assertEquals(200, a.count());
        assertEquals(200_000, a.maxNs());
        assertEquals(100_000, a.valueAt(0.5), 100_000 / 50.0);
        a.reset();
        assertEquals(0, a.count());
        assertEquals(0, a.valueAt(0.5));
    }

    @Test
    void aValuePastTheRangeIsCountedAndKeptAsTheMaximum() {
        LatencyHistogram h = new LatencyHistogram();
        long twoHoursNs = 2 * LatencyHistogram.HIGHEST_NS;
        h.record(5);
        h.record(twoHoursNs);
        h.record(-3);
        assertEquals(3, h.count());
        assertEquals(twoHoursNs, h.maxNs());
        assertEquals(0, h.valueAt(0));
        assertTrue(h.valueAt(1.0) >= LatencyHistogram.HIGHEST_NS * 99 / 100, "top bucket: " + h.valueAt(1.0));
    }
}
