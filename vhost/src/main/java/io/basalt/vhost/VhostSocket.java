package io.basalt.vhost;

import io.basalt.shims.Errno;
import io.basalt.shims.Libc;
import io.basalt.shims.UnixSocket;
import io.basalt.vhost.protocol.ProtocolException;
import io.basalt.vhost.protocol.VhostUser;
import io.basalt.vhost.protocol.VhostUserMessage;

import java.lang.foreign.MemorySegment;

/**
 * A session's connection: reads whole vhost-user messages (the header, then exactly {@code size} payload
 * bytes, collecting the fds that came with them) and writes replies. Used by the session thread only.
 */
final class VhostSocket implements AutoCloseable {
    static final int FDS_MAX = UnixSocket.FDS_MAX;

    private static final int[] NO_FDS = new int[0];
    private final int fd;
    private final UnixSocket.Receiver receiver = new UnixSocket.Receiver(FDS_MAX);
    private final UnixSocket.Sender sender = new UnixSocket.Sender(FDS_MAX);
    private final int[] chunkFds = new int[FDS_MAX];
    private boolean closed;

    VhostSocket(int fd) {
        this.fd = fd;
    }

    /**
     * Reads one message. Returns how many fds came with it (stored in {@code fdsOut}), or -1 when the
     * front-end closed the connection between messages. Throws {@link ProtocolException} for a message cut
     * short, an oversized payload, or too many fds (fds received so far are closed first).
     */
    int read(VhostUserMessage message, int[] fdsOut) {
        int[] count = {0};
        try {
            if (!readFully(message.buffer(), 0, VhostUserMessage.HEADER_SIZE, fdsOut, count, true)) return -1;
            int size = message.size();
            if (size < 0 || size > VhostUserMessage.PAYLOAD_MAX) {
                throw new ProtocolException(VhostUser.name(message.request()) + " with a payload of " + Integer.toUnsignedString(size)
                        + " bytes (at most " + VhostUserMessage.PAYLOAD_MAX + ")");
            }
            readFully(message.buffer(), VhostUserMessage.HEADER_SIZE, size, fdsOut, count, false);
            return count[0];
        } catch (RuntimeException e) {
            for (int i = 0; i < count[0]; i++) Libc.close(fdsOut[i]);
            throw e;
        }
    }

    private boolean readFully(MemorySegment buffer, long offset, long length, int[] fdsOut, int[] count, boolean atMessageStart) {
        long done = 0;
        while (done < length) {
            long n = receiver.receive(fd, buffer.asSlice(offset + done, length - done), length - done, chunkFds);
            if (n == -Errno.EINTR) continue;
            if (n < 0) throw new ProtocolException("receive failed: " + Errno.name(n));
            if (n == 0) {
                if (atMessageStart && done == 0) return false;
                throw new ProtocolException("front-end closed the connection in the middle of a message");
            }
            for (int i = 0; i < receiver.fdCount(); i++) {
                if (count[0] == fdsOut.length) {
                    for (int j = i; j < receiver.fdCount(); j++) Libc.close(chunkFds[j]);
                    throw new ProtocolException("more than " + fdsOut.length + " fds with one message");
                }
                fdsOut[count[0]++] = chunkFds[i];
            }
            done += n;
        }
        return true;
    }

    /** Sends the message (header and payload) with the given fds attached. */
    void write(VhostUserMessage message, int[] fds, int fdCount) {
        long length = message.totalBytes();
        long done = 0;
        while (done < length) {
            long n = sender.send(fd, message.buffer().asSlice(done, length - done), length - done,
                    done == 0 && fds != null ? fds : NO_FDS, done == 0 ? fdCount : 0);
            if (n == -Errno.EINTR) continue;
            if (n <= 0) throw new ProtocolException("send failed: " + Errno.name(n));
            done += n;
        }
    }

    /** Wakes a read blocked on this socket (from another thread). */
    void shutdown() {
        if (!closed) UnixSocket.shutdown(fd);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        receiver.close();
        sender.close();
        Libc.close(fd);
    }
}
