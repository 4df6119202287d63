package io.basalt.vhost.frontend;

import io.basalt.shims.Errno;
import io.basalt.shims.Libc;
import io.basalt.shims.UnixSocket;
import io.basalt.vhost.protocol.VhostUser;
import io.basalt.vhost.protocol.VhostUserMessage;

import java.lang.foreign.Arena;

import static io.basalt.vhost.protocol.VhostUserMessage.HEADER_SIZE;
import static io.basalt.vhost.protocol.VhostUserMessage.PAYLOAD_MAX;

/**
 * The front-end's side of one vhost-user control connection (vhost-user.rst, "Communication"): sends requests with
 * their fds, reads replies with a deadline (a back-end that never answers fails the open instead of hanging it),
 * and asks for an ack on every SET message once REPLY_ACK is negotiated, so set-up errors surface where they happen.
 * Used by one thread at a time: the opener during set-up, nobody on the data path.
 */
final class VhostUserConnection implements AutoCloseable {
    /** How long a reply may take: QEMU waits forever; a drive open should not. */
    static final int REPLY_TIMEOUT_MS = 10_000;
    private static final int CONNECT_ATTEMPTS = 50;
    private static final long CONNECT_RETRY_MS = 20;

    private final Arena arena = Arena.ofShared();
    private final VhostUserMessage message = new VhostUserMessage(arena);
    private final UnixSocket.Receiver receiver = new UnixSocket.Receiver();
    private final int[] fdsIn = new int[UnixSocket.FDS_MAX];
    private final String path;
    private final int socket;
    private boolean replyAck;
    private int receivedFds;

    private VhostUserConnection(String path, int socket) {
        this.path = path;
        this.socket = socket;
    }

    /** Connects, retrying briefly while the socket is not there yet (a back-end still starting). */
    static VhostUserConnection connect(String path) {
        int fd = -1;
        for (int i = 0; i < CONNECT_ATTEMPTS && fd < 0; i++) {
            fd = UnixSocket.connect(path);
            if (fd < 0 && fd != -Errno.ENOENT && fd != -Errno.ECONNREFUSED) break;
            if (fd < 0) sleepQuietly(CONNECT_RETRY_MS);
        }
        if (fd < 0) throw new IllegalArgumentException("vhost-user: cannot connect to " + path + ": " + Errno.name(fd));
        return new VhostUserConnection(path, fd);
    }

    int socket() { return socket; }
    String path() { return path; }

    void replyAck(boolean on) { replyAck = on; }

    VhostUserMessage message() { return message; }

    /** Starts a request in the message buffer. */
    VhostUserMessage request(int request, int payloadBytes) {
        return message.request(request, VhostUser.VERSION, payloadBytes);
    }

    /** A GET_* request without payload; returns the u64 reply. */
    long getU64(int request) {
        request(request, 0);
        send(null, 0);
        receive(request);
        return message.u64(0);
    }

    /** A SET_* request with a u64 payload. */
    void setU64(int request, long value) {
        request(request, 8).putU64(0, value);
        sendSet(request, null, 0);
    }

    /** Sends the request in the buffer (a SET); waits for the ack when REPLY_ACK is on. */
    void sendSet(int request, int[] fds, int fdCount) {
        boolean ack = replyAck;
        if (ack) message.buffer().set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, VhostUserMessage.FLAGS_OFFSET,
                VhostUser.VERSION | VhostUser.FLAG_NEED_REPLY);
        send(fds, fdCount);
        if (!ack) return;
        receive(request);
        long result = message.u64(0);
        if (result != 0) throw fail(VhostUser.name(request) + " refused by the back-end (ack " + result + ")");
    }

    void send(int[] fds, int fdCount) {
        int total = message.totalBytes();
        long n = UnixSocket.send(socket, message.buffer(), total, fds == null ? new int[0] : fds, fdCount);
        if (n != total) throw fail("sending " + VhostUser.name(message.request()) + ": " + (n < 0 ? Errno.name((int) n) : "short write"));
    }

    /**
     * Reads one reply to {@code request} into the message buffer. Fds that come with it are kept in
     * {@link #takeFd}'s reach; the caller takes them or they are closed by the next receive.
     */
    void receive(int request) {
        closeReceivedFds();
        readFully(0, HEADER_SIZE, request);
        int size = message.size();
        if (message.request() != request || (message.flags() & VhostUser.FLAG_REPLY) == 0 || size < 0 || size > PAYLOAD_MAX) {
            throw fail("garbage reply to " + VhostUser.name(request) + ": request " + message.request() + ", flags 0x"
                    + Integer.toHexString(message.flags()) + ", size " + size);
        }
        if (size > 0) readFully(HEADER_SIZE, size, request);
    }

    private void readFully(int offset, int bytes, int request) {
        int got = 0;
        while (got < bytes) {
            int ready = Libc.poll(socket, Libc.POLLIN, REPLY_TIMEOUT_MS);
            if (ready == -Errno.EINTR) continue;
            if (ready == 0) throw fail("no reply to " + VhostUser.name(request) + " within " + REPLY_TIMEOUT_MS + " ms");
            long n = receiver.receive(socket, message.buffer().asSlice(offset + got), bytes - got, fdsIn);
            if (n == -Errno.EINTR) continue;
            if (n <= 0) throw fail("the back-end closed the connection while answering " + VhostUser.name(request)
                    + (n < 0 ? " (" + Errno.name((int) n) + ")" : ""));
            if (receiver.fdCount() > 0) receivedFds = receiver.fdCount();
            got += (int) n;
        }
    }

    /** The first fd that came with the last reply (the caller owns it from now), or -1. */
    int takeFd() {
        if (receivedFds == 0) return -1;
        int fd = fdsIn[0];
        for (int i = 1; i < receivedFds; i++) Libc.close(fdsIn[i]);
        receivedFds = 0;
        return fd;
    }

    private void closeReceivedFds() {
        for (int i = 0; i < receivedFds; i++) Libc.close(fdsIn[i]);
        receivedFds = 0;
    }

    IllegalArgumentException fail(String what) {
        return new IllegalArgumentException("vhost-user " + path + ": " + what);
    }

    /** Wakes a thread blocked in poll on the socket (the hang-up watcher) without closing the fd under it. */
    void shutdown() {
        UnixSocket.shutdown(socket);
    }

    @Override
    public void close() {
        closeReceivedFds();
        Libc.close(socket);
        receiver.close();
        arena.close();
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
