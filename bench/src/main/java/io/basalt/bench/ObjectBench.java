package io.basalt.bench;

import io.basalt.engine.Sizes;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * {@code basalt bench objects}: Basalt's S3 server against nginx (GET: static files, sendfile) and s3proxy (PUT:
 * jclouds' filesystem backend), all three processes of their own on 127.0.0.1 and writing or reading the same file
 * system. Every case runs once on each side as a warm-up, then in pairs alternated as {@code ServerPairs} does (the
 * order swapped every pair); {@link ObjectBenchTable} reports per-pair ratios. The GET peer serves the very files of
 * Basalt's directory mountpath (an object is a plain file there), so both send the same bytes from the same pages.
 */
final class ObjectBench {
    static final String BUCKET = "bench";
    /** GET objects per size: about this many bytes of them, so the cache holds them and a run reads many. */
    static final long GET_SET_BYTES = 256L << 20;
    static final int GET_OBJECTS_MIN = 16;
    static final int GET_OBJECTS_MAX = 256;
    /** PUT keys each connection cycles through (overwrites, as a steady workload does). */
    static final int PUT_KEYS_PER_CONNECTION = 4;
    /** The raw file-system figure printed as context: a file this big written and read with dd. */
    static final long RAW_BYTES = 256L << 20;

    /** One run's parameters (validated by {@link ObjectBenchCommand}). */
    record Request(List<String> ops, List<Integer> sizes, List<Integer> connections, int seconds, int rounds, int warmupSeconds,
                   Path parentDir, List<String> serverJvmFlags, String s3proxyClasspath, int wrkThreads, int nginxWorkers) {}

    record Case(String op, int objectBytes, int connections) {
        String label() {
            return op.toUpperCase(Locale.ROOT) + " " + Sizes.format(objectBytes) + " c" + connections;
        }
    }

    /** One case on one side in one pair (pair -1: the warm-up). */
    record Sample(Case c, String server, int pair, ObjectLoad.Result r, long cpuNanos) {
        double mibPerSecond() {
            return r.bytes() / (double) (1 << 20) / r.seconds();
        }

        double opsPerSecond() {
            return r.ops() / r.seconds();
        }

        double cpuSecondsPerGib() {
            return r.bytes() == 0 ? Double.NaN : cpuNanos / 1e9 / (r.bytes() / (double) (1L << 30));
        }
    }

    /** A server and how the client drives it; the server stays up for the whole bench. */
    interface Side {
        ObjectBenchProcesses.Server server();

        ObjectLoad.Result run(Case c, int seconds) throws IOException;
    }

    private final Request request;
    private final PrintStream out;
    private final PrintStream err;
    private final List<AutoCloseable> opened = new ArrayList<>();
    private final String accessKey;
    private final String secretKey;
    private Path dir;

    ObjectBench(Request request, PrintStream out, PrintStream err) {
        this.request = request;
        this.out = out;
        this.err = err;
        SecureRandom random = new SecureRandom();
        this.accessKey = "BENCH" + HexFormat.of().withUpperCase().formatHex(random.generateSeed(6));
        this.secretKey = HexFormat.of().formatHex(random.generateSeed(20));
    }

    /** Runs the bench; the exit code (1: something missing or a run with errors). */
    int run() throws IOException, InterruptedException {
        boolean get = request.ops().contains("get");
        boolean put = request.ops().contains("put");
        List<String> missing = ObjectBenchProcesses.missing(get, put, request.s3proxyClasspath());
        if (!missing.isEmpty()) {
            for (String m : missing) err.println("bench objects: missing " + m);
            return Cli.EXIT_FAILURE;
        }
        Files.createDirectories(request.parentDir());
        dir = Files.createTempDirectory(request.parentDir(), "basalt-bench-objects-");
        // Ctrl-C or a kill: nginx and s3proxy would outlive the bench (Basalt's server ends with our stdin), and the files.
        Thread cleanup = new Thread(() -> {
            closeAll();
            try {
                deleteTree(dir);
            } catch (IOException | UncheckedIOException e) {
                err.println("bench objects: removing " + dir + ": " + e);
            }
        }, "bench-objects-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            out.println("work directory " + dir + " (" + Files.getFileStore(dir).type() + "), removed at the end");
            out.println(rawContext(dir));
            Path mountpath = dir.resolve("basalt");
            ObjectBenchProcesses.Server basalt = keep(ObjectBenchProcesses.startBasalt(mountpath, accessKey, secretKey,
                    request.serverJvmFlags(), dir.resolve("basalt.log")));
            createBucket(basalt);
            List<Side[]> sides = new ArrayList<>();
            List<Case> cases = new ArrayList<>();
            if (get) sides.add(getSides(basalt, mountpath, cases));
            if (put) sides.add(putSides(basalt, cases));
            List<Sample> samples = alternate(cases, sides);
            out.print(ObjectBenchTable.table(samples, request.rounds()));
            return samples.stream().anyMatch(s -> s.r().errors() > 0) ? Cli.EXIT_FAILURE : 0;
        } finally {
            Runtime.getRuntime().removeShutdownHook(cleanup);
            closeAll();
            deleteTree(dir);
        }
    }

    private synchronized <T extends AutoCloseable> T keep(T resource) {
        opened.add(resource);
        return resource;
    }

    private S3BenchClient.Signer signer(ObjectBenchProcesses.Server s) {
        return new S3BenchClient.Signer(accessKey, secretKey, "127.0.0.1:" + s.port);
    }

    private void createBucket(ObjectBenchProcesses.Server s) throws IOException {
        try (S3BenchClient.Connection c = new S3BenchClient.Connection("127.0.0.1", s.port, signer(s))) {
            int status = c.put("/" + BUCKET, new byte[0]);
            if (status != 200) throw new IOException(s.name + " answered HTTP " + status + " to CreateBucket " + BUCKET);
        }
    }

    /** Fills the GET objects through Basalt, writes a wrk script per size, starts nginx on the same files. */
    private Side[] getSides(ObjectBenchProcesses.Server basalt, Path mountpath, List<Case> cases) throws IOException {
        List<Path> scripts = new ArrayList<>();
        S3BenchClient.Signer signer = signer(basalt);
        for (int size : request.sizes()) {
            int count = (int) Math.max(GET_OBJECTS_MIN, Math.min(GET_OBJECTS_MAX, GET_SET_BYTES / size));
            byte[] body = randomBytes(size);
            List<String> paths = new ArrayList<>();
            try (S3BenchClient.Connection c = new S3BenchClient.Connection("127.0.0.1", basalt.port, signer)) {
                for (int i = 0; i < count; i++) {
                    String path = "/" + BUCKET + "/get-" + size + "-" + i;
                    int status = c.put(path, body);
                    if (status != 200) throw new IOException("filling the GET objects: HTTP " + status + " for " + path);
                    paths.add(signer.presignGet(path, Instant.now()));
                }
            }
            scripts.add(ObjectLoad.wrkScript(dir.resolve("get-" + size + ".lua"), paths));
            for (int conns : request.connections()) cases.add(new Case("get", size, conns));
        }
        // docs/objects.md, "Layout on disk": object KEY of BUCKET is the file MOUNTPATH/@s3/BUCKET/%ob/KEY.
        Path objects = mountpath.resolve("@s3").resolve(BUCKET).resolve("%ob");
        ObjectBenchProcesses.Server nginx = keep(ObjectBenchProcesses.startNginx(dir.resolve("nginx"), BUCKET, objects,
                request.nginxWorkers()));
        return new Side[] {wrkSide(basalt, scripts), wrkSide(nginx, scripts)};
    }

    private Side wrkSide(ObjectBenchProcesses.Server s, List<Path> scripts) {
        return new Side() {
            @Override
            public ObjectBenchProcesses.Server server() {
                return s;
            }

            @Override
            public ObjectLoad.Result run(Case c, int seconds) throws IOException {
                Path script = scripts.get(request.sizes().indexOf(c.objectBytes()));
                return ObjectLoad.wrk(script, s.port, c.connections(), request.wrkThreads(), seconds, c.objectBytes());
            }
        };
    }

    private Side[] putSides(ObjectBenchProcesses.Server basalt, List<Case> cases) throws IOException, InterruptedException {
        String classpath = request.s3proxyClasspath() != null ? request.s3proxyClasspath()
                : ObjectBenchProcesses.s3proxyClasspath(dir.resolve("s3proxy-classpath"));
        ObjectBenchProcesses.Server s3proxy = keep(ObjectBenchProcesses.startS3Proxy(classpath, dir, dir.resolve("s3proxy"),
                accessKey, secretKey));
        createBucket(s3proxy);
        List<byte[]> bodies = new ArrayList<>();
        for (int size : request.sizes()) {
            bodies.add(randomBytes(size));
            for (int conns : request.connections()) cases.add(new Case("put", size, conns));
        }
        return new Side[] {putSide(basalt, bodies), putSide(s3proxy, bodies)};
    }

    private Side putSide(ObjectBenchProcesses.Server s, List<byte[]> bodies) {
        S3BenchClient.Signer signer = signer(s);
        return new Side() {
            @Override
            public ObjectBenchProcesses.Server server() {
                return s;
            }

            @Override
            public ObjectLoad.Result run(Case c, int seconds) {
                byte[] body = bodies.get(request.sizes().indexOf(c.objectBytes()));
                return ObjectLoad.put("127.0.0.1", s.port, signer, BUCKET, "put-" + c.objectBytes() + "-c" + c.connections(), body,
                        c.connections(), PUT_KEYS_PER_CONNECTION, seconds);
            }
        };
    }

    /** Warm-up (every case once on each side), then {@code rounds} pairs per case, the order swapped every pair. */
    private List<Sample> alternate(List<Case> cases, List<Side[]> sides) throws IOException {
        for (Case c : cases) for (Side s : sidesOf(c, sides)) measure(c, s, -1, request.warmupSeconds());
        List<Sample> samples = new ArrayList<>();
        for (int pair = 0; pair < request.rounds(); pair++) {
            for (Case c : cases) {
                Side[] two = sidesOf(c, sides);
                samples.add(measure(c, two[pair % 2], pair, request.seconds()));
                samples.add(measure(c, two[1 - pair % 2], pair, request.seconds()));
            }
        }
        return samples;
    }

    private Side[] sidesOf(Case c, List<Side[]> sides) {
        return sides.get(c.op().equals("get") || sides.size() == 1 ? 0 : 1);
    }

    private Sample measure(Case c, Side side, int pair, int seconds) throws IOException {
        ObjectBenchProcesses.Server s = side.server();
        long cpuStart = s.cpuNanos();
        ObjectLoad.Result r = side.run(c, seconds);
        long cpu = s.cpuNanos() - cpuStart;
        Sample sample = new Sample(c, s.name, pair, r, cpu);
        err.printf(Locale.ROOT, "  %-8s %-16s %-8s %9.1f MiB/s %9.1f ops/s  server CPU %6.3f s/GiB%s%n",
                pair < 0 ? "warm-up" : "pair " + pair, c.label(), s.name, sample.mibPerSecond(), sample.opsPerSecond(),
                sample.cpuSecondsPerGib(), r.errors() > 0 ? "  ERRORS " + r.errors() + ": " + r.errorText() : "");
        return sample;
    }

    /** dd of {@link #RAW_BYTES} into and out of the work directory: what the file system itself moves. */
    private static String rawContext(Path dir) throws IOException, InterruptedException {
        Path file = dir.resolve("raw");
        long blocks = RAW_BYTES >> 20;
        String write = dd("if=/dev/zero", "of=" + file, "bs=1M", "count=" + blocks, "conv=fsync");
        String read = dd("if=" + file, "of=/dev/null", "bs=1M");
        Files.delete(file);
        return "raw file system (dd, 1 MiB blocks, " + blocks + " MiB): write+fsync " + write + ", read " + read;
    }

    private static String dd(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("dd"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes()).strip();
        p.waitFor();
        String[] lines = text.split("\n");
        String last = lines[lines.length - 1];
        int comma = last.lastIndexOf(',');
        return comma < 0 ? last : last.substring(comma + 1).trim();
    }

    private static byte[] randomBytes(int size) {
        byte[] b = new byte[size];
        new java.util.Random(size).nextBytes(b);
        return b;
    }

    private synchronized void closeAll() {
        for (int i = opened.size() - 1; i >= 0; i--) {
            try {
                opened.get(i).close();
            } catch (Exception e) {
                err.println("bench objects: closing: " + e);
            }
        }
        opened.clear();
    }

    private static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root)) return;
        try (var walk = Files.walk(root)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
