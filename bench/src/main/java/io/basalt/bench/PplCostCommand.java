package io.basalt.bench;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.volume.PplAreas;
import io.basalt.raid.volume.Raid5Volume;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code basalt bench ppl-cost}: what the partial parity log costs, random 4 KiB writes at queue depth 32 on a raid5
 * of 4 members, PPL off then on, twice, on one reactor (the calling thread), with the log's counters (io_unit
 * versions per step, flushes per step). {@code bench raid --consistency ppl|resync} measures the same cost with
 * every reactor and the members' references; this one isolates the log on one core.
 */
@Command(name = "ppl-cost", header = "What raid5's partial parity log costs, on one reactor.",
        sortOptions = false, usageHelpWidth = Cli.HELP_WIDTH,
        description = "raid5 (4 members) 4 KiB random writes at QD 32, partial parity log off then on, on one reactor.")
public final class PplCostCommand implements Callable<Integer> {
    private static final int MEMBERS = 4, QUEUE_DEPTH = 32, BLOCK_BYTES = 4096, PPL_SIGNATURE = 7;
    private static final long WARM_UP_NS = 1_000_000_000L;

    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    Cli.Help help;

    @Option(names = "--on", paramLabel = "memory|uring:/DIR", defaultValue = "memory",
            description = "Members in RAM, or files (O_DIRECT, 256 MiB each) in DIR (default: ${DEFAULT-VALUE}).")
    String on;

    @Option(names = "--seconds", paramLabel = "N", defaultValue = "5", description = "Seconds per run, the first of them warm-up (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--chunk", paramLabel = "SIZE", defaultValue = "64k", converter = Cli.SizeBytes.class,
            description = "Chunk size (default: ${DEFAULT-VALUE}).")
    int chunkBytes;

    /** For {@link BenchCommand}'s subcommand list. */
    public PplCostCommand() {}

    @Override
    public Integer call() {
        if (!on.equals("memory") && !on.startsWith("uring:/")) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--on: memory or uring:/DIR, not " + on);
        }
        if (seconds < 2) throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--seconds " + seconds + ": at least 2 (1 is warm-up)");
        try (PrintStream out = Cli.stream(spec.commandLine().getOut())) {
            for (int pass = 0; pass < 2; pass++) {
                double off = run(out, false, pass);
                double on = run(out, true, pass);
                out.printf("%s chunk %d KiB, %d members, QD%d 4 KiB random writes: PPL off %.0f IOPS, on %.0f IOPS (%.2f)%n",
                        this.on, chunkBytes >> 10, MEMBERS, QUEUE_DEPTH, off, on, on / off);
            }
        }
        return 0;
    }

    private List<BlockDevice> devices(String prefix, String size) {
        List<BlockDevice> list = new ArrayList<>();
        for (int i = 0; i < MEMBERS; i++) {
            String member = on.equals("memory") ? "memory:" + size : on + "/" + prefix + i + ".img,direct=1,size=" + size;
            list.add(DeviceSpec.open(prefix + i, member));
        }
        return list;
    }

    /** One run: IOPS after the warm-up second; with PPL, prints the log's counters. */
    private double run(PrintStream out, boolean ppl, int pass) {
        Reactor reactor = new Reactor(ReactorConfig.defaults("ppl-cost"));
        reactor.initOnCurrentThread();
        PplAreas areas = ppl ? new PplAreas(devices("a" + pass, "1M"), PPL_SIGNATURE) : null;
        try (Arena arena = Arena.ofConfined();
             Raid5Volume volume = new Raid5Volume("r5", devices("m" + pass + (ppl ? "p" : "n"), "256M"), chunkBytes,
                     Raid5Algorithm.LEFT_SYMMETRIC, areas)) {
            BlockChannel channel = volume.openChannel(reactor);
            long blocks = volume.geometry().blockCount();
            MemorySegment buffer = arena.allocate(BLOCK_BYTES, BLOCK_BYTES);
            SplittableRandom random = new SplittableRandom(42);
            long[] doneAndInFlight = {0, 0};
            IoCompletion completion = (tag, status) -> {
                if (status != Status.OK) throw new IllegalStateException("write failed: " + Status.name(status));
                doneAndInFlight[0]++;
                doneAndInFlight[1]--;
            };
            long endNs = System.nanoTime() + seconds * 1_000_000_000L;
            long warmNs = System.nanoTime() + WARM_UP_NS;
            long startCount = -1, startNs = 0;
            while (System.nanoTime() < endNs) {
                while (doneAndInFlight[1] < QUEUE_DEPTH && channel.write(random.nextLong(blocks), 1, buffer, 0, completion)) doneAndInFlight[1]++;
                reactor.doWork();
                if (startCount < 0 && System.nanoTime() > warmNs) {
                    startCount = doneAndInFlight[0];
                    startNs = System.nanoTime();
                }
            }
            double iops = (doneAndInFlight[0] - startCount) * 1e9 / (System.nanoTime() - startNs);
            while (doneAndInFlight[1] > 0) reactor.doWork();
            if (ppl) printCounters(out, volume.pplCounters());
            channel.close();
            return iops;
        } finally {
            reactor.close();
        }
    }

    private static void printCounters(PrintStream out, long[] c) {
        int units = Raid5Volume.PPL_COUNTER_NAMES.indexOf("units"), steps = Raid5Volume.PPL_COUNTER_NAMES.indexOf("steps");
        int flushes = Raid5Volume.PPL_COUNTER_NAMES.indexOf("flushes"), drains = Raid5Volume.PPL_COUNTER_NAMES.indexOf("drains");
        out.printf("  ppl: %d io_unit versions for %d steps (%.1f per version), %d flushes (%.2f per step), %d drains%n",
                c[units], c[steps], (double) c[steps] / c[units], c[flushes], (double) c[flushes] / c[steps], c[drains]);
    }
}
