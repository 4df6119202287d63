package io.basalt.bench;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.IdleStrategy;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.volume.OffsetDevice;
import io.basalt.raid.volume.PplAreas;
import io.basalt.raid.volume.Raid5Volume;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code basalt bench ppl-cost}: what the partial parity log costs. Random 4 KiB writes at queue depth 32 per job on a
 * raid5 of 4 members (or the members given), PPL off then on, alternated for {@code --pairs} pairs, each member's first
 * MiB its log area (md's placement) in both runs; prints each pair, the log's counters per step (log writes, flushes,
 * the wait for the log) and the median on/off ratio with its spread. {@code --flush-latency-us} puts every member
 * behind a fault wrapper that holds each FLUSH (and FUA write) that long: a drive with a volatile write cache.
 */
@Command(name = "ppl-cost", header = "What raid5's partial parity log costs: PPL off and on, alternated.",
        sortOptions = false, usageHelpWidth = Cli.HELP_WIDTH,
        description = "raid5 4 KiB random writes at QD 32 per job, partial parity log off then on, alternated in pairs; "
                + "medians and spread of the on/off ratio. OVERWRITES THE MEMBERS given with --members.")
public final class PplCostCommand implements Callable<Integer> {
    private static final int MEMBERS = 4, QUEUE_DEPTH = 32, BLOCK_BYTES = 4096, PPL_SIGNATURE = 7;
    private static final long AREA_BYTES = VolumeSpec.PPL_AREA_BYTES, NS_PER_US = 1000;

    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    Cli.Help help;

    @Option(names = "--on", paramLabel = "memory|uring:/DIR", defaultValue = "memory",
            description = "Members in RAM, or files (O_DIRECT, 257 MiB each) in DIR, unless --members (default: ${DEFAULT-VALUE}).")
    String on;

    @Option(names = "--members", paramLabel = "SPEC,SPEC,SPEC[,...]", description = "Member backend specs (as bench raid's), "
            + "e.g. uring:/dev/zram1,direct=1,uring:/dev/zram2,direct=1,...: overrides --on.")
    String members;

    @Option(names = "--seconds", paramLabel = "N", defaultValue = "5", description = "Seconds per run, the first of them warm-up (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--chunk", paramLabel = "SIZE", defaultValue = "64k", converter = Cli.SizeBytes.class,
            description = "Chunk size (default: ${DEFAULT-VALUE}).")
    int chunkBytes;

    @Option(names = "--jobs", paramLabel = "N", defaultValue = "1", description = "Reactors, one channel of the volume each, "
            + "QD 32 each (default: ${DEFAULT-VALUE}).")
    int jobs;

    @Option(names = "--pairs", paramLabel = "K", defaultValue = "2", description = "Off/on pairs (default: ${DEFAULT-VALUE}).")
    int pairs;

    @Option(names = "--flush-latency-us", paramLabel = "US", defaultValue = "0",
            description = "Added to every member FLUSH and FUA write (fault_flush_latency_us) (default: ${DEFAULT-VALUE}).")
    long flushLatencyUs;

    /** For {@link BenchCommand}'s subcommand list. */
    public PplCostCommand() {}

    @Override
    public Integer call() {
        List<String> specs = memberSpecs();
        if (seconds < 2) throw new ParameterException(spec.commandLine(), "--seconds " + seconds + ": at least 2 (1 is warm-up)");
        if (jobs < 1 || jobs > Raid5Volume.OWNERS_MAX) throw new ParameterException(spec.commandLine(), "--jobs " + jobs + ": 1 to " + Raid5Volume.OWNERS_MAX);
        if (pairs < 1 || pairs > 99) throw new ParameterException(spec.commandLine(), "--pairs " + pairs + ": 1 to 99");
        if (flushLatencyUs < 0) throw new ParameterException(spec.commandLine(), "--flush-latency-us " + flushLatencyUs + ": at least 0");
        double[] offs = new double[pairs], ons = new double[pairs], ratios = new double[pairs];
        double[][] perStep = new double[pairs][];
        try (PrintStream out = Cli.stream(spec.commandLine().getOut())) {
            String what = String.format(Locale.ROOT, "%s chunk %d KiB, %d members, %d job(s) x QD%d 4 KiB random writes, flush +%d us",
                    members != null ? "members" : on, chunkBytes >> 10, specs.size(), jobs, QUEUE_DEPTH, flushLatencyUs);
            for (int pair = 0; pair < pairs; pair++) {
                BenchResult off = run(specs, false, null);
                long[] counters = new long[Raid5Volume.PPL_COUNTER_NAMES.size()];
                BenchResult on = run(specs, true, counters);
                offs[pair] = off.iops();
                ons[pair] = on.iops();
                ratios[pair] = ons[pair] / offs[pair];
                perStep[pair] = perStep(counters);
                out.printf(Locale.ROOT, "%s: PPL off %.0f IOPS (%.1f CPU us/IO), on %.0f IOPS (%.1f CPU us/IO) (%.3f); per step %s%n", what,
                        offs[pair], off.cpuSecondsPerIo() * 1e6, ons[pair], on.cpuSecondsPerIo() * 1e6, ratios[pair], describe(perStep[pair]));
            }
            double[] medianPerStep = new double[perStep[0].length];
            for (int i = 0; i < medianPerStep.length; i++) {
                double[] column = new double[pairs];
                for (int p = 0; p < pairs; p++) column[p] = perStep[p][i];
                medianPerStep[i] = RaidBench.median(column);
            }
            out.printf(Locale.ROOT, "%s, %d pairs: off %.0f IOPS, on %.0f IOPS (medians); on/off median %.3f, spread %.3f-%.3f; "
                            + "per step (medians) %s%n", what, pairs, RaidBench.median(offs), RaidBench.median(ons), RaidBench.median(ratios),
                    min(ratios), max(ratios), describe(medianPerStep));
        }
        return 0;
    }

    private List<String> memberSpecs() {
        List<String> specs = new ArrayList<>();
        if (members != null) {
            specs.addAll(RaidBench.splitMembers(members));
            if (specs.size() < Raid5Volume.MEMBERS_MIN) throw new ParameterException(spec.commandLine(), "--members: at least " + Raid5Volume.MEMBERS_MIN);
        } else if (on.equals("memory") || on.startsWith("uring:/")) {
            long size = (256L << 20) + AREA_BYTES;
            for (int i = 0; i < MEMBERS; i++) specs.add(on.equals("memory") ? "memory:" + size : on + "/ppl-cost-" + i + ".img,direct=1,size=" + size);
        } else {
            throw new ParameterException(spec.commandLine(), "--on: memory or uring:/DIR, not " + on);
        }
        if (flushLatencyUs > 0) specs.replaceAll(s -> "fault:" + s + ",fault_flush_latency_us=" + flushLatencyUs);
        return specs;
    }

    /** One run: IOPS after the warm-up second; with PPL, the log's counters into {@code counters}. */
    private BenchResult run(List<String> specs, boolean ppl, long[] counters) {
        List<BlockDevice> bases = new ArrayList<>(), data = new ArrayList<>(), areas = new ArrayList<>();
        try {
            for (int i = 0; i < specs.size(); i++) {
                BlockDevice m = DeviceSpec.open("m" + i, specs.get(i));
                bases.add(m);
                long areaBlocks = AREA_BYTES / m.geometry().logicalBlockBytes();
                areas.add(new OffsetDevice(m.name() + "/ppl", m, 0, areaBlocks));
                data.add(new OffsetDevice(m.name(), m, areaBlocks, m.geometry().blockCount() - areaBlocks));
            }
            try (Raid5Volume volume = new Raid5Volume("r5", data, chunkBytes, Raid5Algorithm.LEFT_SYMMETRIC,
                    ppl ? new PplAreas(areas, PPL_SIGNATURE) : null)) {
                BenchParams params = new BenchParams("randwrite", BLOCK_BYTES, QUEUE_DEPTH, jobs, (seconds - 1) * 1_000_000_000L,
                        1_000_000_000L, 0, 42);
                BenchResult result = BenchCli.runBasalt(volume, "ppl-cost", params, new IdleStrategy.BusyPoll(), 1);
                if (result.errors() > 0) throw new IllegalStateException(result.errors() + " write errors");
                if (ppl) {
                    long[] c = volume.pplCounters();
                    System.arraycopy(c, 0, counters, 0, Math.min(c.length, counters.length));
                }
                return result;
            }
        } finally {
            for (BlockDevice d : bases) d.close();
        }
    }

    /** Per logged step: steps per io_unit version, log writes, log flushes, data flushes, wait for the log in us. */
    private static double[] perStep(long[] c) {
        List<String> names = Raid5Volume.PPL_COUNTER_NAMES;
        double steps = Math.max(1, c[names.indexOf("steps")]);
        long flushes = c[names.indexOf("flushes")], dataFlushes = c[names.indexOf("data_flushes")];
        return new double[] {steps / Math.max(1, c[names.indexOf("units")]), c[names.indexOf("log_writes")] / steps,
                (flushes - dataFlushes) / steps, dataFlushes / steps, c[names.indexOf("wait_ns")] / steps / NS_PER_US,
                c[names.indexOf("drains")]};
    }

    private static String describe(double[] s) {
        return String.format(Locale.ROOT, "%.1f steps/version, %.2f log writes, %.2f log flushes, %.3f data flushes, %.1f us waited; %.0f drains",
                s[0], s[1], s[2], s[3], s[4], s[5]);
    }

    private static double min(double[] v) {
        double m = Double.MAX_VALUE;
        for (double x : v) m = Math.min(m, x);
        return m;
    }

    private static double max(double[] v) {
        double m = -Double.MAX_VALUE;
        for (double x : v) m = Math.max(m, x);
        return m;
    }
}
