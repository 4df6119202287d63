package io.basalt.daemon;

import io.basalt.daemon.json.Json;
import io.basalt.daemon.rpc.RpcDispatcher;
import io.basalt.daemon.rpc.RpcServer;
import io.basalt.engine.IdleStrategy;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import io.basalt.nvmeof.initiator.HostIdentity;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A running daemon: its reactors, its drives, and the RPC socket. The one place that wires the layers. Start-up
 * is all or nothing: when any step fails, what was started is stopped again and the socket file removed.
 */
public final class Daemon implements AutoCloseable {
    public static final String SOCKET_NAME = "basalt.sock";
    public static final int REACTORS_MAX = 64;
    public static final int MESSAGE_BYTES_MAX = 1 << 20;
    private static final long FLUSH_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);

    /**
     * @param dataDir         folder holding the socket, the saved state (and the default drives); made 0700 when created
     * @param configFile      calls to replay at start-up instead of the saved state; null: the saved state, or the
     *                        embedded default when there is none (the first start)
     * @param reactorCount    reactor threads to start
     * @param idle            idle strategy name: sleep, wait, backoff or busy
     * @param configWriteback also write the running state back to {@code configFile} after every change
     * @param metrics         where to serve GET /metrics (Prometheus text format), or null for no endpoint
     */
    public record Options(Path dataDir, Path configFile, int reactorCount, String idle, boolean configWriteback,
                          java.net.InetSocketAddress metrics) {
        public Options(Path dataDir, Path configFile, int reactorCount, String idle, boolean configWriteback) {
            this(dataDir, configFile, reactorCount, idle, configWriteback, null);
        }

        public Options(Path dataDir, Path configFile, int reactorCount, String idle) {
            this(dataDir, configFile, reactorCount, idle, false);
        }

        public Options withMetrics(java.net.InetSocketAddress address) {
            return new Options(dataDir, configFile, reactorCount, idle, configWriteback, address);
        }

        public static int defaultReactorCount() {
            return Math.min(2, Runtime.getRuntime().availableProcessors());
        }
    }

    private final Options options;
    private final Path dataDir;
    /** The NVMe host NQN and ID of this daemon's nvme-tcp drives (DATA_DIR/hostnqn, hostid; made at the first start). */
    private HostIdentity hostIdentity;
    private final long startNs = System.nanoTime();
    private final DriveRegistry drives = new DriveRegistry();
    private final VhostRegistry exports = new VhostRegistry(drives);
    private final NvmfRegistry nvmf = new NvmfRegistry(drives, this::reactors);
    private S3Registry s3;
    private final RpcDispatcher dispatcher = new RpcDispatcher(Json.DEPTH_MAX_DEFAULT);
    private final List<Reactor> reactors = new ArrayList<>();
    private final List<String> assemblyLog = new ArrayList<>();
    private RaidMethods raid;
    private StateKeeper state;
    private RpcServer server;
    private final StatsCollector stats = new StatsCollector(drives, exports, nvmf, this::reactors, () -> raid, startNs);
    private MetricsServer metrics;
    private boolean closed;

    private Daemon(Options options) {
        this.options = options;
        this.dataDir = options.dataDir().toAbsolutePath().normalize();
    }

    /** Starts a daemon; throws {@link StartupException} with a message fit for the user. */
    public static Daemon start(Options options) throws StartupException {
        checkOptions(options);
        Daemon d = new Daemon(options);
        try {
            d.startSteps();
            return d;
        } catch (StartupException | RuntimeException e) {
            d.close();
            throw e;
        }
    }

    private static void checkOptions(Options options) throws StartupException {
        if (options.reactorCount() < 1 || options.reactorCount() > REACTORS_MAX) {
            throw new StartupException("--reactors must be 1 to " + REACTORS_MAX + ", was " + options.reactorCount());
        }
        try {
            IdleStrategy.parse(options.idle());
        } catch (IllegalArgumentException e) {
            throw new StartupException("--idle: " + e.getMessage());
        }
        if (options.configWriteback() && options.configFile() == null) {
            throw new StartupException("--config-writeback needs --config FILE (the file it writes the running state back to)");
        }
    }

    private void startSteps() throws StartupException {
        makeDataDir();
        state = new StateKeeper(stateFile(), writebackFile(), this::savedState);
        DaemonMethods.register(dispatcher, drives, this::status);
        VhostMethods.register(dispatcher, exports, this::reactors, dataDir);
        NvmfMethods.register(dispatcher, nvmf);
        s3 = new S3Registry(dataDir, drives, this::reactors);
        S3Methods.register(dispatcher, s3);
        raid = RaidMethods.register(dispatcher, drives, this::reactors, StateKeeper.onChangesNoRpcMade(state));
        SavedState.register(dispatcher, this::savedState);
        stats.register(dispatcher);
        dispatcher.setCallListener(state::rpcCalled);
        bindSocket();
        startMetrics();
        startReactors();
        replayConfig();
        assembleArrays();
        state.arm(); // from here on every change is saved; the first start leaves its state file now
        server.start();
    }

    /** The running state as replayable calls (config_save, the saved state file). */
    private java.util.List<Object> savedState() {
        List<Object> calls = SavedState.calls(drives, raid, exports, nvmf);
        if (s3 != null) calls.addAll(s3.savedCalls());
        return calls;
    }

    private Path writebackFile() throws StartupException {
        if (!options.configWriteback()) return null;
        try {
            return options.configFile().toRealPath(); // a link keeps pointing at the file it names
        } catch (IOException e) {
            throw new StartupException("cannot read config " + options.configFile() + ": " + e);
        }
    }

    private void makeDataDir() throws StartupException {
        try {
            if (!Files.isDirectory(dataDir)) {
                Files.createDirectories(dataDir);
                // Only the owner may reach the socket inside, even in the moment between bind and chmod.
                Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx------"));
            }
        } catch (IOException e) {
            throw new StartupException("cannot create the data folder " + dataDir + ": " + e);
        }
        try { // before any drive opens: nvme-tcp drives connect as this host unless their spec names another
            hostIdentity = HostIdentity.loadOrCreate(dataDir);
            HostIdentity.setDefault(hostIdentity);
        } catch (RuntimeException e) {
            throw new StartupException("NVMe host identity: " + e.getMessage());
        }
    }

    private void bindSocket() throws StartupException {
        Path socket = socketPath();
        try {
            server = RpcServer.bind(socket, dispatcher, MESSAGE_BYTES_MAX);
        } catch (IOException e) {
            throw new StartupException("cannot listen on " + socket + ": " + e.getMessage());
        }
    }

    private void startMetrics() throws StartupException {
        if (options.metrics() == null) return;
        try {
            metrics = MetricsServer.start(options.metrics(), stats::sample);
        } catch (java.io.IOException e) {
            throw new StartupException(MetricsOption.NAME + ": " + e.getMessage());
        }
    }

    /** Where GET /metrics is served, or null without --metrics. */
    public java.net.InetSocketAddress metricsAddress() {
        return metrics == null ? null : metrics.address();
    }

    private void startReactors() throws StartupException {
        for (int i = 0; i < options.reactorCount(); i++) {
            ReactorConfig config = ReactorConfig.defaults("reactor-" + i).withIdle(IdleStrategy.parse(options.idle()));
            try {
                reactors.add(Reactor.start(config));
            } catch (RuntimeException e) {
                throw new StartupException("cannot start reactor-" + i + ": " + e.getMessage()
                        + " (io_uring needs Linux 5.10 or newer and must not be disabled by io_uring_disabled or seccomp)", e);
            }
        }
    }

    /**
     * A --config file replaces the saved state for this start; without one the saved state is replayed, and only
     * the first start (no saved state yet) replays the embedded default. A saved state that cannot be read or
     * replayed stops the start: falling back to the default would hide drives and exports the user made.
     */
    private void replayConfig() throws StartupException {
        if (options.configFile() != null) {
            ConfigReplay.replay(dispatcher, ConfigReplay.load(options.configFile()), options.configFile().toString());
        } else if (Files.exists(stateFile(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try {
                ConfigReplay.replay(dispatcher, ConfigReplay.load(stateFile()), stateFile().toString());
            } catch (StartupException e) {
                throw new StartupException(e.getMessage() + "\n  " + stateFile() + " is the daemon's saved state (its drives and exports, rewritten"
                        + " after every change). Repair it, or start once with --config FILE to replace it (the md superblocks bring the"
                        + " arrays back either way). The embedded default is not used in its place: it would hide what was set up.", e);
            }
        } else {
            try {
                Files.createDirectories(dataDir.resolve("drives"));
            } catch (IOException e) {
                throw new StartupException("cannot create " + dataDir.resolve("drives") + ": " + e);
            }
            ConfigReplay.replay(dispatcher, ConfigReplay.embeddedDefault(dataDir), "(embedded default)");
        }
    }

    /**
     * md arrays come back by themselves: every drive the config left unclaimed is scanned for md superblocks and
     * each usable array started as a volume. What is left out is logged (stderr) and stays an unclaimed drive.
     */
    private void assembleArrays() throws StartupException {
        try {
            raid.assemble(message -> {
                assemblyLog.add(message);
                System.err.println("basalt: " + message);
            });
        } catch (io.basalt.daemon.rpc.RpcException e) {
            throw new StartupException("md assembly: " + e.getMessage());
        }
    }

    /** What the start-up assembly reported, one line each. */
    public List<String> assemblyLog() { return List.copyOf(assemblyLog); }
    RaidMethods raid() { return raid; }

    public Path dataDir() { return dataDir; }
    public Path socketPath() { return dataDir.resolve(SOCKET_NAME); }
    /** DATA_DIR/config.json: the running state, replayed at a start without --config. */
    public Path stateFile() { return dataDir.resolve(StateKeeper.FILE_NAME); }
    StateKeeper state() { return state; }
    public DriveRegistry drives() { return drives; }
    VhostRegistry exports() { return exports; }
    NvmfRegistry nvmf() { return nvmf; }
    S3Registry s3() { return s3; }
    public RpcDispatcher dispatcher() { return dispatcher; }
    public List<Reactor> reactors() { return List.copyOf(reactors); }

    /** The daemon_status result. Counters are read racily from the reactors (monotonic, so harmless). */
    Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", Version.TEXT);
        m.put("pid", ProcessHandle.current().pid());
        m.put("uptime_ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs));
        m.put("data_dir", dataDir.toString());
        m.put("socket", socketPath().toString());
        m.put("host_nqn", hostIdentity.nqn());
        m.put("host_id", hostIdentity.id().toString());
        m.put("drive_count", (long) drives.count());
        m.put("saved_state", state.status());
        List<Object> rs = new ArrayList<>();
        for (Reactor r : reactors) rs.add(reactorStatus(r));
        m.put("reactors", rs);
        return m;
    }

    private static Map<String, Object> reactorStatus(Reactor r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", r.name());
        m.put("running", r.isRunning());
        m.put("idle_strategy", r.idleStrategyName());
        m.put("ring_mode", r.ringMode());
        m.put("fixed_buffers", r.fixedBuffersRegistered());
        m.put("fixed_files", r.fixedFilesRegistered());
        long[] values = r.counters();
        Map<String, Object> counters = new LinkedHashMap<>();
        for (int i = 0; i < values.length && i < Reactor.COUNTER_NAMES.length; i++) counters.put(Reactor.COUNTER_NAMES[i], values[i]);
        m.put("counters", counters);
        return m;
    }

    /**
     * Stops in the order that loses nothing: no new RPCs, then the S3 service (no new requests, then its store), then the exports (their rings drain), then a FLUSH of every drive through a reactor
     * (closing a file does not fsync it), then the reactors (which drain in-flight I/O), then the drives, then
     * the socket file. Idempotent; safe from a shutdown hook.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (metrics != null) metrics.close();
        if (server != null) server.close(); // waits for the calls still running
        if (state != null) state.close(); // their changes are saved while every drive and export is still there
        if (s3 != null) s3.close(); // stops taking requests, then closes its mountpaths
        nvmf.close(); // hosts disconnected, their queues drained, before the drives go
        exports.close(); // sessions end first: their rings drain, so every acknowledged write reached a drive
        if (raid != null) raid.close(!crashing); // failures already seen are recorded while the reactors still run
        flushDrives();
        for (Reactor r : reactors) r.close();
        drives.close();
    }

    private void flushDrives() {
        Reactor reactor = reactors.stream().filter(Reactor::isRunning).findFirst().orElse(null);
        for (DriveRegistry.Drive d : drives.list()) {
            if (reactor == null) {
                System.err.println("basalt: no running reactor to flush drive " + d.name() + "; its last writes may not be durable");
                continue;
            }
            int status = DriveFlusher.flush(reactor, d.device(), FLUSH_TIMEOUT_NS);
            if (status != Status.OK) System.err.println("basalt: flush of drive " + d.name() + " ended with " + Status.name(status));
        }
    }

    private boolean crashing;

    /**
     * Stops as close to a crash as a test can get in one JVM: no clean-stop metadata (write-intent bitmaps keep
     * their bits), then the usual release of reactors and drives. For tests of the unclean-stop paths only.
     */
    synchronized void closeAsIfCrashed() {
        crashing = true;
        close();
    }

    public synchronized boolean isClosed() {
        return closed;
    }
}
