package io.basalt.daemon;

import io.basalt.engine.Sizes;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/** {@code basalt serve}: starts the daemon and runs until SIGINT or SIGTERM, then stops cleanly and exits 0. */
final class ServeCommand {
    static final String USAGE = "basalt serve [--config FILE [--config-writeback]] [--data-dir DIR] [--reactors N] [--idle sleep|wait|backoff|busy] [--metrics HOST:PORT]";

    private ServeCommand() {}

    static int run(String[] args) {
        Daemon.Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("basalt serve: " + e.getMessage());
            System.err.println("usage: " + USAGE);
            return 2;
        }
        Daemon daemon;
        try {
            daemon = Daemon.start(options);
        } catch (StartupException e) {
            System.err.println("basalt serve: " + e.getMessage());
            return 1;
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

    static Daemon.Options parse(String[] args) {
        Path config = null;
        Path dataDir = Path.of("basalt-data");
        int reactors = Daemon.Options.defaultReactorCount();
        String idle = "sleep";
        boolean writeback = false;
        java.net.InetSocketAddress metrics = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--config" -> config = Path.of(value(args, ++i, a));
                case "--data-dir" -> dataDir = Path.of(value(args, ++i, a));
                case "--reactors" -> reactors = integer(value(args, ++i, a), a);
                case "--idle" -> idle = value(args, ++i, a);
                case "--config-writeback" -> writeback = true;
                case MetricsOption.NAME -> metrics = MetricsOption.parse(value(args, ++i, a));
                default -> throw new IllegalArgumentException("unknown argument '" + a + "'");
            }
        }
        if (writeback && config == null) throw new IllegalArgumentException("--config-writeback needs --config FILE");
        return new Daemon.Options(dataDir, config, reactors, idle, writeback).withMetrics(metrics);
    }

    static String value(String[] args, int index, String option) {
        if (index >= args.length) throw new IllegalArgumentException(option + " needs a value");
        return args[index];
    }

    private static int integer(String text, String option) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " must be a whole number, was '" + text + "'");
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
        String dataDirOption = daemon.dataDir().equals(Path.of("basalt-data").toAbsolutePath().normalize())
                ? "" : " --data-dir " + daemon.dataDir();
        sb.append("try:  ./basalt rpc").append(dataDirOption).append(" drive_list\n");
        sb.append("stop: Ctrl-C or SIGTERM");
        System.out.println(sb);
    }
}
