package io.basalt.qemu;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code ./basalt stat --interval 1s} run beside a guest test, as a user would in another terminal: each report row of
 * one device is kept with the moment it was read here, so a test can ask when the guest's I/O first showed.
 */
final class StatWatcher implements AutoCloseable {
    /** One row: when it arrived (System.nanoTime) and its reads and writes per second. */
    record Row(long arrivedNs, double readsPerSecond, double writesPerSecond, String line) {}

    private final Process process;
    private final Thread reader;
    private final List<Row> rows = new ArrayList<>();
    private final StringBuilder output = new StringBuilder();

    private StatWatcher(Process process, String name, String kind) {
        this.process = process;
        this.reader = Thread.ofPlatform().name("stat-watcher").daemon(true).start(() -> read(name, kind));
    }

    /** Starts {@code basalt stat} on the daemon of {@code dataDir}, watching the rows of device {@code name} of {@code kind}. */
    static StatWatcher start(Path dataDir, String name, String kind) {
        BasaltDaemon.ensureBuilt();
        ProcessBuilder pb = new ProcessBuilder("bash", GuestTools.repoRoot().resolve("basalt").toString(), "stat", "--data-dir", dataDir.toString(),
                "--interval", "1s").redirectErrorStream(true); // every row: the log shows drives and reactors too
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("BASALT_NO_BUILD", "1");
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            return new StatWatcher(p, name, kind);
        } catch (IOException e) {
            throw new UncheckedIOException("could not start basalt stat", e);
        }
    }

    private void read(String name, String kind) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                long now = System.nanoTime();
                String[] cells = line.trim().split("\\s+");
                synchronized (this) {
                    output.append(line).append('\n');
                    if (cells.length >= 4 && cells[0].equals(name) && cells[1].equals(kind)) {
                        rows.add(new Row(now, Double.parseDouble(cells[2]), Double.parseDouble(cells[3]), line));
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            synchronized (this) {
                output.append("(reading basalt stat failed: ").append(e).append(")\n");
            }
        }
    }

    /** The first row at or after {@code sinceNs} showing reads or writes, or null. */
    synchronized Row firstActiveSince(long sinceNs) {
        for (Row r : rows) if (r.arrivedNs() >= sinceNs && r.readsPerSecond() + r.writesPerSecond() > 0) return r;
        return null;
    }

    synchronized int rowCount() {
        return rows.size();
    }

    synchronized String output() {
        return output.toString();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
            reader.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
