package io.basalt.daemon;

import io.basalt.engine.stats.IoStats;
import io.basalt.engine.stats.LatencyBuckets;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * A {@link StatsCollector.Sample} as Prometheus metric families (docs/rpc.md, "Prometheus metrics"): per drive, volume
 * and export ({@code basalt_drive_*}, {@code basalt_volume_*}, {@code basalt_export_*}, labelled by the name) the I/O
 * counters, the in-flight gauge and a latency histogram; per reactor its busy and idle seconds; per RAID volume its
 * sync job's progress. Units are Prometheus' base units (seconds, bytes); counters get {@code _total} from the writer.
 */
final class PrometheusMetrics {
    private static final double NS_PER_SECOND = 1e9;
    /** The histogram's {@code le} bounds: powers of two of nanoseconds from 2^12 (4 us) to 2^35 (34 s), exact bucket edges. */
    static final int LE_EXPONENT_MIN = 12, LE_EXPONENT_MAX = 35;

    /** One I/O counter family: its suffix, help text, the counter and a scale to base units. */
    private record IoCounter(String suffix, String help, int index, double scale) {}

    private static final List<IoCounter> IO_COUNTERS = List.of(
            new IoCounter("read_ios", "Reads completed successfully", IoStats.READ_IOS, 1),
            new IoCounter("read_bytes", "Bytes read by successful reads", IoStats.READ_BYTES, 1),
            new IoCounter("write_ios", "Writes completed successfully", IoStats.WRITE_IOS, 1),
            new IoCounter("write_bytes", "Bytes written by successful writes", IoStats.WRITE_BYTES, 1),
            new IoCounter("flush_ios", "Flushes completed successfully", IoStats.FLUSH_IOS, 1),
            new IoCounter("trim_ios", "Discards and write-zeroes completed successfully", IoStats.TRIM_IOS, 1),
            new IoCounter("errors", "Requests that completed with an error status", IoStats.ERRORS, 1),
            new IoCounter("busy_refusals", "Submissions refused because the queue was full (retried by the caller)", IoStats.BUSY_REFUSALS, 1),
            new IoCounter("io_time_seconds", "Summed time requests spent in the device (its rate is the average queue depth)",
                    IoStats.IO_TIME_NS, 1 / NS_PER_SECOND));

    private PrometheusMetrics() {}

    static MetricSnapshots snapshots(StatsCollector.Sample s) {
        List<MetricSnapshot> out = new ArrayList<>();
        devices(out, "drive", s.drives());
        devices(out, "volume", s.volumes());
        devices(out, "export", s.exports());
        reactors(out, s.reactors());
        syncs(out, s.volumes());
        out.add(GaugeSnapshot.builder().name("basalt_uptime_seconds").help("Time since the daemon started")
                .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(s.uptimeNs() / NS_PER_SECOND).build()).build());
        return new MetricSnapshots(out);
    }

    private static void devices(List<MetricSnapshot> out, String kind, List<StatsCollector.DeviceSample> samples) {
        String prefix = "basalt_" + kind + "_";
        for (IoCounter c : IO_COUNTERS) {
            CounterSnapshot.Builder b = CounterSnapshot.builder().name(prefix + c.suffix()).help(c.help() + ", per " + kind);
            for (StatsCollector.DeviceSample d : samples) {
                b.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().labels(Labels.of(kind, d.name()))
                        .value(d.stats().counter(c.index()) * c.scale()).build());
            }
            out.add(b.build());
        }
        GaugeSnapshot.Builder inFlight = GaugeSnapshot.builder().name(prefix + "in_flight").help("Requests submitted and not yet completed, per " + kind);
        HistogramSnapshot.Builder latency = HistogramSnapshot.builder().name(prefix + "latency_seconds")
                .help("Read and write latency (submission to completion), per " + kind);
        for (StatsCollector.DeviceSample d : samples) {
            Labels labels = Labels.of(kind, d.name());
            inFlight.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(labels).value(d.stats().counter(IoStats.IN_FLIGHT)).build());
            latency.dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder().labels(labels)
                    .classicHistogramBuckets(classicBuckets(d.stats().latencyBuckets()))
                    .sum(d.stats().counter(IoStats.LATENCY_SUM_NS) / NS_PER_SECOND).build());
        }
        out.add(inFlight.build());
        out.add(latency.build());
    }

    /** Fine buckets folded into le = 2^k ns bounds (exact: powers of two are fine-bucket edges), then +Inf. */
    static ClassicHistogramBuckets classicBuckets(long[] fine) {
        int bounds = LE_EXPONENT_MAX - LE_EXPONENT_MIN + 2;
        double[] upper = new double[bounds];
        long[] counts = new long[bounds];
        int bucket = 0;
        for (int k = LE_EXPONENT_MIN; k <= LE_EXPONENT_MAX; k++, bucket++) upper[bucket] = (1L << k) / NS_PER_SECOND;
        upper[bounds - 1] = Double.POSITIVE_INFINITY;
        for (int i = 0; i < fine.length; i++) {
            if (fine[i] == 0) continue;
            counts[classicIndex(i)] += fine[i];
        }
        return ClassicHistogramBuckets.of(upper, counts);
    }

    /** The classic bucket a fine bucket falls in: the first bound 2^k ns with all of it at or below 2^k. */
    private static int classicIndex(int fine) {
        for (int k = LE_EXPONENT_MIN; k <= LE_EXPONENT_MAX; k++) {
            if (fine < LatencyBuckets.indexOfPowerOfTwo(k)) return k - LE_EXPONENT_MIN;
        }
        return LE_EXPONENT_MAX - LE_EXPONENT_MIN + 1;
    }

    private static void reactors(List<MetricSnapshot> out, List<StatsCollector.ReactorSample> rs) {
        out.add(reactorCounter("basalt_reactor_busy_seconds", "Time in reactor cycles that did work", rs, r -> r.busyNs() / NS_PER_SECOND));
        out.add(reactorCounter("basalt_reactor_idle_seconds", "Time in cycles that found no work, spinning or sleeping", rs,
                r -> r.idleNs() / NS_PER_SECOND));
        out.add(reactorCounter("basalt_reactor_cycles", "Reactor cycles run", rs, r -> r.cycles()));
        out.add(reactorCounter("basalt_reactor_sleeps", "Times the reactor slept waiting for work", rs, r -> r.sleeps()));
    }

    private static CounterSnapshot reactorCounter(String name, String help, List<StatsCollector.ReactorSample> rs,
                                                  ToDoubleFunction<StatsCollector.ReactorSample> value) {
        CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
        for (StatsCollector.ReactorSample r : rs) {
            b.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().labels(Labels.of("reactor", r.name())).value(value.applyAsDouble(r)).build());
        }
        return b.build();
    }

    /** Gauges, not counters: a new sync job starts again from 0. */
    private static void syncs(List<MetricSnapshot> out, List<StatsCollector.DeviceSample> volumes) {
        GaugeSnapshot.Builder done = GaugeSnapshot.builder().name("basalt_volume_sync_done_bytes")
                .help("Member bytes the running or last sync job (rebuild, resync, check, repair) has done");
        GaugeSnapshot.Builder total = GaugeSnapshot.builder().name("basalt_volume_sync_size_bytes")
                .help("Member bytes the running or last sync job covers");
        GaugeSnapshot.Builder running = GaugeSnapshot.builder().name("basalt_volume_sync_running")
                .help("1 while a sync job runs, with its action; 0 when idle");
        for (StatsCollector.DeviceSample v : volumes) {
            if (v.sync() == null) continue;
            Labels labels = Labels.of("volume", v.name());
            done.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(labels).value(v.sync().doneBytes()).build());
            total.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(labels).value(v.sync().totalBytes()).build());
            boolean idle = v.sync().action().equals("idle");
            running.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
                    .labels(Labels.of("volume", v.name(), "action", idle ? "none" : v.sync().action())).value(idle ? 0 : 1).build());
        }
        out.add(done.build());
        out.add(total.build());
        out.add(running.build());
    }
}
