package io.basalt.qemu;

import io.basalt.bench.BenchParams;
import io.basalt.bench.BenchResult;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/**
 * Two block servers, each a process of its own, measured in alternated pairs by a client on this host (no guest):
 * {@link FrontendBench} (vhost-user-blk) and {@link NvmfLoopbackBench} (NVMe/TCP against NBD). Every job runs once on
 * each server as a warm-up, then each pair runs the job on one server and then the other, the order swapped every
 * pair, so drift and other load on the host fall on both sides alike. The figure is the server process's CPU time
 * (utime + stime over all its threads, /proc/PID/stat) over the run, per I/O the client completed; the summary of a
 * job is the median of the per-pair ratios with their min-max.
 */
final class ServerPairs {
    static final int BLOCK_BYTES = 4096;
    /** The random jobs both client-driven benches run. */
    static final List<String> JOBS = List.of("randread", "randwrite");

    private ServerPairs() {}

    /** A server under test and how the client runs one job on it; the server stays up for the whole benchmark. */
    interface Server {
        String name();

        /** The process whose CPU time is the server's cost. */
        long pid();

        BenchResult run(BenchParams params);

        void close();
    }

    /** One job on one server in one pair (pair -1: the warm-up). */
    record Sample(String job, String server, int pair, double iops, long ios, long serverCpuNanos, double p99Micros) {
        double cpuMicrosPerIo() {
            return ios == 0 ? Double.NaN : serverCpuNanos / 1000.0 / ios;
        }

        /** I/Os per second of server CPU time: what one core of the server would sustain at this cost. */
        double iopsPerServerCore() {
            return serverCpuNanos == 0 ? Double.NaN : ios * 1e9 / serverCpuNanos;
        }
    }

    /** The workload of one run: 4k, {@code ioDepth} per queue, one client reactor or fio job per queue. */
    static BenchParams params(String job, int ioDepth, int queues, int seconds, int pair) {
        return new BenchParams(job, BLOCK_BYTES, ioDepth, queues, Duration.ofSeconds(seconds).toNanos(), 0,
                job.equals("randread") ? 100 : 0, 1 + pair);
    }

    /** The jobs of {@link #JOBS} whose names start with one of {@code prefixes} (empty: all). */
    static List<String> jobs(List<String> prefixes) {
        List<String> jobs = new ArrayList<>(JOBS);
        if (!prefixes.isEmpty()) jobs.removeIf(j -> prefixes.stream().noneMatch(j::startsWith));
        if (jobs.isEmpty()) throw new IllegalArgumentException("these benches run the 4k jobs only: " + String.join(", ", JOBS));
        return jobs;
    }

    /**
     * Warm-up (every job once on each server: the JIT of the Java sides compiles each job's paths here, not in the
     * first measured pairs; a C2 compile counts as server CPU), then {@code pairs} pairs per job; the measured samples.
     */
    static List<Sample> alternate(List<String> jobs, List<Server> servers, int pairs, int ioDepth, int queues, int seconds,
            PrintStream err) {
        for (String job : jobs) for (Server s : servers) measure(s, "warm-up", params(job, ioDepth, queues, seconds, -1), -1, err);
        List<Sample> samples = new ArrayList<>();
        for (int pair = 0; pair < pairs; pair++) {
            for (String job : jobs) {
                for (int k = 0; k < servers.size(); k++) {
                    Server s = servers.get(pair % 2 == 0 ? k : servers.size() - 1 - k);
                    samples.add(measure(s, job, params(job, ioDepth, queues, seconds, pair), pair, err));
                }
            }
        }
        return samples;
    }

    private static Sample measure(Server s, String label, BenchParams params, int pair, PrintStream err) {
        long cpuStart = ProcessBackend.cpuNanos(s.pid());
        BenchResult r = s.run(params);
        long cpu = ProcessBackend.cpuNanos(s.pid()) - cpuStart;
        if (r.errors() > 0) throw new IllegalStateException(s.name() + ": " + r.errors() + " I/O errors in " + params.rw());
        Sample sample = new Sample(params.rw(), s.name(), pair, r.iops(), r.ios(), cpu, r.p99Ns() / 1000.0);
        // The client's CPU (its reactors' threads, or fio's usr+sys) is context: a client that is CPU-bound caps the rate.
        err.printf(Locale.ROOT, "  %-9s %-9s %-8s %10.0f IOPS  server %6.2f us CPU/IO  %8.0f IOPS/server core  client %6.2f us CPU/IO%n",
                label, params.rw(), s.name(), sample.iops(), sample.cpuMicrosPerIo(), sample.iopsPerServerCore(),
                r.ios() == 0 ? Double.NaN : r.cpuSeconds() * 1e6 / r.ios());
        return sample;
    }

    /** One job's summary: the pairs complete on both sides, a/b ratios of those pairs, each side's medians. */
    record Row(String job, List<Sample[]> pairs) {
        /** The a/b ratios of the pairs as median [min-max]; the row has at least one pair. */
        NvmfBench.Ratio ratio(ToDoubleFunction<Sample> f) {
            return NvmfBench.Ratio.of(pairs.stream().mapToDouble(p -> f.applyAsDouble(p[0]) / f.applyAsDouble(p[1])).toArray());
        }

        double median(int side, ToDoubleFunction<Sample> f) {
            return ServerPairs.median(pairs.stream().mapToDouble(p -> f.applyAsDouble(p[side])).toArray());
        }
    }

    /** Per job in the order first seen, the pairs in which both {@code a} and {@code b} ran (pair number order). */
    static List<Row> rows(List<Sample> samples, String a, String b) {
        Map<String, Map<Integer, Sample[]>> byJob = new LinkedHashMap<>();
        for (Sample s : samples) {
            if (!s.server().equals(a) && !s.server().equals(b)) continue;
            byJob.computeIfAbsent(s.job(), k -> new TreeMap<>()).computeIfAbsent(s.pair(), k -> new Sample[2])[s.server().equals(a) ? 0 : 1] = s;
        }
        List<Row> rows = new ArrayList<>();
        byJob.forEach((job, pairs) -> rows.add(new Row(job, pairs.values().stream().filter(p -> p[0] != null && p[1] != null).toList())));
        return rows;
    }

    /**
     * Per job, a line per server (its medians over the complete pairs: IOPS, CPU per I/O, IOPS per server core, p99),
     * the first carrying the a/b ratios of the pairs as median [min-max].
     */
    static String table(List<Sample> samples, String a, String b) {
        String format = "%-10s %-8s %5s %9s %9s %10s %8s   %-24s %-24s %-24s%n";
        StringBuilder t = new StringBuilder(String.format(Locale.ROOT, format, "job", "server", "pairs", "IOPS", "CPU us/IO",
                "IOPS/core", "p99 us", "CPU/IO " + a + "/" + b, "IOPS " + a + "/" + b, "IOPS/core " + a + "/" + b));
        for (Row r : rows(samples, a, b)) {
            if (r.pairs().isEmpty()) continue;
            for (int side = 0; side < 2; side++) {
                t.append(String.format(Locale.ROOT, "%-10s %-8s %5d %9.0f %9.2f %10.0f %8.1f   %-24s %-24s %-24s%n", r.job(),
                        side == 0 ? a : b, r.pairs().size(), r.median(side, Sample::iops), r.median(side, Sample::cpuMicrosPerIo),
                        r.median(side, Sample::iopsPerServerCore), r.median(side, Sample::p99Micros),
                        side == 0 ? r.ratio(Sample::cpuMicrosPerIo).text() : "1.00x", side == 0 ? r.ratio(Sample::iops).text() : "1.00x",
                        side == 0 ? r.ratio(Sample::iopsPerServerCore).text() : "1.00x"));
            }
        }
        return t.toString();
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
