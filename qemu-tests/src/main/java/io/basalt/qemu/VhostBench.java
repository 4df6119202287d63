package io.basalt.qemu;

import io.basalt.bench.Cli;
import io.basalt.bench.VhostBenchCommand;
import io.basalt.bench.VhostBenchRequest;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * vhost-user-blk backends side by side, from one guest: each backend exports its own image (same size, same data
 * written in full) as one disk (/dev/vda, /dev/vdb, ...), and the guest runs the same fio jobs on each disk in turn,
 * alternating the order every round. The host samples each backend's CPU time (/proc/PID/stat) when the guest
 * announces a job's start and end on the console, so CPU per I/O counts only that backend's own job.
 * <pre>
 *   ./basalt bench vhost --seconds 20 --rounds 3               # Basalt and qemu-storage-daemon, side by side
 *   qemu-tests/bench-vhost.sh --qsd qsd --backend 'other=my-server --image {image} --socket {socket} --queues {queues}'
 * </pre>
 * A backend is a name and a command template; {image}, {socket}, {queues} and {dir} are filled in, the command runs
 * under {@code bash -c "exec ..."} (so its PID is the server's), and must create {socket}. Without a backend option,
 * the built-in Basalt ("basalt") and qemu-storage-daemon ("qsd") entries run, and each row carries its ratio to qsd.
 */
public final class VhostBench {
    /** One fio workload. */
    public record Job(String name, String rw, int blockKiB, int queueDepth) {
        String fioArgs() {
            return "--rw=" + rw + " --bs=" + blockKiB + "k --iodepth=" + queueDepth;
        }
    }

    public static final List<Job> DEFAULT_JOBS = List.of(
            new Job("randread-4k-qd32", "randread", 4, 32),
            new Job("randwrite-4k-qd32", "randwrite", 4, 32),
            new Job("read-1m-qd4", "read", 1024, 4),
            new Job("write-1m-qd4", "write", 1024, 4));

    /**
     * A backend: a name, a command template (see the class comment) and, optionally, a file template written to
     * {dir}/NAME.json before the command starts (placeholders filled in the same way; Basalt's config).
     */
    public record Backend(String name, String commandTemplate, String configTemplate) {
        public Backend {
            if (!name.matches("[A-Za-z0-9_-]+")) throw new IllegalArgumentException("backend name: " + name);
        }

        /** How the default Basalt backend serves: two reactors that sleep in io_uring_enter when idle. */
        public static final String DEFAULT_BASALT_ARGS = "--reactors 2 --idle sleep";

        public Backend(String name, String commandTemplate) {
            this(name, commandTemplate, null);
        }

        /**
         * Basalt: {@code ./basalt serve} with two reactors that sleep when idle (a busy-polling reactor would take a
         * core from the TCG guest and from the other backend on a 2-core host), one uring drive (O_DIRECT) on the
         * image, one export on the socket.
         */
        public static Backend basalt(String name) {
            return basalt(name, DEFAULT_BASALT_ARGS);
        }

        /** Basalt with other {@code serve} options, e.g. "--reactors 1 --idle wait" (for tuning runs). */
        public static Backend basalt(String name, String serveArgs) {
            // BasaltDaemon.ensureBuilt() runs first (startBackend): the launcher need not check the sources again.
            return new Backend(name, "env BASALT_NO_BUILD=1 " + GuestTools.repoRoot().resolve("basalt") + " serve --data-dir {dir}/" + name
                    + "-data --config {dir}/" + name + ".json " + serveArgs,
                    "[{\"method\": \"drive_create\", \"params\": {\"name\": \"bench\", \"spec\": \"uring:{image}\"}},\n"
                    + " {\"method\": \"vhost_create\", \"params\": {\"name\": \"bench\", \"drive\": \"bench\", "
                    + "\"socket\": \"{socket}\", \"num_queues\": {queues}}}]\n");
        }

        /** The built-in reference: qemu-storage-daemon, io_uring, O_DIRECT. */
        public static Backend qemuStorageDaemon(String name) {
            return new Backend(name, String.join(" ", QemuStorageDaemon.commandTemplate(
                    GuestTools.storageDaemon(), "{image}", "{socket}", "{queues}")));
        }
    }

    public record Options(List<Backend> backends, List<Job> jobs, int seconds, int rounds, long imageBytes,
            int queues, int guestCpus, Path workDir) {
        public Options {
            if (backends.isEmpty() || backends.size() > 8) throw new IllegalArgumentException("1..8 backends");
            if (jobs.isEmpty()) throw new IllegalArgumentException("no jobs");
            if (seconds < 1 || rounds < 1 || queues < 1 || guestCpus < 1) throw new IllegalArgumentException("bad options");
            if (imageBytes < (64L << 20) || imageBytes % (1 << 20) != 0) {
                throw new IllegalArgumentException("image size: whole MiB, at least 64 MiB");
            }
        }
    }

    /** One job on one backend in one round. */
    public record Sample(String job, String backend, int round, double iops, double bandwidthKiBs, long ioCount,
            long backendCpuNanos) {
        double cpuMicrosPerIo() {
            return ioCount == 0 ? Double.NaN : backendCpuNanos / 1000.0 / ioCount;
        }
    }

    private VhostBench() {}

    public static List<Sample> run(Options o) {
        GuestImage image = GuestTools.guest();
        List<ProcessBackend> running = new ArrayList<>();
        try {
            Files.createDirectories(o.workDir());
            Path sockets = Files.createTempDirectory("basalt-bench"); // short: socket paths are limited to 108 bytes
            for (Backend b : o.backends()) running.add(startBackend(b, o, sockets));
            Map<String, ProcessBackend> byName = new HashMap<>();
            running.forEach(p -> byName.put(p.name(), p));
            Map<String, Long> cpuAtStart = new HashMap<>();
            Map<String, Long> cpuUsed = new HashMap<>();
            Guest.Builder g = Guest.builder(image).workDir(o.workDir().resolve("guest")).cpus(o.guestCpus())
                    .script(script(o))
                    .timeout(Duration.ofSeconds(120L + (long) o.rounds() * o.jobs().size() * o.backends().size() * (o.seconds() + 10)))
                    .consoleListener(line -> onConsole(line, byName, cpuAtStart, cpuUsed));
            for (ProcessBackend p : running) g.vhostUserBlk(p.socket(), o.queues());
            return samples(g.run().assertSuccess(), cpuUsed);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            running.forEach(ProcessBackend::close);
        }
    }

    /** The guest's BASALT-RESULT job lines with the CPU time {@link #onConsole} measured for each. */
    static List<Sample> samples(GuestResult r, Map<String, Long> cpuUsed) {
        List<Sample> samples = new ArrayList<>();
        for (Map<String, String> m : r.resultLines()) {
            if (!m.containsKey("job")) continue;
            String key = m.get("job") + "/" + m.get("backend") + "/" + m.get("round");
            Long cpu = cpuUsed.get(key);
            if (cpu == null) throw new AssertionError("no CPU sample for " + key + ": console markers lost?\n" + r.describe());
            samples.add(new Sample(m.get("job"), m.get("backend"), Integer.parseInt(m.get("round")),
                    Double.parseDouble(m.get("iops")), Double.parseDouble(m.get("bw_kib")), Long.parseLong(m.get("ios")), cpu));
        }
        return samples;
    }

    /** JOB-START and JOB-END lines from the guest: sample the named backend's CPU time at each. */
    static void onConsole(String line, Map<String, ? extends VhostBackend> backends, Map<String, Long> start, Map<String, Long> used) {
        boolean isStart = line.contains("BASALT-JOB-START");
        if (!isStart && !line.contains("BASALT-JOB-END")) return;
        int at = line.indexOf(isStart ? "BASALT-JOB-START" : "BASALT-JOB-END");
        Map<String, String> kv = GuestResult.parsePairs(line.substring(line.indexOf(' ', at) + 1));
        VhostBackend b = backends.get(kv.get("backend"));
        if (b == null) return;
        String key = kv.get("job") + "/" + kv.get("backend") + "/" + kv.get("round");
        long now = b.cpuNanos();
        if (isStart) start.put(key, now);
        else if (start.containsKey(key)) used.put(key, now - start.get(key));
    }

    private static ProcessBackend startBackend(Backend b, Options o, Path sockets) throws IOException {
        Path image = o.workDir().resolve("image-" + b.name() + ".raw");
        if (!Files.exists(image) || Files.size(image) != o.imageBytes()) fill(image, o.imageBytes());
        Path socket = sockets.resolve(b.name() + ".sock");
        java.util.function.UnaryOperator<String> fill = t -> t.replace("{image}", image.toAbsolutePath().toString())
                .replace("{socket}", socket.toString()).replace("{queues}", String.valueOf(o.queues()))
                .replace("{dir}", o.workDir().toAbsolutePath().toString());
        String cmd = fill.apply(b.commandTemplate());
        if (b.configTemplate() != null) Files.writeString(o.workDir().resolve(b.name() + ".json"), fill.apply(b.configTemplate()));
        if (cmd.contains(GuestTools.repoRoot().resolve("basalt").toString())) BasaltDaemon.ensureBuilt();
        return ProcessBackend.start(b.name(), List.of("bash", "-c", "exec " + cmd), socket,
                o.workDir().resolve(b.name() + ".log"), Duration.ofSeconds(60));
    }

    /** Every block written (random bytes): reads of holes or unwritten extents would skip the disk. */
    static void fill(Path image, long bytes) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        SplittableRandom random = new SplittableRandom(42);
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            for (long off = 0; off < bytes; off += buf.capacity()) {
                buf.clear();
                while (buf.hasRemaining()) buf.putLong(random.nextLong());
                buf.flip();
                while (buf.hasRemaining()) ch.write(buf, off + buf.position());
            }
            ch.force(true);
        }
    }

    /** The guest script: rounds x jobs x backends, order of backends reversed every other round. */
    static String script(Options o) {
        StringBuilder s = new StringBuilder("set -e\n");
        for (int round = 1; round <= o.rounds(); round++) {
            for (Job job : o.jobs()) {
                List<Integer> order = new ArrayList<>();
                for (int i = 0; i < o.backends().size(); i++) order.add(i);
                if (round % 2 == 0) java.util.Collections.reverse(order);
                for (int i : order) appendJob(s, job, o.backends().get(i).name(), round, "/dev/vd" + (char) ('a' + i), o.seconds());
            }
        }
        return s.toString();
    }

    /**
     * One fio run in the guest script, between JOB-START and JOB-END console markers (the host samples the
     * backend's CPU time at each), then its BASALT-RESULT line: I/Os done, IOPS and KiB/s.
     */
    static void appendJob(StringBuilder s, Job job, String backend, int round, String device, int seconds) {
        String tag = "job=" + job.name() + " backend=" + backend + " round=" + round;
        s.append("echo 'BASALT-JOB-START ").append(tag).append("'; usleep 200000\n")
                .append("fio --name=j --filename=").append(device).append(" --ioengine=libaio --direct=1 ")
                .append(job.fioArgs()).append(" --runtime=").append(seconds)
                .append(" --time_based --norandommap --randrepeat=0 --output-format=terse --terse-version=3 >/tmp/out\n")
                .append("echo 'BASALT-JOB-END ").append(tag).append("'\n")
                // terse v3: 6 read KiB, 7 read KiB/s, 8 read IOPS; 47 write KiB, 48 write KiB/s, 49 write IOPS
                .append("awk -F';' '{ printf \"BASALT-RESULT ").append(tag)
                .append(" ios=%d iops=%d bw_kib=%d\\n\", ($6 + $47) / ").append(job.blockKiB())
                .append(", $8 + $49, $7 + $48 }' /tmp/out\n");
    }

    /**
     * Medians over rounds, one row per job and backend. With more than one backend, each row also gives its IOPS and
     * CPU per I/O as a ratio to the reference backend's in the same job: the one named "qsd" if there is one, else
     * the last one listed.
     */
    public static String table(List<Sample> samples) {
        Map<String, List<Sample>> groups = new LinkedHashMap<>();
        for (Sample x : samples) groups.computeIfAbsent(x.job() + "\u0000" + x.backend(), k -> new ArrayList<>()).add(x);
        List<String> backends = samples.stream().map(Sample::backend).distinct().toList();
        String reference = backends.contains("qsd") ? "qsd" : backends.get(backends.size() - 1);
        boolean ratios = backends.size() > 1;
        StringBuilder t = new StringBuilder(String.format(Locale.ROOT, "%-20s %-14s %6s %10s %10s %12s %10s",
                "job", "backend", "rounds", "IOPS", "MiB/s", "backend CPU s", "CPU us/IO"));
        if (ratios) t.append(String.format(Locale.ROOT, " %10s %10s", "IOPS/" + shortName(reference), "CPU/" + shortName(reference)));
        t.append('\n');
        for (List<Sample> g : groups.values()) {
            double iops = median(g.stream().mapToDouble(Sample::iops).toArray());
            double cpu = median(g.stream().mapToDouble(Sample::cpuMicrosPerIo).toArray());
            t.append(String.format(Locale.ROOT, "%-20s %-14s %6d %10.0f %10.1f %12.2f %10.2f",
                    g.get(0).job(), g.get(0).backend(), g.size(), iops,
                    median(g.stream().mapToDouble(Sample::bandwidthKiBs).toArray()) / 1024,
                    median(g.stream().mapToDouble(x -> x.backendCpuNanos() / 1e9).toArray()), cpu));
            if (ratios) {
                List<Sample> ref = groups.get(g.get(0).job() + "\u0000" + reference);
                if (ref == null) {
                    t.append(String.format(Locale.ROOT, " %10s %10s", "-", "-"));
                } else {
                    double refIops = median(ref.stream().mapToDouble(Sample::iops).toArray());
                    double refCpu = median(ref.stream().mapToDouble(Sample::cpuMicrosPerIo).toArray());
                    t.append(String.format(Locale.ROOT, " %9.2fx %9.2fx", iops / refIops, cpu / refCpu));
                }
            }
            t.append('\n');
        }
        return t.toString();
    }

    private static String shortName(String backend) {
        return backend.length() > 5 ? backend.substring(0, 5) : backend;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** qemu-tests/bench-vhost.sh and {@code basalt bench vhost}: the options are bench's {@link VhostBenchCommand}. */
    public static void main(String[] args) {
        System.exit(Cli.execute(new VhostBenchCommand(VhostBench::run), args, System.out, System.err));
    }

    /** Runs a parsed {@code bench vhost} request and prints the table. */
    static int run(VhostBenchRequest request, PrintStream out, PrintStream err) {
        if (request.frontend()) return FrontendBench.run(request, out, err);
        List<Backend> backends = new ArrayList<>();
        for (VhostBenchRequest.Backend b : request.backends()) {
            backends.add(switch (b.kind()) {
                case BASALT -> b.argument() == null ? Backend.basalt(b.name()) : Backend.basalt(b.name(), b.argument());
                case QSD -> Backend.qemuStorageDaemon(b.name());
                case COMMAND -> new Backend(b.name(), b.argument());
            });
        }
        if (backends.isEmpty()) {
            backends.add(Backend.basalt("basalt"));
            backends.add(Backend.qemuStorageDaemon("qsd"));
        }
        List<Job> jobs = new ArrayList<>(DEFAULT_JOBS);
        if (!request.jobPrefixes().isEmpty()) jobs.removeIf(j -> request.jobPrefixes().stream().noneMatch(n -> j.name().startsWith(n)));
        Path workDir = request.workDir() != null ? request.workDir() : GuestTools.repoRoot().resolve(".build/bench-vhost");
        Options o = new Options(backends, jobs, request.seconds(), request.rounds(), request.imageBytes(), request.queues(),
                request.guestCpus(), workDir);
        err.printf("bench-vhost: %d backend(s), %d job(s), %d s each, %d round(s): about %d s%n", backends.size(),
                jobs.size(), o.seconds(), o.rounds(), 15 + backends.size() * jobs.size() * o.rounds() * (o.seconds() + 1));
        out.print(table(run(o)));
        return 0;
    }
}
