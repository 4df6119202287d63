package io.basalt.bench;

import io.basalt.engine.Sizes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code basalt bench nvmf}: Basalt's NVMe/TCP target against qemu-nbd, both serving one image file to one QEMU
 * guest over its user-mode network. The options are read here; the run is qemu-tests' NvmfBench: in-process when it
 * constructs this command with its runner (qemu-tests/bench-nvmf.sh), else (the launcher, whose jars do not hold the
 * guest harness) through qemu-tests/bench-nvmf.sh with the same arguments, checked here first.
 */
@Command(name = "nvmf", header = "Basalt's NVMe/TCP target vs qemu-nbd, from one QEMU guest (or on loopback).",
        sortOptions = false, usageHelpWidth = Cli.HELP_WIDTH,
        description = "Basalt (NVMe/TCP, uring drive with O_DIRECT) and qemu-nbd (NBD, --cache=none --aio=native) serve the "
                + "same image file on 127.0.0.1, which the guest reaches as 10.0.2.2; the guest's kernel initiators "
                + "(nvme-tcp, nbd) run fio 4k randread/randwrite QD32 and 1M read/write QD4 on each in turn, the order "
                + "swapped every round. Per job: IOPS and MiB/s of each, each server's CPU per I/O (/proc/PID/stat), and "
                + "the per-round basalt/qemu-nbd ratios as median [min-max]. Runs from a checkout.%n%n"
                + "--loopback: no guest. Basalt's NVMe/TCP initiator (drive spec nvme-tcp://127.0.0.1:PORT/NQN?nsid=1&queues=Q) "
                + "drives Basalt's target (a separate basalt serve process), and fio's nbd engine (--numjobs Q, one connection "
                + "each) drives qemu-nbd, both serving --device on 127.0.0.1; 4k randread/randwrite at --iodepth per queue, "
                + "alternated pairs. Per pair: IOPS and server CPU per I/O (the server process's /proc/PID/stat over the run).",
        footer = {"", "The issue's goal: >= 1.0x qemu-nbd's IOPS and MiB/s at <= 0.5x its CPU per I/O (--loopback: the CPU per I/O part).",
                "Example: basalt bench nvmf --loopback --device /dev/zram1 --queues 2 --seconds 3 --rounds 10"})
public final class NvmfBenchCommand implements Callable<Integer> {
    /** Seconds per job without --seconds: short runs, many pairs. */
    static final int SECONDS_DEFAULT = 5;
    /** --quick: seconds per job and image size, enough to exercise every path (tests, smoke runs). */
    static final int QUICK_SECONDS = 2;
    static final String QUICK_IMAGE = "128m";
    static final List<String> JOB_NAMES = List.of("randread", "randwrite", "read", "write");
    static final List<String> LOOPBACK_JOB_NAMES = List.of("randread", "randwrite");
    /** The initiator's limit (nvme-tcp drives take at most 64 queues); beyond a few, a 2-core host only measures itself. */
    static final int LOOPBACK_QUEUES_MAX = 64;
    static final String SERVE_ARGS_DEFAULT = "--reactors 2 --idle sleep";

    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    Cli.Help help;

    @Option(names = "--quick", description = "Short runs: " + QUICK_SECONDS + " s per job and a " + QUICK_IMAGE
            + " image unless given.")
    boolean quick;

    @Option(names = "--seconds", paramLabel = "N", description = "Seconds per job (default: " + SECONDS_DEFAULT + ").")
    Integer seconds;

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "10",
            description = "Rounds, each one pair per job (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--guest-cpus", paramLabel = "N", defaultValue = "2", description = "Guest CPUs (default: ${DEFAULT-VALUE}).")
    int guestCpus;

    @Option(names = "--io-queues", paramLabel = "N", defaultValue = "0",
            description = "NVMe/TCP I/O queues (nvme connect -i); 0: the kernel's default, one per guest CPU (default: ${DEFAULT-VALUE}).")
    int ioQueues;

    @Option(names = "--image-size", paramLabel = "SIZE", description = "The image, whole MiB, >= 64m (default: 1g; --quick: "
            + QUICK_IMAGE + ").")
    String imageSize;

    @Option(names = "--serve-args", paramLabel = "ARGS",
            description = "Basalt's serve options as one string (default: two reactors, idle policy sleep; in loopback mode one"
                    + " reactor per queue).")
    String serveArgs;

    @Option(names = "--loopback", description = "No guest: Basalt's initiator -> Basalt's target vs fio (nbd engine) -> "
            + "qemu-nbd, on the host's 127.0.0.1; 4k randread/randwrite only.")
    boolean loopback;

    @Option(names = "--device", paramLabel = "null|PATH", defaultValue = "null", description = "With --loopback: what both "
            + "servers serve, null (Basalt's null drive, qemu-nbd's null-co) or a block device such as /dev/zram1 (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--queues", paramLabel = "N", defaultValue = "1", description = "With --loopback: NVMe/TCP I/O queues "
            + "(and target reactors) = fio nbd connections (default: ${DEFAULT-VALUE}).")
    int queues;

    @Option(names = "--iodepth", paramLabel = "N", defaultValue = "32",
            description = "With --loopback: requests in flight per queue (default: ${DEFAULT-VALUE}).")
    int ioDepth;

    @Option(names = "--server-java-opts", paramLabel = "OPTS", defaultValue = "",
            description = "With --loopback: JVM options of Basalt's target process only (e.g. -agentpath:...asyncProfiler...).")
    String serverJavaOpts;

    @Option(names = "--jobs", paramLabel = "NAME", split = ",",
            description = "Only the jobs whose names start with these: randread, randwrite, read, write (--loopback: randread, "
                    + "randwrite) (default: all).")
    List<String> jobs = new ArrayList<>();

    @Option(names = "--work-dir", paramLabel = "DIR", description = "The image, logs and the guest's files (default: .build/bench-nvmf; --loopback: .build/bench-nvmf-loopback).")
    Path workDir;

    private final NvmfBenchRequest.Runner runner;

    /** From the launcher: the run goes through qemu-tests/bench-nvmf.sh. */
    public NvmfBenchCommand() {
        this.runner = null;
    }

    /** With the runner that boots the guest (qemu-tests' NvmfBench). */
    public NvmfBenchCommand(NvmfBenchRequest.Runner runner) {
        this.runner = runner;
    }

    @Override
    public Integer call() {
        NvmfBenchRequest request = request();
        if (runner == null) return VhostBenchCommand.viaScript("qemu-tests/bench-nvmf.sh", VhostBenchCommand.ownArgs(spec));
        try (PrintStream out = Cli.stream(spec.commandLine().getOut()); PrintStream err = Cli.stream(spec.commandLine().getErr())) {
            return runner.run(request, out, err);
        }
    }

    /** The options as a request; a value out of range is a usage error naming its option. */
    NvmfBenchRequest request() {
        String size = imageSize != null ? imageSize : quick ? QUICK_IMAGE : "1g";
        long imageBytes;
        try {
            imageBytes = Sizes.parse(size);
        } catch (IllegalArgumentException e) {
            throw usage("--image-size: " + e.getMessage());
        }
        if (imageBytes < (64L << 20) || imageBytes % (1 << 20) != 0) throw usage("--image-size " + size + ": whole MiB, at least 64m");
        int secondsPerJob = seconds != null ? seconds : quick ? QUICK_SECONDS : SECONDS_DEFAULT;
        atLeast("--seconds", secondsPerJob, 1);
        atLeast("--rounds", rounds, 1);
        atLeast("--guest-cpus", guestCpus, 1);
        atLeast("--io-queues", ioQueues, 0);
        List<String> known = loopback ? LOOPBACK_JOB_NAMES : JOB_NAMES;
        for (String j : jobs) {
            if (known.stream().noneMatch(n -> n.startsWith(j) || j.startsWith(n))) {
                throw usage("--jobs: '" + j + "' names none of " + String.join(", ", known));
            }
        }
        NvmfBenchRequest.Loopback lo = loopback ? loopback() : null;
        String serve = serveArgs != null ? serveArgs : loopback ? "--reactors " + queues + " --idle sleep" : SERVE_ARGS_DEFAULT;
        return new NvmfBenchRequest(jobs, secondsPerJob, rounds, imageBytes, guestCpus, ioQueues, serve, workDir, lo);
    }

    private NvmfBenchRequest.Loopback loopback() {
        atLeast("--queues", queues, 1);
        atLeast("--iodepth", ioDepth, 1);
        if (queues > LOOPBACK_QUEUES_MAX) throw usage("--queues " + queues + " is more than " + LOOPBACK_QUEUES_MAX);
        if (!device.equals("null") && !Files.exists(Path.of(device))) throw usage("--device " + device + ": no such device");
        return new NvmfBenchRequest.Loopback(device, queues, ioDepth, serverJavaOpts);
    }

    private void atLeast(String option, int value, int min) {
        if (value < min) throw usage(option + " " + value + " is not at least " + min);
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
