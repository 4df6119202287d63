package io.basalt.engine.bench;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.IdleStrategy;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Sizes;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code basalt bench}: fio-style workloads run by Basalt's own reactors against any backend spec, optionally
 * alternated with fio on the same file ({@code --vs-fio}) and reported side by side with ratios.
 */
public final class BenchCli {
    private BenchCli() {}

    static final String USAGE = """
            usage: basalt bench --target SPEC [--rw randread|randwrite|read|write|randrw] [--bs 4k] [--iodepth 32]
                                [--jobs 1] [--seconds 10] [--ramp-seconds 1] [--rwmixread 50] [--idle busy|sleep|backoff]
                                [--submit-batch 1] [--json] [--vs-fio] [--repeat 3] [--seed 1]
              SPEC: uring:/path/file[,size=1G][,direct=1]   memory:1G   null:1T
              --vs-fio runs fio (ioengine=io_uring, direct=1, fixedbufs, registerfiles) on the same file with the
              same parameters, alternating with Basalt, and prints both with the ratio of the medians.""";

    public static int run(String[] args) {
        return run(args, System.out, System.err);
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        Map<String, String> options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            err.println("basalt bench: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        if (options.containsKey("help")) {
            out.println(USAGE);
            return 0;
        }
        try {
            return execute(options, out, err);
        } catch (IllegalArgumentException | IllegalStateException e) {
            err.println("basalt bench: " + e.getMessage());
            return 1;
        }
    }

    private static final List<String> FLAGS = List.of("json", "vs-fio", "help", "no-prefill");
    private static final List<String> VALUED = List.of("target", "rw", "bs", "iodepth", "jobs", "seconds",
            "ramp-seconds", "rwmixread", "idle", "repeat", "seed", "fio", "submit-batch");

    static Map<String, String> parse(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) throw new IllegalArgumentException("unexpected argument '" + a + "'");
            String key = a.substring(2);
            String value = null;
            int eq = key.indexOf('=');
            if (eq > 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            }
            if (FLAGS.contains(key)) {
                options.put(key, "true");
            } else if (VALUED.contains(key)) {
                if (value == null) {
                    if (i + 1 >= args.length) throw new IllegalArgumentException("--" + key + " needs a value");
                    value = args[++i];
                }
                options.put(key, value);
            } else {
                throw new IllegalArgumentException("unknown option --" + key);
            }
        }
        return options;
    }

    static BenchParams params(Map<String, String> o) {
        return new BenchParams(o.getOrDefault("rw", "randread"), (int) Sizes.parse(o.getOrDefault("bs", "4k")),
                Integer.parseInt(o.getOrDefault("iodepth", "32")), Integer.parseInt(o.getOrDefault("jobs", "1")),
                seconds(o.getOrDefault("seconds", "10")), seconds(o.getOrDefault("ramp-seconds", "1")),
                Integer.parseInt(o.getOrDefault("rwmixread", "50")), Long.parseLong(o.getOrDefault("seed", "1")));
    }

    private static long seconds(String text) {
        double s = Double.parseDouble(text);
        if (s < 0) throw new IllegalArgumentException("negative time: " + text);
        return (long) (s * 1e9);
    }

    private static int execute(Map<String, String> o, PrintStream out, PrintStream err) {
        String target = o.get("target");
        if (target == null) throw new IllegalArgumentException("--target SPEC is required\n" + USAGE);
        BenchParams params;
        try {
            params = params(o);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a number: " + e.getMessage());
        }
        IdleStrategy idle = IdleStrategy.parse(o.getOrDefault("idle", "busy"));
        int submitBatch = Integer.parseInt(o.getOrDefault("submit-batch", "1"));
        boolean json = o.containsKey("json");
        boolean vsFio = o.containsKey("vs-fio");
        int repeat = Integer.parseInt(o.getOrDefault("repeat", vsFio ? "3" : "1"));
        DeviceSpec spec = DeviceSpec.parse(target);
        FioRunner fio = vsFio ? FioRunner.forSpec(spec, o.getOrDefault("fio", "fio")) : null;
        List<BenchResult> basalt = new ArrayList<>();
        List<BenchResult> fioResults = new ArrayList<>();
        try (BlockDevice device = spec.open("bench")) {
            if (params.hasReads() && !o.containsKey("no-prefill")) Prefill.ifSparse(spec, device, err);
            if (!json) out.println(BenchTable.header());
            for (int r = 0; r < repeat; r++) {
                BenchResult b = runBasalt(device, target, params, idle, submitBatch);
                basalt.add(b);
                out.println(json ? b.toJson() : BenchTable.row(b));
                if (fio != null) {
                    BenchResult f = fio.run(params);
                    fioResults.add(f);
                    out.println(json ? f.toJson() : BenchTable.row(f));
                }
            }
        }
        if (fio != null) {
            String summary = BenchTable.comparison(basalt, fioResults);
            if (json) out.println(BenchTable.comparisonJson(basalt, fioResults));
            else out.println(summary);
        }
        for (BenchResult b : basalt) if (b.errors() > 0) return 1;
        return 0;
    }

    /** Runs one Basalt measurement: one reactor per job, each with its own channel. */
    public static BenchResult runBasalt(BlockDevice device, String target, BenchParams params, IdleStrategy idle,
                                         int submitBatch) {
        List<Reactor> reactors = new ArrayList<>();
        List<BenchJob> jobs = new ArrayList<>();
        CountDownLatch done = new CountDownLatch(params.jobs());
        int bufferBytes = Math.max(4096, (params.blockBytes() + 4095) & ~4095);
        try {
            for (int j = 0; j < params.jobs(); j++) {
                ReactorConfig config = ReactorConfig.defaults("bench-" + j).withIdle(idle)
                        .withBuffers(bufferBytes, params.ioDepth() + 1).withSubmitBatch(submitBatch);
                Reactor reactor = Reactor.start(config);
                reactors.add(reactor);
                BenchJob job = new BenchJob(reactor, device, params, j, false, done);
                jobs.add(job);
            }
            for (int j = 0; j < jobs.size(); j++) {
                BenchJob job = jobs.get(j);
                if (!reactors.get(j).post(job::start)) throw new IllegalStateException("reactor refused the job");
            }
            long waitNs = params.rampNs() + params.runtimeNs() + TimeUnit.SECONDS.toNanos(60);
            if (!done.await(waitNs, TimeUnit.NANOSECONDS)) throw new IllegalStateException("benchmark did not finish in time");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        } finally {
            for (Reactor r : reactors) r.close();
        }
        return merge("basalt", target, params, jobs);
    }

    private static BenchResult merge(String engine, String target, BenchParams params, List<BenchJob> jobs) {
        LatencyHistogram all = new LatencyHistogram();
        long ios = 0, bytes = 0, errors = 0, alloc = 0;
        double seconds = 0, cpu = 0;
        for (BenchJob j : jobs) {
            if (j.failure != null) throw new IllegalStateException("job failed: " + j.failure, j.failure);
            all.add(j.histogram);
            ios += j.ios;
            bytes += j.bytes;
            errors += j.errors;
            alloc += j.allocatedBytes();
            cpu += j.cpuSeconds();
            seconds = Math.max(seconds, j.measuredSeconds());
        }
        return new BenchResult(engine, target, params, ios, bytes, seconds, all.valueAt(0.5), all.valueAt(0.99),
                all.valueAt(0.999), all.maxNs(), all.meanNs(), cpu, alloc, errors);
    }

    /** Writes the whole device once, sequentially (used to fill sparse files before read benchmarks). */
    static void sweepWrite(BlockDevice device) {
        int bs = 1 << 20;
        while (bs > device.geometry().logicalBlockBytes() && device.geometry().sizeBytes() % bs != 0) bs >>= 1;
        BenchParams p = new BenchParams("write", bs, 16, 1, 1, 0, 0, 7);
        CountDownLatch done = new CountDownLatch(1);
        Reactor reactor = Reactor.start(ReactorConfig.defaults("prefill").withBuffers(bs, 17));
        try {
            BenchJob job = new BenchJob(reactor, device, p, 0, true, done);
            reactor.post(job::start);
            done.await();
            if (job.failure != null) throw new IllegalStateException("prefill failed: " + job.failure);
            if (job.errors > 0) throw new IllegalStateException("prefill saw " + job.errors + " I/O errors");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            reactor.close();
        }
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
