package io.basalt.daemon;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code basalt bench ...}: hands every argument, unparsed, to {@link BenchVerb#run} (which has its own parser
 * and --help). A stand-in until the bench module's own picocli commands replace it in {@link BasaltCommand}.
 */
@Command(name = "bench", description = {"benchmark a backend, a volume, raid members (bench raid) or vhost (bench vhost)",
        "basalt bench --help: a backend or a volume; bench raid --help: members and a raid5 volume over them in one "
        + "run; bench vhost --help: Basalt vs qemu-storage-daemon from a QEMU guest"})
final class BenchPassthrough implements Callable<Integer> {
    @Unmatched List<String> args = new ArrayList<>();

    /** Stops parsing at the first argument: all of them, options included, go to {@link #args} as they are. */
    static CommandLine commandLine() {
        return new CommandLine(new BenchPassthrough()).setStopAtUnmatched(true).setUnmatchedArgumentsAllowed(true);
    }

    @Override
    public Integer call() {
        return BenchVerb.run(args.toArray(String[]::new));
    }
}
