package io.basalt.daemon;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * The root of the basalt command line: every verb is one {@code addSubcommand} line in {@link #commandLine()},
 * so its options, usage help, error messages and bash completion all come from its own picocli annotations.
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

    /** The whole command tree. A new verb is one line here (e.g. {@code root.addSubcommand(new StatCommand());}). */
    public static CommandLine commandLine() {
        CommandLine root = new CommandLine(new BasaltCommand());
        root.addSubcommand(new ServeCommand());
        root.addSubcommand(new RpcCommand());
        root.addSubcommand(new RaidVerb());
        root.addSubcommand(BenchPassthrough.commandLine());
        root.addSubcommand(new CompletionCommand());
        // picocli's help verb would take "help --bogus" for plain "help"; this way it says "Unknown subcommand".
        root.addSubcommand(new CommandLine(new CommandLine.HelpCommand()).setUnmatchedOptionsArePositionalParams(true));
        root.setParameterExceptionHandler(BasaltCommand::usageError);
        return root;
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
