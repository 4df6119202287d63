package io.basalt.vhost.frontend;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Capabilities;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.shims.Libc;
import io.basalt.vhost.protocol.VhostUser;
import io.basalt.vhost.virtio.VirtioFeatures;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A vhost-user-blk back-end (qemu-storage-daemon, SPDK, Basalt's own export) as a Basalt drive: this process plays
 * QEMU's part. Open connects and sets everything up at once as QEMU does when a guest starts the device (features,
 * config space, a memfd of shared memory, the inflight buffer, every ring with its kick and call eventfds); each
 * {@link #openChannel} then takes the next free ring, so the drive serves at most {@code queues} reactors.
 *
 * <p>A watcher thread sleeps in poll(2) on the control socket: after set-up the back-end has nothing to say, so
 * anything there (a hang-up, a crash, garbage) ends the drive. The watcher marks it gone and writes every call
 * eventfd, waking the reactors, whose channels fail their requests in flight with DEVICE_GONE.
 */
public final class VhostUserBlkDevice implements BlockDevice {
    /** Buffers one vectored request may carry: data is copied through the bounce area, so this is the caller's side only. */
    static final int SEGMENTS_MAX = 256;
    private static final int WATCH_POLL_MS = 1000;
    private static final MemorySegment ONE = Arena.global().allocateFrom(ValueLayout.JAVA_LONG, 1L);

    private final String name;
    private final String path;
    private final FrontendOptions options;
    private final VhostUserConnection connection;
    private final BackendConfig config;
    private final SharedMemory memory;
    private final FrontendQueue[] queues;
    private final Geometry geometry;
    private final int chunkBytes;
    private final int dataDescsMax;
    private final Thread watcher;
    private volatile boolean gone;
    private volatile String goneReason;
    private boolean closed;
    private int attached;

    private VhostUserBlkDevice(String name, String path, FrontendOptions options, VhostUserConnection connection, FrontendSetup.Negotiated n) {
        this.name = name;
        this.path = path;
        this.options = options;
        this.connection = connection;
        this.config = n.config();
        boolean indirect = (n.features() & (1L << VirtioFeatures.RING_INDIRECT_DESC)) != 0;
        boolean eventIdx = (n.features() & (1L << VirtioFeatures.RING_EVENT_IDX)) != 0;
        int block = config.blockBytes();
        int chunk = options.maxTransferBytes();
        if (config.sizeMaxBytes() > 0) chunk = Math.min(chunk, config.sizeMaxBytes() / block * block);
        if (chunk < block) throw connection.fail("size_max " + config.sizeMaxBytes() + " is below the block size " + block);
        int descs = (options.maxTransferBytes() + chunk - 1) / chunk;
        if (config.segMax() > 0) descs = Math.min(descs, config.segMax());
        descs = Math.max(1, Math.min(descs, options.queueSize() - 2)); // 2.7.5.3.1: no chain longer than the ring
        this.chunkBytes = chunk;
        this.dataDescsMax = descs;
        int maxTransfer = (int) Math.min(options.maxTransferBytes(), (long) descs * chunk);
        int perSlot = descs + 2;
        if (!indirect && perSlot > options.queueSize()) throw connection.fail("queue_size " + options.queueSize() + " too small for one request");
        int slots = DriverRing.slots(options.queueSize(), indirect, perSlot);
        long perQueue = FrontendQueue.bytes(options.queueSize(), options.packed(), slots, perSlot, options.maxTransferBytes());
        this.memory = new SharedMemory(name, perQueue * options.queues());
        this.queues = new FrontendQueue[options.queues()];
        for (int i = 0; i < queues.length; i++) {
            queues[i] = FrontendQueue.layOut(memory, perQueue * i, i, options.queueSize(), options.packed(), eventIdx, indirect, perSlot, options.maxTransferBytes());
        }
        this.geometry = geometry(config, maxTransfer);
        this.watcher = Thread.ofPlatform().name("vhost-user-watch-" + name).daemon(true).unstarted(this::watch);
    }

    /** Connects to {@code path} and sets the device up; throws IllegalArgumentException saying what failed. */
    public static VhostUserBlkDevice open(String name, String path, FrontendOptions options) {
        VhostUserConnection c = VhostUserConnection.connect(path);
        VhostUserBlkDevice device = null;
        try {
            FrontendSetup.Negotiated n = FrontendSetup.negotiate(c, options);
            if (options.queues() > n.queuesMax() || options.queues() > n.config().numQueues()) {
                throw c.fail("queues=" + options.queues() + " but the back-end serves " + Math.min(n.queuesMax(), n.config().numQueues()));
            }
            device = new VhostUserBlkDevice(name, path, options, c, n);
            device.start(n);
            return device;
        } catch (RuntimeException e) {
            if (device != null) device.releaseResources();
            else c.close();
            throw e instanceof IllegalArgumentException ? e : new IllegalArgumentException("vhost-user " + path + ": " + e.getMessage(), e);
        }
    }

    private void start(FrontendSetup.Negotiated n) {
        if (n.protocol(VhostUser.PROTOCOL_F_INFLIGHT_SHMFD)) FrontendSetup.inflight(connection, queues.length, options.queueSize());
        FrontendSetup.memTable(connection, memory);
        for (FrontendQueue q : queues) FrontendSetup.ring(connection, q, options.packed());
        if ((n.features() & (1L << VhostUser.F_PROTOCOL_FEATURES)) != 0) {
            for (FrontendQueue q : queues) FrontendSetup.enable(connection, q.index);
        }
        watcher.start();
    }

    private static Geometry geometry(BackendConfig c, int maxTransferBytes) {
        int block = c.blockBytes();
        long sectorsPerBlock = block / BackendConfig.SECTOR_BYTES;
        Capabilities caps = Capabilities.NONE;
        if (c.discardSectorsMax() >= sectorsPerBlock) {
            long granule = Math.max(1, c.discardSectorAlignment() / sectorsPerBlock);
            caps = caps.withDiscardGranularityBlocks(granule).withDiscard(true, false);
        }
        if (c.writeZeroesSectorsMax() >= sectorsPerBlock) caps = caps.withWriteZeroes(true, c.writeZeroesMayUnmap());
        int maxBlocks = maxTransferBytes / block;
        return new Geometry(block, c.blockCount(), 1, maxBlocks, Math.min(SEGMENTS_MAX, maxBlocks), true, caps);
    }

    // ------------------------------------------------------------------ the hang-up watcher

    private void watch() {
        while (!gone) {
            int revents = Libc.poll(connection.socket(), Libc.POLLIN, WATCH_POLL_MS);
            if (revents == 0 || revents == -io.basalt.shims.Errno.EINTR) continue;
            markGone(closedByUs() ? "closed" : revents < 0 ? "poll on the control socket failed" : "the back-end closed the connection or sent an unexpected message");
        }
    }

    private synchronized boolean closedByUs() {
        return closed;
    }

    /** Marks the drive gone and wakes every reactor with a ring through its call eventfd. Any thread. */
    void markGone(String reason) {
        if (gone) return;
        goneReason = reason;
        gone = true;
        for (FrontendQueue q : queues) Libc.write(q.callFd, ONE, 8);
    }

    boolean gone() { return gone; }
    String goneReason() { return goneReason; }
    BackendConfig config() { return config; }
    int chunkBytes() { return chunkBytes; }
    int dataDescsMax() { return dataDescsMax; }

    // ------------------------------------------------------------------ BlockDevice

    @Override public String name() { return name; }
    @Override public Geometry geometry() { return geometry; }

    @Override
    public String describe() {
        return "vhost-user:" + path + " (" + options.queues() + " queue(s) of " + options.queueSize() + ", "
                + (options.packed() ? "packed" : "split") + (gone ? ", gone: " + goneReason : "") + ")";
    }

    /** Takes the next free ring for {@code reactor}; on the reactor's thread. */
    @Override
    public BlockChannel openChannel(Reactor reactor) {
        FrontendQueue q = take();
        return new VhostUserBlkChannel(this, reactor, q);
    }

    private synchronized FrontendQueue take() {
        if (closed) throw new IllegalStateException("vhost-user drive " + name + " is closed");
        for (FrontendQueue q : queues) {
            if (!q.taken) {
                q.taken = true;
                attached++;
                return q;
            }
        }
        throw new IllegalStateException("vhost-user drive " + name + ": all " + queues.length + " queue(s) are in use (open it with queues=N for more reactors)");
    }

    /** A channel has let go of its ring (nothing of it is armed or in flight any more). */
    synchronized void release(FrontendQueue q) {
        q.taken = false;
        attached--;
        if (closed && attached == 0) releaseResources();
    }

    /**
     * Ends the connection (the back-end stops its rings) and releases the shared memory and eventfds once no
     * channel is attached; a channel still open gets DEVICE_GONE for every request. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        markGone("closed");
        connection.shutdown();
        try {
            watcher.join(WATCH_POLL_MS * 2L);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            if (attached == 0) releaseResources();
        }
    }

    private boolean released;

    private synchronized void releaseResources() {
        if (released) return;
        released = true;
        connection.close();
        for (FrontendQueue q : queues) if (q != null) q.closeFds();
        memory.close();
    }
}
