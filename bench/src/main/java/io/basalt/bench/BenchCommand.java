package io.basalt.bench;

import io.basalt.engine.IdleStrategy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.util.concurrent.Callable;

/**
 * {@code basalt bench}: fio-style workloads run by Basalt's own reactors against a backend spec or a volume spec
 * ({@link VolumeSpec}), optionally alternated with fio on the same file ({@code --vs-fio}). Its subcommands measure a
 * raid5 volume against its members ({@link RaidBenchCommand}), vhost-user-blk backends from a QEMU guest
 * ({@link VhostBenchCommand}) and the NVMe/TCP target against qemu-nbd from a QEMU guest ({@link NvmfBenchCommand}), and the S3 service against
 * nginx and s3proxy ({@link ObjectBenchCommand}).
 * A root command adds it with {@code addSubcommand("bench", new BenchCommand())}.
 */
@Command(name = "bench", sortOptions = false, usageHelpWidth = Cli.HELP_WIDTH,
        subcommands = {RaidBenchCommand.class, VhostBenchCommand.class, NvmfBenchCommand.class, PplCostCommand.class,
            ObjectBenchCommand.class},
        description = "Benchmark a backend or a volume with Basalt's reactors (no daemon needed).",
        footer = {"",
                "SPEC: uring:/path/file[,size=1G][,direct=1]   memory:1G   null:1T",
                VolumeSpec.USAGE,
                "--vs-fio runs fio (ioengine=io_uring, direct=1, fixedbufs, registerfiles) on the same file with the same",
                "parameters, alternating with Basalt, and prints each pair's Basalt/fio ratio and the median with its spread."})
public final class BenchCommand implements Callable<Integer> {
    /** Alternated Basalt/fio pairs by default with --vs-fio: enough for a median and an interquartile range. */
    static final int VS_FIO_PAIRS_DEFAULT = 10;

    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    Cli.Help help;

    @Option(names = "--target", paramLabel = "SPEC", description = "What to drive: a backend spec or a volume spec (below).")
    String target;

    @Option(names = "--rw", paramLabel = "RW", defaultValue = "randread", converter = Cli.Rw.class,
            description = "randread, randwrite, read, write or randrw (default: ${DEFAULT-VALUE}).")
    String rw;

    @Option(names = "--bs", paramLabel = "SIZE", defaultValue = "4k", converter = Cli.SizeBytes.class,
            description = "Transfer size (default: ${DEFAULT-VALUE}).")
    int blockBytes;

    @Option(names = "--iodepth", paramLabel = "N", defaultValue = "32", description = "I/Os in flight per job (default: ${DEFAULT-VALUE}).")
    int ioDepth;

    @Option(names = "--jobs", paramLabel = "N", defaultValue = "1", description = "Jobs, one reactor each (default: ${DEFAULT-VALUE}).")
    int jobs;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "10", converter = Cli.SecondsNs.class,
            description = "Measured time per run (default: ${DEFAULT-VALUE}).")
    long runtimeNs;

    @Option(names = "--ramp-seconds", paramLabel = "S", defaultValue = "1", converter = Cli.SecondsNs.class,
            description = "Time run before measuring (default: ${DEFAULT-VALUE}).")
    long rampNs;

    @Option(names = "--rwmixread", paramLabel = "PCT", defaultValue = "50", description = "Reads in percent for randrw (default: ${DEFAULT-VALUE}).")
    int readPercent;

    @Option(names = "--idle", paramLabel = "IDLE", defaultValue = "busy", converter = Cli.Idle.class,
            description = "Reactor idle strategy: busy, sleep, wait or backoff (default: ${DEFAULT-VALUE}).")
    IdleStrategy idle;

    @Option(names = "--submit-batch", paramLabel = "N", defaultValue = "0",
            description = "Requests a job queues before the reactor submits; 0: once per reactor cycle, as the daemon "
                    + "(default: ${DEFAULT-VALUE}).")
    int submitBatch;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "Seed of the random offsets (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--repeat", paramLabel = "N",
            description = "Runs (with --vs-fio: alternated Basalt/fio pairs; default 1, with --vs-fio " + VS_FIO_PAIRS_DEFAULT + ").")
    Integer repeat;

    @Option(names = "--json", description = "One JSON object per run (and one for the comparison) instead of the table.")
    boolean json;

    @Option(names = "--vs-fio", description = "Alternate with fio on the same file (a uring: target).")
    boolean vsFio;

    @Option(names = "--fio", paramLabel = "PATH", defaultValue = "fio", description = "The fio binary (default: ${DEFAULT-VALUE}).")
    String fio;

    @Option(names = "--no-prefill", description = "Do not write a sparse or memory target before reading it.")
    boolean noPrefill;

    /** For a root command's {@code addSubcommand("bench", new BenchCommand())}. */
    public BenchCommand() {}

    /** {@code basalt bench ARGS} on its own: exit 0, 1 (failed run) or 2 (bad usage). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return Cli.execute(new BenchCommand(), args, out, err);
    }

    @Override
    public Integer call() {
        if (target == null) throw new ParameterException(spec.commandLine(), "Missing required option: '--target=SPEC'");
        int runs = repeat != null ? repeat : vsFio ? VS_FIO_PAIRS_DEFAULT : 1;
        if (runs < 1 || runs > 1000) throw new ParameterException(spec.commandLine(), "--repeat " + runs + " is not in [1, 1000]");
        BenchParams params;
        try {
            params = new BenchParams(rw, blockBytes, ioDepth, jobs, Math.max(1, runtimeNs), rampNs, readPercent, seed);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        try (PrintStream out = Cli.stream(spec.commandLine().getOut()); PrintStream err = Cli.stream(spec.commandLine().getErr())) {
            return BenchCli.execute(new BenchCli.Run(target, params, idle, submitBatch, json, vsFio, runs, fio, noPrefill), out, err, VolumeSpec.OPENER);
        }
    }
}
