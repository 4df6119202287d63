package io.basalt.bench;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The server processes of {@code basalt bench objects}: Basalt's ({@link ObjectBenchServer}), nginx and s3proxy, each
 * started with its configuration in the bench's work directory and its log there, and the CPU time each spends
 * (utime + stime of all its processes, /proc/PID/stat).
 */
final class ObjectBenchProcesses {
    static final String S3PROXY_COORDINATES = "org.gaul:s3proxy:2.6.0";
    static final String S3PROXY_MAIN = "org.gaul.s3proxy.Main";
    /** The JVM flags of Basalt's server process: the launcher's (basalt serve). */
    static final List<String> BASALT_JVM_FLAGS = List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC", "-Xss8m");
    static final long START_TIMEOUT_MS = 60_000;
    /** USER_HZ: /proc reports CPU time in ticks of 10 ms on Linux. */
    static final long NANOS_PER_TICK = 10_000_000L;

    private ObjectBenchProcesses() {}

    /** A server under test: the process (and, for nginx, its workers) whose CPU time is its cost. */
    static final class Server implements AutoCloseable {
        final String name;
        final int port;
        private final Process process;
        private final List<Long> pids;

        Server(String name, int port, Process process, List<Long> pids) {
            this.name = name;
            this.port = port;
            this.process = process;
            this.pids = pids;
        }

        /** The CPU time of all its processes so far. */
        long cpuNanos() {
            long sum = 0;
            for (long pid : pids) sum += ObjectBenchProcesses.cpuNanos(pid);
            return sum;
        }

        long pid() {
            return process.pid();
        }

        @Override
        public void close() {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }

    /** What the bench needs and does not find, each with how to get it; empty when all is there. */
    static List<String> missing(boolean get, boolean put, String s3proxyClasspath) {
        List<String> missing = new ArrayList<>();
        if (get && onPath("nginx") == null) missing.add("nginx (the GET peer): apt-get install nginx, or scripts/install-deps.sh");
        if (get && onPath("wrk") == null) missing.add("wrk (the GET client): apt-get install wrk, or scripts/install-deps.sh");
        if (put && s3proxyClasspath == null && onPath("mvn") == null) {
            missing.add("mvn (resolves s3proxy, the PUT peer; or give --s3proxy-classpath): apt-get install maven");
        }
        return missing;
    }

    /** The executable {@code name} on PATH (or in /usr/sbin, where Debian puts nginx), else null. */
    static Path onPath(String name) {
        List<String> dirs = new ArrayList<>(Arrays.asList(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        dirs.add("/usr/sbin");
        for (String d : dirs) {
            Path p = Path.of(d.isEmpty() ? "." : d, name);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    /** Basalt's S3 server over the directory mountpath {@code mountpath}, in a JVM of its own. */
    static Server startBasalt(Path mountpath, String accessKey, String secretKey, List<String> extraJvmFlags, Path log)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(BASALT_JVM_FLAGS);
        cmd.addAll(extraJvmFlags);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), ObjectBenchServer.class.getName(), mountpath.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(log.toFile());
        pb.environment().put(ObjectBenchServer.KEY_ENV, accessKey);
        pb.environment().put(ObjectBenchServer.SECRET_ENV, secretKey);
        Process p = pb.start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        while (line != null && !line.startsWith("PORT ")) line = out.readLine(); // an agent may print first (async-profiler)
        if (line == null || !line.startsWith("PORT ")) {
            p.destroyForcibly();
            throw new IOException("Basalt's S3 server did not start (see " + log + "): " + Files.readString(log).strip());
        }
        return new Server("basalt", Integer.parseInt(line.substring(5).trim()), p, List.of(p.pid()));
    }

    /**
     * nginx serving {@code root} at {@code /BUCKET/}: master and workers in the foreground ({@code daemon off}), every
     * file it writes (pid, error log, temp dirs) under {@code prefix}, sendfile on, no access log.
     */
    static Server startNginx(Path prefix, String bucket, Path root, int workers) throws IOException {
        Files.createDirectories(prefix.resolve("tmp"));
        int port = freePort();
        Path conf = prefix.resolve("nginx.conf");
        Files.writeString(conf, nginxConf(prefix, bucket, root, workers, port));
        Path log = prefix.resolve("error.log");
        Process p = new ProcessBuilder(onPath("nginx").toString(), "-p", prefix + "/", "-c", conf.toString(), "-e", log.toString())
                .redirectErrorStream(true).redirectOutput(prefix.resolve("stdout.log").toFile()).start();
        awaitPort("nginx", p, port, log);
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        List<Long> pids = new ArrayList<>();
        while (pids.size() < workers && System.currentTimeMillis() < deadline) {
            pids = new ArrayList<>(p.children().map(ProcessHandle::pid).toList());
            if (pids.size() < workers) sleepMs(50);
        }
        pids.add(p.pid());
        return new Server("nginx", port, p, pids);
    }

    static String nginxConf(Path prefix, String bucket, Path root, int workers, int port) throws IOException {
        // As root, nginx's workers would run as nobody, who cannot read the store's 0600 files: they stay root here.
        boolean root0 = ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        String tmp = prefix.resolve("tmp").toString();
        return (root0 ? "user root root;\n" : "") + "daemon off;\nmaster_process on;\nworker_processes " + workers + ";\n"
                + "pid " + prefix.resolve("nginx.pid") + ";\nerror_log " + prefix.resolve("error.log") + " warn;\n"
                + "events { worker_connections 1024; }\n"
                + "http {\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  tcp_nodelay on;\n"
                + "  keepalive_requests 1000000;\n  keepalive_timeout 300s;\n  default_type application/octet-stream;\n"
                + "  client_body_temp_path " + tmp + "/body;\n  proxy_temp_path " + tmp + "/proxy;\n"
                + "  fastcgi_temp_path " + tmp + "/fastcgi;\n  uwsgi_temp_path " + tmp + "/uwsgi;\n  scgi_temp_path " + tmp + "/scgi;\n"
                + "  server {\n    listen 127.0.0.1:" + port + ";\n    location /" + bucket + "/ { alias " + root + "/; }\n  }\n}\n";
    }

    /** s3proxy (filesystem backend under {@code basedir}, SigV2/SigV4 with the one key) in a JVM of its own. */
    static Server startS3Proxy(String classpath, Path dir, Path basedir, String accessKey, String secretKey) throws IOException {
        Files.createDirectories(basedir);
        int port = freePort();
        Path props = dir.resolve("s3proxy.properties");
        Files.writeString(props, "s3proxy.endpoint=http://127.0.0.1:" + port + "\ns3proxy.authorization=aws-v2-or-v4\n"
                + "s3proxy.identity=" + accessKey + "\ns3proxy.credential=" + secretKey + "\njclouds.provider=filesystem\n"
                + "jclouds.filesystem.basedir=" + basedir + "\n");
        // Its default logging is DEBUG on every request: warnings only, or the peer would be measured logging.
        Path logback = dir.resolve("s3proxy-logback.xml");
        Files.writeString(logback, "<configuration><appender name=\"E\" class=\"ch.qos.logback.core.ConsoleAppender\">"
                + "<target>System.err</target><encoder><pattern>%d %level %logger %msg%n</pattern></encoder></appender>"
                + "<root level=\"WARN\"><appender-ref ref=\"E\"/></root></configuration>\n");
        Path log = dir.resolve("s3proxy.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Dlogback.configurationFile=" + logback, "-cp", classpath, S3PROXY_MAIN,
                "--properties", props.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        awaitPort("s3proxy", p, port, log);
        return new Server("s3proxy", port, p, List.of(p.pid()));
    }

    /** s3proxy's class path, resolved by Maven from a one-dependency pom in {@code dir} (offline first). */
    static String s3proxyClasspath(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        String[] gav = S3PROXY_COORDINATES.split(":");
        Files.writeString(dir.resolve("pom.xml"), "<project xmlns=\"http://maven.apache.org/POM/4.0.0\"><modelVersion>4.0.0</modelVersion>"
                + "<groupId>io.basalt.bench</groupId><artifactId>s3proxy-classpath</artifactId><version>1</version><dependencies>"
                + "<dependency><groupId>" + gav[0] + "</groupId><artifactId>" + gav[1] + "</artifactId><version>" + gav[2]
                + "</version></dependency></dependencies></project>\n");
        Path out = dir.resolve("classpath.txt");
        for (boolean offline : new boolean[] {true, false}) {
            List<String> cmd = new ArrayList<>(List.of(onPath("mvn").toString(), "-q", "-B", "dependency:build-classpath",
                    "-Dmdep.outputFile=" + out, "-Dmdep.includeScope=runtime"));
            if (offline) cmd.add("-o");
            Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("mvn.log").toFile()).start();
            if (p.waitFor() == 0 && Files.exists(out)) {
                String deps = Files.readString(out).strip();
                Path jar = Path.of(System.getProperty("user.home"), ".m2", "repository", gav[0].replace('.', '/'), gav[1], gav[2],
                        gav[1] + "-" + gav[2] + ".jar");
                return jar + File.pathSeparator + deps;
            }
        }
        throw new IOException("Maven could not resolve " + S3PROXY_COORDINATES + " (see " + dir.resolve("mvn.log")
                + "); give its class path with --s3proxy-classpath");
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }

    private static void awaitPort(String name, Process p, int port, Path log) throws IOException {
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        while (System.currentTimeMillis() < deadline) {
            if (!p.isAlive()) throw new IOException(name + " exited at start (see " + log + ")");
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                return;
            } catch (IOException e) {
                sleepMs(100);
            }
        }
        p.destroyForcibly();
        throw new IOException(name + " did not listen on 127.0.0.1:" + port + " within " + START_TIMEOUT_MS / 1000 + " s (see " + log + ")");
    }

    static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }

    /** utime + stime of process {@code pid} (fields 14 and 15 of /proc/PID/stat). */
    static long cpuNanos(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[14 - 3]) + Long.parseLong(f[15 - 3])) * NANOS_PER_TICK;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the CPU time of process " + pid + " (exited?): " + e.getMessage(), e);
        }
    }
}
