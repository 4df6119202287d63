package io.basalt.bench;

import io.basalt.engine.DeviceSpec;
import com.fasterxml.jackson.core.JsonProcessingException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs fio with the workload Basalt just ran, on the same file: ioengine=io_uring, direct=1, fixedbufs and
 * registerfiles on (fio's fastest io_uring set-up), time based with the same ramp, fresh random data for every write
 * (refill_buffers, as BenchJob), and reads its JSON report. {@link #nbd} runs the same workload on an NBD server
 * through fio's nbd engine (libnbd; one connection per job) instead.
 */
public final class FioRunner {
    private final List<String> target;
    private final String label;
    private final String fio;

    private FioRunner(List<String> target, String label, String fio) {
        this.target = List.copyOf(target);
        this.label = label;
        this.fio = fio;
    }

    static FioRunner forSpec(DeviceSpec spec, String fio) {
        if (!spec.kind().equals("uring")) {
            throw new IllegalArgumentException("--vs-fio needs a file target (uring:/path): fio cannot run on " + spec.kind());
        }
        if (spec.options().containsKey("direct") && spec.options().get("direct").equals("0")) {
            throw new IllegalArgumentException("--vs-fio compares O_DIRECT runs: drop direct=0 from the target");
        }
        return new FioRunner(List.of("--filename=" + spec.target(), "--ioengine=io_uring", "--direct=1", "--fixedbufs=1",
                "--registerfiles=1"), "file:" + spec.target(), fio);
    }

    /**
     * fio's nbd engine on {@code uri} (nbd://HOST:PORT/EXPORT): each job opens its own connection, so numjobs is the
     * connection count and iodepth the requests in flight on each; the size is the export's.
     */
    public static FioRunner nbd(String uri, String fio) {
        if (!uri.startsWith("nbd://") && !uri.startsWith("nbd+unix://")) throw new IllegalArgumentException("not an NBD URI: " + uri);
        return new FioRunner(List.of("--ioengine=nbd", "--uri=" + uri), uri, fio);
    }

    List<String> command(BenchParams p) {
        List<String> c = new ArrayList<>(List.of(fio, "--name=basalt-vs-fio"));
        c.addAll(target);
        c.addAll(List.of("--thread=0", "--rw=" + p.rw(), "--bs=" + p.blockBytes(), "--iodepth=" + p.ioDepth(), "--numjobs=" + p.jobs(),
                "--time_based=1", "--runtime=" + seconds(p.runtimeNs()), "--ramp_time=" + seconds(p.rampNs()),
                "--norandommap=1", "--randrepeat=0", "--group_reporting=1", "--lat_percentiles=1",
                "--percentile_list=50:99:99.9", "--output-format=json"));
        if (p.rw().equals("randrw")) c.add("--rwmixread=" + p.readPercent());
        // Fresh random data for every write, as BenchJob does: fio's default buffers (filled once, lightly
        // scrambled) cost zram's LZ4 about 3x more per page than random data, which made fio look 2.7x slower.
        if (p.readShare() < 100) c.add("--refill_buffers=1");
        return c;
    }

    private static String seconds(long ns) {
        return String.format(Locale.ROOT, "%.3fs", ns / 1e9);
    }

    /** Runs fio once with {@code params} and reads its report; a failed or stuck fio throws. */
    public BenchResult run(BenchParams params) {
        List<String> command = command(params);
        String output;
        try {
            Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            long limitNs = params.rampNs() + params.runtimeNs() + TimeUnit.SECONDS.toNanos(120);
            if (!process.waitFor(limitNs, TimeUnit.NANOSECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("fio did not finish: " + String.join(" ", command));
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException("fio exited with " + process.exitValue() + ": " + String.join(" ", command));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run fio (" + fio + "): " + e.getMessage()
                    + " -- install it (apt-get install fio; ./basalt test does it)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while fio ran");
        }
        return parse(output, params, label);
    }

    /** Reads fio's JSON report (fio 3.x layout: jobs[0].read / .write, lat_ns percentiles with lat_percentiles=1). */
    @SuppressWarnings("unchecked")
    static BenchResult parse(String output, BenchParams params, String target) {
        int start = output.indexOf('{'); // fio may print notes before the JSON document
        if (start < 0) throw new IllegalStateException("fio printed no JSON report");
        Map<String, Object> root;
        try {
            root = BenchResult.JSON.readValue(output.substring(start), Map.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("fio's report is not JSON: " + e.getOriginalMessage());
        }
        Map<String, Object> job = (Map<String, Object>) ((List<Object>) root.get("jobs")).get(0);
        long ios = 0, bytes = 0, p50 = 0, p99 = 0, p999 = 0, max = 0;
        double meanWeighted = 0;
        for (String dir : new String[] {"read", "write"}) {
            Map<String, Object> d = (Map<String, Object>) job.get(dir);
            long n = number(d.get("total_ios")).longValue();
            if (n == 0) continue;
            ios += n;
            bytes += number(d.get("io_bytes")).longValue();
            Map<String, Object> lat = (Map<String, Object>) d.get("lat_ns");
            Map<String, Object> pct = (Map<String, Object>) lat.get("percentile");
            p50 = Math.max(p50, number(pct.get("50.000000")).longValue());
            p99 = Math.max(p99, number(pct.get("99.000000")).longValue());
            p999 = Math.max(p999, number(pct.get("99.900000")).longValue());
            max = Math.max(max, number(lat.get("max")).longValue());
            meanWeighted += number(lat.get("mean")).doubleValue() * n;
        }
        double runtimeSeconds = number(job.get("job_runtime")).doubleValue() / 1000.0;
        double cpuShare = (number(job.get("usr_cpu")).doubleValue() + number(job.get("sys_cpu")).doubleValue()) / 100.0;
        long errors = number(job.get("error")).longValue() != 0 ? 1 : 0;
        return new BenchResult("fio", target, params, ios, bytes, runtimeSeconds, p50, p99, p999, max,
                ios == 0 ? 0 : meanWeighted / ios, cpuShare * runtimeSeconds, 0, errors);
    }

    private static Number number(Object value) {
        if (value instanceof Number n) return n;
        throw new IllegalStateException("fio report: expected a number, found " + value);
    }
}
