package io.basalt.bench;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Geometry;
import io.basalt.engine.IdleStrategy;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Sizes;
import io.basalt.shims.Check;

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
        return run(args, out, err, null);
    }

    /**
     * Opens the targets that {@link DeviceSpec} does not know: volumes over other specs, which a layer above the
     * engine (the daemon) wires, since the engine cannot depend on it.
     */
    public interface TargetOpener {
        /** The device for {@code spec}, or null when the spec is not one of this opener's. */
        BlockDevice open(String spec, String name);

        /** Whether reading {@code device} before writing it would read holes (memory or sparse members). */
        boolean readsNeedPrefill(String spec, BlockDevice device);

        /** How the opener's specs look, for the usage text. */
        String usage();
    }

    /** {@code basalt bench} with extra target kinds from {@code opener} (may be null). */
    public static int run(String[] args, PrintStream out, PrintStream err, TargetOpener opener) {
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
            if (opener != null) out.println(opener.usage());
            return 0;
        }
        try {
            return execute(options, out, err, opener);
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

    private static int execute(Map<String, String> o, PrintStream out, PrintStream err, TargetOpener opener) {
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
        BlockDevice opened = opener == null ? null : opener.open(target, "bench");
        DeviceSpec spec = opened == null ? DeviceSpec.parse(target) : null;
        if (opened != null && vsFio) {
            opened.close();
            throw new IllegalArgumentException("--vs-fio needs a file target (uring:/path), not " + target);
        }
        FioRunner fio = vsFio ? FioRunner.forSpec(spec, o.getOrDefault("fio", "fio")) : null;
        List<BenchResult> basalt = new ArrayList<>();
        List<BenchResult> fioResults = new ArrayList<>();
        try (BlockDevice device = opened != null ? opened : spec.open("bench")) {
            if (params.hasReads() && !o.containsKey("no-prefill")) {
                if (spec != null) {
                    Prefill.ifSparse(spec, device, err);
                } else if (opener.readsNeedPrefill(target, device)) {
                    err.printf("bench: writing %s once before reading (it has memory or sparse members)%n", device.name());
                    sweepWrite(device);
                }
            }
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
        List<BlockDevice> devices = new ArrayList<>();
        for (int j = 0; j < params.jobs(); j++) devices.add(device);
        return runJobs(devices, params.jobs(), false, target, params, idle, submitBatch);
    }

    /**
     * Drives several devices at the same time, each with {@code params.ioDepth()} requests in flight, from
     * {@code reactorCount} reactors (device d on reactor d mod reactorCount), and reports the sum: what N
     * members deliver together, the reference a volume over them is measured against. Concurrent rather than
     * N times one device alone, because members may share what is below them (one disk, one core).
     */
    public static BenchResult runConcurrent(List<BlockDevice> devices, int reactorCount, String target, BenchParams params,
                                            IdleStrategy idle, int submitBatch) {
        Check.that(!devices.isEmpty(), "at least one device");
        Check.that(reactorCount >= 1 && reactorCount <= devices.size(), "reactors in [1, devices]", reactorCount);
        return runJobs(devices, reactorCount, true, target, params, idle, submitBatch);
    }

    /**
     * Job j drives devices[j] on reactor j mod reactorCount. Every job's channel is opened (on its reactor)
     * before any job starts. {@code independent}: each job is a whole workload of its own (its own seed, the
     * whole device), else the jobs split one workload (params.jobs() of them, fio's numjobs).
     */
    private static BenchResult runJobs(List<BlockDevice> devices, int reactorCount, boolean independent, String target,
                                       BenchParams params, IdleStrategy idle, int submitBatch) {
        List<Reactor> reactors = new ArrayList<>();
        List<BenchJob> jobs = new ArrayList<>();
        CountDownLatch done = new CountDownLatch(devices.size());
        int bufferBytes = Math.max(4096, (params.blockBytes() + 4095) & ~4095);
        int jobsPerReactor = (devices.size() + reactorCount - 1) / reactorCount;
        try {
            for (int r = 0; r < reactorCount; r++) {
                ReactorConfig config = ReactorConfig.defaults("bench-" + r).withIdle(idle)
                        .withBuffers(bufferBytes, jobsPerReactor * params.ioDepth() + 1).withSubmitBatch(submitBatch);
                reactors.add(Reactor.start(config));
            }
            for (int j = 0; j < devices.size(); j++) {
                BenchParams p = independent ? new BenchParams(params.rw(), params.blockBytes(), params.ioDepth(), 1,
                        params.runtimeNs(), params.rampNs(), params.readPercent(), params.seed() + 7919L * j) : params;
                jobs.add(new BenchJob(reactors.get(j % reactorCount), devices.get(j), p, independent ? 0 : j, false, done));
            }
            CountDownLatch opened = new CountDownLatch(jobs.size());
            for (int j = 0; j < jobs.size(); j++) {
                BenchJob job = jobs.get(j);
                Runnable open = () -> {
                    job.open();
                    opened.countDown();
                };
                if (!reactors.get(j % reactorCount).post(open)) throw new IllegalStateException("reactor refused the job");
            }
            if (!opened.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("channels did not open in time");
            for (BenchJob job : jobs) if (job.failure != null) throw new IllegalStateException("job failed: " + job.failure, job.failure);
            for (int j = 0; j < jobs.size(); j++) {
                BenchJob job = jobs.get(j);
                if (!reactors.get(j % reactorCount).post(job::start)) throw new IllegalStateException("reactor refused the job");
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

    /**
     * Writes the whole device once, sequentially (used to fill sparse files before read benchmarks), in
     * transfers of the device's optimal size (a volume's full stripe) when that divides it, else of 1 MiB or
     * the largest power of two below that does.
     */
    public static void sweepWrite(BlockDevice device) {
        Geometry g = device.geometry();
        long optimalBytes = (long) g.optimalTransferBlocks() * g.logicalBlockBytes();
        int bs = 1 << 20;
        if (optimalBytes > 4096 && optimalBytes <= 64L << 20 && g.sizeBytes() % optimalBytes == 0) {
            bs = (int) optimalBytes;
        } else {
            while (bs > g.logicalBlockBytes() && g.sizeBytes() % bs != 0) bs >>= 1;
        }
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
