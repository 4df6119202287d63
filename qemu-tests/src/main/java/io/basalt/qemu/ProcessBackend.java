package io.basalt.qemu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Any vhost-user-blk server started as a command that creates a listening unix socket: the start returns once the
 * socket exists, or fails with the server's log if it exits or the wait times out. Output goes to a log file.
 */
public final class ProcessBackend implements VhostBackend {
    /** USER_HZ: /proc reports CPU time in ticks of 1/100 s on every Linux architecture Basalt runs on. */
    private static final long NANOS_PER_TICK = 10_000_000L;
    private static final Duration STOP_GRACE = Duration.ofSeconds(10);

    private final String name;
    private final Path socket;
    private final Path log;
    private final Process process;

    private ProcessBackend(String name, Path socket, Path log, Process process) {
        this.name = name;
        this.socket = socket;
        this.log = log;
        this.process = process;
    }

    /**
     * Starts {@code command} with output to {@code log} and waits up to {@code startTimeout} for {@code socket}.
     * A stale socket file is removed first, so its existence means this server created it.
     */
    public static ProcessBackend start(String name, List<String> command, Path socket, Path log, Duration startTimeout) {
        try {
            Files.deleteIfExists(socket);
            Files.createDirectories(socket.toAbsolutePath().getParent());
            Files.createDirectories(log.toAbsolutePath().getParent());
            Files.writeString(log, "# " + String.join(" ", command) + "\n");
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            p.getOutputStream().close();
            ProcessBackend backend = new ProcessBackend(name, socket, log, p);
            backend.awaitSocket(startTimeout);
            return backend;
        } catch (IOException e) {
            throw new IllegalStateException(name + ": could not start " + command + ": " + e.getMessage(), e);
        }
    }

    private void awaitSocket(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (!Files.exists(socket)) {
                if (!process.isAlive()) {
                    throw new IllegalStateException(name + " exited with status " + process.exitValue()
                            + " before creating " + socket + ":\n" + logText());
                }
                if (System.nanoTime() > deadline) {
                    close();
                    throw new IllegalStateException(name + " did not create " + socket + " within "
                            + timeout.toMillis() + " ms:\n" + logText());
                }
                Thread.sleep(10);
            }
        } catch (InterruptedException e) {
            close();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + name, e);
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Path socket() {
        return socket;
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
        return readLog(log);
    }

    /** A server's log file as text, or why there is none (for failure messages: never throws). */
    static String readLog(Path log) {
        try {
            return Files.readString(log, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** utime + stime of a process, from /proc/PID/stat fields 14 and 15 (all threads of the process). */
    public static long cpuNanos(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // Field 2 (comm) may hold spaces and parentheses: count fields after the last ')'. Field 3 is index 0.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[14 - 3]) + Long.parseLong(f[15 - 3]);
            return ticks * NANOS_PER_TICK;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read CPU time of process " + pid + " (exited?): " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly().waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException ignored) {
            // A leftover socket file is removed by the next start.
        }
    }
}
