package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcClient;
import io.basalt.daemon.json.JsonException;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code basalt stat}: a running daemon's load, like iostat and AeronStat. Calls stat_get every interval and prints
 * the rates between two answers ({@link StatTable}); the daemon's own timestamps time the rates, so a late wake-up
 * here skews nothing.
 */
@Command(name = "stat", mixinStandardHelpOptions = true, version = BasaltCommand.VERSION, sortOptions = false,
        description = {"Shows a running daemon's load every interval: per drive, volume and export r/s w/s rMiB/s wMiB/s,",
                "read/write latency p50 and p99, average queue depth and errors; per reactor busy%; RAID sync jobs' progress",
                "and rate. Rates come from the stat_get RPC's monotonic totals (docs/rpc.md)."},
        footer = {"", "Example: basalt stat --interval 2s --count 5 vol0 vol0-export"})
final class StatCommand implements Callable<Integer> {
    static final long INTERVAL_NS_MIN = TimeUnit.MILLISECONDS.toNanos(100);

    /** Where the daemon is: its data dir (the socket inside) or the socket itself; ./basalt-data by default. */
    static final class Target {
        @Option(names = "--data-dir", paramLabel = "DIR", description = "the daemon's data folder (default ./basalt-data)")
        Path dataDir;
        @Option(names = "--socket", paramLabel = "PATH", description = "the daemon's RPC socket")
        Path socket;
    }

    @Option(names = "--interval", paramLabel = "TIME", defaultValue = "1s", converter = IntervalConverter.class,
            description = "time between reports: 1s, 500ms, 2 (seconds); at least 100ms (default: ${DEFAULT-VALUE})")
    long intervalNs;

    @Option(names = "--count", paramLabel = "N", defaultValue = "0",
            description = "print N reports, then exit; 0 (the default) runs until interrupted")
    int count;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Target target;

    @Parameters(paramLabel = "NAME", arity = "0..*", description = "only these drives, volumes, exports, reactors (default: all)")
    List<String> names = new ArrayList<>();

    @Spec
    CommandLine.Model.CommandSpec spec;

    /** Until Main becomes a picocli root command: {@code basalt stat ARGS}. */
    static int run(String[] args) {
        return new CommandLine(new StatCommand()).execute(args);
    }

    /** Parses "1s", "500ms", "2" (seconds), "1.5s". */
    static final class IntervalConverter implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String text) {
            long ns;
            try {
                if (text.endsWith("ms")) ns = Math.round(Double.parseDouble(text.substring(0, text.length() - 2)) * 1e6);
                else if (text.endsWith("s")) ns = Math.round(Double.parseDouble(text.substring(0, text.length() - 1)) * 1e9);
                else ns = Math.round(Double.parseDouble(text) * 1e9);
            } catch (NumberFormatException e) {
                throw new CommandLine.TypeConversionException("'" + text + "' is not a time: use 1s, 500ms or 2");
            }
            if (ns < INTERVAL_NS_MIN) throw new CommandLine.TypeConversionException("'" + text + "' is shorter than 100ms");
            return ns;
        }
    }

    private Path socket() {
        if (target != null && target.socket != null) return target.socket;
        Path dir = target != null && target.dataDir != null ? target.dataDir : Path.of("basalt-data");
        return dir.resolve(Daemon.SOCKET_NAME);
    }

    @Override
    public Integer call() {
        if (count < 0) throw new CommandLine.ParameterException(spec.commandLine(), "--count must be 0 or more, was " + count);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path socket = socket();
        try (RpcClient client = RpcClient.connect(socket)) {
            Map<?, ?> before = sample(client);
            long nextNs = System.nanoTime() + intervalNs;
            for (int printed = 0; count == 0 || printed < count; printed++) {
                sleepUntil(nextNs);
                nextNs += intervalNs;
                Map<?, ?> after = sample(client);
                out.println(StatTable.format(before, after, names));
                out.flush();
                before = after;
            }
            return 0;
        } catch (IOException | JsonException e) {
            err.println("basalt stat: no answer from a daemon on " + socket.toAbsolutePath() + " (" + e.getMessage()
                    + "). Start one with ./basalt serve, or point at it with --data-dir or --socket.");
            return 1;
        } catch (StatException e) {
            err.println("basalt stat: " + e.getMessage());
            return 1;
        }
    }

    /** The daemon answered with an error (an older daemon without stat_get, say). */
    private static final class StatException extends Exception {
        StatException(String message) {
            super(message);
        }
    }

    private static Map<?, ?> sample(RpcClient client) throws IOException, StatException {
        Map<String, Object> response = client.call("stat_get", null);
        if (response.get("error") instanceof Map<?, ?> error) throw new StatException("stat_get failed: " + error.get("message"));
        if (!(response.get("result") instanceof Map<?, ?> result)) throw new StatException("stat_get answered no object");
        return result;
    }

    private static void sleepUntil(long deadlineNs) {
        for (long left; (left = deadlineNs - System.nanoTime()) > 0; ) {
            LockSupport.parkNanos(left);
            if (Thread.interrupted()) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    static Duration interval(String text) {
        return Duration.ofNanos(new IntervalConverter().convert(text));
    }
}
