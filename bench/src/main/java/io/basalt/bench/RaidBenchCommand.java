package io.basalt.bench;

import io.basalt.engine.IdleStrategy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.util.concurrent.Callable;

/** {@code basalt bench raid}: the members and a raid5 volume over them in one run, with efficiency ({@link RaidBench}). */
@Command(name = "raid", header = "A raid5 volume against its members: efficiency table (overwrites the members).",
        sortOptions = false, usageHelpWidth = Cli.HELP_WIDTH,
        description = "Measures each member alone and all members at once (4k randread, 4k randwrite at --iodepth, 1 MiB "
                + "sequential write at QD 4), then a raid5 volume over them for each chunk: 4k random read, full-stripe"
                + " sequential write, 4k random write, 4k random read with one member failed; prints efficiency against"
                + " N x R, (N-1)/N x raw and N x W / 4 with the goals. OVERWRITES THE MEMBERS.")
public final class RaidBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    Cli.Help help;

    @Option(names = "--members", paramLabel = "SPEC,SPEC,SPEC[,...]", description = "Required. Backend specs separated by ',' "
            + "(a piece without KIND: continues the previous spec, so uring:/f0,direct=1,uring:/f1 is two members) or by ';'.")
    String members;

    @Option(names = "--chunk", paramLabel = "SIZE[,SIZE...]",
            description = "One or more chunk sizes (default 128k); the members are measured once, the volume once per chunk.")
    String chunk;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "5", converter = Cli.SecondsNs.class,
            description = "Measured time per run (default: ${DEFAULT-VALUE}).")
    long runtimeNs;

    @Option(names = "--ramp-seconds", paramLabel = "S", defaultValue = "1", converter = Cli.SecondsNs.class,
            description = "Time run before measuring (default: ${DEFAULT-VALUE}).")
    long rampNs;

    @Option(names = "--jobs", paramLabel = "N", defaultValue = "1", description = "Reactors, one channel of the volume each (default: ${DEFAULT-VALUE}).")
    int jobs;

    @Option(names = "--iodepth", paramLabel = "N", defaultValue = "32",
            description = "I/Os in flight per member; the volume gets N x members (default: ${DEFAULT-VALUE}).")
    int ioDepth;

    @Option(names = "--idle", paramLabel = "IDLE", defaultValue = "busy", converter = Cli.Idle.class,
            description = "Reactor idle strategy: busy, sleep, wait or backoff (default: ${DEFAULT-VALUE}).")
    IdleStrategy idle;

    @Option(names = "--consistency", paramLabel = "ppl|resync", defaultValue = "ppl", description = "raid5 write-hole protection: "
            + "ppl (md's partial parity log in the first MiB of each member) or resync (none) (default: ${DEFAULT-VALUE}).")
    String consistency;

    @Option(names = "--failed-member", paramLabel = "I", description = "The member failed for the degraded read (default: the last).")
    Integer failedMember;

    @Option(names = "--no-alone", description = "Skip the members-alone runs (the all-at-once references still run).")
    boolean noAlone;

    @Option(names = "--repeat", paramLabel = "K", defaultValue = "1",
            description = "Rounds, references and volumes alternating; each figure the median of its K runs (default: "
                    + "${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--json", description = "One JSON object per run and per efficiency row instead of the tables.")
    boolean json;

    /** For {@link BenchCommand}'s subcommand list, or a root's {@code addSubcommand}. */
    public RaidBenchCommand() {}

    @Override
    public Integer call() {
        RaidBench.Options options;
        try {
            options = RaidBench.options(members, chunk, runtimeNs, rampNs, jobs, ioDepth, idle, consistency, failedMember, !noAlone, json, repeat);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        try (PrintStream out = Cli.stream(spec.commandLine().getOut()); PrintStream err = Cli.stream(spec.commandLine().getErr())) {
            return RaidBench.execute(options, out, err);
        }
    }
}
