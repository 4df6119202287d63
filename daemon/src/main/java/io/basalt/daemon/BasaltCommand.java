package io.basalt.daemon;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * The root of the basalt command line: every verb is one line in {@link Verb}, and its options, usage help,
 * error messages and bash completion all come from its own picocli annotations.
 * Exit codes: 0 success, 1 failure, 2 bad usage (picocli's own ExitCode.OK, SOFTWARE and USAGE).
 */
@Command(name = "basalt", mixinStandardHelpOptions = true, version = BasaltCommand.VERSION,
        description = "Userspace block storage: a daemon with drives, RAID volumes and vhost-user-blk exports, "
                + "and the client verbs that talk to it over its unix socket (JSON-RPC 2.0).",
        footer = {"", "basalt VERB --help shows a verb's options; docs/rpc.md lists the RPC methods.",
                "Bash completion: source <(./basalt completion)"})
public final class BasaltCommand implements Callable<Integer> {
    /** Bad usage: an unknown verb or option, a missing or malformed value (picocli's ExitCode.USAGE). */
    public static final int EXIT_USAGE = CommandLine.ExitCode.USAGE;
    /** The verb ran and failed, e.g. no daemon listens or an RPC returned an error (ExitCode.SOFTWARE). */
    public static final int EXIT_FAILURE = CommandLine.ExitCode.SOFTWARE;

    /** {@code --version} of every verb: the same text daemon_status reports (a constant, see docs/decisions.md). */
    static final String VERSION = "basalt " + Version.TEXT;

    @Spec CommandSpec spec;

    /**
     * The verbs, in the order the usage lists them. A new verb is one line here, e.g.
     * {@code STAT("stat", true) { Object make() { return new StatCommand(); } },}. {@code alone}: the verb runs
     * in a tree of its own when it is the first argument (a client verb starts faster without building the
     * others' models by reflection); help and completion show every verb, so they never do.
     */
    enum Verb {
        SERVE("serve", true) { Object make() { return new ServeCommand(); } },
        RPC("rpc", true) { Object make() { return new RpcCommand(); } },
        RAID("raid", true) { Object make() { return new RaidVerb(); } },
        BENCH("bench", true) { Object make() { return benchCommand(); } },
        STAT("stat", true) { Object make() { return new StatCommand(); } },
        COMPLETION("completion", false) { Object make() { return new CompletionCommand(); } },
        HELP("help", false) { Object make() { return helpCommand(); } };

        final String verbName;
        final boolean alone;

        Verb(String verbName, boolean alone) {
            this.verbName = verbName;
            this.alone = alone;
        }

        /** A new command object (or its CommandLine) for this verb. */
        abstract Object make();

        static Verb named(String name) {
            for (Verb v : values()) if (v.verbName.equals(name)) return v;
            return null;
        }
    }

    /** The whole command tree. */
    public static CommandLine commandLine() {
        return tree(null);
    }

    /** The tree to run these arguments: the root with just the verb they name when it may run alone, else all. */
    static CommandLine commandLineFor(String[] args) {
        Verb verb = args.length > 0 ? Verb.named(args[0]) : null;
        return tree(verb != null && verb.alone ? verb : null);
    }

    private static CommandLine tree(Verb only) {
        CommandLine root = new CommandLine(new BasaltCommand());
        for (Verb v : Verb.values()) {
            if (only == null || v == only) root.addSubcommand(v.verbName, v.make());
        }
        root.setParameterExceptionHandler(BasaltCommand::usageError);
        return root;
    }

    /** The bench module's commands (bench, bench raid, bench vhost, bench ppl-cost) with their failure handling. */
    private static CommandLine benchCommand() {
        CommandLine bench = io.basalt.bench.Cli.configure(new CommandLine(new io.basalt.bench.BenchCommand()), System.out, System.err);
        setVersion(bench);
        return bench;
    }

    /** --version of a command and its subcommands says Basalt's version (the bench module does not know it). */
    private static void setVersion(CommandLine line) {
        line.getCommandSpec().version(VERSION);
        for (CommandLine sub : line.getSubcommands().values()) setVersion(sub);
    }

    /** picocli's help verb would take "help --bogus" for plain "help"; this way it says "Unknown subcommand". */
    private static CommandLine helpCommand() {
        return new CommandLine(new CommandLine.HelpCommand()).setUnmatchedOptionsArePositionalParams(true);
    }

    /** No verb: the usage on stderr, exit 2 (as before picocli). */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return EXIT_USAGE;
    }

    /** "basalt serve: Unknown option: '--bogus'", did-you-mean suggestions, the verb's synopsis; exit 2. */
    private static int usageError(CommandLine.ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        PrintWriter err = command.getErr();
        err.println(command.getCommandSpec().qualifiedName() + ": " + e.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
        err.print("usage: " + command.getHelp().synopsis(0));
        err.println("try: " + command.getCommandSpec().qualifiedName() + " --help");
        return EXIT_USAGE;
    }
}
