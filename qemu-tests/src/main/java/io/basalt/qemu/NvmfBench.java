package io.basalt.qemu;

import io.basalt.bench.Cli;
import io.basalt.bench.NvmfBenchCommand;
import io.basalt.bench.NvmfBenchRequest;
import io.basalt.qemu.VhostBench.Job;
import io.basalt.qemu.VhostBench.Sample;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Basalt's NVMe/TCP target against qemu-nbd, from one guest over QEMU's user-mode network (the guest reaches the
 * host's 127.0.0.1 as 10.0.2.2). Both servers run for the whole boot and serve the same image file, bypassing the
 * host page cache: Basalt as a uring drive (O_DIRECT) in one subsystem, qemu-nbd with --cache=none --aio=native.
 * The guest connects its kernel initiators once (nvme-tcp: /dev/nvme0n1, nbd: /dev/nbd0, both with the "none"
 * scheduler) and runs the same fio jobs on each device in turn, the order swapped every round; the host samples each
 * server's CPU time at the job's console markers (as {@link VhostBench} does), so CPU per I/O counts only that run.
 * <pre>
 *   ./basalt bench nvmf --rounds 10            # 5 s per job
 *   qemu-tests/bench-nvmf.sh --quick --rounds 5
 * </pre>
 */
public final class NvmfBench {
    public static final String BASALT = "basalt";
    public static final String QEMU_NBD = "qemu-nbd";
    static final String NQN = "nqn.2026-12.io.basalt:bench";
    static final String NBD_EXPORT = "bench";
    /** Where QEMU's user-mode network puts the host's loopback, seen from the guest. */
    static final String HOST_FROM_GUEST = "10.0.2.2";
    private static final Duration SERVER_START = Duration.ofSeconds(60);
    /** The goal: at least qemu-nbd's IOPS and MiB/s at no more than half its CPU per I/O. */
    static final double GOAL_SPEED_RATIO = 1.0;
    static final double GOAL_CPU_RATIO = 0.5;

    /**
     * @param ioQueues  NVMe/TCP I/O queues (nvme connect -i); 0: the kernel's default, one per guest CPU
     * @param serveArgs Basalt's serve options
     */
    public record Options(List<Job> jobs, int seconds, int rounds, long imageBytes, int guestCpus, int ioQueues,
            String serveArgs, Path workDir) {
        public Options {
            if (jobs.isEmpty()) throw new IllegalArgumentException("no jobs");
            if (seconds < 1 || rounds < 1 || guestCpus < 1 || ioQueues < 0) throw new IllegalArgumentException("bad options");
            if (imageBytes < (64L << 20) || imageBytes % (1 << 20) != 0) {
                throw new IllegalArgumentException("image size: whole MiB, at least 64 MiB");
            }
        }
    }

    private NvmfBench() {}

    /** Boots the guest once with both servers running; one sample per job, server and round. */
    public static List<Sample> run(Options o) {
        GuestImage image = GuestTools.guest();
        BasaltDaemon.ensureBuilt();
        List<ProcessBackend> servers = new ArrayList<>();
        try {
            Files.createDirectories(o.workDir());
            Path imageFile = o.workDir().resolve("image.raw");
            if (!Files.exists(imageFile) || Files.size(imageFile) != o.imageBytes()) VhostBench.fill(imageFile, o.imageBytes());
            Path shortDir = Files.createTempDirectory("basalt-nvmf"); // the RPC socket's path is limited to 108 bytes
            int basaltPort = freePort();
            int nbdPort = freePort();
            servers.add(startBasalt(o, imageFile, shortDir, basaltPort));
            servers.add(startQemuNbd(o, imageFile, shortDir, nbdPort));
            Map<String, ProcessBackend> byName = new HashMap<>();
            servers.forEach(p -> byName.put(p.name(), p));
            Map<String, Long> cpuAtStart = new HashMap<>();
            Map<String, Long> cpuUsed = new HashMap<>();
            GuestResult r = Guest.builder(image).workDir(o.workDir().resolve("guest")).cpus(o.guestCpus()).userNetwork()
                    .script(script(o, basaltPort, nbdPort))
                    .timeout(Duration.ofSeconds(180L + (long) o.rounds() * o.jobs().size() * 2 * (o.seconds() + 10)))
                    .consoleListener(line -> VhostBench.onConsole(line, byName, cpuAtStart, cpuUsed))
                    .run().assertSuccess();
            return VhostBench.samples(r, cpuUsed);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            servers.forEach(ProcessBackend::close);
        }
    }

    private static ProcessBackend startBasalt(Options o, Path imageFile, Path shortDir, int port) throws IOException {
        return startBasalt(o.workDir(), shortDir, "uring:" + imageFile.toAbsolutePath(), port, HOST_FROM_GUEST, o.serveArgs(), "");
    }

    /**
     * {@code basalt serve} (a process of its own) from a config: drive "bench" on {@code driveSpec}, subsystem
     * {@link #NQN} any host may connect to with it as namespace 1, one listener on 127.0.0.1:PORT advertising
     * {@code advertise} (null: the listen address). {@code javaOpts} (BASALT_JAVA_OPTS, e.g. a profiler agent or a JFR
     * recording) go to this JVM only. Returns once the port accepts connections.
     */
    static ProcessBackend startBasalt(Path workDir, Path shortDir, String driveSpec, int port, String advertise, String serveArgs,
            String javaOpts) throws IOException {
        Path data = shortDir.resolve("data");
        Path config = workDir.resolve("basalt.json").toAbsolutePath();
        Files.writeString(config, """
                [{"method": "drive_create", "params": {"name": "bench", "spec": "%s"}},
                 {"method": "nvmf_subsystem_create", "params": {"nqn": "%s", "allow_any_host": true}},
                 {"method": "nvmf_namespace_add", "params": {"nqn": "%s", "drive": "bench"}},
                 {"method": "nvmf_listener_add", "params": {"address": "127.0.0.1", "port": %d%s}}]
                """.formatted(driveSpec, NQN, NQN, port, advertise == null ? "" : ", \"advertise\": \"" + advertise + "\""));
        // The launcher execs java, so the PID is the daemon JVM's.
        String command = "exec env JAVA_HOME=" + System.getProperty("java.home") + " BASALT_NO_BUILD=1 BASALT_JAVA_OPTS="
                + shellQuoted(javaOpts) + " " + GuestTools.repoRoot().resolve("basalt") + " serve --data-dir " + data + " --config " + config
                + " " + serveArgs;
        ProcessBackend p = ProcessBackend.start(BASALT, List.of("bash", "-c", command), data.resolve("basalt.sock"),
                workDir.resolve("basalt.log"), SERVER_START);
        awaitPort(p, port);
        return p;
    }

    private static String shellQuoted(String text) {
        return "'" + text.replace("'", "'\\''") + "'";
    }

    private static ProcessBackend startQemuNbd(Options o, Path imageFile, Path shortDir, int port) {
        return startQemuNbd(o.workDir(), shortDir, port, 1, List.of("--format=raw", imageFile.toAbsolutePath().toString()));
    }

    /**
     * qemu-nbd on 127.0.0.1:PORT, export {@link #NBD_EXPORT}, persistent, admitting {@code clients} connections at a
     * time, page cache bypassed (O_DIRECT) with Linux native AIO; {@code image} is what it serves (e.g. --format=raw
     * FILE, or --image-opts OPTIONS). Returns once the port accepts connections.
     */
    static ProcessBackend startQemuNbd(Path workDir, Path shortDir, int port, int clients, List<String> image) {
        Path pidFile = shortDir.resolve("qemu-nbd.pid");
        List<String> command = new ArrayList<>(List.of("qemu-nbd", "--bind=127.0.0.1", "--port=" + port, "--export-name=" + NBD_EXPORT,
                "--persistent", "--shared=" + clients, "--cache=none", "--aio=native", "--pid-file=" + pidFile));
        command.addAll(image);
        ProcessBackend p = ProcessBackend.start(QEMU_NBD, command, pidFile, workDir.resolve("qemu-nbd.log"), SERVER_START);
        awaitPort(p, port);
        return p;
    }

    /** Until the server accepts a connection on 127.0.0.1:port (the socket or PID file can come first). */
    private static void awaitPort(ProcessBackend server, int port) {
        long deadline = System.nanoTime() + SERVER_START.toNanos();
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
                return;
            } catch (IOException notYet) {
                if (!server.isAlive() || System.nanoTime() > deadline) {
                    server.close();
                    throw new IllegalStateException(server.name() + " does not listen on port " + port + ":\n" + server.logText());
                }
                sleepMillis(50);
            }
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The guest script: connect both initiators once, then rounds x jobs x {basalt, qemu-nbd}, the order swapped
     * every other round, then disconnect both (so the servers see orderly ends before they stop).
     */
    static String script(Options o, int basaltPort, int nbdPort) {
        StringBuilder s = new StringBuilder("""
                set -e
                loadmod nvme-tcp
                loadmod nbd
                A=%s
                nvme connect -t tcp -a $A -s %d -n %s%s >/tmp/c 2>&1 || { cat /tmp/c; exit 2; }
                for i in $(seq 100); do [ -b /dev/nvme0n1 ] && break; sleep 0.2; done
                [ -b /dev/nvme0n1 ] || { ls /sys/block; dmesg | tail -20; exit 2; }
                nbd-client $A %d /dev/nbd0 -N %s >/tmp/n 2>&1 || { cat /tmp/n; dmesg | tail -20; exit 3; }
                for i in $(seq 100); do [ "$(cat /sys/block/nbd0/size)" != 0 ] && break; sleep 0.2; done
                [ "$(cat /sys/block/nbd0/size)" != 0 ] || { cat /tmp/n; dmesg | tail -20; exit 3; }
                for d in nvme0n1 nbd0; do echo none >/sys/block/$d/queue/scheduler 2>/dev/null || true; done
                echo "BASALT-RESULT nvme_io_queues=$(dmesg | grep -o 'creating [0-9]* I/O queues' | tail -1 | cut -d' ' -f2)"
                """.formatted(HOST_FROM_GUEST, basaltPort, NQN, o.ioQueues() > 0 ? " -i " + o.ioQueues() : "", nbdPort, NBD_EXPORT));
        for (int round = 1; round <= o.rounds(); round++) {
            boolean basaltFirst = round % 2 == 1;
            for (Job job : o.jobs()) {
                appendJob(s, job, basaltFirst, round, o.seconds());
                appendJob(s, job, !basaltFirst, round, o.seconds());
            }
        }
        return s.append("nvme disconnect -n ").append(NQN).append(" >/dev/null\nnbd-client -d /dev/nbd0 >/dev/null\n").toString();
    }

    private static void appendJob(StringBuilder s, Job job, boolean basalt, int round, int seconds) {
        VhostBench.appendJob(s, job, basalt ? BASALT : QEMU_NBD, round, basalt ? "/dev/nvme0n1" : "/dev/nbd0", seconds);
    }

    /** A ratio's spread over the rounds: median, min and max. */
    public record Ratio(double median, double min, double max) {
        static Ratio of(double[] values) {
            double[] v = values.clone();
            java.util.Arrays.sort(v);
            return new Ratio(VhostBench.median(v), v[0], v[v.length - 1]);
        }

        public boolean finite() {
            return Double.isFinite(median) && Double.isFinite(min) && Double.isFinite(max);
        }

        String text() {
            return String.format(Locale.ROOT, "%.2fx [%.2f-%.2f]", median, min, max);
        }
    }

    /**
     * One job: medians over the rounds of each server's IOPS, MiB/s and CPU microseconds per I/O, and the ratios
     * basalt/qemu-nbd of the pairs (one pair per round, both runs of a round back to back).
     */
    public record Row(String job, int pairs, double basaltIops, double basaltMiBs, double basaltCpuMicrosPerIo,
            double nbdIops, double nbdMiBs, double nbdCpuMicrosPerIo, Ratio iops, Ratio mibs, Ratio cpuPerIo) {
        boolean meetsGoal() {
            return iops.median() >= GOAL_SPEED_RATIO && mibs.median() >= GOAL_SPEED_RATIO && cpuPerIo.median() <= GOAL_CPU_RATIO;
        }
    }

    /** The rows, one per job in the order first seen; a round missing either server's sample is left out. */
    public static List<Row> rows(List<Sample> samples) {
        Map<String, Map<Integer, Sample[]>> byJob = new java.util.LinkedHashMap<>();
        for (Sample x : samples) {
            Sample[] pair = byJob.computeIfAbsent(x.job(), k -> new java.util.TreeMap<>()).computeIfAbsent(x.round(), k -> new Sample[2]);
            pair[x.backend().equals(BASALT) ? 0 : 1] = x;
        }
        List<Row> rows = new ArrayList<>();
        for (Map.Entry<String, Map<Integer, Sample[]>> e : byJob.entrySet()) {
            List<Sample[]> pairs = e.getValue().values().stream().filter(p -> p[0] != null && p[1] != null).toList();
            if (pairs.isEmpty()) continue;
            rows.add(new Row(e.getKey(), pairs.size(),
                    median(pairs, p -> p[0].iops()), median(pairs, p -> p[0].bandwidthKiBs() / 1024), median(pairs, p -> p[0].cpuMicrosPerIo()),
                    median(pairs, p -> p[1].iops()), median(pairs, p -> p[1].bandwidthKiBs() / 1024), median(pairs, p -> p[1].cpuMicrosPerIo()),
                    ratio(pairs, p -> p[0].iops() / p[1].iops()), ratio(pairs, p -> p[0].bandwidthKiBs() / p[1].bandwidthKiBs()),
                    ratio(pairs, p -> p[0].cpuMicrosPerIo() / p[1].cpuMicrosPerIo())));
        }
        return rows;
    }

    private static double median(List<Sample[]> pairs, java.util.function.ToDoubleFunction<Sample[]> f) {
        return VhostBench.median(pairs.stream().mapToDouble(f).toArray());
    }

    private static Ratio ratio(List<Sample[]> pairs, java.util.function.ToDoubleFunction<Sample[]> f) {
        return Ratio.of(pairs.stream().mapToDouble(f).toArray());
    }

    /** The report: a row per job, ratios as median [min-max] over the pairs, then how many jobs meet the goal. */
    public static String table(List<Row> rows) {
        StringBuilder t = new StringBuilder(String.format(Locale.ROOT, "%-18s %5s | %8s %7s %7s | %8s %7s %7s | %-19s %-19s %-19s%n",
                "job", "pairs", "basalt", "MiB/s", "us/IO", "qemu-nbd", "MiB/s", "us/IO", "IOPS basalt/nbd", "MiB/s basalt/nbd",
                "CPU/IO basalt/nbd"));
        int met = 0;
        for (Row r : rows) {
            t.append(String.format(Locale.ROOT, "%-18s %5d | %8.0f %7.1f %7.1f | %8.0f %7.1f %7.1f | %-19s %-19s %-19s%n",
                    r.job(), r.pairs(), r.basaltIops(), r.basaltMiBs(), r.basaltCpuMicrosPerIo(), r.nbdIops(), r.nbdMiBs(),
                    r.nbdCpuMicrosPerIo(), r.iops().text(), r.mibs().text(), r.cpuPerIo().text()));
            if (r.meetsGoal()) met++;
        }
        return t.append(String.format(Locale.ROOT, "goal (>= %.1fx IOPS and MiB/s at <= %.1fx CPU per I/O, medians): met in %d of %d jobs%n",
                GOAL_SPEED_RATIO, GOAL_CPU_RATIO, met, rows.size())).toString();
    }

    /** qemu-tests/bench-nvmf.sh and {@code basalt bench nvmf}: the options are bench's {@link NvmfBenchCommand}. */
    public static void main(String[] args) {
        System.exit(Cli.execute(new NvmfBenchCommand(NvmfBench::run), args, System.out, System.err));
    }

    /** Runs a parsed {@code bench nvmf} request and prints the table. */
    static int run(NvmfBenchRequest request, PrintStream out, PrintStream err) {
        if (request.loopback() != null) return NvmfLoopbackBench.run(request, out, err);
        List<Job> jobs = new ArrayList<>(VhostBench.DEFAULT_JOBS);
        if (!request.jobPrefixes().isEmpty()) jobs.removeIf(j -> request.jobPrefixes().stream().noneMatch(n -> j.name().startsWith(n)));
        Path workDir = request.workDir() != null ? request.workDir() : GuestTools.repoRoot().resolve(".build/bench-nvmf");
        Options o = new Options(jobs, request.seconds(), request.rounds(), request.imageBytes(), request.guestCpus(), request.ioQueues(),
                request.serveArgs(), workDir);
        err.printf("bench-nvmf: basalt (NVMe/TCP) and qemu-nbd (NBD), %d job(s), %d s each, %d round(s): about %d s%n",
                jobs.size(), o.seconds(), o.rounds(), 30 + 2 * jobs.size() * o.rounds() * (o.seconds() + 2));
        out.print(table(rows(run(o))));
        return 0;
    }
}
