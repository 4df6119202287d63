package io.basalt.daemon;

import io.basalt.engine.Sizes;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code basalt serve}: starts the daemon and runs until SIGINT or SIGTERM, then stops cleanly and exits 0. */
@Command(name = "serve", mixinStandardHelpOptions = true, version = BasaltCommand.VERSION,
        description = {"run the daemon (until SIGINT or SIGTERM)",
                "It replays its saved state DATA_DIR/config.json; on the first start it makes four 1 GiB file drives "
                + "d0..d3 with a RAID5 volume vol0 over them, exported over vhost-user-blk and NVMe/TCP (127.0.0.1:4420), "
                + "and an S3 endpoint on 127.0.0.1:8080 (key in DATA_DIR/s3-credentials) over a RAID5 volume obj0 of four "
                + "more file drives o0..o3 and the directory DATA_DIR/objects."})
final class ServeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE",
            description = "start from this JSON config (a list of RPC calls) instead of the saved state")
    Path config;

    @Option(names = "--config-writeback",
            description = "also write the running state back into the --config FILE after every change")
    boolean configWriteback;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "drives, socket and saved state (default: ${DEFAULT-VALUE})")
    Path dataDir = DaemonAddress.DATA_DIR_DEFAULT;

    @Option(names = "--reactors", paramLabel = "N", description = "reactor threads (default: one per core, ${DEFAULT-VALUE} here)")
    int reactors = Daemon.Options.defaultReactorCount();

    @Option(names = "--idle", paramLabel = "STRATEGY", completionCandidates = IdleNames.class,
            description = "how an idle reactor waits: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    String idle = "sleep";

    @Option(names = MetricsOption.NAME, paramLabel = "HOST:PORT", description = MetricsOption.HELP)
    String metrics;

    @Override
    public Integer call() {
        Daemon.Options options = options();
        Daemon daemon;
        try {
            daemon = Daemon.start(options);
        } catch (StartupException e) {
            System.err.println("basalt serve: " + e.getMessage());
            return BasaltCommand.EXIT_FAILURE;
        }
        CountDownLatch stop = new CountDownLatch(1);
        installStopHandlers(daemon, stop);
        printBanner(daemon);
        awaitStop(stop);
        System.err.println("basalt: stopping (flushing drives, draining reactors)...");
        daemon.close();
        System.err.println("basalt: stopped");
        return 0;
    }

    /** The daemon's options; a ParameterException (exit 2) for option combinations picocli cannot express. */
    Daemon.Options options() {
        if (configWriteback && config == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--config-writeback needs --config FILE");
        }
        java.net.InetSocketAddress metricsAddress = null;
        if (metrics != null) {
            try {
                metricsAddress = MetricsOption.parse(metrics);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
        }
        return new Daemon.Options(dataDir, config, reactors, idle, configWriteback).withMetrics(metricsAddress);
    }

    /** Parses serve's arguments alone (tests); an IllegalArgumentException names what is wrong. */
    static Daemon.Options parse(String... args) {
        ServeCommand command = new ServeCommand();
        try {
            new CommandLine(command).parseArgs(args);
            return command.options();
        } catch (CommandLine.ParameterException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** The --idle values, for usage help and completion (IdleStrategy.parse checks them at start). */
    static final class IdleNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return List.of("sleep", "ring-sleep", "wait", "backoff", "busy").iterator();
        }
    }

    /**
     * SIGINT and SIGTERM ask the main thread to stop, so that it can close everything and exit 0 (a plain
     * shutdown hook would exit 130 or 143). The hook stays as the fallback for any other way out.
     */
    private static void installStopHandlers(Daemon daemon, CountDownLatch stop) {
        Runtime.getRuntime().addShutdownHook(new Thread(daemon::close, "basalt-shutdown"));
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("INT"), signal -> stop.countDown());
            sun.misc.Signal.handle(new sun.misc.Signal("TERM"), signal -> stop.countDown());
        } catch (Throwable e) {
            System.err.println("basalt: cannot catch signals (" + e + "); stopping through the shutdown hook instead");
        }
    }

    private static void awaitStop(CountDownLatch stop) {
        try {
            stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void printBanner(Daemon daemon) {
        StringBuilder sb = new StringBuilder();
        sb.append("basalt ").append(Version.TEXT).append(": serving\n");
        sb.append("  data dir: ").append(daemon.dataDir()).append('\n');
        sb.append("  socket:   ").append(daemon.socketPath()).append(" (JSON-RPC 2.0)\n");
        sb.append("  reactors: ").append(daemon.reactors().size()).append('\n');
        if (daemon.metricsAddress() != null) {
            sb.append("  metrics:  http://").append(MetricsOption.format(daemon.metricsAddress())).append(MetricsServer.PATH).append(" (Prometheus)\n");
        }
        sb.append("  state:    ").append(daemon.stateFile()).append(" (rewritten after every change; ./basalt rpc config_save shows it)\n");
        sb.append("  drives:\n");
        for (DriveRegistry.Drive d : daemon.drives().list()) {
            sb.append("    ").append(d.name()).append("  ").append(Sizes.format(d.device().geometry().sizeBytes()))
                    .append("  ").append(d.device().describe()).append('\n');
        }
        if (!daemon.drives().volumes().isEmpty()) sb.append("  raid volumes:\n");
        for (io.basalt.raid.array.ArrayStatus a : daemon.raid().list()) {
            sb.append("    ").append(a.name()).append("  ").append(a.level().label()).append("  ")
                    .append(Sizes.format(a.sizeBytes())).append("  members ").append(String.join(",", a.memberDrives()))
                    .append("  (").append(a.origin()).append(a.degraded() ? ", DEGRADED" : "")
                    .append(")\n");
        }
        for (VhostRegistry.Export e : daemon.exports().list()) {
            Object socket = e.export().status().get("socket");
            sb.append("  vhost-user-blk export ").append(e.export().name()).append(" (drive ").append(e.drive())
                    .append(") at ").append(socket).append("; attach a QEMU guest with:\n")
                    .append("    qemu-system-x86_64 -m 1G -object memory-backend-memfd,id=mem,size=1G,share=on -numa node,memdev=mem \\\n")
                    .append("      -chardev socket,id=").append(e.export().name()).append(",path=").append(socket).append(",reconnect=1 \\\n")
                    .append("      -device vhost-user-blk-pci,chardev=").append(e.export().name()).append(" ...\n")
                    .append("    (QEMU asks one queue per vCPU; this export offers up to ").append(e.export().status().get("num_queues"))
                    .append(")\n");
        }
        nvmfLines(daemon, sb);
        s3Lines(daemon, sb);
        String dataDirOption = daemon.dataDir().equals(Path.of("basalt-data").toAbsolutePath().normalize())
                ? "" : " --data-dir " + daemon.dataDir();
        sb.append("try:  ./basalt rpc").append(dataDirOption).append(" drive_list\n");
        sb.append("stop: Ctrl-C or SIGTERM");
        System.out.println(sb);
    }

    /** Each NVMe/TCP subsystem with namespaces, and the nvme-cli line that connects a Linux host to it. */
    private static void nvmfLines(Daemon daemon, StringBuilder sb) {
        NvmfRegistry.ListenerEntry io = null;
        for (NvmfRegistry.ListenerEntry l : daemon.nvmf().listeners()) if (!l.discoveryOnly() && io == null) io = l;
        if (io == null) return;
        String address = io.advertise() != null ? io.advertise() : io.address();
        for (io.basalt.nvmeof.target.Subsystem s : daemon.nvmf().target().subsystems()) {
            List<NvmfRegistry.NamespaceEntry> nss = daemon.nvmf().namespaces(s.nqn());
            if (nss.isEmpty()) continue;
            sb.append("  NVMe/TCP subsystem ").append(s.nqn()).append(" (namespaces ");
            for (int i = 0; i < nss.size(); i++) sb.append(i == 0 ? "" : ", ").append(nss.get(i).nsid()).append(": ").append(nss.get(i).drive());
            sb.append(") on ").append(NvmfRegistry.hostPort(io.address(), io.port())).append("; connect a Linux host with:\n")
                    .append("    modprobe nvme-tcp; nvme connect -t tcp -a ").append(address).append(" -s ").append(io.port())
                    .append(" -n ").append(s.nqn()).append('\n');
        }
    }

    /**
     * The S3 service and an AWS CLI line that works as printed, credentials included: the key is the data dir
     * owner's (DATA_DIR is 0700, the file 0600), and whoever reads this banner started the daemon.
     */
    private static void s3Lines(Daemon daemon, StringBuilder sb) {
        S3Registry.Running r = daemon.s3().running();
        S3Credentials key = daemon.s3().runningCredentials();
        if (r == null || key == null) return;
        sb.append("  S3 endpoint ").append(S3Registry.endpoint(r)).append(" (region ").append(r.region()).append(", mountpaths ");
        for (int i = 0; i < r.mountpaths().size(); i++) sb.append(i == 0 ? "" : ", ").append(r.mountpaths().get(i));
        sb.append("; key in ").append(daemon.dataDir().resolve(S3Credentials.FILE_NAME)).append("); try:\n")
                .append("    ").append(awsLine(r, key)).append(" s3 ls\n");
    }

    /** The environment and endpoint an AWS CLI (v1 or v2) needs for this service, before its "s3 ..." words. */
    static String awsLine(S3Registry.Running r, S3Credentials key) {
        return "AWS_ACCESS_KEY_ID=" + key.accessKeyId() + " AWS_SECRET_ACCESS_KEY=" + key.secretKey()
                + " AWS_DEFAULT_REGION=" + r.region() + " aws --endpoint-url " + S3Registry.endpoint(r);
    }
}
