package io.basalt.bench;

import io.basalt.shims.Check;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/** Text and JSON rendering of benchmark results, and the Basalt-vs-fio comparison. */
final class BenchTable {
    private BenchTable() {}

    static String header() {
        return String.format(Locale.ROOT, "%-7s %-9s %6s %4s %4s %10s %9s %8s %8s %8s %9s %10s %9s %6s",
                "engine", "rw", "bs", "qd", "jobs", "IOPS", "MiB/s", "p50 us", "p99 us", "p999 us", "max us",
                "cpu us/io", "alloc B/io", "errors");
    }

    static String row(BenchResult r) {
        return String.format(Locale.ROOT, "%-7s %-9s %6s %4d %4d %10.0f %9.1f %8.1f %8.1f %8.1f %9.1f %10.3f %9.2f %6d",
                r.engine(), r.params().rw(), size(r.params().blockBytes()), r.params().ioDepth(), r.params().jobs(),
                r.iops(), r.bandwidthBytesPerSec() / (1 << 20), r.p50Ns() / 1e3, r.p99Ns() / 1e3, r.p999Ns() / 1e3,
                r.maxNs() / 1e3, r.cpuSecondsPerIo() * 1e6, r.allocBytesPerIo(), r.errors());
    }

    static String size(int bytes) {
        if (bytes % (1 << 20) == 0) return (bytes >> 20) + "m";
        if (bytes % 1024 == 0) return (bytes >> 10) + "k";
        return String.valueOf(bytes);
    }

    static double median(List<BenchResult> results, ToDoubleFunction<BenchResult> f) {
        double[] v = results.stream().mapToDouble(f).sorted().toArray();
        if (v.length == 0) return Double.NaN;
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** The ratios Basalt/fio of one alternated pair (the runs that followed each other). */
    record PairRatios(double iops, double p99, double cpuPerIo) {
        static PairRatios of(BenchResult basalt, BenchResult fio) {
            return new PairRatios(basalt.iops() / fio.iops(), (double) basalt.p99Ns() / fio.p99Ns(),
                    basalt.cpuSecondsPerIo() / fio.cpuSecondsPerIo());
        }
    }

    /**
     * Pair i is Basalt's run i and fio's run i, measured one after the other: its ratio compares the two under the
     * same conditions (a shared disk or CPU drifts between pairs), so the figures reported are the ratios' median
     * and spread over the pairs, not a ratio of two medians taken at different times.
     */
    static List<PairRatios> pairs(List<BenchResult> basalt, List<BenchResult> fio) {
        Check.that(basalt.size() == fio.size() && !basalt.isEmpty(), "as many Basalt runs as fio runs", fio.size());
        List<PairRatios> pairs = new ArrayList<>();
        for (int i = 0; i < basalt.size(); i++) pairs.add(PairRatios.of(basalt.get(i), fio.get(i)));
        return pairs;
    }

    static Spread spread(List<PairRatios> pairs, ToDoubleFunction<PairRatios> f) {
        return Spread.of(pairs.stream().mapToDouble(f).toArray());
    }

    static String comparison(List<BenchResult> basalt, List<BenchResult> fio) {
        List<PairRatios> pairs = pairs(basalt, fio);
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "%nbasalt / fio, per alternated pair:%n%4s %12s %12s %10s %10s %10s%n", "pair", "basalt IOPS", "fio IOPS",
                "IOPS", "p99", "cpu us/io"));
        for (int i = 0; i < pairs.size(); i++) {
            PairRatios p = pairs.get(i);
            b.append(String.format(Locale.ROOT, "%4d %12.0f %12.0f %9.3fx %9.3fx %9.3fx%n", i + 1, basalt.get(i).iops(),
                    fio.get(i).iops(), p.iops(), p.p99(), p.cpuPerIo()));
        }
        b.append(String.format(Locale.ROOT, "ratio over %d pairs %8s %8s %8s %8s %8s%n", pairs.size(), "median", "min", "q1", "q3", "max"));
        b.append(spreadLine("IOPS ratio", spread(pairs, PairRatios::iops), ""));
        b.append(spreadLine("p99 ratio", spread(pairs, PairRatios::p99), "  (lower is better)"));
        b.append(spreadLine("cpu/io ratio", spread(pairs, PairRatios::cpuPerIo), "  (lower is better)"));
        b.append(String.format(Locale.ROOT, "medians of the runs: basalt %.0f IOPS, fio %.0f IOPS",
                median(basalt, BenchResult::iops), median(fio, BenchResult::iops)));
        return b.toString();
    }

    private static String spreadLine(String name, Spread s, String note) {
        return String.format(Locale.ROOT, "  %-17s %7.3fx %7.3fx %7.3fx %7.3fx %7.3fx%s%n", name, s.median(), s.min(), s.q1(), s.q3(),
                s.max(), note);
    }

    static String comparisonJson(List<BenchResult> basalt, List<BenchResult> fio) {
        List<PairRatios> pairs = pairs(basalt, fio);
        double bCpu = median(basalt, BenchResult::cpuSecondsPerIo), fCpu = median(fio, BenchResult::cpuSecondsPerIo);
        Spread iops = spread(pairs, PairRatios::iops), p99 = spread(pairs, PairRatios::p99), cpu = spread(pairs, PairRatios::cpuPerIo);
        return String.format(Locale.ROOT,
                "{\"comparison\":\"basalt_vs_fio\",\"runs\":%d,\"pairs\":%d,\"basalt_iops_median\":%.1f,\"fio_iops_median\":%.1f,"
                        + "\"iops_ratio\":%.4f,\"basalt_cpu_seconds_per_io\":%.4e,\"fio_cpu_seconds_per_io\":%.4e,\"cpu_ratio\":%.4f,"
                        + "\"p99_ratio\":%.4f,\"iops_ratio_spread\":%s,\"p99_ratio_spread\":%s,\"cpu_ratio_spread\":%s,"
                        + "\"pair_iops_ratios\":%s,\"pair_p99_ratios\":%s,\"pair_cpu_ratios\":%s}",
                basalt.size(), pairs.size(), median(basalt, BenchResult::iops), median(fio, BenchResult::iops), iops.median(), bCpu, fCpu,
                cpu.median(), p99.median(), spreadJson(iops), spreadJson(p99), spreadJson(cpu),
                array(pairs, PairRatios::iops), array(pairs, PairRatios::p99), array(pairs, PairRatios::cpuPerIo));
    }

    private static String spreadJson(Spread s) {
        return String.format(Locale.ROOT, "{\"min\":%.4f,\"q1\":%.4f,\"median\":%.4f,\"q3\":%.4f,\"max\":%.4f}",
                s.min(), s.q1(), s.median(), s.q3(), s.max());
    }

    private static String array(List<PairRatios> pairs, ToDoubleFunction<PairRatios> f) {
        StringBuilder b = new StringBuilder("[");
        for (PairRatios p : pairs) b.append(b.length() > 1 ? "," : "").append(String.format(Locale.ROOT, "%.4f", f.applyAsDouble(p)));
        return b.append(']').toString();
    }
}
