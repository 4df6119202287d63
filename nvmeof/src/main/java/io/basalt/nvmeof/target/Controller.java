package io.basalt.nvmeof.target;

import io.basalt.engine.Reactor;
import io.basalt.nvmeof.nvme.IdentifyController;
import io.basalt.nvmeof.nvme.LogPages;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Registers;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One controller: made by an admin-queue Connect, joined by I/O-queue Connects naming its cntlid, gone when its
 * admin queue disconnects. Its queues live on any reactors. The registers (CC, CSTS) are written by the admin
 * queue's reactor only; the queue table, features and asynchronous events are control-path state under the
 * controller's lock; the I/O path reads only volatile fields (CSTS) and never locks.
 */
public final class Controller {
    /** Asynchronous Event Requests held at once (AERL + 1), as nvmet. */
    static final int AER_LIMIT = 4;
    /** CAP.TO: worst time to become ready, in 500 ms units (nvmet says 15). */
    static final int READY_TIMEOUT_500MS = 15;
    /** KAS: keep-alive granularity in 100 ms units. */
    static final int KEEP_ALIVE_GRANULARITY_100MS = 10;
    private static final long KEEP_ALIVE_CHECK_MAX_NS = TimeUnit.SECONDS.toNanos(1);

    static final long AER_HELD = -1;
    static final long AER_LIMIT_EXCEEDED = -2;

    private final Target target;
    private final Subsystem subsystem;
    private final int cntlid;
    private final String hostNqn;
    private final byte[] hostId;
    private final QueuePair admin;
    private final ErrorLog errors;
    private final QueuePair[] queues;
    private volatile QueuePair[] live;
    private volatile long keepAliveTimeoutMs;

    private int cc; // admin reactor only
    private volatile int csts;
    private volatile int asyncEventConfig;
    private boolean volatileWriteCache = true;

    // Guarded by this.
    private final long[] heldAers = new long[AER_LIMIT];
    private int heldAerCount;
    private final ArrayDeque<Integer> pendingEvents = new ArrayDeque<>();
    private boolean namespaceNoticeMasked;
    private boolean discoveryNoticeMasked;
    private final TreeSet<Integer> changedNamespaces = new TreeSet<>();
    private boolean changedNamespacesOverflow;
    private final long[] retired = new long[QueueCounters.COUNT];
    private boolean closed;

    private final Reactor.Poller keepAlive = new Reactor.Poller() {
        private long nextCheckNs;
        private boolean expired;

        @Override
        public int poll(long nowNs) {
            if (nowNs < nextCheckNs || expired) return 0;
            nextCheckNs = nowNs + Math.min(KEEP_ALIVE_CHECK_MAX_NS, TimeUnit.MILLISECONDS.toNanos(Math.max(1, keepAliveTimeoutMs / 4)));
            if (!keepAliveExpired(nowNs)) return 0;
            expired = true;
            String why = "keep-alive timeout: no command for " + keepAliveTimeoutMs + " ms";
            System.err.println("basalt: nvmf: controller " + cntlid + " of " + subsystem.nqn() + " (host " + hostNqn + ", " + admin.peer()
                    + "): " + why + "; its queues are closed");
            fail(why);
            return 1;
        }

        @Override
        public boolean needsPolling() {
            return false;
        }
    };

    Controller(Target target, Subsystem subsystem, int cntlid, String hostNqn, byte[] hostId, QueuePair admin, long katoMs) {
        this.target = target;
        this.subsystem = subsystem;
        this.cntlid = cntlid;
        this.hostNqn = hostNqn;
        this.hostId = hostId.clone();
        this.admin = admin;
        this.errors = new ErrorLog(target.config().errorLogEntries());
        this.queues = new QueuePair[target.config().ioQueuesMax() + 1];
        this.queues[0] = admin;
        this.live = new QueuePair[] {admin};
        this.keepAliveTimeoutMs = katoMs == 0 && subsystem.isDiscovery() ? target.config().discoveryKeepAliveMs() : katoMs;
    }

    public int cntlid() { return cntlid; }
    public String hostNqn() { return hostNqn; }
    public byte[] hostId() { return hostId.clone(); }
    public Subsystem subsystem() { return subsystem; }
    public long keepAliveTimeoutMs() { return keepAliveTimeoutMs; }
    public String peer() { return admin.peer(); }
    ErrorLog errors() { return errors; }
    Reactor.Poller keepAlivePoller() { return keepAlive; }
    Target target() { return target; }

    // ------------------------------------------------------------------ registers (admin reactor)

    long cap() {
        return Registers.capMqes(target.config().ioQueueEntriesMax()) | Registers.CAP_CQR
                | ((long) READY_TIMEOUT_500MS << Registers.CAP_TO_SHIFT) | Registers.CAP_CSS_NVM;
    }

    int cc() { return cc; }
    int csts() { return csts; }

    boolean ready() {
        return (csts & Registers.CSTS_RDY) != 0;
    }

    /** A CC write: enabling checks the queue entry sizes, disabling or shutting down stops the controller (nvmet_update_cc). */
    void writeCc(int value) {
        int old = cc;
        cc = value;
        boolean enable = (value & Registers.CC_ENABLE) != 0, wasEnabled = (old & Registers.CC_ENABLE) != 0;
        if (enable && !wasEnabled) csts = validConfiguration(value) ? Registers.CSTS_RDY : Registers.CSTS_CFS;
        if (!enable && wasEnabled) {
            cc = 0;
            csts &= ~Registers.CSTS_RDY;
        }
        int shn = (value >>> Registers.CC_SHN_SHIFT) & Registers.CC_SHN_MASK;
        int oldShn = (old >>> Registers.CC_SHN_SHIFT) & Registers.CC_SHN_MASK;
        if (shn != 0 && oldShn == 0) {
            cc = 0;
            csts = (csts & ~Registers.CSTS_RDY) | Registers.CSTS_SHST_COMPLETE;
        }
        if (shn == 0 && oldShn != 0) csts &= ~Registers.CSTS_SHST_MASK;
    }

    private static boolean validConfiguration(int value) {
        int css = (value >>> Registers.CC_CSS_SHIFT) & Registers.CC_CSS_MASK;
        int mps = (value >>> Registers.CC_MPS_SHIFT) & Registers.CC_MPS_MASK;
        int iosqes = (value >>> Registers.CC_IOSQES_SHIFT) & Registers.CC_QES_MASK;
        int iocqes = (value >>> Registers.CC_IOCQES_SHIFT) & Registers.CC_QES_MASK;
        return css == 0 && mps == 0 && iosqes == Registers.IOSQES && iocqes == Registers.IOCQES;
    }

    // ------------------------------------------------------------------ identify and features

    IdentifyController.Values identifyValues() {
        TargetConfig c = target.config();
        boolean discovery = subsystem.isDiscovery();
        int oncs = discovery ? 0 : IdentifyController.ONCS_DSM | IdentifyController.ONCS_WRITE_ZEROES;
        return new IdentifyController.Values(c.vendorId(), subsystem.serial(), subsystem.model(), c.firmware(),
                discovery ? 0 : IdentifyController.CMIC_MULTI_PORT_MULTI_CONTROLLER, c.mdts(), cntlid,
                Registers.VERSION_1_3, supportedEvents(),
                discovery ? IdentifyController.CNTRLTYPE_DISCOVERY : IdentifyController.CNTRLTYPE_IO, AER_LIMIT,
                AER_LIMIT, IdentifyController.LPA_EXTENDED_DATA, errors.capacity(), KEEP_ALIVE_GRANULARITY_100MS,
                c.ioQueueEntriesMax(), discovery ? 0 : TargetConfig.NAMESPACES_MAX, oncs,
                discovery ? 0 : IdentifyController.VWC_PRESENT,
                IdentifyController.SGLS_SUPPORTED | IdentifyController.SGLS_OFFSET_DATA_BLOCK, subsystem.nqn(),
                4 + c.inCapsuleDataBytes() / 16, 1);
    }

    /** OAES: the notices this controller sends. */
    int supportedEvents() {
        return subsystem.isDiscovery() ? IdentifyController.OAES_DISCOVERY_LOG_CHANGE : IdentifyController.OAES_NAMESPACE_ATTRIBUTE;
    }

    void asyncEventConfig(int value) { asyncEventConfig = value & supportedEvents(); }
    int asyncEventConfig() { return asyncEventConfig; }
    void keepAliveTimeoutMs(long ms) { keepAliveTimeoutMs = ms; }
    synchronized void volatileWriteCache(boolean enabled) { volatileWriteCache = enabled; }
    synchronized boolean volatileWriteCache() { return volatileWriteCache; }

    // ------------------------------------------------------------------ queues

    /** Adds I/O queue {@code qid}; false when the controller already has it or is gone. */
    synchronized boolean attach(int qid, QueuePair queue) {
        if (closed || queues[qid] != null) return false;
        queues[qid] = queue;
        live = Arrays.stream(queues).filter(q -> q != null).toArray(QueuePair[]::new);
        return true;
    }

    /** An I/O queue disconnected: its qid is free again, its counts kept. */
    synchronized void detach(int qid, QueuePair queue) {
        if (queues[qid] != queue) return;
        queues[qid] = null;
        queue.counters().addTo(retired);
        live = Arrays.stream(queues).filter(q -> q != null).toArray(QueuePair[]::new);
    }

    /** The admin queue disconnected: the controller is gone, its other queues are closed. */
    void destroy() {
        QueuePair[] others;
        long[] counts;
        synchronized (this) {
            if (closed) return;
            closed = true;
            others = live;
            counts = retired.clone();
            for (QueuePair q : others) q.counters().addTo(counts);
            heldAerCount = 0;
        }
        subsystem.removeController(this, counts);
        for (QueuePair q : others) if (q != admin) q.closeFromController("controller " + cntlid + " is gone");
    }

    /** Closes every queue of the controller (keep-alive expiry, subsystem removed). */
    void fail(String reason) {
        for (QueuePair q : live) q.closeFromController(reason);
    }

    boolean keepAliveExpired(long nowNs) {
        long timeoutMs = keepAliveTimeoutMs;
        if (timeoutMs == 0) return false;
        long latestNs = Long.MIN_VALUE;
        for (QueuePair q : live) latestNs = Math.max(latestNs, q.lastActivityNs());
        return nowNs - latestNs > TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    }

    List<CompletableFuture<Void>> dropNamespace(Namespace ns) {
        List<CompletableFuture<Void>> closedChannels = new ArrayList<>();
        for (QueuePair q : live) if (q != admin) closedChannels.add(q.dropNamespace(ns));
        return closedChannels;
    }

    synchronized void addCountsTo(long[] sums) {
        for (int i = 0; i < sums.length; i++) sums[i] += retired[i];
        for (QueuePair q : live) q.counters().addTo(sums);
    }

    public Counters counters() {
        long[] sums = new long[QueueCounters.COUNT];
        addCountsTo(sums);
        return Counters.of(sums, 0, 1);
    }

    public synchronized int queueCount() {
        return live.length;
    }

    // ------------------------------------------------------------------ asynchronous events

    /** An AER arrived: returns an event's dw0 to complete it with now, {@link #AER_HELD} or {@link #AER_LIMIT_EXCEEDED}. */
    synchronized long asyncEventRequest(long tag) {
        if (!pendingEvents.isEmpty()) return Integer.toUnsignedLong(pendingEvents.poll());
        if (heldAerCount == AER_LIMIT) return AER_LIMIT_EXCEEDED;
        heldAers[heldAerCount++] = tag;
        return AER_HELD;
    }

    /** A namespace of the subsystem was added or removed (any thread). */
    void namespaceChanged(int nsid) {
        synchronized (this) {
            if (closed) return;
            if (changedNamespaces.size() < LogPages.CHANGED_NAMESPACES_MAX) changedNamespaces.add(nsid);
            else changedNamespacesOverflow = true;
            if ((asyncEventConfig & IdentifyController.OAES_NAMESPACE_ATTRIBUTE) == 0 || namespaceNoticeMasked) return;
            namespaceNoticeMasked = true;
            raise(LogPages.asyncEventResult(LogPages.AEN_TYPE_NOTICE, LogPages.AEN_INFO_NAMESPACE_CHANGED, Opcodes.LOG_CHANGED_NAMESPACES));
        }
    }

    /** The discovery log changed (any thread); only discovery controllers that enabled the notice hear of it. */
    void discoveryChanged() {
        synchronized (this) {
            if (closed || (asyncEventConfig & IdentifyController.OAES_DISCOVERY_LOG_CHANGE) == 0 || discoveryNoticeMasked) return;
            discoveryNoticeMasked = true;
            raise(LogPages.asyncEventResult(LogPages.AEN_TYPE_NOTICE, LogPages.AEN_INFO_DISCOVERY_CHANGED, Opcodes.LOG_DISCOVERY));
        }
    }

    /** Completes a held AER with the event (on the admin reactor), or keeps the event for the next AER. Holds the lock. */
    private void raise(int dw0) {
        if (heldAerCount == 0) {
            pendingEvents.add(dw0);
            return;
        }
        long tag = heldAers[--heldAerCount];
        admin.completeLater(tag, dw0);
    }

    /** The changed namespace list, cleared by the read; without RAE the notice is armed again. */
    synchronized int[] takeChangedNamespaces(boolean retainEvent) {
        int[] list = changedNamespacesOverflow ? new int[] {LogPages.CHANGED_NAMESPACES_OVERFLOW}
                : changedNamespaces.stream().mapToInt(Integer::intValue).toArray();
        changedNamespaces.clear();
        changedNamespacesOverflow = false;
        if (!retainEvent) namespaceNoticeMasked = false;
        return list;
    }

    synchronized void discoveryLogRead(boolean retainEvent) {
        if (!retainEvent) discoveryNoticeMasked = false;
    }

    @Override
    public String toString() {
        return "controller " + cntlid + " of " + subsystem.nqn() + " for " + hostNqn;
    }
}
