package io.basalt.bench;

import io.basalt.shims.Check;

import java.util.Arrays;

/**
 * Five figures of a small sample: min, first quartile, median, third quartile, max. Quartiles interpolate between
 * neighbours (the "linear" method of numpy and R's type 7), so 10 values give a usable interquartile range.
 */
record Spread(double min, double q1, double median, double q3, double max) {
    static Spread of(double[] values) {
        Check.that(values.length > 0, "a spread of at least one value");
        double[] v = values.clone();
        Arrays.sort(v);
        return new Spread(v[0], quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75), v[v.length - 1]);
    }

    /** The {@code p} quantile of the sorted {@code v}, between v[floor(h)] and v[ceil(h)] with h = (n - 1) p. */
    static double quantile(double[] sorted, double p) {
        double h = (sorted.length - 1) * p;
        int below = (int) Math.floor(h);
        int above = Math.min(below + 1, sorted.length - 1);
        return sorted[below] + (h - below) * (sorted[above] - sorted[below]);
    }
}
