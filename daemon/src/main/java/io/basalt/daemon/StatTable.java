package io.basalt.daemon;

import io.basalt.engine.stats.LatencyBuckets;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One {@code basalt stat} report: the difference between two stat_get results as rates over the time between them
 * (iostat's columns; docs/rpc.md, "stat_get"). Per drive, volume and export: reads and writes per second, MiB/s,
 * the median and 99th percentile latency of the reads and writes completed in the interval, the average queue depth
 * (summed request time over elapsed time: iostat's aqu-sz) and errors; per reactor the busy share of the interval;
 * per running sync job its progress and current rate.
 */
final class StatTable {
    static final String DEVICE_HEADER = String.format(Locale.ROOT, "%-16s %-6s %9s %9s %8s %8s %8s %8s %6s %6s",
            "NAME", "KIND", "r/s", "w/s", "rMiB/s", "wMiB/s", "p50", "p99", "qd", "errors");
    static final String REACTOR_HEADER = String.format(Locale.ROOT, "%-16s %6s", "REACTOR", "busy%");
    static final String SYNC_HEADER = String.format(Locale.ROOT, "%-16s %-8s %7s %8s", "SYNC", "ACTION", "done%", "MiB/s");
    private static final double MIB = 1 << 20;
    private static final double NS_PER_SECOND = 1e9;
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneId.systemDefault());

    private StatTable() {}

    /** The report for the interval from {@code before} to {@code after}, limited to {@code names} when not empty. */
    static String format(Map<?, ?> before, Map<?, ?> after, List<String> names) {
        double seconds = (number(after, "timestamp_ns") - number(before, "timestamp_ns")) / NS_PER_SECOND;
        StringBuilder b = new StringBuilder();
        b.append(CLOCK.format(Instant.ofEpochMilli(number(after, "time_ms"))))
                .append(String.format(Locale.ROOT, "  interval %.2f s%n", seconds));
        List<String> rows = new ArrayList<>();
        for (String kind : List.of("drive", "volume", "export")) {
            for (Map<?, ?> d : matching(after, kind + "s", names)) {
                Map<?, ?> old = find(before, kind + "s", (String) d.get("name"));
                rows.add(deviceRow(kind, old, d, seconds));
            }
        }
        section(b, DEVICE_HEADER, rows);
        rows = new ArrayList<>();
        for (Map<?, ?> r : matching(after, "reactors", names)) {
            Map<?, ?> old = find(before, "reactors", (String) r.get("name"));
            double busyNs = number(r, "busy_ns") - (old == null ? 0 : number(old, "busy_ns"));
            rows.add(String.format(Locale.ROOT, "%-16s %6.1f", r.get("name"), Math.min(100, 100 * busyNs / (seconds * NS_PER_SECOND))));
        }
        section(b, REACTOR_HEADER, rows);
        rows = new ArrayList<>();
        for (Map<?, ?> v : matching(after, "volumes", names)) {
            if (v.get("sync") instanceof Map<?, ?> sync && !"idle".equals(sync.get("action"))) {
                rows.add(syncRow((String) v.get("name"), sync, find(before, "volumes", (String) v.get("name")), seconds));
            }
        }
        section(b, SYNC_HEADER, rows);
        return b.toString();
    }

    private static void section(StringBuilder b, String header, List<String> rows) {
        if (rows.isEmpty()) return;
        b.append(header).append('\n');
        for (String row : rows) b.append(row).append('\n');
    }

    private static String deviceRow(String kind, Map<?, ?> old, Map<?, ?> now, double seconds) {
        long[] buckets = buckets(now);
        if (old != null) {
            long[] before = buckets(old);
            for (int i = 0; i < buckets.length; i++) buckets[i] -= before[i];
        }
        boolean any = false;
        for (long c : buckets) any |= c > 0;
        return String.format(Locale.ROOT, "%-16s %-6s %9.1f %9.1f %8.2f %8.2f %8s %8s %6.2f %6d", now.get("name"), kind,
                delta(old, now, "read_ios") / seconds, delta(old, now, "write_ios") / seconds,
                delta(old, now, "read_bytes") / MIB / seconds, delta(old, now, "write_bytes") / MIB / seconds,
                any ? latency(LatencyBuckets.quantileNs(buckets, 0.5)) : "-", any ? latency(LatencyBuckets.quantileNs(buckets, 0.99)) : "-",
                delta(old, now, "io_time_ns") / (seconds * NS_PER_SECOND), delta(old, now, "errors"));
    }

    /** The current rate from the progress made in the interval; the job's average when a new job started meanwhile. */
    private static String syncRow(String name, Map<?, ?> sync, Map<?, ?> oldVolume, double seconds) {
        double rate = ((Number) sync.get("average_mib_s")).doubleValue();
        if (oldVolume != null && oldVolume.get("sync") instanceof Map<?, ?> old && sync.get("action").equals(old.get("action"))) {
            long done = number(sync, "done_bytes") - number(old, "done_bytes");
            if (done >= 0) rate = done / MIB / seconds;
        }
        return String.format(Locale.ROOT, "%-16s %-8s %7.1f %8.1f", name, sync.get("action"), ((Number) sync.get("percent")).doubleValue(), rate);
    }

    /** A latency for people: ns under 1 us, then us, ms, s with three significant digits or so. */
    static String latency(long ns) {
        if (ns < 1_000) return ns + "ns";
        if (ns < 1_000_000) return trim(ns / 1e3) + "us";
        if (ns < 1_000_000_000) return trim(ns / 1e6) + "ms";
        return trim(ns / 1e9) + "s";
    }

    private static String trim(double value) {
        return value >= 100 ? String.format(Locale.ROOT, "%.0f", value) : value >= 10 ? String.format(Locale.ROOT, "%.1f", value)
                : String.format(Locale.ROOT, "%.2f", value);
    }

    /** The [low_ns, high_ns, count] triples back into counts per bucket. */
    private static long[] buckets(Map<?, ?> device) {
        long[] counts = new long[LatencyBuckets.BUCKET_COUNT];
        if (device.get("latency_buckets") instanceof List<?> triples) {
            for (Object t : triples) {
                List<?> triple = (List<?>) t;
                counts[LatencyBuckets.index(((Number) triple.get(0)).longValue())] += ((Number) triple.get(2)).longValue();
            }
        }
        return counts;
    }

    private static long delta(Map<?, ?> old, Map<?, ?> now, String key) {
        return number(now, key) - (old == null ? 0 : number(old, key));
    }

    private static long number(Map<?, ?> m, String key) {
        return m.get(key) instanceof Number n ? n.longValue() : 0;
    }

    private static List<Map<?, ?>> matching(Map<?, ?> result, String list, List<String> names) {
        List<Map<?, ?>> out = new ArrayList<>();
        if (result.get(list) instanceof List<?> items) {
            for (Object o : items) {
                Map<?, ?> m = (Map<?, ?>) o;
                if (names.isEmpty() || names.contains((String) m.get("name"))) out.add(m);
            }
        }
        return out;
    }

    private static Map<?, ?> find(Map<?, ?> result, String list, String name) {
        for (Map<?, ?> m : matching(result, list, List.of())) if (name.equals(m.get("name"))) return m;
        return null;
    }
}
