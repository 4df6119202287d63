package io.basalt.engine.net;

import io.basalt.engine.Reactor;
import io.basalt.engine.fixtures.Await;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test server: a listener on one reactor that deals connections round robin to {@code reactors}, each of which
 * echoes what it receives. Test code, so it allocates freely (a copy of each received chunk, held until sent).
 */
final class EchoServer implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(30);
    static final int NOT_CLOSED = Integer.MIN_VALUE;

    /** What a connection does with the bytes it receives. */
    enum Mode { ECHO, KEEP }

    final Reactor[] reactors;
    final Mode mode;
    final Map<Reactor, TcpContext> contexts = new IdentityHashMap<>();
    final List<Echo> connections = new CopyOnWriteArrayList<>();
    private TcpListener listener;

    /** One echoing connection: copies each chunk, sends the copies in order, resumes after each sent. */
    static final class Echo implements TcpConnection.Receiver {
        final Reactor reactor;
        final Mode mode;
        /** KEEP: every byte received, in order (read after onClosed, or under Await). */
        final java.io.ByteArrayOutputStream kept = new java.io.ByteArrayOutputStream();
        TcpConnection connection;
        private final ArrayDeque<MemorySegment> pending = new ArrayDeque<>();
        final AtomicInteger closedCalls = new AtomicInteger();
        volatile int closedStatus = NOT_CLOSED;
        volatile long bytesIn;
        volatile int failedSends;

        Echo(Reactor reactor, Mode mode) {
            this.reactor = reactor;
            this.mode = mode;
        }

        @Override
        public void onBytes(MemorySegment buffer, int lengthBytes) {
            if (mode == Mode.KEEP) {
                synchronized (kept) {
                    kept.writeBytes(buffer.asSlice(0, lengthBytes).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                }
                bytesIn += lengthBytes;
                return;
            }
            MemorySegment copy = Arena.ofAuto().allocate(lengthBytes);
            MemorySegment.copy(buffer, 0, copy, 0, lengthBytes);
            bytesIn += lengthBytes;
            pending.add(copy);
            pump();
        }

        private void pump() {
            while (!pending.isEmpty() && connection.send(pending.peek(), 0, this::sent)) pending.poll();
        }

        private void sent(long token, int status) {
            if (status < 0) failedSends++;
            else pump();
        }

        @Override
        public void onClosed(int status) {
            closedStatus = status;
            closedCalls.incrementAndGet();
        }
    }

    private EchoServer(Reactor[] reactors, Mode mode) {
        this.reactors = reactors;
        this.mode = mode;
    }

    /** Listens on 127.0.0.1, any port, accepting on reactors[0]. */
    static EchoServer start(TcpConfig config, Reactor... reactors) {
        return start(Mode.ECHO, config, reactors);
    }

    static EchoServer start(Mode mode, TcpConfig config, Reactor... reactors) {
        EchoServer server = new EchoServer(reactors, mode);
        for (Reactor r : reactors) server.contexts.put(r, call(r, () -> TcpContext.open(r, config)));
        TcpListener.Acceptor acceptor = TcpListener.roundRobin(reactors, server::open);
        server.listener = call(reactors[0], () -> TcpListener.open(reactors[0], "127.0.0.1", 0, 256, config.multishot(), acceptor));
        return server;
    }

    private void open(Reactor reactor, int fd) {
        Echo echo = new Echo(reactor, mode);
        echo.connection = TcpConnection.open(contexts.get(reactor), fd, echo);
        if (echo.connection != null) connections.add(echo);
    }

    /** The index-th connection accepted, once there. */
    Echo connection(int index) {
        Await.until(() -> connections.size() > index, TIMEOUT, "connection " + index + " accepted");
        return connections.get(index);
    }

    int port() {
        return listener.port();
    }

    TcpListener listener() {
        return listener;
    }

    static <T> T call(Reactor reactor, java.util.concurrent.Callable<T> task) {
        try {
            return reactor.call(task).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            throw new IllegalStateException(e);
        }
    }

    static void run(Reactor reactor, Runnable task) {
        call(reactor, () -> {
            task.run();
            return null;
        });
    }

    /** Closes every connection now, then the listener, then the contexts, waiting for each to finish. */
    @Override
    public void close() {
        for (Echo e : connections) run(e.reactor, () -> e.connection.close(true));
        Await.until(() -> connections.stream().allMatch(e -> e.closedCalls.get() > 0), TIMEOUT, "connections closed");
        run(reactors[0], listener::close);
        Await.until(() -> call(reactors[0], listener::isClosed), TIMEOUT, "listener closed");
        for (Reactor r : reactors) run(r, () -> contexts.get(r).close());
    }
}
