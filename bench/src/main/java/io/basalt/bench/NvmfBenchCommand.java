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
@Command(name = "nvmf", header = "Basalt's NVMe/TCP target vs qemu-nbd, from one QEMU guest.",
        sortOptions = false, usageHelpWidth = Cli.HELP_WIDTH,
        description = "Basalt (NVMe/TCP, uring drive with O_DIRECT) and qemu-nbd (NBD, --cache=none --aio=native) serve the "
                + "same image file on 127.0.0.1, which the guest reaches as 10.0.2.2; the guest's kernel initiators "
                + "(nvme-tcp, nbd) run fio 4k randread/randwrite QD32 and 1M read/write QD4 on each in turn, the order "
                + "swapped every round. Per job: IOPS and MiB/s of each, each server's CPU per I/O (/proc/PID/stat), and "
                + "the per-round basalt/qemu-nbd ratios as median [min-max]. Runs from a checkout.",
        footer = {"", "The issue's goal: >= 1.0x qemu-nbd's IOPS and MiB/s at <= 0.5x its CPU per I/O."})
public final class NvmfBenchCommand implements Callable<Integer> {
    /** Seconds per job without --seconds: short runs, many pairs. */
    static final int SECONDS_DEFAULT = 5;
    /** --quick: seconds per job and image size, enough to exercise every path (tests, smoke runs). */
    static final int QUICK_SECONDS = 2;
    static final String QUICK_IMAGE = "128m";
    static final List<String> JOB_NAMES = List.of("randread", "randwrite", "read", "write");

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

    @Option(names = "--serve-args", paramLabel = "ARGS", defaultValue = "--reactors 2 --idle sleep",
            description = "Basalt's serve options (default: ${DEFAULT-VALUE}).")
    String serveArgs;

    @Option(names = "--jobs", paramLabel = "NAME", split = ",",
            description = "Only the jobs whose names start with these: randread, randwrite, read, write (default: all).")
    List<String> jobs = new ArrayList<>();

    @Option(names = "--work-dir", paramLabel = "DIR", description = "The image, logs and the guest's files (default: .build/bench-nvmf).")
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
        for (String j : jobs) {
            if (JOB_NAMES.stream().noneMatch(n -> n.startsWith(j) || j.startsWith(n))) {
                throw usage("--jobs: '" + j + "' names none of randread, randwrite, read, write");
            }
        }
        return new NvmfBenchRequest(jobs, secondsPerJob, rounds, imageBytes, guestCpus, ioQueues, serveArgs, workDir);
    }

    private void atLeast(String option, int value, int min) {
        if (value < min) throw usage(option + " " + value + " is not at least " + min);
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
