package io.basalt.bench;

import io.basalt.engine.Sizes;
import picocli.CommandLine.ArgGroup;
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
 * {@code basalt bench vhost}: vhost-user-blk backends side by side from one QEMU guest. The options are read here; the
 * run is qemu-tests' VhostBench (guest, backends, CPU sampling): in-process when it constructs this command with its
 * runner (qemu-tests/bench-vhost.sh), else (the launcher, whose jars do not hold the guest harness) through
 * qemu-tests/bench-vhost.sh with the same arguments, checked here first.
 */
@Command(name = "vhost", header = "Basalt vs qemu-storage-daemon over vhost-user-blk, from one QEMU guest.",
        sortOptions = false, usageHelpWidth = Cli.HELP_WIDTH,
        description = "Basalt and qemu-storage-daemon (or other vhost-user-blk backends) side by side from one QEMU guest: "
                + "fio 4k randread/randwrite QD32 and 1M read/write QD4 on each backend in turn, the order alternating "
                + "every round; IOPS, MiB/s and each backend's CPU per I/O, with ratios to qsd's. Runs from a checkout.",
        footer = {"", "Without a backend option: --basalt basalt --qsd qsd. A COMMAND is a template: {image} {socket} {queues}",
                "{dir} are filled in; it runs under bash -c \"exec ...\" and must create {socket}."})
public final class VhostBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    Cli.Help help;

    /** One backend option; the group repeats, so the backends keep the order they were given in. */
    static final class BackendOption {
        @Option(names = "--basalt", paramLabel = "NAME[=SERVE ARGS]", required = true,
                description = "Basalt (./basalt serve; default serve args: --reactors 2 --idle sleep).")
        String basalt;

        @Option(names = "--qsd", paramLabel = "NAME", required = true, description = "qemu-storage-daemon (io_uring, O_DIRECT).")
        String qsd;

        @Option(names = "--backend", paramLabel = "NAME=COMMAND", required = true, description = "Any backend, by command template.")
        String command;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..*")
    List<BackendOption> backends = new ArrayList<>();

    @Option(names = "--seconds", paramLabel = "N", defaultValue = "20", description = "Seconds per job (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "1", description = "Rounds; each figure the median (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--queues", paramLabel = "N", defaultValue = "2", description = "Virtqueues per disk (default: ${DEFAULT-VALUE}).")
    int queues;

    @Option(names = "--guest-cpus", paramLabel = "N", defaultValue = "2", description = "Guest CPUs (default: ${DEFAULT-VALUE}).")
    int guestCpus;

    @Option(names = "--image-size", paramLabel = "SIZE", defaultValue = "1G", description = "Each backend's image, whole MiB, >= 64m (default: ${DEFAULT-VALUE}).")
    String imageSize;

    @Option(names = "--jobs", paramLabel = "NAME", split = ",",
            description = "Only the jobs whose names start with these: randread, randwrite, read, write (default: all).")
    List<String> jobs = new ArrayList<>();

    @Option(names = "--frontend", description = "No guest: Basalt's vhost-user front-end (drive spec vhost-user:SOCKET) drives "
            + "Basalt and qemu-storage-daemon (export in an iothread) at full rate, 4k randread/randwrite, --rounds "
            + "alternated pairs; the figure is each server's CPU per I/O, as Basalt/QSD per pair (median [min-max]).")
    boolean frontend;

    @Option(names = "--device", paramLabel = "null|PATH", defaultValue = "null",
            description = "With --frontend: what both servers export, null (no data touched) or a block device such as /dev/zram1 (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--iodepth", paramLabel = "N", defaultValue = "32", description = "With --frontend: requests in flight per queue (default: ${DEFAULT-VALUE}).")
    int ioDepth;

    @Option(names = "--work-dir", paramLabel = "DIR", description = "Images, logs and the guest's files (default: .build/bench-vhost).")
    Path workDir;

    private final VhostBenchRequest.Runner runner;

    /** From the launcher: the run goes through qemu-tests/bench-vhost.sh. */
    public VhostBenchCommand() {
        this.runner = null;
    }

    /** With the runner that boots the guest (qemu-tests' VhostBench). */
    public VhostBenchCommand(VhostBenchRequest.Runner runner) {
        this.runner = runner;
    }

    @Override
    public Integer call() {
        VhostBenchRequest request = request();
        if (runner == null) return viaScript("qemu-tests/bench-vhost.sh", ownArgs(spec));
        try (PrintStream out = Cli.stream(spec.commandLine().getOut()); PrintStream err = Cli.stream(spec.commandLine().getErr())) {
            return runner.run(request, out, err);
        }
    }

    /** The options as a request; a value out of range is a usage error naming its option. */
    VhostBenchRequest request() {
        List<VhostBenchRequest.Backend> list = new ArrayList<>();
        for (BackendOption b : backends) list.add(backend(b));
        long imageBytes;
        try {
            imageBytes = Sizes.parse(imageSize);
        } catch (IllegalArgumentException e) {
            throw usage("--image-size: " + e.getMessage());
        }
        if (imageBytes < (64L << 20) || imageBytes % (1 << 20) != 0) throw usage("--image-size " + imageSize + ": whole MiB, at least 64m");
        atLeastOne("--seconds", seconds);
        atLeastOne("--rounds", rounds);
        atLeastOne("--queues", queues);
        atLeastOne("--guest-cpus", guestCpus);
        for (String j : jobs) {
            if (!List.of("randread", "randwrite", "read", "write").stream().anyMatch(n -> n.startsWith(j) || j.startsWith(n))) {
                throw usage("--jobs: '" + j + "' names none of randread, randwrite, read, write");
            }
        }
        atLeastOne("--iodepth", ioDepth);
        if (frontend && (list.size() > 1 || list.stream().anyMatch(b -> b.kind() != VhostBenchRequest.Kind.BASALT))) {
            throw usage("--frontend measures Basalt against qemu-storage-daemon: at most one --basalt NAME=SERVE ARGS, no other backend");
        }
        if (frontend && !device.equals("null") && !Files.exists(Path.of(device))) throw usage("--device " + device + ": no such device");
        return new VhostBenchRequest(list, jobs, seconds, rounds, imageBytes, queues, guestCpus, workDir, frontend, device, ioDepth);
    }

    private VhostBenchRequest.Backend backend(BackendOption b) {
        String text = b.basalt != null ? b.basalt : b.qsd != null ? b.qsd : b.command;
        int eq = text.indexOf('=');
        String name = eq < 0 ? text : text.substring(0, eq);
        String option = b.basalt != null ? "--basalt" : b.qsd != null ? "--qsd" : "--backend";
        if (!name.matches("[A-Za-z0-9_-]+")) throw usage(option + ": backend name '" + name + "' is not [A-Za-z0-9_-]+");
        if (b.basalt != null) return new VhostBenchRequest.Backend(VhostBenchRequest.Kind.BASALT, name, eq < 0 ? null : text.substring(eq + 1));
        if (b.qsd != null) {
            if (eq >= 0) throw usage("--qsd NAME takes no '=': " + text);
            return new VhostBenchRequest.Backend(VhostBenchRequest.Kind.QSD, name, null);
        }
        if (eq <= 0 || eq == text.length() - 1) throw usage("--backend NAME=COMMAND, got: " + text);
        return new VhostBenchRequest.Backend(VhostBenchRequest.Kind.COMMAND, name, text.substring(eq + 1));
    }

    private void atLeastOne(String option, int value) {
        if (value < 1) throw usage(option + " " + value + " is not at least 1");
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    /** {@code scriptPath} (e.g. qemu-tests/bench-vhost.sh) of the checkout ({@code basalt.home}, set by the launcher) with {@code args}. */
    /**
     * This command's own arguments: a subcommand's parse result holds the whole command line ("bench nvmf --quick"
     * from the launcher), which the script, a command of its own, must not get.
     */
    static List<String> ownArgs(picocli.CommandLine.Model.CommandSpec spec) {
        List<String> all = spec.commandLine().getParseResult().originalArgs();
        int at = all.indexOf(spec.name());
        return at < 0 ? all : all.subList(at + 1, all.size());
    }

    static int viaScript(String scriptPath, List<String> args) {
        Path script = Path.of(System.getProperty("basalt.home", ".")).resolve(scriptPath).toAbsolutePath();
        if (!Files.isRegularFile(script)) throw new IllegalStateException("no " + script + " (it runs from a source checkout; set -Dbasalt.home)");
        List<String> command = new ArrayList<>(List.of("bash", script.toString()));
        command.addAll(args);
        try {
            return new ProcessBuilder(command).inheritIO().start().waitFor();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + script + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Cli.EXIT_FAILURE;
        }
    }
}
