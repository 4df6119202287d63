package io.basalt.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The load generators of {@code basalt bench objects}: wrk for GET (a Lua script that rotates through presigned
 * URLs, so the client signs nothing) and {@link S3BenchClient.Connection}s on platform threads for PUT.
 */
final class ObjectLoad {
    /** wrk's socket timeout: a 10 MiB object over 32 busy connections on 2 cores must not count as an error. */
    static final int WRK_TIMEOUT_SECONDS = 30;

    private ObjectLoad() {}

    /** What a run did: requests that succeeded, the payload bytes they moved, the run's wall time, failures. */
    record Result(long ops, long bytes, double seconds, long errors, String errorText) {}

    /** The Lua script: each wrk thread rotates through {@code paths} (path and query), starting at its own place. */
    static Path wrkScript(Path file, List<String> paths) throws IOException {
        StringBuilder s = new StringBuilder("local paths = {\n");
        for (String p : paths) s.append("  \"").append(p).append("\",\n");
        s.append("}\nlocal n = #paths\nlocal i = 0\nlocal counter = 0\n")
                .append("function setup(thread) thread:set(\"id\", counter); counter = counter + 1 end\n")
                .append("function init(args) i = (id or 0) * 7 % n end\n")
                .append("function request()\n  i = i % n + 1\n  return wrk.format(\"GET\", paths[i])\nend\n")
                .append("function done(summary, latency, requests)\n  local e = summary.errors\n")
                .append("  io.write(string.format(\"BENCH requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d\\n\",\n")
                .append("    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout))\nend\n");
        Files.writeString(file, s.toString());
        return file;
    }

    /** wrk for {@code seconds} over {@code connections} connections to 127.0.0.1:port; every response is objectBytes long. */
    static Result wrk(Path script, int port, int connections, int threads, int seconds, long objectBytes) throws IOException {
        List<String> cmd = List.of(ObjectBenchProcesses.onPath("wrk").toString(), "-t", Integer.toString(Math.min(threads, connections)),
                "-c", Integer.toString(connections), "-d", seconds + "s", "--timeout", WRK_TIMEOUT_SECONDS + "s", "-s", script.toString(),
                "http://127.0.0.1:" + port);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(seconds + 60L, TimeUnit.SECONDS)) p.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted");
        }
        String line = out.lines().filter(l -> l.startsWith("BENCH ")).findFirst()
                .orElseThrow(() -> new IOException("wrk printed no summary: " + out.strip()));
        long requests = field(line, "requests");
        long errors = field(line, "connect") + field(line, "read") + field(line, "write") + field(line, "status") + field(line, "timeout");
        long ok = requests - field(line, "status");
        return new Result(ok, ok * objectBytes, field(line, "duration_us") / 1e6, errors, errors > 0 ? line : "");
    }

    private static long field(String line, String name) {
        for (String kv : line.split(" ")) {
            if (kv.startsWith(name + "=")) return Long.parseLong(kv.substring(name.length() + 1));
        }
        throw new IllegalStateException("no " + name + " in wrk's summary " + line);
    }

    /**
     * PUTs of {@code body} for {@code seconds} over {@code connections} connections, each its own thread, connection c
     * cycling through its own {@code keysPerConnection} keys {@code /bucket/prefix-c-i}. A PUT started before the end
     * finishes and counts; the time is until the last one finished.
     */
    static Result put(String hostName, int port, S3BenchClient.Signer signer, String bucket, String prefix, byte[] body,
                      int connections, int keysPerConnection, int seconds) {
        AtomicLong ops = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        AtomicReference<String> firstError = new AtomicReference<>("");
        long startNs = System.nanoTime();
        long endNs = startNs + TimeUnit.SECONDS.toNanos(seconds);
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < connections; c++) {
            int conn = c;
            threads.add(Thread.ofPlatform().name("put-" + c).start(() -> {
                try (S3BenchClient.Connection connection = new S3BenchClient.Connection(hostName, port, signer)) {
                    for (long i = 0; System.nanoTime() < endNs; i++) {
                        int status = connection.put("/" + bucket + "/" + prefix + "-" + conn + "-" + i % keysPerConnection, body);
                        if (status == 200) {
                            ops.incrementAndGet();
                        } else {
                            errors.incrementAndGet();
                            firstError.compareAndSet("", "HTTP " + status);
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    errors.incrementAndGet();
                    firstError.compareAndSet("", e.toString());
                }
            }));
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted");
            }
        }
        double elapsed = (System.nanoTime() - startNs) / 1e9;
        return new Result(ops.get(), ops.get() * body.length, elapsed, errors.get(), firstError.get());
    }
}
