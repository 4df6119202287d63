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
import java.util.List;

/**
 * {@code basalt bench vhost --frontend}: vhost-user-blk servers measured past the guest. Basalt's own vhost-user
 * front-end (the drive spec {@code vhost-user:SOCKET,queues=Q}) drives each server at full rate, one reactor and one
 * virtqueue per queue, QD {@code iodepth} each; no QEMU is involved, so the server, not an emulated guest CPU, is the
 * limit. Servers: Basalt ({@code basalt serve}, default policy) and qemu-storage-daemon in its fair set-up (the export
 * in an iothread, aio=io_uring, cache.direct=on), both exporting the same device: {@code null} (Basalt's null, QSD's
 * null-co without read-zeroes: no data touched, the server's cost per request alone) or a block device such as a zram
 * device. Both servers run for the whole benchmark; each pair runs the job on one then the other, the order swapped
 * every pair ({@link ServerPairs}). The figure is the server's CPU per I/O (utime + stime of its process, /proc, over the run) as the ratio
 * Basalt / QSD per pair, median and spread; IOPS are context (on 2 cores the front-end and the server share them).
 */
public final class FrontendBench {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final long NULL_BYTES = 1L << 30;

    private FrontendBench() {}

    /**
     * A running server, what the front-end opens to reach it, and the front-end drive, opened once: every run uses
     * the same connection (a run's channels take the rings the last run's closed channels left), so connecting
     * is not measured and a server is never asked to take a second front-end while it tears the first one down.
     */
    private record Server(String name, ProcessBackend process, String spec, BlockDevice device) implements ServerPairs.Server {
        @Override
        public long pid() {
            return process.pid();
        }

        @Override
        public BenchResult run(BenchParams params) {
            return BenchCli.runBasalt(device, spec, params, IdleStrategy.parse("busy"), 0);
        }

        @Override
        public void close() {
            device.close();
            process.close();
        }
    }

    static int run(VhostBenchRequest request, PrintStream out, PrintStream err) {
        Path workDir = (request.workDir() != null ? request.workDir()
                : GuestTools.repoRoot().resolve(".build/bench-vhost-frontend")).toAbsolutePath();
        String device = request.device() == null ? "null" : request.device();
        List<String> jobs = ServerPairs.jobs(request.jobPrefixes());
        String serveArgs = request.backends().isEmpty() || request.backends().getFirst().argument() == null
                ? VhostBench.Backend.DEFAULT_BASALT_ARGS : request.backends().getFirst().argument();
        err.printf("bench vhost --frontend: basalt serve %s; device %s, %d queue(s) x QD %d, %d job(s) x %d pair(s)"
                + " x 2 servers x %d s%n", serveArgs, device, request.queues(), request.ioDepth(), jobs.size(),
                request.rounds(), request.seconds());
        List<ServerPairs.Server> servers = new ArrayList<>();
        List<ServerPairs.Sample> samples;
        try {
            Files.createDirectories(workDir);
            servers.add(startBasalt(workDir, device, request.queues(), serveArgs));
            servers.add(startQsd(workDir, device, request.queues()));
            samples = ServerPairs.alternate(jobs, servers, request.rounds(), request.ioDepth(), request.queues(), request.seconds(), err);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerPairs.Server s : servers) s.close();
        }
        out.print(ServerPairs.table(samples, servers.get(0).name(), servers.get(1).name()));
        return 0;
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
}
