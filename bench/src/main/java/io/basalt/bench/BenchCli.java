package io.basalt.bench;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Geometry;
import io.basalt.engine.IdleStrategy;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.shims.Check;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code basalt bench}: fio-style workloads run by Basalt's own reactors against any backend spec, optionally
 * alternated with fio on the same file ({@code --vs-fio}) and reported side by side with ratios.
 */
public final class BenchCli {
    private BenchCli() {}

    /** {@code basalt bench ARGS} (see {@link BenchCommand}): exit 0, 1 (failed run) or 2 (bad usage). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return BenchCommand.run(args, out, err);
    }

    /**
     * Opens the targets that {@link DeviceSpec} does not know: volumes over other specs ({@link VolumeSpec}), which
     * wire the raid layer; the engine's DeviceSpec cannot depend on it.
     */
    public interface TargetOpener {
        /** The device for {@code spec}, or null when the spec is not one of this opener's. */
        BlockDevice open(String spec, String name);

        /** Whether reading {@code device} before writing it would read holes (memory or sparse members). */
        boolean readsNeedPrefill(String spec, BlockDevice device);

        /** How the opener's specs look, for the usage text. */
        String usage();
    }

    /** One {@code basalt bench} invocation, parsed: {@code runs} runs, or alternated Basalt/fio pairs with {@code vsFio}. */
    record Run(String target, BenchParams params, IdleStrategy idle, int submitBatch, boolean json, boolean vsFio, int runs,
               String fio, boolean noPrefill) {}

    static int execute(Run o, PrintStream out, PrintStream err, TargetOpener opener) {
        BlockDevice opened = opener == null ? null : opener.open(o.target(), "bench");
        DeviceSpec spec = opened == null ? DeviceSpec.parse(o.target()) : null;
        if (opened != null && o.vsFio()) {
            opened.close();
            throw new IllegalArgumentException("--vs-fio needs a file target (uring:/path), not " + o.target());
        }
        FioRunner fio = o.vsFio() ? FioRunner.forSpec(spec, o.fio()) : null;
        BenchParams params = o.params();
        List<BenchResult> basalt = new ArrayList<>();
        List<BenchResult> fioResults = new ArrayList<>();
        try (BlockDevice device = opened != null ? opened : spec.open("bench")) {
            if (params.hasReads() && !o.noPrefill()) {
                if (spec != null) {
                    Prefill.ifSparse(spec, device, err);
                } else if (opener.readsNeedPrefill(o.target(), device)) {
                    err.printf("bench: writing %s once before reading (it has memory or sparse members)%n", device.name());
                    sweepWrite(device);
                }
            }
            if (!o.json()) out.println(BenchTable.header());
            for (int r = 0; r < o.runs(); r++) {
                BenchResult b = runBasalt(device, o.target(), params, o.idle(), o.submitBatch());
                basalt.add(b);
                out.println(o.json() ? b.toJson() : BenchTable.row(b));
                if (fio != null) {
                    BenchResult f = fio.run(params);
                    fioResults.add(f);
                    out.println(o.json() ? f.toJson() : BenchTable.row(f));
                }
            }
        }
        if (fio != null) out.println(o.json() ? BenchTable.comparisonJson(basalt, fioResults) : BenchTable.comparison(basalt, fioResults));
        for (BenchResult b : basalt) if (b.errors() > 0) return Cli.EXIT_FAILURE;
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
}
