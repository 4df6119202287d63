package io.basalt.engine.net;

import io.basalt.engine.Reactor;
import io.basalt.engine.StateMachine;
import io.basalt.shims.Check;
import io.basalt.shims.Errno;
import io.basalt.shims.Libc;
import io.basalt.shims.SocketAbi;
import io.basalt.shims.TcpSocket;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static io.basalt.shims.IoUringAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One TCP connection owned by one reactor: receives through a RECV (multishot where the kernel has it) that picks
 * its buffer from the reactor's provided-buffer ring, sends through SENDMSG, at most one in flight, gathering up to
 * {@link TcpConfig#sendBatchMax} queued sends into its iovec. No thread of its own and, after {@link #open}, no
 * allocation: the send queue and the msghdr/iovec are preallocated, completions arrive as primitives.
 *
 * <p>Receiving: each received chunk is handed to {@link Receiver#onBytes} and its buffer goes back to the kernel
 * as soon as the call returns, so a receiver copies what it keeps. Order is the socket's: one RECV is armed at a time
 * and a multishot RECV posts its CQEs in order. When the ring has no free buffer the kernel ends the RECV with
 * -ENOBUFS and leaves the data in the socket; the connection re-arms on the next cycle (nothing is lost).
 *
 * <p>Sending ({@link #send}, nvmeof's ByteSink semantics): sends leave in the order they were queued, each reported
 * once to its {@link SendDone} when all of its bytes left (status = its length) or never will (-errno). A short send
 * (the kernel took part of the batch) is resubmitted from the first byte not sent. With only one SENDMSG in flight
 * a later one can never overtake an earlier one's remainder.
 *
 * <p>Closing: {@link #close}(true) shuts the socket down at once; {@link #close}(false) first lets queued sends
 * leave. The peer closing (EOF) or an error closes it at once too. Either way, once no request is in flight the fd is
 * closed, unsent sends are reported with a negative status, and {@link Receiver#onClosed} runs, exactly once.
 * Received bytes are delivered only while the connection is open (not after close was asked).
 *
 * <p>Owner thread only (every public method checks).
 */
public final class TcpConnection implements Reactor.RingSink {
    /** What the connection reports to its user, on the owner's thread. */
    public interface Receiver {
        /**
         * {@code lengthBytes} bytes arrived, at the start of {@code buffer}; valid only during this call (the
         * buffer is then recycled). The whole buffer is passed, not a slice of it, so that no object is made per receive.
         */
        void onBytes(MemorySegment buffer, int lengthBytes);

        /** The connection is closed and its fd released: {@link #CLOSED_LOCALLY}, {@link #CLOSED_BY_PEER} or -errno. */
        void onClosed(int status);
    }

    /** Reports the end of one send: its length when all bytes left, or -errno when they never will. */
    @FunctionalInterface
    public interface SendDone {
        void sent(long token, int status);
    }

    /** onClosed status: {@link #close} was called. */
    public static final int CLOSED_LOCALLY = 0;
    /** onClosed status: the peer closed its side (a RECV returned 0). */
    public static final int CLOSED_BY_PEER = 1;

    private static final long OP_RECV = 1;
    private static final long OP_SEND = 2;
    /** sqe->len of SENDMSG: liburing's io_uring_prep_sendmsg passes 1 (one msghdr). */
    private static final int ONE_MSGHDR = 1;

    static final int OPEN = 0, DRAINING = 1, CLOSING = 2, CLOSED = 3;
    private static final StateMachine.Table STATES = StateMachine.table("tcp-connection", "open", "draining", "closing", "closed")
            .allow(OPEN, DRAINING, CLOSING)
            .allow(DRAINING, CLOSING)
            .allow(CLOSING, CLOSED);

    private final TcpContext context;
    private final Reactor reactor;
    private final RecvBufferRing buffers;
    private final Receiver receiver;
    private final int fd;
    private final int sink;
    private final StateMachine machine = new StateMachine(STATES);
    private final Arena arena = Arena.ofConfined(); // made and closed on the owner thread
    private final MemorySegment msghdr;
    private final MemorySegment iovecs;
    private final int batchMax;
    /** MSG_NOSIGNAL: a reset peer is -EPIPE, not SIGPIPE. MSG_WAITALL (by default): the kernel retries a partial send. */
    private final int sendFlags;

    // The send queue: a ring of sendLengths.length entries from sendHead; the first inFlightEntries are in flight.
    private final long[] sendAddresses;
    private final int[] sendLengths;
    private final long[] sendTokens;
    private final SendDone[] sendDones;
    private final int sendMask;
    private int sendHead;
    private int sendCount;
    private int headSentBytes;
    private int inFlightEntries;
    private long inFlightBytes;
    private boolean sendInFlight;
    private boolean completingSends;

    private boolean recvArmed;
    private boolean wantRecv;
    private boolean wantSend;
    /** In the context's retry list (TcpContext keeps it there at most once). */
    boolean retryQueued;
    private int state = OPEN;
    private int closeStatus;
    private int callbackDepth;

    // Counters: owner writes, others read racily.
    private long bytesReceived, bytesSent, recvCompletions, sendMessages, shortSends, droppedBytes;

    private TcpConnection(TcpContext context, int fd, Receiver receiver) {
        this.context = context;
        this.reactor = context.reactor();
        this.buffers = context.buffers();
        this.receiver = receiver;
        this.fd = fd;
        TcpConfig config = context.config();
        this.batchMax = config.sendBatchMax();
        this.sendFlags = SocketAbi.MSG_NOSIGNAL | (config.sendWaitAll() ? SocketAbi.MSG_WAITALL : 0);
        int entries = config.sendQueueEntries();
        this.sendAddresses = new long[entries];
        this.sendLengths = new int[entries];
        this.sendTokens = new long[entries];
        this.sendDones = new SendDone[entries];
        this.sendMask = entries - 1;
        this.msghdr = arena.allocate(SocketAbi.MSGHDR_SIZE, 8); // zeroed: no name, no control, flags 0
        this.iovecs = arena.allocate((long) IOVEC_SIZE * batchMax, 8);
        msghdr.set(JAVA_LONG, SocketAbi.MSG_IOV_OFFSET, iovecs.address());
        this.sink = reactor.addSink(this);
    }

    /**
     * Takes over {@code fd} (a connected TCP socket) on the context's reactor and starts receiving. Owner thread.
     * Returns null, with fd closed, when the reactor already owns {@link TcpConfig#connectionsMax} connections.
     */
    public static TcpConnection open(TcpContext context, int fd, Receiver receiver) {
        Check.that(context.reactor().isOwnerThread(), "TcpConnection opened on its reactor's thread");
        Check.that(fd >= 0 && receiver != null, "an fd and a receiver", fd);
        if (!context.addConnection()) {
            Libc.close(fd);
            return null;
        }
        TcpSocket.setNoDelay(fd, true); // a failure (not a TCP socket, say) only costs latency
        TcpConnection c = new TcpConnection(context, fd, receiver);
        c.armRecv();
        return c;
    }

    // ------------------------------------------------------------------ receiving

    private void armRecv() {
        wantRecv = false;
        short ioprio = context.multishotRecv() ? (short) IORING_RECV_MULTISHOT : 0;
        // len 0: the whole selected buffer; buf_group names the reactor's ring.
        if (!reactor.prepare(sink, IORING_OP_RECV, IOSQE_BUFFER_SELECT, ioprio, fd, 0, 0, 0, 0, OP_RECV,
                (short) buffers.groupId())) {
            wantRecv = true;
            context.retryLater(this, false);
            return;
        }
        recvArmed = true;
    }

    private void onRecv(int result, int flags) {
        recvCompletions++;
        if ((flags & IORING_CQE_F_MORE) == 0) recvArmed = false;
        if ((flags & IORING_CQE_F_BUFFER) != 0) deliver(flags >>> IORING_CQE_BUFFER_SHIFT, result);
        else Check.that(result <= 0, "a RECV that returned bytes names its buffer", result);
        boolean open = state == OPEN || state == DRAINING;
        if (result > 0) {
            if (!recvArmed && open) armRecv(); // a multishot RECV may end without an error; one-shot always does
            return;
        }
        if (result == -Errno.ENOBUFS || result == -Errno.EINTR || result == -Errno.EAGAIN) {
            // The ring ran dry between two reaps: the data waits in the socket until buffers are back.
            if (!recvArmed && open) {
                wantRecv = true;
                context.retryLater(this, result == -Errno.ENOBUFS);
            }
            return;
        }
        if (result == -Errno.EINVAL && context.multishotRecv() && bytesReceived == 0 && open) {
            context.disableMultishotRecv(); // before Linux 6.0: IORING_RECV_MULTISHOT is an unknown flag
            armRecv();
            return;
        }
        if (open) beginClose(result == 0 ? CLOSED_BY_PEER : result);
    }

    private void deliver(int bid, int lengthBytes) {
        MemorySegment buffer = buffers.take(bid);
        try {
            if (lengthBytes <= 0) return;
            Check.that(lengthBytes <= buffer.byteSize(), "a RECV fits its buffer", lengthBytes);
            bytesReceived += lengthBytes;
            if (state == OPEN) receiver.onBytes(buffer, lengthBytes);
            else droppedBytes += lengthBytes;
        } finally {
            buffers.recycle(bid);
        }
    }

    // ------------------------------------------------------------------ sending

    /**
     * Queues {@code bytes} (native memory, 1 byte to 2 GiB, valid until {@code done} runs) to be sent after
     * everything queued before. False when the queue is full ({@link TcpConfig#sendQueueEntries}) or the connection
     * is closing: the caller retries after a {@code sent}, or gives up on {@code onClosed}.
     */
    public boolean send(MemorySegment bytes, long token, SendDone done) {
        assertOwner();
        long lengthBytes = bytes.byteSize();
        Check.that(bytes.isNative() && lengthBytes > 0 && lengthBytes <= Integer.MAX_VALUE,
                "a send is 1 byte to 2 GiB of native memory", lengthBytes);
        Check.that(done != null, "a send has a SendDone");
        if (state != OPEN || sendCount == sendLengths.length) return false;
        int i = (sendHead + sendCount) & sendMask;
        sendAddresses[i] = bytes.address();
        sendLengths[i] = (int) lengthBytes;
        sendTokens[i] = token;
        sendDones[i] = done;
        sendCount++;
        // While a completion is being accounted, it submits the rest itself when done.
        if (!sendInFlight && !completingSends && !wantSend) submitSend();
        return true;
    }

    /** One SENDMSG for the first sendBatchMax queued sends, starting after the bytes of the head already sent. */
    private void submitSend() {
        wantSend = false;
        Check.that(!sendInFlight && sendCount > 0, "one SENDMSG in flight at a time, for queued bytes", sendCount);
        int n = Math.min(sendCount, batchMax);
        long total = 0;
        for (int k = 0; k < n; k++) {
            int i = (sendHead + k) & sendMask;
            int skip = k == 0 ? headSentBytes : 0;
            long iov = (long) k * IOVEC_SIZE;
            iovecs.set(JAVA_LONG, iov + IOVEC_BASE_OFFSET, sendAddresses[i] + skip);
            iovecs.set(JAVA_LONG, iov + IOVEC_LEN_OFFSET, (long) sendLengths[i] - skip);
            total += sendLengths[i] - skip;
        }
        msghdr.set(JAVA_LONG, SocketAbi.MSG_IOVLEN_OFFSET, n);
        if (!reactor.prepare(sink, IORING_OP_SENDMSG, (byte) 0, fd, 0, msghdr.address(), ONE_MSGHDR, sendFlags,
                OP_SEND, (short) 0)) {
            wantSend = true;
            context.retryLater(this, false);
            return;
        }
        sendInFlight = true;
        inFlightEntries = n;
        inFlightBytes = total;
        sendMessages++;
    }

    private void onSend(int result) {
        Check.that(sendInFlight, "a SENDMSG completion with none in flight");
        sendInFlight = false;
        boolean open = state == OPEN || state == DRAINING;
        if (result < 0) {
            if ((result == -Errno.EINTR || result == -Errno.EAGAIN) && open) submitSend();
            else if (open) beginClose(result); // unsent sends are reported when the connection finishes closing
            return;
        }
        Check.that(result <= inFlightBytes, "the kernel sent no more than the batch held", result);
        bytesSent += result;
        if (result < inFlightBytes) shortSends++;
        completingSends = true;
        try {
            completeSent(result);
        } finally {
            completingSends = false;
        }
        if (state != OPEN && state != DRAINING) return;
        if (sendCount > 0) {
            if (!wantSend) submitSend();
        } else if (state == DRAINING) {
            beginClose(CLOSED_LOCALLY);
        }
    }

    /** Pops the sends whose last byte left and reports them, in order; a partly sent head keeps its offset. */
    private void completeSent(int sentBytes) {
        long remaining = sentBytes;
        int completed = 0;
        while (remaining > 0) {
            Check.that(completed < inFlightEntries, "sent bytes belong to sends in flight", completed);
            int i = sendHead;
            long left = sendLengths[i] - headSentBytes;
            if (remaining < left) {
                headSentBytes += (int) remaining;
                return;
            }
            remaining -= left;
            SendDone done = sendDones[i];
            sendDones[i] = null;
            sendHead = (sendHead + 1) & sendMask;
            sendCount--;
            headSentBytes = 0;
            completed++;
            done.sent(sendTokens[i], sendLengths[i]);
        }
    }

    // ------------------------------------------------------------------ closing

    /** Closes now (in-flight requests are woken by shutdown) or once the queued sends have left. Idempotent. */
    public void close(boolean now) {
        assertOwner();
        if (state == CLOSING || state == CLOSED) return;
        if (!now && sendCount > 0) {
            if (state == OPEN) state = machine.move(0, state, DRAINING);
            return;
        }
        beginClose(CLOSED_LOCALLY);
        finishIfDone();
    }

    private void beginClose(int status) {
        state = machine.move(0, state, CLOSING);
        closeStatus = status;
        // Wakes an armed RECV (it returns 0) and a SENDMSG waiting for room (-EPIPE); the fd stays ours until both end.
        TcpSocket.shutdown(fd, SocketAbi.SHUT_RDWR);
    }

    /** Releases everything once closing and nothing is in flight, then reports: unsent sends first, onClosed last. */
    private void finishIfDone() {
        if (state != CLOSING || recvArmed || sendInFlight || callbackDepth > 0) return;
        state = machine.move(0, state, CLOSED);
        Libc.close(fd);
        reactor.removeSink(sink);
        context.removeConnection();
        arena.close();
        int failed = closeStatus < 0 ? closeStatus : -Errno.ECANCELED;
        while (sendCount > 0) {
            int i = sendHead;
            SendDone done = sendDones[i];
            sendDones[i] = null;
            sendHead = (sendHead + 1) & sendMask;
            sendCount--;
            done.sent(sendTokens[i], failed);
        }
        receiver.onClosed(closeStatus);
    }

    /** Served by the context on the next cycle after an SQE could not be had (ring full, no receive buffer). */
    void retry() {
        if (state != OPEN && state != DRAINING) return;
        if (wantRecv && !recvArmed) armRecv();
        if (wantSend && !sendInFlight && sendCount > 0) submitSend();
    }

    @Override
    public void onRingCompletion(long userData48, int result, int flags) {
        callbackDepth++;
        try {
            if (userData48 == OP_RECV) {
                onRecv(result, flags);
            } else {
                Check.that(userData48 == OP_SEND, "completion of an unknown TCP operation", userData48);
                onSend(result);
            }
        } finally {
            callbackDepth--;
        }
        finishIfDone();
    }

    private void assertOwner() {
        Check.that(reactor.isOwnerThread(), "TcpConnection used off its reactor's thread");
    }

    // ------------------------------------------------------------------ status

    public int fd() { return fd; }
    public boolean isOpen() { return state == OPEN; }
    public boolean isClosed() { return state == CLOSED; }
    public String stateName() { return STATES.name(state); }
    /** Sends queued and not yet reported. */
    public int sendsQueued() { return sendCount; }
    /** "ip:port" of the peer (control path: allocates). */
    public String peerAddress() { return TcpSocket.peerAddress(fd); }

    /** {bytesReceived, bytesSent, recvCompletions, sendMessages, shortSends, droppedBytes}: racy reads. */
    public long[] counters() {
        return new long[] {bytesReceived, bytesSent, recvCompletions, sendMessages, shortSends, droppedBytes};
    }

    public static final String[] COUNTER_NAMES = {"bytes_received", "bytes_sent", "recv_completions", "send_messages",
            "short_sends", "dropped_bytes"};
}
