package io.basalt.bench;

import io.basalt.engine.IdleStrategy;
import io.basalt.engine.Sizes;
import picocli.CommandLine;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * What the bench commands share: running a picocli command with Basalt's exit codes (0 success, 1 failure, 2 bad
 * usage), and the converters that turn option text into values, so that a bad value is reported with its option's
 * name by picocli itself ("Invalid value for option '--bs': ...").
 */
public final class Cli {
    private Cli() {}

    /** Help text width: the spec and volume-spec lines of the footers fit unwrapped. */
    static final int HELP_WIDTH = 118;

    /** Exit code of a run that failed (a device that cannot be opened, fio missing, I/O errors). */
    public static final int EXIT_FAILURE = 1;

    /**
     * Runs {@code command} on {@code args}: --help prints to {@code out} and exits 0, a usage error prints the message
     * and the usage to {@code err} and exits 2, a failure ({@link IllegalArgumentException} or
     * {@link IllegalStateException} from the run) prints "basalt bench...: message" and exits 1.
     */
    public static int execute(Object command, String[] args, PrintStream out, PrintStream err) {
        CommandLine line = new CommandLine(command);
        String name = line.getCommandName();
        line.setCommandName(name.equals("bench") ? "basalt bench" : "basalt bench " + name); // as the launcher runs it
        return configure(line, out, err).execute(args);
    }

    /** Sets the streams and the failure handler on {@code line} (a root command may add these commands as subcommands). */
    public static CommandLine configure(CommandLine line, PrintStream out, PrintStream err) {
        line.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        line.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        line.setParameterExceptionHandler((e, args) -> {
            CommandLine bad = e.getCommandLine();
            bad.getErr().println(qualifiedName(bad) + ": " + e.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(e, bad.getErr());
            bad.getErr().print(bad.getHelp().fullSynopsis());
            bad.getErr().println("'" + qualifiedName(bad) + " --help' describes every option.");
            return bad.getCommandSpec().exitCodeOnInvalidInput();
        });
        line.setExecutionExceptionHandler((e, failed, parseResult) -> {
            if (!(e instanceof IllegalArgumentException) && !(e instanceof IllegalStateException)) throw e;
            failed.getErr().println(qualifiedName(failed) + ": " + e.getMessage());
            return EXIT_FAILURE;
        });
        return line;
    }

    /**
     * A PrintStream over a picocli writer (the bench code prints to streams): bytes collect until a flush, then go to
     * the writer as UTF-8 text, so multi-byte characters are never split. The stream flushes on println.
     */
    static PrintStream stream(PrintWriter writer) {
        java.io.OutputStream bytes = new java.io.ByteArrayOutputStream() {
            @Override
            public synchronized void flush() {
                writer.write(toString(StandardCharsets.UTF_8));
                writer.flush();
                reset();
            }
        };
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }

    /** "basalt bench raid" for the raid subcommand, whatever root it hangs under. */
    static String qualifiedName(CommandLine line) {
        String name = line.getCommandSpec().qualifiedName();
        return name.startsWith("basalt ") ? name : "basalt " + name;
    }

    /** -h, --help on every bench command (no --version: the bench has none of its own, {@code basalt --version} does). */
    public static final class Help {
        @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
        boolean requested;
    }

    /** Sizes such as 4k, 64k, 1m (Sizes.parse), within an int. */
    static final class SizeBytes implements CommandLine.ITypeConverter<Integer> {
        @Override
        public Integer convert(String text) {
            long bytes;
            try {
                bytes = Sizes.parse(text.trim());
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
            if (bytes <= 0 || bytes > Integer.MAX_VALUE) throw new CommandLine.TypeConversionException("'" + text + "' is not a size from 1 to 2g");
            return (int) bytes;
        }
    }

    /** Seconds, fractions allowed (0.5), as nanoseconds. */
    static final class SecondsNs implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String text) {
            double seconds;
            try {
                seconds = Double.parseDouble(text.trim());
            } catch (NumberFormatException e) {
                throw new CommandLine.TypeConversionException("'" + text + "' is not a number of seconds");
            }
            if (!(seconds >= 0) || seconds > 1e6) throw new CommandLine.TypeConversionException("'" + text + "' is not in [0, 1000000] seconds");
            return (long) (seconds * 1e9);
        }
    }

    /** A reactor idle strategy: busy, sleep, wait, backoff. */
    static final class Idle implements CommandLine.ITypeConverter<IdleStrategy> {
        @Override
        public IdleStrategy convert(String text) {
            try {
                return IdleStrategy.parse(text);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** fio's workload names. */
    static final class Rw implements CommandLine.ITypeConverter<String> {
        static final String NAMES = "randread, randwrite, read, write, randrw";

        @Override
        public String convert(String text) {
            return switch (text) {
                case "randread", "randwrite", "read", "write", "randrw" -> text;
                default -> throw new CommandLine.TypeConversionException("'" + text + "' is not one of " + NAMES);
            };
        }
    }
}
