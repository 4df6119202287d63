package io.basalt.bench;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code basalt bench objects}: the options of {@link ObjectBench}. */
@Command(name = "objects", header = "Basalt's S3 service vs nginx (GET) and s3proxy (PUT), alternated pairs on loopback.",
        sortOptions = false, usageHelpWidth = Cli.HELP_WIDTH,
        description = "Three server processes on 127.0.0.1 over one file system: Basalt's S3 server (a directory mountpath), "
                + "nginx (sendfile, serving the very files of Basalt's mountpath) and s3proxy " + ObjectBenchProcesses.S3PROXY_COORDINATES
                + " (jclouds' filesystem backend, resolved with Maven). GET: wrk rotating through presigned URLs (no signing in "
                + "the client). PUT: a Java client, one thread and keep-alive connection each, signed with SigV4 and "
                + "UNSIGNED-PAYLOAD. Every case (op x size x connections) runs once on each side as a warm-up, then in pairs "
                + "whose order swaps every pair. Per case: each side's median MiB/s, ops/s and server CPU seconds per GiB "
                + "(utime+stime of the server's processes over the run, nginx's master and workers summed), and the per-pair "
                + "basalt/peer ratios as median [q1-q3]. A dd write and read of the work directory is printed first as context. "
                + "Needs nginx and wrk (GET) and mvn or --s3proxy-classpath (PUT); says which is missing.",
        footer = {"", "The goal: GET >= 1.0x nginx's MiB/s and PUT >= 1.0x s3proxy's, each at <= the peer's CPU per GiB.",
                "Example: basalt bench objects --sizes 128k,10m --connections 8,32 --seconds 3 --rounds 10"})
public final class ObjectBenchCommand implements Callable<Integer> {
    static final List<String> OPS = List.of("get", "put");
    static final int CONNECTIONS_MAX = 1024;

    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    Cli.Help help;

    @Option(names = "--ops", paramLabel = "OP", split = ",", description = "get, put or both (default: get,put).")
    List<String> ops = new ArrayList<>(OPS);

    @Option(names = "--sizes", paramLabel = "SIZE", split = ",", converter = Cli.SizeBytes.class,
            description = "Object sizes (default: 128k,10m).")
    List<Integer> sizes = new ArrayList<>(List.of(128 << 10, 10 << 20));

    @Option(names = "--connections", paramLabel = "N", split = ",", description = "Concurrent connections (default: 8,32).")
    List<Integer> connections = new ArrayList<>(List.of(8, 32));

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "3", description = "Seconds per run (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "10", description = "Pairs per case (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--warmup-seconds", paramLabel = "S", description = "Seconds of each warm-up run (default: --seconds).")
    Integer warmupSeconds;

    @Option(names = "--dir", paramLabel = "DIR", description = "Where the work directory (mountpath, s3proxy's base "
            + "directory, nginx's prefix) is made and removed after (default: /dev/shm, tmpfs, else java.io.tmpdir).")
    Path dir;

    @Option(names = "--server-java-opts", paramLabel = "OPTS", defaultValue = "",
            description = "JVM options of Basalt's server process only (e.g. -agentpath:...libasyncProfiler.so=start,event=cpu,file=p.html).")
    String serverJavaOpts;

    @Option(names = "--s3proxy-classpath", paramLabel = "CP", description = "s3proxy's class path (default: resolved by mvn).")
    String s3proxyClasspath;

    @Option(names = "--wrk-threads", paramLabel = "N", defaultValue = "2", description = "wrk threads (default: ${DEFAULT-VALUE}).")
    int wrkThreads;

    @Option(names = "--nginx-workers", paramLabel = "N", description = "nginx worker processes (default: the CPU count).")
    Integer nginxWorkers;

    @Override
    public Integer call() throws IOException, InterruptedException {
        ObjectBench.Request request = request();
        try (PrintStream out = Cli.stream(spec.commandLine().getOut()); PrintStream err = Cli.stream(spec.commandLine().getErr())) {
            return new ObjectBench(request, out, err).run();
        }
    }

    ObjectBench.Request request() {
        for (String op : ops) if (!OPS.contains(op)) throw usage("--ops: '" + op + "' is not one of " + String.join(", ", OPS));
        for (int c : connections) {
            if (c < 1 || c > CONNECTIONS_MAX) throw usage("--connections " + c + " is not in [1, " + CONNECTIONS_MAX + "]");
        }
        atLeast("--seconds", seconds, 1);
        atLeast("--rounds", rounds, 1);
        atLeast("--wrk-threads", wrkThreads, 1);
        int warmup = warmupSeconds != null ? warmupSeconds : seconds;
        atLeast("--warmup-seconds", warmup, 1);
        int workers = nginxWorkers != null ? nginxWorkers : Runtime.getRuntime().availableProcessors();
        atLeast("--nginx-workers", workers, 1);
        Path parent = dir != null ? dir : Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
        List<String> jvm = serverJavaOpts.isBlank() ? List.of() : List.of(serverJavaOpts.trim().split("\\s+"));
        return new ObjectBench.Request(List.copyOf(ops), List.copyOf(sizes), List.copyOf(connections), seconds, rounds, warmup,
                parent, jvm, s3proxyClasspath, wrkThreads, workers);
    }

    private void atLeast(String option, int value, int min) {
        if (value < min) throw usage(option + " " + value + " is not at least " + min);
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
