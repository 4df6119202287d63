package io.basalt.qemu;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Basalt's own daemon ({@code ./basalt serve}) exporting image files over vhost-user-blk: the backend under test.
 * The config is generated (one {@code drive_create} and one {@code vhost_create} per export) and kept, so
 * {@link #kill()} (SIGKILL, a crash) and {@link #restart()} bring the same sockets back for a reconnecting QEMU.
 * <pre>{@code
 * try (BasaltDaemon basalt = BasaltDaemon.builder(sockets).export("v0", image, sockets.resolve("v0.sock"), 2)
 *         .log(dir.resolve("basalt.log")).start()) {
 *     Guest.builder(GuestTools.guest()).vhostUserBlk(basalt.socket(), 2).script("...").run().assertSuccess();
 * }   // close(): SIGTERM, the daemon drains and must exit 0
 * }</pre>
 * The daemon is started through the launcher, which execs java, so {@link #pid()} is the JVM's (CPU time counts).
 * The jars are built once per JVM when a main source is newer than the daemon jar (never {@code mvn install}).
 */
public final class BasaltDaemon implements VhostBackend {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    private static boolean built;

    /** One export: a drive on {@code image} (uring, O_DIRECT) served on {@code socket}. */
    public record Export(String name, Path image, Path socket, int numQueues, boolean readOnly) {
        public Export {
            if (!name.matches("[A-Za-z0-9_.-]{1,64}")) throw new IllegalArgumentException("export name: " + name);
            if (numQueues < 1) throw new IllegalArgumentException("numQueues >= 1: " + numQueues);
            image = image.toAbsolutePath();
            socket = socket.toAbsolutePath();
            if (socket.toString().length() > 100) throw new IllegalArgumentException("socket path too long for AF_UNIX: " + socket);
        }
    }

    public static final class Builder {
        private final Path dataDir;
        private final List<Export> exports = new ArrayList<>();
        private int reactors = 2;
        private String idle = "sleep";
        private Path log;
        private String latencyMicros;
        private List<Path> raid5Members = List.of();
        private String raid5FailedMember;
        private boolean embeddedDefault;

        private Builder(Path dataDir) {
            this.dataDir = dataDir.toAbsolutePath();
        }

        public Builder export(String name, Path image, Path socket, int numQueues) {
            exports.add(new Export(name, image, socket, numQueues, false));
            return this;
        }

        public Builder readOnlyExport(String name, Path image, Path socket, int numQueues) {
            exports.add(new Export(name, image, socket, numQueues, true));
            return this;
        }

        /**
         * Exports serve a RAID5 volume over these member images instead of their own image: drives m0..mN-1, then
         * {@code raid_create} level 5 named "r5" (created on the first start, assembled from its superblocks after a
         * restart), then, if {@code failedMember} (e.g. "m1") is not null, {@code raid_fail_member}: a degraded volume.
         */
        public Builder raid5(List<Path> members, String failedMember) {
            this.raid5Members = List.copyOf(members);
            this.raid5FailedMember = failedMember;
            return this;
        }

        /**
         * No config: the daemon's embedded default, as {@code ./basalt serve} alone makes it (four 1 GiB sparse file
         * drives under DATA_DIR/drives, RAID5 volume vol0 over them, exported as vol0 at DATA_DIR/vhost/vol0.sock
         * with its default queue count). The one export is "vol0".
         */
        public Builder embeddedDefault() {
            this.embeddedDefault = true;
            exports.add(new Export("vol0", dataDir.resolve("drives/d0.img"), dataDir.resolve("vhost/vol0.sock"), 1, false));
            return this;
        }

        public Builder reactors(int count) {
            this.reactors = count;
            return this;
        }

        /** busy, backoff or sleep (the default: a busy reactor would take a core from the TCG guest). */
        public Builder idle(String strategy) {
            this.idle = Objects.requireNonNull(strategy);
            return this;
        }

        /**
         * Every drive behind Basalt's fault layer holding each completion MIN-MAX microseconds
         * ({@code fault:uring:IMAGE,fault_latency_us=MIN-MAX}): keeps requests in flight inside the daemon, e.g. so a
         * crash surely catches some.
         */
        public Builder completionLatencyMicros(String minMax) {
            if (!minMax.matches("\\d+(-\\d+)?")) throw new IllegalArgumentException("latency MIN-MAX: " + minMax);
            this.latencyMicros = minMax;
            return this;
        }

        /** Where the daemon's stdout and stderr go; a restart appends to the same file. Default DATA_DIR/basalt.log. */
        public Builder log(Path file) {
            this.log = file;
            return this;
        }

        public BasaltDaemon start() {
            if (exports.isEmpty()) throw new IllegalArgumentException("no exports");
            BasaltDaemon d = new BasaltDaemon(this);
            d.launch();
            return d;
        }
    }

    private final Path dataDir;
    private final List<Export> exports;
    private final int reactors;
    private final String idle;
    private final Path log;
    private final Path config;
    private final String latencyMicros;
    private final List<Path> raid5Members;
    private final String raid5FailedMember;
    private final boolean embeddedDefault;
    private Process process;
    private int starts;

    private BasaltDaemon(Builder b) {
        this.dataDir = b.dataDir;
        this.exports = List.copyOf(b.exports);
        this.reactors = b.reactors;
        this.idle = b.idle;
        this.log = (b.log != null ? b.log : b.dataDir.resolve("basalt.log")).toAbsolutePath();
        this.config = dataDir.resolve("basalt.json");
        this.latencyMicros = b.latencyMicros;
        this.raid5Members = b.raid5Members;
        this.raid5FailedMember = b.raid5FailedMember;
        this.embeddedDefault = b.embeddedDefault;
        // The RPC socket lives in the data dir: AF_UNIX paths are limited to 108 bytes.
        if (dataDir.resolve("basalt.sock").toString().length() > 100) {
            throw new IllegalArgumentException("data dir path too long for its RPC socket: " + dataDir);
        }
    }

    public static Builder builder(Path dataDir) {
        return new Builder(dataDir);
    }

    /** The JSON config: one drive and one export per {@link Export}. */
    public static String config(List<Export> exports) {
        return config(exports, null);
    }

    /** The same, each drive behind the fault layer's completion latency when {@code latencyMicros} is not null. */
    public static String config(List<Export> exports, String latencyMicros) {
        StringBuilder s = new StringBuilder("[\n");
        for (int i = 0; i < exports.size(); i++) {
            Export e = exports.get(i);
            s.append("  {\"method\": \"drive_create\", \"params\": {\"name\": \"").append(e.name()).append("-drive\", \"spec\": \"")
                    .append(latencyMicros == null ? "" : "fault:").append("uring:").append(json(e.image().toString()))
                    .append(latencyMicros == null ? "" : ",fault_seed=1,fault_latency_us=" + latencyMicros)
                    .append("\"}},\n"); // read-only is the export's job, not the drive's
            s.append("  {\"method\": \"vhost_create\", \"params\": {\"name\": \"").append(e.name()).append("\", \"drive\": \"")
                    .append(e.name()).append("-drive\", \"socket\": \"").append(json(e.socket().toString()))
                    .append("\", \"num_queues\": ").append(e.numQueues()).append(", \"readonly\": ").append(e.readOnly())
                    .append("}}").append(i + 1 < exports.size() ? ",\n" : "\n");
        }
        return s.append("]\n").toString();
    }

    /** Drives m0..mN-1 on the member images, RAID5 volume r5 over them (optionally degraded), every export on r5. */
    private String raid5Config() {
        StringBuilder s = new StringBuilder("[\n");
        StringBuilder names = new StringBuilder();
        for (int i = 0; i < raid5Members.size(); i++) {
            s.append("  {\"method\": \"drive_create\", \"params\": {\"name\": \"m").append(i).append("\", \"spec\": \"uring:")
                    .append(json(raid5Members.get(i).toString())).append("\"}},\n");
            names.append(i == 0 ? "" : ", ").append("\"m").append(i).append('"');
        }
        s.append("  {\"method\": \"raid_assemble\", \"params\": {}},\n");
        s.append("  {\"method\": \"raid_create\", \"params\": {\"name\": \"r5\", \"level\": 5, \"chunk_kib\": 64, \"if_missing\": true, \"members\": [")
                .append(names).append("]}},\n");
        if (raid5FailedMember != null) {
            s.append("  {\"method\": \"raid_fail_member\", \"params\": {\"name\": \"r5\", \"member\": \"").append(raid5FailedMember).append("\"}},\n");
        }
        for (int i = 0; i < exports.size(); i++) {
            Export e = exports.get(i);
            s.append("  {\"method\": \"vhost_create\", \"params\": {\"name\": \"").append(e.name()).append("\", \"drive\": \"r5\", \"socket\": \"")
                    .append(json(e.socket().toString())).append("\", \"num_queues\": ").append(e.numQueues()).append("}}")
                    .append(i + 1 < exports.size() ? ",\n" : "\n");
        }
        return s.append("]\n").toString();
    }

    private static String json(String text) {
        if (text.contains(",")) throw new IllegalArgumentException("a path with a comma cannot be in a backend spec: " + text);
        return text.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    /** The launcher and the command line. */
    public List<String> command() {
        List<String> c = new ArrayList<>(List.of("bash", GuestTools.repoRoot().resolve("basalt").toString(), "serve", "--data-dir", dataDir.toString()));
        if (!embeddedDefault) c.addAll(List.of("--config", config.toString()));
        c.addAll(List.of("--reactors", String.valueOf(reactors), "--idle", idle));
        return c;
    }

    private void launch() {
        ensureBuilt();
        try {
            Files.createDirectories(dataDir);
            Files.createDirectories(log.getParent());
            if (!embeddedDefault) Files.writeString(config, raid5Members.isEmpty() ? config(exports, latencyMicros) : raid5Config());
            starts++;
            String header = "# start " + starts + ": " + String.join(" ", command()) + "\n";
            Files.writeString(log, header, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
            long logStart = Files.size(log);
            ProcessBuilder pb = new ProcessBuilder(command()).directory(GuestTools.repoRoot().toFile())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
            pb.environment().put("BASALT_NO_BUILD", "1"); // ensureBuilt() did; no rebuild under a running test
            process = pb.start();
            process.getOutputStream().close();
            awaitServing(logStart);
        } catch (IOException e) {
            throw new UncheckedIOException("could not start basalt serve: " + e.getMessage(), e);
        }
    }

    /** Serving = the banner printed after the config replay (every export listening) and every socket present. */
    private void awaitServing(long logOffset) throws IOException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            String text = logSince(logOffset);
            if (text.contains(": serving") && exports.stream().allMatch(e -> Files.exists(e.socket()))) return;
            if (!process.isAlive()) {
                throw new IllegalStateException("basalt serve exited with status " + process.exitValue()
                        + " before serving:\n" + text.strip());
            }
            if (System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new IllegalStateException("basalt serve did not serve within " + START_TIMEOUT.toSeconds() + " s:\n" + text.strip());
            }
            sleep(20);
        }
    }

    private String logSince(long offset) throws IOException {
        byte[] all = Files.readAllBytes(log);
        return new String(all, (int) Math.min(offset, all.length), (int) Math.max(0, all.length - offset), StandardCharsets.UTF_8);
    }

    /**
     * Packages the daemon (and what it depends on) once per JVM when its jar is missing or older than a main
     * source, and marks the launcher's stamp. The daemon then starts with BASALT_NO_BUILD=1, so the launcher never
     * rebuilds while a test runs.
     */
    static synchronized void ensureBuilt() {
        if (built) return;
        Path root = GuestTools.repoRoot();
        try {
            if (daemonJarStale(root)) {
                Path buildLog = root.resolve(".build/basalt-daemon-build.log");
                Files.createDirectories(buildLog.getParent());
                ProcessBuilder pb = new ProcessBuilder("mvn", "-q", "-B", "-Dstyle.color=never", "-DskipTests", "package",
                        "-pl", "daemon", "-am").directory(root.toFile()).redirectErrorStream(true)
                        .redirectOutput(buildLog.toFile());
                pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
                Process p = pb.start();
                p.getOutputStream().close();
                if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    p.destroyForcibly();
                    throw new IllegalStateException("building the daemon failed:\n" + Files.readString(buildLog));
                }
            }
            Files.createDirectories(root.resolve(".build"));
            Path stamp = root.resolve(".build/stamp");
            if (!Files.exists(stamp)) Files.createFile(stamp);
            Files.setLastModifiedTime(stamp, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()));
            built = true;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static boolean daemonJarStale(Path root) throws IOException {
        Path jar;
        try (Stream<Path> s = Files.list(root.resolve("daemon/target"))) {
            jar = s.filter(p -> p.getFileName().toString().matches("basalt-daemon-.*\\.jar") && !p.toString().endsWith("-tests.jar"))
                    .findFirst().orElse(null);
        } catch (java.nio.file.NoSuchFileException e) {
            return true;
        }
        if (jar == null || !Files.isDirectory(root.resolve("daemon/target/lib"))) return true;
        long jarTime = Files.getLastModifiedTime(jar).toMillis();
        for (String module : List.of("native-shims", "engine", "raid", "vhost", "nvmeof", "daemon")) {
            if (Files.getLastModifiedTime(root.resolve(module).resolve("pom.xml")).toMillis() > jarTime) return true;
            Path src = root.resolve(module).resolve("src/main");
            try (Stream<Path> s = Files.walk(src)) {
                if (s.anyMatch(p -> {
                    try {
                        return Files.isRegularFile(p) && Files.getLastModifiedTime(p).toMillis() > jarTime;
                    } catch (IOException e) {
                        return true;
                    }
                })) return true;
            }
        }
        return Files.getLastModifiedTime(root.resolve("pom.xml")).toMillis() > jarTime;
    }

    @Override
    public String name() {
        return "basalt";
    }

    /** The first export's socket. */
    @Override
    public Path socket() {
        return exports.get(0).socket();
    }

    public Path socket(String exportName) {
        return exports.stream().filter(e -> e.name().equals(exportName)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no export " + exportName)).socket();
    }

    public List<Export> exports() {
        return exports;
    }

    @Override
    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public Path log() {
        return log;
    }

    public String logText() {
        return ProcessBackend.readLog(log);
    }

    /**
     * One JSON-RPC call on the daemon's socket, in this JVM (no {@code basalt rpc} process: fast enough to poll).
     * Returns the response line as the daemon sent it; {@code paramsJson} is a JSON object.
     */
    public String rpc(String method, String paramsJson) {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(dataDir.resolve("basalt.sock")));
            String request = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"" + method + "\",\"params\":" + paramsJson + "}\n";
            ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) ch.write(out);
            java.io.ByteArrayOutputStream answer = new java.io.ByteArrayOutputStream();
            ByteBuffer in = ByteBuffer.allocate(8192);
            while (ch.read(in) >= 0) {
                in.flip();
                while (in.hasRemaining()) {
                    byte b = in.get();
                    if (b == '\n') return answer.toString(StandardCharsets.UTF_8);
                    answer.write(b);
                }
                in.clear();
            }
            return answer.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("rpc " + method + " to " + dataDir + ": " + e.getMessage(), e);
        }
    }

    /** SIGKILL, as a crash: nothing is flushed, the socket files stay behind. Waits until the process is gone. */
    public void kill() {
        process.destroyForcibly();
        try {
            if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) throw new IllegalStateException("SIGKILL did not end " + pid());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        appendLog("# killed (SIGKILL), exit " + process.exitValue() + "\n");
    }

    /**
     * Starts the daemon again with the same config and sockets after {@link #kill()} (or a stop). The socket files
     * a killed daemon left behind are not removed here: the daemon itself must replace a stale socket nobody
     * listens on, as its RPC server does.
     */
    public void restart() {
        if (process.isAlive()) throw new IllegalStateException("the daemon is still running: kill() or close() first");
        launch();
    }

    /** SIGTERM, wait for the drain, and require exit status 0 and the sockets removed (else AssertionError). */
    @Override
    public void close() {
        if (!process.isAlive()) return;
        process.destroy();
        try {
            if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                throw new AssertionError("basalt serve did not stop within " + STOP_TIMEOUT.toSeconds() + " s of SIGTERM:\n" + logTail());
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            return;
        }
        int exit = process.exitValue();
        if (exit != 0) throw new AssertionError("basalt serve exited with " + exit + " after SIGTERM (expected 0):\n" + logTail());
        for (Export e : exports) {
            if (Files.exists(e.socket())) throw new AssertionError("basalt serve left its socket " + e.socket() + " after a clean stop");
        }
    }

    private String logTail() {
        String[] lines = logText().split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(lines, Math.max(0, lines.length - 60), lines.length));
    }

    private void appendLog(String text) {
        try {
            Files.writeString(log, text, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException ignored) {
            // The log is for post-mortems only.
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
