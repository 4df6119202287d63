package io.basalt.qemu;

import io.basalt.bench.BenchCli;
import io.basalt.bench.BenchParams;
import io.basalt.bench.BenchResult;
import io.basalt.bench.FioRunner;
import io.basalt.bench.NvmfBenchRequest;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.IdleStrategy;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code basalt bench nvmf --loopback}: Basalt's NVMe/TCP target against qemu-nbd with no guest, both on the host's
 * 127.0.0.1 and serving the same device, each a process of its own for the whole benchmark. Basalt's side: its
 * NVMe/TCP initiator (drive spec {@code nvme-tcp://127.0.0.1:PORT/NQN?nsid=1&queues=Q}, opened once, one client
 * reactor per queue) drives {@code basalt serve} (reactors = queues unless the serve args say otherwise). The peer:
 * fio's nbd engine ({@code --ioengine=nbd}, libnbd, {@code --numjobs=Q}: one connection per job) drives qemu-nbd
 * ({@code --cache=none --aio=native}, {@code --shared=Q}). Both clients run the same 4k job at the same depth per
 * queue, in pairs alternated by {@link ServerPairs}; the figure is each server process's CPU per I/O.
 * Devices: {@code null} (Basalt's null drive; qemu-nbd's null-co through --image-opts, no read-zeroes: no data
 * touched on either side) or a block device (Basalt's uring drive, O_DIRECT; qemu-nbd -f raw with O_DIRECT and AIO).
 */
public final class NvmfLoopbackBench {
    static final long NULL_BYTES = 1L << 30;
    /** The initiator's reactors: poll while I/O is in flight, sleep when idle (as the target's default). */
    static final String CLIENT_IDLE = "sleep";

    private NvmfLoopbackBench() {}

    /** Basalt's target process and the initiator drive connected to it once for every run. */
    private record BasaltServer(ProcessBackend process, String spec, BlockDevice device) implements ServerPairs.Server {
        @Override
        public String name() {
            return NvmfBench.BASALT;
        }

        @Override
        public long pid() {
            return process.pid();
        }

        @Override
        public BenchResult run(BenchParams params) {
            return BenchCli.runBasalt(device, spec, params, IdleStrategy.parse(CLIENT_IDLE), 0);
        }

        @Override
        public void close() {
            device.close();
            process.close();
        }
    }

    /** qemu-nbd and fio's nbd engine on its URI (fio connects afresh every run: it is a process per run). */
    private record NbdServer(ProcessBackend process, FioRunner fio) implements ServerPairs.Server {
        @Override
        public String name() {
            return NvmfBench.QEMU_NBD;
        }

        @Override
        public long pid() {
            return process.pid();
        }

        @Override
        public BenchResult run(BenchParams params) {
            return fio.run(params);
        }

        @Override
        public void close() {
            process.close();
        }
    }

    /** Runs a parsed {@code bench nvmf --loopback} request and prints the table and the goal line. */
    static int run(NvmfBenchRequest request, PrintStream out, PrintStream err) {
        NvmfBenchRequest.Loopback lo = request.loopback();
        Path workDir = (request.workDir() != null ? request.workDir()
                : GuestTools.repoRoot().resolve(".build/bench-nvmf-loopback")).toAbsolutePath();
        List<String> jobs = ServerPairs.jobs(request.jobPrefixes());
        err.printf("bench nvmf --loopback: basalt serve %s vs qemu-nbd; device %s, %d queue(s) x QD %d, %d job(s) x %d pair(s)"
                + " x 2 servers x %d s%n", request.serveArgs(), lo.device(), lo.queues(), lo.ioDepth(), jobs.size(), request.rounds(),
                request.seconds());
        List<ServerPairs.Server> servers = new ArrayList<>();
        List<ServerPairs.Sample> samples;
        try {
            Files.createDirectories(workDir);
            Path shortDir = Files.createTempDirectory("basalt-nvmf-lo"); // the RPC socket's path is limited to 108 bytes
            servers.add(startBasalt(workDir, shortDir, request));
            servers.add(startQemuNbd(workDir, shortDir, lo));
            samples = ServerPairs.alternate(jobs, servers, request.rounds(), lo.ioDepth(), lo.queues(), request.seconds(), err);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerPairs.Server s : servers) s.close();
        }
        out.print(ServerPairs.table(samples, NvmfBench.BASALT, NvmfBench.QEMU_NBD));
        out.print(goal(ServerPairs.rows(samples, NvmfBench.BASALT, NvmfBench.QEMU_NBD)));
        return 0;
    }

    /** The goal for the target: at most half qemu-nbd's server CPU per I/O (the median of the pair ratios). */
    static String goal(List<ServerPairs.Row> rows) {
        StringBuilder t = new StringBuilder();
        int met = 0;
        for (ServerPairs.Row r : rows) {
            NvmfBench.Ratio cpu = r.ratio(ServerPairs.Sample::cpuMicrosPerIo);
            boolean ok = cpu.median() <= NvmfBench.GOAL_CPU_RATIO;
            if (ok) met++;
            t.append(String.format(Locale.ROOT, "%-10s server CPU/IO basalt/qemu-nbd %s: %s%n", r.job(), cpu.text(), ok ? "meets" : "misses"));
        }
        return t.append(String.format(Locale.ROOT, "goal (<= %.1fx qemu-nbd's server CPU per I/O, median of the pairs): met in %d of %d jobs%n",
                NvmfBench.GOAL_CPU_RATIO, met, rows.size())).toString();
    }

    /** What the target serves: Basalt's null drive or a uring drive (O_DIRECT) on the block device. */
    static String basaltDrive(String device) {
        return device.equals("null") ? "null:" + (NULL_BYTES >> 20) + "M" : "uring:" + device;
    }

    /** What qemu-nbd serves: a null-co node of the same size (no read-zeroes), or the block device as raw. */
    static List<String> nbdImage(String device) {
        return device.equals("null") ? List.of("--image-opts", "driver=null-co,size=" + NULL_BYTES + ",read-zeroes=off")
                : List.of("--format=raw", device);
    }

    static String initiatorSpec(int port, int queues) {
        return "nvme-tcp://127.0.0.1:" + port + "/" + NvmfBench.NQN + "?nsid=1&queues=" + queues;
    }

    private static ServerPairs.Server startBasalt(Path workDir, Path shortDir, NvmfBenchRequest request) throws IOException {
        BasaltDaemon.ensureBuilt();
        NvmfBenchRequest.Loopback lo = request.loopback();
        int port = NvmfBench.freePort();
        ProcessBackend p = NvmfBench.startBasalt(workDir, shortDir, basaltDrive(lo.device()), port, null, request.serveArgs(),
                lo.serverJavaOpts());
        String spec = initiatorSpec(port, lo.queues());
        try {
            return new BasaltServer(p, spec, DeviceSpec.parse(spec).open("loopback-initiator"));
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    private static ServerPairs.Server startQemuNbd(Path workDir, Path shortDir, NvmfBenchRequest.Loopback lo) throws IOException {
        int port = NvmfBench.freePort();
        ProcessBackend p = NvmfBench.startQemuNbd(workDir, shortDir, port, lo.queues(), nbdImage(lo.device()));
        return new NbdServer(p, FioRunner.nbd("nbd://127.0.0.1:" + port + "/" + NvmfBench.NBD_EXPORT, "fio"));
    }
}
