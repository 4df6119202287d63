package io.basalt.nvmeof;

import io.basalt.engine.Reactor;
import io.basalt.engine.net.TcpConnection;
import io.basalt.engine.net.TcpContext;
import io.basalt.engine.net.TcpListener;
import io.basalt.nvmeof.tcp.TcpConfig;
import io.basalt.nvmeof.tcp.TcpQueuePair;
import io.basalt.shims.Check;
import io.basalt.shims.Libc;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The socket side of the NVMe/TCP target: TCP listeners on the reactors' io_uring, and for each accepted
 * connection a {@link TcpQueuePair} (the transport) between a {@link TcpConnection} and the {@link QueueHandler}
 * the factory makes. Connections go round robin over the reactors; each is owned by one from accept to close.
 *
 * <p>Control methods ({@link #start}, {@link #listen}, {@link #unlisten}, {@link #close}) run on any thread and
 * wait for the reactors; the data path runs on the reactors only.
 */
public final class NvmeTcpServer implements AutoCloseable {
    private static final long CONTROL_TIMEOUT_S = 10;
    private static final int BACKLOG = 128;
    /**
     * How long a connection may stay without its ICReq: a peer that connects and sends nothing (or never finishes the
     * first PDU) would otherwise hold a connection slot forever. Linux sends ICReq at once.
     */
    public static final long IC_REQ_TIMEOUT_NS_DEFAULT = TimeUnit.SECONDS.toNanos(10);
    private static final long IC_REQ_CHECK_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(50);

    private final List<Reactor> reactors;
    private final QueueHandlerFactory factory;
    private final io.basalt.engine.net.TcpConfig socketConfig;
    private final TcpConfig transportConfig;
    private final TcpContext[] contexts;
    private final Map<String, Listening> listeners = new LinkedHashMap<>();
    private final Map<Session, Boolean> sessions = new ConcurrentHashMap<>();
    private final AtomicLong accepted = new AtomicLong(), refused = new AtomicLong(), broken = new AtomicLong(),
            icReqTimeouts = new AtomicLong();
    /** Per reactor (its thread only): the sessions still waiting for their ICReq, and the poller that times them out. */
    private final List<List<Session>> awaitingIcReq = new ArrayList<>();
    private volatile long icReqTimeoutNs = IC_REQ_TIMEOUT_NS_DEFAULT;
    private boolean started, closed;
    /**
     * Set by {@link #close} before it closes the sessions it sees; a session that starts on a reactor after that
     * sweep (its fd was accepted before the listener closed) sees it and closes itself. Both sides write first and
     * read second (this flag, the sessions map), so one of them always sees the other.
     */
    private volatile boolean closing;

    /** One listener: the reactor that accepts on it and the address it was asked for. */
    private record Listening(String host, int port, Reactor reactor, TcpListener listener) {}

    public NvmeTcpServer(List<Reactor> reactors, QueueHandlerFactory factory, io.basalt.engine.net.TcpConfig socketConfig,
                         TcpConfig transportConfig) {
        Check.that(!reactors.isEmpty(), "an NVMe/TCP server runs on at least one reactor");
        this.reactors = List.copyOf(reactors);
        this.factory = factory;
        this.socketConfig = socketConfig;
        this.transportConfig = transportConfig;
        this.contexts = new TcpContext[reactors.size()];
        for (int i = 0; i < reactors.size(); i++) awaitingIcReq.add(new ArrayList<>());
    }

    /** Sets how long a connection may go without its ICReq before it is closed (tests shorten it). */
    public void icReqTimeout(long timeoutNs) {
        Check.positive(timeoutNs, "ICReq timeout");
        icReqTimeoutNs = timeoutNs;
    }

    /** Sets up each reactor's socket side (its receive buffer ring). */
    public synchronized void start() {
        Check.that(!started && !closed, "NVMe/TCP server started once");
        for (int i = 0; i < reactors.size(); i++) {
            Reactor r = reactors.get(i);
            List<Session> waiting = awaitingIcReq.get(i);
            contexts[i] = await(r, () -> {
                r.addPoller(new IcReqDeadlines(waiting));
                return TcpContext.open(r, socketConfig);
            }, "open the socket side on " + r.name());
        }
        started = true;
    }

    /**
     * Listens on {@code host:port} (port 0: any free one); returns the bound port. The listener accepts on the first
     * reactor and hands connections round robin to all. Throws {@link IllegalArgumentException} naming the reason
     * when the address cannot be bound or is already listened on.
     */
    public synchronized int listen(String host, int port) {
        Check.that(started && !closed, "listen on a started server");
        String key = key(host, port);
        if (listeners.containsKey(key)) throw new IllegalArgumentException("already listening on " + key);
        Reactor acceptReactor = reactors.getFirst();
        Reactor[] all = reactors.toArray(Reactor[]::new);
        String[] address = new String[1]; // written on the accepting reactor before its first accept completes
        TcpListener listener;
        try {
            listener = await(acceptReactor, () -> {
                TcpListener l = TcpListener.open(acceptReactor, host, port, BACKLOG, socketConfig.multishot(),
                        TcpListener.roundRobin(all, (reactor, fd) -> openSession(reactor, fd, address[0])));
                address[0] = key(host, l.port());
                return l;
            }, "listen on " + key);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("cannot listen on " + key + ": " + e.getMessage(), e);
        }
        listeners.put(key(host, listener.port()), new Listening(host, listener.port(), acceptReactor, listener));
        return listener.port();
    }

    /** Stops listening on {@code host:port}; its connections stay until their hosts go. False when not listening there. */
    public synchronized boolean unlisten(String host, int port) {
        Listening l = listeners.remove(key(host, port));
        if (l == null) return false;
        await(l.reactor(), () -> {
            l.listener().close();
            return null;
        }, "close the listener on " + key(host, port));
        return true;
    }

    /** The addresses listened on, as "host:port". */
    public synchronized List<String> listening() {
        return new ArrayList<>(listeners.keySet());
    }

    /** Counters: connections live, accepted, refused (the reactor was full, or the server closing), broken (closed with an error). */
    public Map<String, Long> counters() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("connections", (long) sessions.size());
        m.put("accepted", accepted.get());
        m.put("refused", refused.get());
        m.put("broken", broken.get());
        m.put("ic_req_timeouts", icReqTimeouts.get());
        return m;
    }

    /**
     * One line per live connection: peer, listener, reactor, and the digests the host asked for with the data digest
     * errors seen (for nvmf_list; read racily from the reactor's fields, each value recent).
     */
    public List<Map<String, Object>> connections() {
        List<Map<String, Object>> list = new ArrayList<>();
        for (Session s : sessions.keySet()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("peer", s.peer);
            m.put("listener", s.listener);
            m.put("reactor", s.reactor.name());
            TcpQueuePair transport = s.transport;
            if (transport != null) {
                m.put("header_digest", transport.headerDigest());
                m.put("data_digest", transport.dataDigest());
                m.put("data_digest_errors", transport.dataDigestErrors());
            }
            list.add(m);
        }
        return list;
    }

    /** Closes the listeners, then every connection (their handlers are told), then the reactors' socket side. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        closing = true;
        for (Listening l : new ArrayList<>(listeners.values())) unlisten(l.host(), l.port());
        for (Session s : sessions.keySet()) s.reactor.post(() -> s.closeNow());
        for (int i = 0; i < reactors.size(); i++) closeSocketSide(reactors.get(i), contexts[i]);
    }

    /**
     * Waits until the reactor's connections are gone, then closes its socket side in the same reactor task that saw
     * none: a connection opened between a count and a separate close task would be left open (and the context's
     * close refused). After CONTROL_TIMEOUT_S the context is left open and the reason printed.
     */
    private static void closeSocketSide(Reactor r, TcpContext c) {
        if (c == null || !r.isRunning()) return;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CONTROL_TIMEOUT_S);
        try {
            while (!await(r, () -> closeIfIdle(c), "close the socket side")) {
                if (System.nanoTime() > deadline) {
                    System.err.println("basalt: nvmf: " + r.name() + " still has " + await(r, c::connections, "count") + " connections");
                    return;
                }
                Thread.sleep(5);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            System.err.println("basalt: nvmf: " + e.getMessage());
        }
    }

    private static boolean closeIfIdle(TcpContext c) {
        if (c.connections() > 0) return false;
        c.close();
        return true;
    }

    private static String key(String host, int port) {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    private void openSession(Reactor reactor, int fd, String listenerAddress) {
        if (closing) { // accepted as the listener closed: the socket side may be closed already
            Libc.close(fd);
            refused.incrementAndGet();
            return;
        }
        TcpContext context = contexts[reactors.indexOf(reactor)];
        Session s = new Session(reactor, listenerAddress);
        TcpConnection connection = TcpConnection.open(context, fd, s);
        if (connection == null) {
            refused.incrementAndGet();
            return;
        }
        accepted.incrementAndGet();
        s.start(connection);
    }

    /** One connection: the transport's byte sink on one side, the socket's receiver on the other. Reactor thread. */
    private final class Session implements TcpConnection.Receiver, TcpConnection.SendDone, ByteSink {
        final Reactor reactor;
        final String listener;
        String peer = "?";
        TcpConnection connection;
        TcpQueuePair transport;
        ByteSink.Sent sent;
        long icReqDeadlineNs;

        Session(Reactor reactor, String listener) {
            this.reactor = reactor;
            this.listener = listener;
        }

        void start(TcpConnection c) {
            connection = c;
            peer = c.peerAddress();
            QueueHandler handler = factory.newQueue(reactor, peer, listener);
            transport = new TcpQueuePair(handler, this, transportConfig);
            sessions.put(this, Boolean.TRUE);
            icReqDeadlineNs = System.nanoTime() + icReqTimeoutNs;
            awaitingIcReq.get(reactors.indexOf(reactor)).add(this);
            if (closing) closeNow(); // accepted before the listener closed, started after close() swept the sessions
        }

        void closeNow() {
            if (connection != null && !connection.isClosed()) connection.close(true);
        }

        @Override
        public void onBytes(MemorySegment buffer, int lengthBytes) {
            if (transport != null) transport.onBytes(buffer, lengthBytes);
        }

        @Override
        public void onClosed(int status) {
            if (status < 0) broken.incrementAndGet();
            sessions.remove(this);
            if (transport != null) transport.connectionClosed();
        }

        @Override
        public boolean send(MemorySegment bytes, long token, ByteSink.Sent done) {
            Check.that(sent == null || sent == done, "one sender per connection");
            sent = done;
            return connection.send(bytes, token, this);
        }

        @Override
        public void sent(long token, int status) {
            sent.sent(token, status);
        }

        @Override
        public void close(boolean now) {
            if (!connection.isClosed()) connection.close(now);
        }
    }

    /** A reactor's poller: closes its connections whose ICReq did not come in time; checked every 50 ms. */
    private final class IcReqDeadlines implements Reactor.Poller {
        private final List<Session> waiting;
        private long nextCheckNs;

        IcReqDeadlines(List<Session> waiting) {
            this.waiting = waiting;
        }

        @Override
        public int poll(long nowNs) {
            if (waiting.isEmpty() || nowNs < nextCheckNs) return 0;
            nextCheckNs = nowNs + IC_REQ_CHECK_INTERVAL_NS;
            long now = System.nanoTime();
            int closed = 0;
            for (int i = waiting.size() - 1; i >= 0; i--) {
                Session s = waiting.get(i);
                boolean done = s.connection.isClosed() || s.transport.initialized();
                if (!done && now - s.icReqDeadlineNs < 0) continue;
                waiting.set(i, waiting.getLast()); // order does not matter: swap with the last, drop the last
                waiting.removeLast();
                if (!done) {
                    icReqTimeouts.incrementAndGet();
                    System.err.println("basalt: nvmf: " + s.peer + " sent no ICReq within "
                            + TimeUnit.NANOSECONDS.toMillis(icReqTimeoutNs) + " ms: connection closed");
                    s.closeNow();
                    closed++;
                }
            }
            return closed;
        }

        @Override
        public boolean needsPolling() {
            return false; // a deadline late by the idle wait (at most 1 s with "wait") is fine
        }
    }

    private interface ReactorTask<T> {
        T run();
    }

    private static <T> T await(Reactor reactor, ReactorTask<T> task, String what) {
        try {
            return reactor.call(task::run).get(CONTROL_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(what + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException(what + ": reactor " + reactor.name() + " did not answer in " + CONTROL_TIMEOUT_S + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(what + ": interrupted");
        }
    }
}
