package io.basalt.qemu;

import io.basalt.bench.BenchCli;
import io.basalt.bench.BenchParams;
import io.basalt.bench.BenchResult;
import io.basalt.bench.VhostBenchRequest;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.IdleStrategy;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code basalt bench vhost --frontend}: vhost-user-blk servers measured past the guest. Basalt's own vhost-user
 * front-end (the drive spec {@code vhost-user:SOCKET,queues=Q}) drives each server at full rate, one reactor and one
 * virtqueue per queue, QD {@code iodepth} each; no QEMU is involved, so the server, not an emulated guest CPU, is the
 * limit. Servers: Basalt ({@code basalt serve}, default policy) and qemu-storage-daemon in its fair set-up (the export
 * in an iothread, aio=io_uring, cache.direct=on), both exporting the same device: {@code null} (Basalt's null, QSD's
 * null-co without read-zeroes: no data touched, the server's cost per request alone) or a block device such as a zram
 * device. Both servers run for the whole benchmark; each pair runs the job on one then the other, the order swapped
 * every pair. The figure is the server's CPU per I/O (utime + stime of its process, /proc, over the run) as the ratio
 * Basalt / QSD per pair, median and spread; IOPS are context (on 2 cores the front-end and the server share them).
 */
public final class FrontendBench {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final long NULL_BYTES = 1L << 30;
    private static final int BLOCK_BYTES = 4096;

    private FrontendBench() {}

    /** One job on one server in one pair. */
    record Sample(String job, String server, int pair, double iops, long ios, long serverCpuNanos, double p99Micros) {
        double cpuMicrosPerIo() {
            return ios == 0 ? Double.NaN : serverCpuNanos / 1000.0 / ios;
        }
    }

    /**
     * A running server, what the front-end opens to reach it, and the front-end drive, opened once: every run uses
     * the same connection (a run's channels take the rings the last run's closed channels left), so connecting
     * is not measured and a server is never asked to take a second front-end while it tears the first one down.
     */
    private record Server(String name, ProcessBackend process, String spec, BlockDevice device) {
        void close() {
            device.close();
            process.close();
        }
    }

    static int run(VhostBenchRequest request, PrintStream out, PrintStream err) {
        Path workDir = (request.workDir() != null ? request.workDir()
                : GuestTools.repoRoot().resolve(".build/bench-vhost-frontend")).toAbsolutePath();
        String device = request.device() == null ? "null" : request.device();
        List<String> jobs = new ArrayList<>(List.of("randread", "randwrite"));
        if (!request.jobPrefixes().isEmpty()) jobs.removeIf(j -> request.jobPrefixes().stream().noneMatch(j::startsWith));
        if (jobs.isEmpty()) throw new IllegalArgumentException("--frontend runs the 4k jobs only: randread, randwrite");
        String serveArgs = request.backends().isEmpty() || request.backends().getFirst().argument() == null
                ? VhostBench.Backend.DEFAULT_BASALT_ARGS : request.backends().getFirst().argument();
        err.printf("bench vhost --frontend: basalt serve %s; device %s, %d queue(s) x QD %d, %d job(s) x %d pair(s)"
                + " x 2 servers x %d s%n", serveArgs, device, request.queues(), request.ioDepth(), jobs.size(),
                request.rounds(), request.seconds());
        List<Server> servers = new ArrayList<>();
        List<Sample> samples = new ArrayList<>();
        try {
            Files.createDirectories(workDir);
            servers.add(startBasalt(workDir, device, request.queues(), serveArgs));
            servers.add(startQsd(workDir, device, request.queues()));
            // Every job once on each server before the pairs: the JIT of both Java sides (front-end and Basalt's
            // server) compiles each job's paths here, not in the first measured pairs (a C2 compile counts as
            // server CPU; qemu-storage-daemon has none).
            for (String job : jobs) for (Server s : servers) measure(s, "warm-up", job, -1, request, err);
            for (int pair = 0; pair < request.rounds(); pair++) {
                for (String job : jobs) {
                    for (int k = 0; k < servers.size(); k++) {
                        Server s = servers.get(pair % 2 == 0 ? k : servers.size() - 1 - k);
                        samples.add(measure(s, job, job, pair, request, err));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (Server s : servers) s.close();
        }
        out.print(table(samples, servers.get(0).name(), servers.get(1).name()));
        return 0;
    }

    private static Sample measure(Server s, String label, String job, int pair, VhostBenchRequest request, PrintStream err) {
        BenchParams params = new BenchParams(job, BLOCK_BYTES, request.ioDepth(), request.queues(),
                Duration.ofSeconds(request.seconds()).toNanos(), 0, job.equals("randread") ? 100 : 0, 1 + pair);
        long cpuStart = ProcessBackend.cpuNanos(s.process().pid());
        BenchResult r = BenchCli.runBasalt(s.device(), s.spec(), params, IdleStrategy.parse("busy"), 0);
        long cpu = ProcessBackend.cpuNanos(s.process().pid()) - cpuStart;
        Sample sample = new Sample(job, s.name(), pair, r.iops(), r.ios(), cpu, r.p99Ns() / 1000.0);
        if (r.errors() > 0) throw new IllegalStateException(s.name() + ": " + r.errors() + " I/O errors in " + job);
        err.printf("  %-9s %-9s %-6s %10.0f IOPS  server %6.2f us CPU/IO%n", label, job, s.name(), sample.iops(),
                sample.cpuMicrosPerIo());
        return sample;
    }

    private static Server startBasalt(Path workDir, String device, int queues, String serveArgs) throws IOException {
        BasaltDaemon.ensureBuilt();
        Path socket = workDir.resolve("basalt.sock");
        String spec = device.equals("null") ? "null:" + (NULL_BYTES >> 20) + "M" : "uring:" + device;
        Path config = workDir.resolve("basalt.json");
        Files.writeString(config, "[{\"method\": \"drive_create\", \"params\": {\"name\": \"d0\", \"spec\": \""
                + spec + "\"}},\n"
                + " {\"method\": \"vhost_create\", \"params\": {\"name\": \"x0\", \"drive\": \"d0\", \"socket\": \"" + socket
                + "\", \"num_queues\": " + queues + "}}]\n");
        String cmd = "exec env BASALT_NO_BUILD=1 " + GuestTools.repoRoot().resolve("basalt") + " serve --data-dir "
                + workDir.resolve("basalt-data") + " --config " + config + " " + serveArgs;
        ProcessBackend p = ProcessBackend.start("basalt", List.of("bash", "-c", cmd), socket, workDir.resolve("basalt.log"),
                START_TIMEOUT);
        return connect("basalt", p, "vhost-user:" + socket + ",queues=" + queues);
    }

    private static Server startQsd(Path workDir, String device, int queues) {
        Path socket = workDir.resolve("qsd.sock");
        String blockdev = device.equals("null") ? "driver=null-co,size=" + NULL_BYTES + ",read-zeroes=off"
                : "driver=host_device,filename=" + device + ",aio=io_uring,cache.direct=on";
        List<String> cmd = QemuStorageDaemon.commandForBlockdev(GuestTools.storageDaemon(), blockdev, socket.toString(),
                String.valueOf(queues));
        ProcessBackend p = ProcessBackend.start("qsd", cmd, socket, workDir.resolve("qsd.log"), START_TIMEOUT);
        return connect("qsd", p, "vhost-user:" + socket + ",queues=" + queues);
    }

    private static Server connect(String name, ProcessBackend process, String spec) {
        try {
            return new Server(name, process, spec, DeviceSpec.parse(spec).open("frontend-" + name));
        } catch (RuntimeException e) {
            process.close();
            throw e;
        }
    }

    /** Per job: each server's median IOPS and CPU/IO, then the per-pair ratios (a / b) as median [min-max]. */
    static String table(List<Sample> samples, String a, String b) {
        StringBuilder t = new StringBuilder(String.format(Locale.ROOT, "%-10s %-7s %6s %10s %11s %9s   %-26s %-26s%n",
                "job", "server", "pairs", "IOPS", "CPU us/IO", "p99 us", "CPU/IO " + a + "/" + b, "IOPS " + a + "/" + b));
        for (String job : samples.stream().map(Sample::job).distinct().toList()) {
            List<Sample> sa = samples.stream().filter(s -> s.job().equals(job) && s.server().equals(a)).toList();
            List<Sample> sb = samples.stream().filter(s -> s.job().equals(job) && s.server().equals(b)).toList();
            int n = Math.min(sa.size(), sb.size());
            double[] cpuRatio = new double[n], iopsRatio = new double[n];
            for (int i = 0; i < n; i++) {
                cpuRatio[i] = sa.get(i).cpuMicrosPerIo() / sb.get(i).cpuMicrosPerIo();
                iopsRatio[i] = sa.get(i).iops() / sb.get(i).iops();
            }
            for (List<Sample> side : List.of(sa, sb)) {
                t.append(String.format(Locale.ROOT, "%-10s %-7s %6d %10.0f %11.2f %9.1f   %-26s %-26s%n", job, side.getFirst().server(),
                        side.size(), median(side.stream().mapToDouble(Sample::iops).toArray()),
                        median(side.stream().mapToDouble(Sample::cpuMicrosPerIo).toArray()),
                        median(side.stream().mapToDouble(Sample::p99Micros).toArray()),
                        side == sa ? spread(cpuRatio) : "1.00x", side == sa ? spread(iopsRatio) : "1.00x"));
            }
        }
        return t.toString();
    }

    private static String spread(double[] v) {
        if (v.length == 0) return "-";
        double[] s = v.clone();
        Arrays.sort(s);
        return String.format(Locale.ROOT, "%.2fx [%.2f-%.2f]", median(s), s[0], s[s.length - 1]);
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
