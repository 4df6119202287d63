package io.basalt.engine.net;

import io.basalt.engine.Reactor;
import io.basalt.shims.Check;
import io.basalt.shims.Errno;
import io.basalt.shims.Libc;
import io.basalt.shims.NativeException;
import io.basalt.shims.SocketAbi;
import io.basalt.shims.TcpSocket;

import static io.basalt.shims.IoUringAbi.IORING_ACCEPT_MULTISHOT;
import static io.basalt.shims.IoUringAbi.IORING_CQE_F_MORE;
import static io.basalt.shims.IoUringAbi.IORING_OP_ACCEPT;

/**
 * A listening TCP socket whose connections are accepted through IORING_OP_ACCEPT on one reactor: multishot (one SQE,
 * a CQE per connection, Linux 5.19) where the kernel has it, else one-shot re-armed after each. Each new fd (non
 * blocking, close-on-exec) goes to an {@link Acceptor} on this reactor's thread, which decides which reactor will
 * own the connection ({@link #roundRobin} posts it to the next of a set). No thread of its own.
 *
 * <p>Owner thread only. {@link #close} shuts the socket down, which ends the pending ACCEPT (-EINVAL); the fd is
 * closed when that completion arrives ({@link #isClosed}).
 */
public final class TcpListener implements Reactor.RingSink, AutoCloseable {
    /** Receives each accepted connection's fd, on the listener's reactor; from then on the fd is the callee's. */
    @FunctionalInterface
    public interface Acceptor {
        void accepted(int fd);
    }

    /** Takes over an accepted fd on the reactor chosen for it (run there, through {@link Reactor#post}). */
    @FunctionalInterface
    public interface ConnectionOpener {
        void open(Reactor reactor, int fd);
    }

    private static final long OP_ACCEPT = 1;
    /** accept4 flags for the new sockets (sqe->accept_flags). */
    private static final int ACCEPT_FLAGS = SocketAbi.SOCK_NONBLOCK | SocketAbi.SOCK_CLOEXEC;

    private final Reactor reactor;
    private final Acceptor acceptor;
    private final int fd;
    private final int port;
    private final int sink;
    private final Reactor.Poller poller = new Reactor.Poller() {
        @Override
        public int poll(long nowNs) {
            if (!wantAccept || closing) return 0;
            armAccept();
            return 1;
        }

        @Override
        public boolean needsPolling() {
            return wantAccept && !closing;
        }
    };
    private boolean multishot;
    private boolean armed;
    private boolean wantAccept;
    private boolean closing;
    private boolean closed;
    private long accepted, acceptErrors;

    private TcpListener(Reactor reactor, int fd, boolean multishot, Acceptor acceptor) {
        this.reactor = reactor;
        this.fd = fd;
        this.port = TcpSocket.localPort(fd);
        this.multishot = multishot;
        this.acceptor = acceptor;
        this.sink = reactor.addSink(this);
        reactor.addPoller(poller);
    }

    /**
     * Listens on {@code host:port} (port 0: any free port, see {@link #port}) and starts accepting. Owner thread of
     * {@code reactor}. Throws {@link NativeException} when the address cannot be bound.
     */
    public static TcpListener open(Reactor reactor, String host, int port, int backlog, boolean multishot, Acceptor acceptor) {
        Check.that(reactor.isOwnerThread(), "TcpListener opened on its reactor's thread");
        Check.that(acceptor != null, "a listener has an acceptor");
        int fd = TcpSocket.listen(host, port, backlog);
        NativeException.check(fd, "listen on " + host + ":" + port);
        TcpListener listener = new TcpListener(reactor, fd, multishot, acceptor);
        listener.armAccept();
        return listener;
    }

    /**
     * An acceptor that hands connections to {@code reactors} in turn: each fd is posted to the next one, where
     * {@code opener} takes it over. When that reactor's command queue is full the fd is closed (the peer sees a
     * reset and may retry).
     */
    public static Acceptor roundRobin(Reactor[] reactors, ConnectionOpener opener) {
        Check.that(reactors.length > 0, "round robin over at least one reactor");
        Reactor[] targets = reactors.clone();
        int[] next = {0};
        return fd -> {
            Reactor target = targets[next[0]];
            next[0] = (next[0] + 1) % targets.length;
            if (!target.post(() -> opener.open(target, fd))) Libc.close(fd);
        };
    }

    private void armAccept() {
        wantAccept = false;
        short ioprio = multishot ? (short) IORING_ACCEPT_MULTISHOT : 0;
        // addr and addrlen NULL: the peer's address is read later with getpeername, when wanted.
        if (!reactor.prepare(sink, IORING_OP_ACCEPT, (byte) 0, ioprio, fd, 0, 0, 0, ACCEPT_FLAGS, OP_ACCEPT, (short) 0)) {
            wantAccept = true; // the ring is full: the poller tries again next cycle
            return;
        }
        armed = true;
    }

    @Override
    public void onRingCompletion(long userData48, int result, int flags) {
        Check.that(userData48 == OP_ACCEPT, "completion of an unknown listener operation", userData48);
        if ((flags & IORING_CQE_F_MORE) == 0) armed = false;
        if (result >= 0) {
            if (closing) {
                Libc.close(result);
            } else {
                accepted++;
                acceptor.accepted(result);
            }
        } else if (!closing) {
            onAcceptError(result);
        }
        if (closing) {
            finishIfDone();
        } else if (!armed && !wantAccept) {
            armAccept();
        }
    }

    private void onAcceptError(int result) {
        if (result == -Errno.EINVAL && multishot && accepted == 0) {
            multishot = false; // before Linux 5.19: IORING_ACCEPT_MULTISHOT is an unknown flag
            return;
        }
        // A connection reset before it was accepted, a signal, or no fd / memory left: counted, accepting goes on
        // from the next cycle (so a process out of fds does not spin inside one cycle).
        acceptErrors++;
        if (!armed) wantAccept = true;
    }

    /** Stops accepting; the fd is closed once the pending ACCEPT has ended. Idempotent. Owner thread. */
    @Override
    public void close() {
        Check.that(reactor.isOwnerThread(), "TcpListener closed on its reactor's thread");
        if (closing) return;
        closing = true;
        wantAccept = false;
        TcpSocket.shutdown(fd, SocketAbi.SHUT_RDWR); // wakes the pending ACCEPT: it ends with -EINVAL
        finishIfDone();
    }

    private void finishIfDone() {
        if (closed || armed) return;
        closed = true;
        Libc.close(fd);
        reactor.removeSink(sink);
        reactor.removePoller(poller);
    }

    /** The bound port (the kernel's pick when opened with port 0). */
    public int port() { return port; }
    public String localAddress() { return TcpSocket.localAddress(fd); }
    public boolean isClosed() { return closed; }
    public boolean multishot() { return multishot; }
    public long acceptedCount() { return accepted; }
    public long acceptErrorCount() { return acceptErrors; }
}
