package io.basalt.engine.net;

import io.basalt.engine.Reactor;
import io.basalt.shims.Check;

/**
 * The socket side's state on one reactor: the provided-buffer ring its connections receive into, the count of
 * connections it owns, and the list of connections waiting for an SQE (a RECV to re-arm after the buffers ran out
 * or the ring was full, a SENDMSG the ring had no room for), served by one poller on the next cycle.
 *
 * <p>Create one per reactor, on that reactor's thread ({@link Reactor#call}); close it there after its connections
 * have closed. Owner thread only.
 */
public final class TcpContext implements AutoCloseable {
    /** Retries served per poll: bounded, as every poller's batch is. */
    private static final int RETRIES_PER_POLL = 256;

    private final Reactor reactor;
    private final TcpConfig config;
    private final RecvBufferRing buffers;
    private final TcpConnection[] retries;
    private final Reactor.Poller poller = new Reactor.Poller() {
        @Override
        public int poll(long nowNs) {
            return serveRetries();
        }

        @Override
        public boolean needsPolling() {
            return retryCount > 0;
        }
    };
    private int retryHead;
    private int retryCount;
    private int connections;
    private boolean multishotRecv;
    private boolean closed;
    private long noBufferRetries, ringFullRetries, multishotFallbacks;

    private TcpContext(Reactor reactor, TcpConfig config) {
        this.reactor = reactor;
        this.config = config;
        this.buffers = RecvBufferRing.open(reactor, config.recvBufferBytes(), config.recvBufferCount());
        this.retries = new TcpConnection[config.connectionsMax()];
        this.multishotRecv = config.multishot();
        reactor.addPoller(poller);
    }

    /** Sets up the socket side on {@code reactor}: registers its buffer ring and poller. Owner thread. */
    public static TcpContext open(Reactor reactor, TcpConfig config) {
        Check.that(reactor.isOwnerThread(), "TcpContext opened on its reactor's thread");
        return new TcpContext(reactor, config);
    }

    public Reactor reactor() { return reactor; }
    public TcpConfig config() { return config; }
    public int connections() { return connections; }
    RecvBufferRing buffers() { return buffers; }
    boolean multishotRecv() { return multishotRecv; }

    /** The kernel refused IORING_RECV_MULTISHOT (before 6.0): every connection re-arms one-shot RECVs from now on. */
    void disableMultishotRecv() {
        if (multishotRecv) multishotFallbacks++;
        multishotRecv = false;
    }

    /** Counts a new connection; false when the reactor already owns {@code connectionsMax}. */
    boolean addConnection() {
        Check.that(!closed, "connection opened on a closed TcpContext");
        if (connections == config.connectionsMax()) return false;
        connections++;
        return true;
    }

    void removeConnection() {
        Check.that(connections > 0, "removing a connection from an empty TcpContext");
        connections--;
    }

    /** Serves {@code connection} again on the next cycle; each connection is in the list at most once. */
    void retryLater(TcpConnection connection, boolean noBuffer) {
        if (noBuffer) noBufferRetries++;
        else ringFullRetries++;
        if (connection.retryQueued) return;
        Check.that(retryCount < retries.length, "retry list holds every connection at most once", retryCount);
        connection.retryQueued = true;
        retries[(retryHead + retryCount) % retries.length] = connection;
        retryCount++;
    }

    private int serveRetries() {
        int served = 0;
        // Only those queued before this poll: a retry that fails again waits for the next cycle.
        int n = Math.min(retryCount, RETRIES_PER_POLL);
        for (int i = 0; i < n; i++) {
            TcpConnection c = retries[retryHead];
            retries[retryHead] = null;
            retryHead = (retryHead + 1) % retries.length;
            retryCount--;
            c.retryQueued = false;
            c.retry();
            served++;
        }
        return served;
    }

    /** {noBufferRetries, ringFullRetries, multishotFallbacks}: racy reads for status. */
    public long[] counters() {
        return new long[] {noBufferRetries, ringFullRetries, multishotFallbacks};
    }

    public static final String[] COUNTER_NAMES = {"no_buffer_retries", "ring_full_retries", "multishot_fallbacks"};

    /** Buffers the kernel may fill now (all of them when no receive is being delivered). */
    public int recvBuffersWithKernel() {
        return buffers.withKernelCount();
    }

    /** Unregisters the buffer ring and the poller. Every connection must have closed (reported onClosed). */
    @Override
    public void close() {
        Check.that(reactor.isOwnerThread(), "TcpContext closed on its reactor's thread");
        if (closed) return;
        Check.that(connections == 0, "TcpContext closed with connections open", connections);
        closed = true;
        reactor.removePoller(poller);
        buffers.close();
    }
}
