package io.basalt.engine.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

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

    static double median(List<BenchResult> results, java.util.function.ToDoubleFunction<BenchResult> f) {
        double[] v = results.stream().mapToDouble(f).sorted().toArray();
        if (v.length == 0) return Double.NaN;
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static String comparison(List<BenchResult> basalt, List<BenchResult> fio) {
        double bIops = median(basalt, BenchResult::iops), fIops = median(fio, BenchResult::iops);
        double bCpu = median(basalt, BenchResult::cpuSecondsPerIo), fCpu = median(fio, BenchResult::cpuSecondsPerIo);
        double bP99 = median(basalt, r -> r.p99Ns()), fP99 = median(fio, r -> r.p99Ns());
        return String.format(Locale.ROOT,
                "%nmedian of %d alternated runs each:%n"
                        + "  IOPS        basalt %10.0f   fio %10.0f   ratio %.2fx%n"
                        + "  p99 us      basalt %10.1f   fio %10.1f   ratio %.2fx (lower is better)%n"
                        + "  cpu us/io   basalt %10.3f   fio %10.3f   ratio %.2fx (lower is better)",
                basalt.size(), bIops, fIops, bIops / fIops, bP99 / 1e3, fP99 / 1e3, bP99 / fP99,
                bCpu * 1e6, fCpu * 1e6, bCpu / fCpu);
    }

    static String comparisonJson(List<BenchResult> basalt, List<BenchResult> fio) {
        double bIops = median(basalt, BenchResult::iops), fIops = median(fio, BenchResult::iops);
        double bCpu = median(basalt, BenchResult::cpuSecondsPerIo), fCpu = median(fio, BenchResult::cpuSecondsPerIo);
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("comparison", "basalt_vs_fio");
        o.put("runs", basalt.size());
        o.put("basalt_iops_median", BenchResult.tenths(bIops));
        o.put("fio_iops_median", BenchResult.tenths(fIops));
        o.put("iops_ratio", bIops / fIops);
        o.put("basalt_cpu_seconds_per_io", bCpu);
        o.put("fio_cpu_seconds_per_io", fCpu);
        o.put("cpu_ratio", bCpu / fCpu);
        return BenchResult.writeJson(o);
    }
}
