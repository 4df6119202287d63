package io.basalt.vhost;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import io.basalt.shims.Check;
import io.basalt.shims.Errno;
import io.basalt.shims.Libc;
import io.basalt.shims.UnixSocket;
import io.basalt.vhost.blk.BlkConfigSpace;
import io.basalt.vhost.protocol.VhostUser;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A vhost-user-blk export: one BlockDevice offered to QEMU on one unix socket (SPDK's vhost "device"). It
 * listens on its own thread and serves one front-end at a time through a {@link VhostSession}; a second
 * connection while one is active is refused (closed), so two guests never share a disk by accident and a
 * reconnecting QEMU gets in as soon as the old session is gone. Rings are spread over the given reactors.
 */
public final class VhostBlkExport implements AutoCloseable {
    /** How long a new connection waits for the session before it to end (see awaitSessionEnd). */
    static final long SESSION_END_WAIT_MS = 2_000;

    static final long PROTOCOL_FEATURES = (1L << VhostUser.PROTOCOL_F_MQ) | (1L << VhostUser.PROTOCOL_F_REPLY_ACK)
            | (1L << VhostUser.PROTOCOL_F_CONFIG) | (1L << VhostUser.PROTOCOL_F_INFLIGHT_SHMFD)
            | (1L << VhostUser.PROTOCOL_F_RESET_DEVICE) | (1L << VhostUser.PROTOCOL_F_CONFIGURE_MEM_SLOTS)
            | (1L << VhostUser.PROTOCOL_F_STATUS);

    private final VhostBlkExportConfig config;
    private final BlockDevice device;
    private final List<Reactor> reactors;
    private final VhostCounters counters = new VhostCounters();
    private final long offeredFeatures;
    private final BlkConfigSpace blkConfig;
    private final byte[] configSpace;
    private final SharedChannels channels;
    private int listenFd = -1;
    private Thread acceptThread;
    private volatile VhostSession session;
    private volatile boolean closed;

    public VhostBlkExport(VhostBlkExportConfig config, BlockDevice device, List<Reactor> reactors) {
        Check.that(!reactors.isEmpty(), "an export needs at least one reactor");
        this.config = config;
        this.device = device;
        this.reactors = List.copyOf(reactors);
        this.blkConfig = BlkDeviceModel.config(device.geometry(), config.numQueues(), config.readOnly());
        this.offeredFeatures = BlkDeviceModel.features(blkConfig) | (1L << VhostUser.F_PROTOCOL_FEATURES);
        this.configSpace = blkConfig.toBytes();
        this.channels = new SharedChannels(device, this.reactors);
    }

    /** Creates the socket (mode and owner as configured) and starts accepting. Throws with a clear message. */
    public void start() {
        String path = config.socketPath();
        int fd = UnixSocket.listen(path, 16);
        if (fd < 0) {
            throw new IllegalArgumentException("cannot listen on " + path + ": " + Errno.name(fd)
                    + (fd == -Errno.EADDRINUSE ? " (a file is in the way: is another daemon serving it?)" : ""));
        }
        int r = Libc.chmod(path, config.socketMode());
        if (r == 0 && (config.socketUid() >= 0 || config.socketGid() >= 0)) r = Libc.chown(path, config.socketUid(), config.socketGid());
        if (r < 0) {
            Libc.close(fd);
            Libc.unlink(path);
            throw new IllegalArgumentException("cannot set mode/owner of " + path + ": " + Errno.name(r));
        }
        listenFd = fd;
        acceptThread = Thread.ofPlatform().name("vhost-accept-" + config.name()).daemon(true).start(this::acceptLoop);
    }

    private void acceptLoop() {
        while (!closed) {
            int fd = UnixSocket.accept(listenFd);
            if (fd < 0) {
                if (closed) return;
                if (fd == -Errno.EINTR || fd == -Errno.EAGAIN) continue;
                log("accept failed: " + Errno.name(fd));
                sleepQuietly(100);
                continue;
            }
            counters.connections.increment();
            synchronized (this) {
                awaitSessionEnd();
                if (session != null || closed) {
                    counters.refusedConnections.increment();
                    log("refused a second front-end while one is connected");
                    Libc.close(fd);
                    continue;
                }
                session = new VhostSession(this, fd);
            }
            Thread.ofPlatform().name("vhost-session-" + config.name()).daemon(true).start(session);
        }
    }

    /**
     * A front-end that hung up and reconnected at once (a benchmark's next run, a crashed VMM restarted) finds its old
     * session still tearing down (rings stopping on the reactors). Its peer is gone, so it will end: wait for it, up
     * to {@link #SESSION_END_WAIT_MS}, rather than refuse. A second front-end beside a live one is refused after it.
     */
    private void awaitSessionEnd() {
        long deadlineNs = System.nanoTime() + SESSION_END_WAIT_MS * 1_000_000L;
        while (session != null && !closed) {
            long leftMs = (deadlineNs - System.nanoTime()) / 1_000_000L;
            if (leftMs <= 0) return;
            try {
                wait(leftMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    synchronized void sessionEnded(VhostSession ended) {
        if (session == ended) session = null;
        notifyAll();
    }

    // ------------------------------------------------------------------ what sessions need

    VhostBlkExportConfig config() { return config; }
    BlockDevice device() { return device; }
    VhostCounters counters() { return counters; }
    long offeredFeatures() { return offeredFeatures; }
    byte[] configSpace() { return configSpace; }
    BlkConfigSpace blkConfig() { return blkConfig; }
    SharedChannels channels() { return channels; }

    /**
     * Queue i is served by reactor i mod n (round robin): queues spread across cores, each owned by one; queues
     * on one reactor share its channel ({@link SharedChannels}).
     */
    Reactor reactorFor(int queueIndex) {
        return reactors.get(queueIndex % reactors.size());
    }

    void log(String text) {
        System.err.println("vhost " + config.name() + ": " + text);
    }

    // ------------------------------------------------------------------ control plane

    public String name() { return config.name(); }

    public boolean connected() {
        return session != null;
    }

    public Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", config.name());
        m.put("device", device.name());
        m.put("socket", config.socketPath());
        m.put("num_queues", config.numQueues());
        m.put("readonly", config.readOnly());
        m.put("connected", connected());
        VhostSession current = session;
        m.put("in_flight", current == null ? 0 : current.inFlight());
        m.put("reactors", reactors.stream().map(Reactor::name).toList());
        m.put("counters", counters.snapshot());
        return m;
    }

    /** Stops accepting, ends the session (its rings drain first), removes the socket. Idempotent. */
    @Override
    public void close() {
        VhostSession current;
        synchronized (this) {
            if (closed) return;
            closed = true;
            current = session;
        }
        if (listenFd >= 0) {
            UnixSocket.shutdown(listenFd);
            Libc.close(listenFd);
            Libc.unlink(config.socketPath());
        }
        if (current != null) current.close();
        synchronized (this) {
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (session != null && System.nanoTime() < deadline) {
                try {
                    wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }
}
