package io.basalt.nvmeof.initiator;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Capabilities;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.engine.stats.BackendCounters;
import io.basalt.nvmeof.nvme.IdentifyController;
import io.basalt.nvmeof.nvme.IdentifyNamespace;
import io.basalt.nvmeof.nvme.NvmeStatus;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Registers;
import io.basalt.nvmeof.nvme.Sqe;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.UUID;
import java.util.Map;

/**
 * A namespace on an NVMe/TCP target as a drive. Opening runs the admin queue's set-up (blocking): Connect, CAP/VS,
 * CC.EN and CSTS.RDY, Identify Controller and Namespace (and its identity, {@link NsIdentity}), Set Features
 * Number of Queues. A control thread then sends Keep Alive every KATO/2 and, when the admin queue or any I/O queue
 * is lost, reconnects with exponential backoff; a reconnect that finds a different namespace identity or geometry
 * is refused and the drive stays gone. Each channel is one I/O queue on its own connection ({@link NvmeTcpChannel});
 * a channel whose queue belongs to an older controller re-establishes it on its reactor once the device is back.
 * Every queue asks for the digests the spec names ({@code digest=hd,dd}) and a target that refuses one is refused.
 * Counters ({@link InitiatorCounters}, one set per qid, each written by its queue's owner) are summed for
 * {@link #backendCounters} (stat_get's {@code backend} object of the drive).
 */
public final class NvmeTcpDevice implements BlockDevice, BackendCounters {
    static final int KATO_MS = 10_000;
    static final int QUEUE_ENTRIES_MAX = 128;
    static final int RECONNECT_FIRST_MS = 100;
    private static final int ADMIN_SQSIZE0 = 31;
    private static final int READY_POLL_MS = 10;
    private static final int READY_WAIT_MS = 5_000;
    private static final int MPS_MIN_BYTES = 4096;
    private static final int TRANSFER_BYTES_CAP = 1 << 20;
    /**
     * A Connect for a qid the target still holds (Command Sequence Error) is retried this many times, waiting 10 ms,
     * then 20, 40, 80 (150 ms in all): the target tears the qid's old connection down when it sees it closed.
     */
    private static final int QID_BUSY_ATTEMPTS = 5;
    private static final long QID_BUSY_WAIT_MS = 10;
    private static final int CAPSULE_SQE_BYTES = 64;
    private static final int IOCCSZ_UNIT_BYTES = 16;
    /** DLFEAT bits 2:0: what a deallocated block reads (001b zeroes, 010b ones, 000b not reported). */
    private static final int DLFEAT_READ_VALUE_MASK = 0x7;

    /** What the admin set-up learned from one controller. */
    private record Controller(SyncQueue admin, int cntlid, int queueEntries, long inCapsuleBytes, int granted,
                              int blockBytes, long blockCount, int transferBlocks, String identity,
                              Capabilities capabilities) {}

    private final String name;
    private final NvmeTcpSpec spec;
    private final MemorySegment hostId;
    private final Geometry geometry;
    private final int queueEntries;
    private final long inCapsuleBytes;
    private final boolean[] qidUsed;
    private final String identity;
    private final Thread control;
    private final Object signal = new Object();
    /** By qid: 0 is the admin queue and the control thread, 1.. the I/O queues (their channels' reactors). */
    private final InitiatorCounters[] counters;
    private volatile SyncQueue admin;
    private volatile int cntlid;
    /** Bumped each time a (new) controller is up: an I/O queue connected under an older one is stale. */
    private volatile long generation;
    private volatile boolean connected = true;
    private volatile String goneReason;
    private volatile boolean closed;

    private NvmeTcpDevice(String name, NvmeTcpSpec spec, MemorySegment hostId, Controller c, InitiatorCounters adminCounters) {
        this.name = name;
        this.spec = spec;
        this.hostId = hostId;
        this.admin = c.admin();
        this.cntlid = c.cntlid();
        this.queueEntries = c.queueEntries();
        this.inCapsuleBytes = c.inCapsuleBytes();
        this.identity = c.identity();
        this.qidUsed = new boolean[Math.min(c.granted(), spec.queues()) + 1];
        this.counters = new InitiatorCounters[qidUsed.length];
        counters[0] = adminCounters;
        for (int qid = 1; qid < counters.length; qid++) counters[qid] = new InitiatorCounters();
        this.geometry = new Geometry(c.blockBytes(), c.blockCount(), 1, c.transferBlocks(), NvmeTcpChannel.SEGMENTS_MAX,
                true, c.capabilities());
        this.control = Thread.ofPlatform().daemon().name("nvme-tcp-control-" + name).unstarted(this::controlLoop);
    }

    /** Opens the admin queue and identifies the namespace; IllegalArgumentException naming host:port/NQN on failure. */
    public static NvmeTcpDevice open(String name, NvmeTcpSpec spec) {
        MemorySegment hostId = Arena.ofAuto().allocate(16);
        UUID id = spec.hostId();
        hostId.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0, id.getMostSignificantBits());
        hostId.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 8, id.getLeastSignificantBits());
        InitiatorCounters adminCounters = new InitiatorCounters(); // this thread's until the control thread starts
        NvmeTcpDevice d = new NvmeTcpDevice(name, spec, hostId, setUp(spec, hostId, adminCounters), adminCounters);
        d.control.start();
        return d;
    }

    /** Connect, enable, Identify, Set Features on a new admin connection; closes it on failure. */
    private static Controller setUp(NvmeTcpSpec spec, MemorySegment hostId, InitiatorCounters adminCounters) {
        SyncQueue admin = SyncQueue.connect(spec, adminCounters);
        try {
            int cntlid = admin.fabricsConnect(0, ADMIN_SQSIZE0, KATO_MS, 0xFFFF, spec.subsystemNqn(), spec.hostNqn(), hostId);
            long cap = admin.propertyGet(Registers.CAP, true);
            int queueEntries = (int) Math.min(QUEUE_ENTRIES_MAX, (cap & 0xFFFF) + 1);
            admin.propertyGet(Registers.VS, false);
            enable(admin);
            MemorySegment page = Arena.ofAuto().allocate(IdentifyController.SIZE, 4096);
            check(admin, admin.admin(Opcodes.ADMIN_IDENTIFY, 0, Opcodes.CNS_CONTROLLER, 0, page), "Identify Controller");
            int mdts = Sqe.u8(page, IdentifyController.MDTS_OFFSET);
            long transfer = mdts == 0 ? TRANSFER_BYTES_CAP : Math.min(TRANSFER_BYTES_CAP, (long) MPS_MIN_BYTES << mdts);
            long ioccsz = Integer.toUnsignedLong(Sqe.u32(page, IdentifyController.IOCCSZ_OFFSET)) * IOCCSZ_UNIT_BYTES;
            long inCapsule = Math.max(0, ioccsz - CAPSULE_SQE_BYTES);
            int oncs = Sqe.u16(page, IdentifyController.ONCS_OFFSET);
            check(admin, admin.admin(Opcodes.ADMIN_IDENTIFY, spec.nsid(), Opcodes.CNS_NAMESPACE, 0, page),
                    "Identify Namespace " + spec.nsid());
            long nsze = Sqe.u64(page, IdentifyNamespace.NSZE_OFFSET);
            if (nsze <= 0) throw admin.fail("namespace " + spec.nsid() + " is not active (size 0)");
            int format = Sqe.u8(page, IdentifyNamespace.FLBAS_OFFSET) & 0xF;
            int lbads = Sqe.u8(page, IdentifyNamespace.LBAF_OFFSET + (long) format * IdentifyNamespace.LBAF_BYTES
                    + IdentifyNamespace.LBAF_LBADS_OFFSET);
            int blockBytes = 1 << lbads;
            Capabilities capabilities = capabilities(oncs, page);
            String identity = NsIdentity.read(admin, spec.nsid(), page);
            int q0 = spec.queues() - 1;
            check(admin, admin.admin(Opcodes.ADMIN_SET_FEATURES, 0, Opcodes.FEATURE_NUMBER_OF_QUEUES, q0 | (q0 << 16), null),
                    "Set Features Number of Queues " + spec.queues());
            int granted = (int) Math.min(admin.lastDw0() & 0xFFFF, admin.lastDw0() >>> 16) + 1;
            int transferBlocks = (int) Math.max(1, transfer / blockBytes);
            return new Controller(admin, cntlid, queueEntries, inCapsule, granted, blockBytes, nsze, transferBlocks, identity,
                    capabilities);
        } catch (RuntimeException e) {
            admin.close();
            throw e;
        }
    }

    /**
     * The optional operations, from Identify Controller's ONCS and the namespace's Identify data in {@code identifyNs}
     * (read before NsIdentity reuses the page). Write Zeroes (ONCS bit 3) and Dataset Management (bit 2, a discard
     * as its Deallocate attribute) are advertised, and sent, only when the controller has them. A deallocated block
     * reads zeroes only when DLFEAT bits 2:0 are 001b; else it may read ones or its old data, so a discard is
     * advertised without zeroes. NPDG/NPDA (valid with NSFEAT bit 4) give the discard granularity: the controller
     * may leave blocks outside whole preferred units as they were (the larger of the two, 0's based).
     */
    private static Capabilities capabilities(int oncs, MemorySegment identifyNs) {
        boolean writeZeroes = (oncs & IdentifyController.ONCS_WRITE_ZEROES) != 0;
        boolean discard = (oncs & IdentifyController.ONCS_DSM) != 0;
        boolean readsZeroes = (Sqe.u8(identifyNs, IdentifyNamespace.DLFEAT_OFFSET) & DLFEAT_READ_VALUE_MASK)
                == IdentifyNamespace.DLFEAT_READS_ZEROES;
        long granularity = 1;
        if ((Sqe.u8(identifyNs, IdentifyNamespace.NSFEAT_OFFSET) & IdentifyNamespace.NSFEAT_OPTIMAL_IO) != 0) {
            granularity = 1 + Math.max(Sqe.u16(identifyNs, IdentifyNamespace.NPDG_OFFSET),
                    Sqe.u16(identifyNs, IdentifyNamespace.NPDA_OFFSET));
        }
        return Capabilities.NONE.withWriteZeroes(writeZeroes, false).withDiscard(discard, readsZeroes)
                .withDiscardGranularityBlocks(discard ? granularity : 1);
    }

    private static void enable(SyncQueue admin) {
        int cc = Registers.CC_ENABLE | (Registers.IOSQES << Registers.CC_IOSQES_SHIFT)
                | (Registers.IOCQES << Registers.CC_IOCQES_SHIFT);
        admin.propertySet(Registers.CC, cc);
        for (int waitedMs = 0; waitedMs < READY_WAIT_MS; waitedMs += READY_POLL_MS) {
            long csts = admin.propertyGet(Registers.CSTS, false);
            if ((csts & Registers.CSTS_CFS) != 0) throw admin.fail("controller fatal status (CSTS.CFS) after CC.EN=1");
            if ((csts & Registers.CSTS_RDY) != 0) return;
            sleepMs(READY_POLL_MS);
        }
        throw admin.fail("CSTS.RDY not set " + READY_WAIT_MS + " ms after CC.EN=1");
    }

    private static void check(SyncQueue admin, int status, String what) {
        if (status != NvmeStatus.SUCCESS) throw admin.fail(what + " failed: " + NvmeStatus.describe(status));
    }

    /** Keep Alive while connected; after a loss, reconnect with backoff (never on a reactor). */
    private void controlLoop() {
        while (!closed && goneReason == null) {
            if (connected) {
                waitForSignal(KATO_MS / 2);
                if (closed) return;
                if (connected) keepAlive();
            } else {
                reconnect();
            }
        }
    }

    private void keepAlive() {
        try {
            int status = admin.admin(Opcodes.ADMIN_KEEP_ALIVE, 0, 0, 0, null);
            if (status != NvmeStatus.SUCCESS) System.err.println(name + ": Keep Alive: " + NvmeStatus.describe(status));
        } catch (RuntimeException e) {
            if (closed) return;
            System.err.println(name + ": Keep Alive failed, admin queue lost: " + e.getMessage());
            connected = false;
        }
    }

    /** Retries the admin set-up, 100 ms doubling to reconnect_max_ms, until it works, is refused, or close(). */
    private void reconnect() {
        admin.close();
        if (spec.reconnectMaxMs() == 0) {
            goneReason = "connection lost and reconnect_max_ms=0 (never reconnect)";
            System.err.println(name + ": " + goneReason);
            return;
        }
        long delayMs = Math.min(RECONNECT_FIRST_MS, spec.reconnectMaxMs());
        while (!closed) {
            waitForSignal(delayMs);
            if (closed) return;
            Controller c;
            try {
                c = setUp(spec, hostId, counters[0]);
            } catch (RuntimeException e) {
                counters[0].increment(InitiatorCounters.RECONNECT_FAILURES);
                delayMs = Math.min(delayMs * 2, spec.reconnectMaxMs());
                continue;
            }
            String refused = refusal(c);
            if (refused != null) {
                c.admin().close();
                goneReason = refused;
                System.err.println(name + ": " + refused);
                return;
            }
            synchronized (this) {
                if (closed) {
                    c.admin().close();
                    return;
                }
                admin = c.admin();
                cntlid = c.cntlid();
                generation++;
                connected = true;
            }
            counters[0].increment(InitiatorCounters.RECONNECTS);
            return;
        }
    }

    /** Why a reconnected controller may not stand in for the one at open, or null. */
    private String refusal(Controller c) {
        if (!c.identity().equals(identity)) {
            return "nvme-tcp " + spec.where() + " namespace " + spec.nsid() + " changed identity (NGUID mismatch): was "
                    + identity + ", now " + c.identity() + "; refusing it, the drive stays gone";
        }
        if (c.blockBytes() != geometry.logicalBlockBytes() || c.blockCount() != geometry.blockCount()) {
            return "nvme-tcp " + spec.where() + " namespace " + spec.nsid() + " changed geometry (" + c.blockCount()
                    + " blocks of " + c.blockBytes() + " bytes); refusing it, the drive stays gone";
        }
        if (c.queueEntries() != queueEntries || c.granted() < qidUsed.length - 1 || c.inCapsuleBytes() != inCapsuleBytes
                || !c.capabilities().equals(geometry.capabilities())) {
            return "nvme-tcp " + spec.where() + " controller limits changed (queue size, queue count, in-capsule size,"
                    + " Write Zeroes or Dataset Management support, deallocation behaviour); refusing it, the drive"
                    + " stays gone";
        }
        return null;
    }

    private void waitForSignal(long ms) {
        synchronized (signal) {
            try {
                signal.wait(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A queue of {@code queueGeneration} was lost (any thread, never blocks long): the controller is reset. */
    void queueLost(long queueGeneration) {
        if (queueGeneration != generation || !connected) return;
        connected = false;
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    private static void sleepMs(int ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Takes a free qid (or throws, naming the limit). */
    synchronized int takeQid() {
        if (closed) throw new IllegalStateException("nvme-tcp " + spec.where() + ": device closed");
        int qid = 1;
        while (qid < qidUsed.length && qidUsed[qid]) qid++;
        if (qid == qidUsed.length) {
            throw new IllegalStateException("nvme-tcp " + spec.where() + ": all " + (qidUsed.length - 1)
                    + " I/O queues are in use (queues=Q in the spec sets how many channels may open)");
        }
        qidUsed[qid] = true;
        return qid;
    }

    /** I/O queue {@code qid} connected and past Fabrics Connect under the current controller (blocking), or throws. */
    synchronized SyncQueue connectIoQueue(int qid) {
        for (int attempt = 1; ; attempt++) {
            if (closed) throw new IllegalStateException("nvme-tcp " + spec.where() + ": device closed");
            if (!connected) throw new IllegalStateException("nvme-tcp " + spec.where() + ": not connected");
            SyncQueue q = SyncQueue.connect(spec, counters[qid]); // called on the reactor that owns counters[qid]
            try {
                q.fabricsConnect(qid, queueEntries - 1, 0, cntlid, spec.subsystemNqn(), spec.hostNqn(), hostId);
                return q;
            } catch (SyncQueue.ConnectRefused e) {
                q.close();
                // The qid's previous connection (a channel just closed, or one replaced on a swap) is closed on our side
                // but the target has not torn it down yet: give it a moment, a few times, then report.
                if (!e.qidStillAttached() || attempt == QID_BUSY_ATTEMPTS) throw e;
                sleepMs(QID_BUSY_WAIT_MS << (attempt - 1));
            } catch (RuntimeException e) {
                q.close();
                throw e;
            }
        }
    }

    private static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the target to free a queue", e);
        }
    }

    synchronized void releaseQid(int qid) {
        qidUsed[qid] = false;
    }

    int queueDepth() { return queueEntries - 1; }
    int nsid() { return spec.nsid(); }
    long inCapsuleBytes() { return inCapsuleBytes; }
    boolean isClosed() { return closed; }
    boolean isConnected() { return connected; }
    long generation() { return generation; }
    long timeoutNs() { return spec.timeoutMs() * 1_000_000L; }
    /** The digests every queue uses, as ICReq's DGST bits. */
    int digests() { return spec.digests(); }
    InitiatorCounters counters(int qid) { return counters[qid]; }

    /** Commands failed by the per-command timeout since open. */
    public long timeouts() { return backendCounters().get("timeouts"); }
    /** Successful reconnects since open. */
    public long reconnects() { return backendCounters().get("reconnects"); }

    /** Every queue's counters summed, by name (docs/nvmeof.md, "Counters"). Any thread. */
    @Override
    public Map<String, Long> backendCounters() {
        return InitiatorCounters.sum(counters);
    }
    /** Why the drive stays gone for good (identity changed, reconnect off), or null. */
    public String goneReason() { return goneReason; }
    /** The namespace's identity recorded at open (NGUID, EUI-64, UUID as the target gives them). */
    public String identity() { return identity; }
    String where() { return spec.where(); }

    @Override public String name() { return name; }
    @Override public Geometry geometry() { return geometry; }

    @Override
    public BlockChannel openChannel(Reactor reactor) {
        return NvmeTcpChannel.open(this, reactor);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        connected = false;
        control.interrupt();
        synchronized (this) {
            admin.close();
        }
    }

    @Override
    public String describe() {
        String digest = spec.headerDigest() && spec.dataDigest() ? ", digest=hd,dd"
                : spec.headerDigest() ? ", digest=hd" : spec.dataDigest() ? ", digest=dd" : "";
        return "nvme-tcp://" + spec.where() + "?nsid=" + spec.nsid() + " (" + (qidUsed.length - 1) + " queues" + digest + ")";
    }
}
