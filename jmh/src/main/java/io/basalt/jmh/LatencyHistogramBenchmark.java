package io.basalt.jmh;

import io.basalt.bench.LatencyHistogram;
import org.HdrHistogram.Histogram;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Cost of recording one latency, as the bench does for every I/O: the bench's LatencyHistogram.record against
 * HdrHistogram's Histogram.recordValue at a like precision (2 significant digits: 1%, ours 1/64 = 1.6%), range
 * 1 ns to 1 hour. Values are log-uniform from 1 us to 10 ms (a mix of cache hits and slow I/Os), precomputed so
 * that neither side pays for the random numbers.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 2)
public class LatencyHistogramBenchmark {
    static final int VALUE_COUNT = 1 << 16;
    static final long HIGHEST_NS = TimeUnit.HOURS.toNanos(1);
    static final int SIGNIFICANT_DIGITS = 2;

    private final long[] valuesNs = new long[VALUE_COUNT];
    private LatencyHistogram ours;
    private Histogram hdr;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < VALUE_COUNT; i++) valuesNs[i] = (long) Math.pow(10, 3 + 4 * random.nextDouble());
        ours = new LatencyHistogram();
        hdr = new Histogram(1, HIGHEST_NS, SIGNIFICANT_DIGITS);
    }

    @Benchmark
    public void basalt() {
        ours.record(valuesNs[next++ & (VALUE_COUNT - 1)]);
    }

    @Benchmark
    public void hdrHistogram() {
        hdr.recordValue(valuesNs[next++ & (VALUE_COUNT - 1)]);
    }
}
