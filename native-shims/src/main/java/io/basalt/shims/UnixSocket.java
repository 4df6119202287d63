package io.basalt.shims;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

import static io.basalt.shims.IoUringAbi.IOVEC_BASE_OFFSET;
import static io.basalt.shims.IoUringAbi.IOVEC_LEN_OFFSET;
import static io.basalt.shims.IoUringAbi.IOVEC_SIZE;
import static io.basalt.shims.Libc.capture;
import static io.basalt.shims.Libc.downcall;
import static io.basalt.shims.Libc.rethrow;
import static io.basalt.shims.Libc.result;
import static io.basalt.shims.SocketAbi.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Unix-domain stream sockets that carry file descriptors (SCM_RIGHTS), for the vhost-user server: QEMU connects
 * to a socket path and sends each message with up to {@link #FDS_MAX} fds attached (docs/interop/vhost-user.rst,
 * "Communication"). Java's UnixDomainSocketAddress channels cannot pass fds, hence these downcalls.
 *
 * <p>Every call follows the kernel convention: a non-negative result or {@code -errno}; -EINTR is returned, not
 * retried. All sockets are created close-on-exec, and received fds too (MSG_CMSG_CLOEXEC). Opening, binding and
 * connecting allocate (control path); {@link Receiver#receive} and {@link #send} allocate nothing after their
 * first call on an object or a thread.
 *
 * <p>Receiving from a hostile peer: more fds than the receiver has room for is reported as -EMSGSIZE with every
 * fd that did arrive already closed, so the caller only has to drop the peer. The kernel closes the ones it could
 * not deliver (net/core/scm.c, scm_detach_fds).
 */
public final class UnixSocket {
    private UnixSocket() {}

    /**
     * The most fds one message carries: vhost-user's VHOST_MEMORY_BASELINE_NREGIONS (8), the fds of
     * SET_MEM_TABLE. The default room of a {@link Receiver} and the limit of {@link #send}.
     */
    public static final int FDS_MAX = 8;

    static {
        Check.that(cmsgSpace((long) FDS_MAX * FD_SIZE) == CMSG_SPACE_8_FDS, "control room for FDS_MAX fds");
    }

    // ---------------------------------------------------------------- downcalls

    private static final class Socket {
        static final MethodHandle H = downcall("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    }

    private static final class Bind {
        static final MethodHandle H = downcall("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    }

    private static final class Listen {
        static final MethodHandle H = downcall("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    }

    private static final class Accept4 {
        static final MethodHandle H = downcall("accept4",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    }

    private static final class Connect {
        static final MethodHandle H = downcall("connect", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    }

    private static final class Recvmsg {
        static final MethodHandle H = downcall("recvmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    }

    private static final class Sendmsg {
        static final MethodHandle H = downcall("sendmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    }

    private static final class Shutdown {
        static final MethodHandle H = downcall("shutdown", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    }

    // ---------------------------------------------------------------- connections

    /**
     * socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC) + bind(path) + listen(backlog): the listening fd or -errno.
     * A path of more than 107 bytes (sun_path holds 108 with the NUL) is -ENAMETOOLONG, an empty one or one with
     * a NUL is -EINVAL, both without a system call. An existing file at path is -EADDRINUSE: nothing is unlinked.
     */
    public static int listen(String path, int backlog) {
        Check.positive(backlog, "backlog");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = arena.allocate(SOCKADDR_UN_SIZE, 8);
            int addressBytes = sockaddr(path, address);
            if (addressBytes < 0) return addressBytes;
            int fd = socket();
            if (fd < 0) return fd;
            MemorySegment capture = capture();
            int bound = result((int) Bind.H.invokeExact(capture, fd, address, addressBytes), capture);
            int listening = bound < 0 ? bound : result((int) Listen.H.invokeExact(capture, fd, backlog), capture);
            if (listening < 0) {
                Libc.close(fd);
                return listening;
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** accept4(listenFd, NULL, NULL, SOCK_CLOEXEC), blocking: the connection's fd or -errno. */
    public static int accept(int listenFd) {
        MemorySegment capture = capture();
        try {
            return result((int) Accept4.H.invokeExact(capture, listenFd, MemorySegment.NULL, MemorySegment.NULL,
                    SOCK_CLOEXEC), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** socket + connect(path), blocking: the connected fd or -errno (path rules as in {@link #listen}). */
    public static int connect(String path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = arena.allocate(SOCKADDR_UN_SIZE, 8);
            int addressBytes = sockaddr(path, address);
            if (addressBytes < 0) return addressBytes;
            int fd = socket();
            if (fd < 0) return fd;
            MemorySegment capture = capture();
            int connected = result((int) Connect.H.invokeExact(capture, fd, address, addressBytes), capture);
            if (connected < 0) {
                Libc.close(fd);
                return connected;
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * shutdown(fd, SHUT_RDWR): 0 or -errno. Wakes a thread blocked on fd: a receive returns 0, an accept on a
     * listening socket returns -EINVAL. The fd stays open; close it after the blocked thread has returned.
     */
    public static int shutdown(int fd) {
        MemorySegment capture = capture();
        try {
            return result((int) Shutdown.H.invokeExact(capture, fd, SHUT_RDWR), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static int socket() throws Throwable {
        MemorySegment capture = capture();
        return result((int) Socket.H.invokeExact(capture, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), capture);
    }

    /** Fills a sockaddr_un; returns its length (family + path + NUL) or -ENAMETOOLONG / -EINVAL. */
    private static int sockaddr(String path, MemorySegment address) {
        byte[] pathBytes = path.getBytes(StandardCharsets.UTF_8);
        if (pathBytes.length > SUN_PATH_SIZE - 1) return -Errno.ENAMETOOLONG;
        if (pathBytes.length == 0) return -Errno.EINVAL; // an empty path would autobind, not name a file
        for (byte b : pathBytes) {
            if (b == 0) return -Errno.EINVAL; // abstract-namespace and embedded NULs are not file paths
        }
        address.fill((byte) 0);
        address.set(JAVA_SHORT, SUN_FAMILY_OFFSET, (short) AF_UNIX);
        MemorySegment.copy(pathBytes, 0, address, JAVA_BYTE, SUN_PATH_OFFSET, pathBytes.length);
        return SUN_PATH_OFFSET + pathBytes.length + 1;
    }

    // ---------------------------------------------------------------- messages

    /** One msghdr, its single iovec and a control buffer, laid out in one native block. */
    private static MemorySegment messageBlock(Arena arena, long controlBytes) {
        MemorySegment block = arena.allocate(MSGHDR_SIZE + IOVEC_SIZE + controlBytes, 8);
        MemorySegment iovec = block.asSlice(MSGHDR_SIZE, IOVEC_SIZE);
        block.set(JAVA_LONG, MSG_NAME_OFFSET, 0L);
        block.set(JAVA_INT, MSG_NAMELEN_OFFSET, 0);
        block.set(JAVA_LONG, MSG_IOV_OFFSET, iovec.address());
        block.set(JAVA_LONG, MSG_IOVLEN_OFFSET, 1L);
        return block;
    }

    private static final ThreadLocal<Sender> SENDER = ThreadLocal.withInitial(() -> new Sender(FDS_MAX, Arena.global()));

    /**
     * sendmsg(fd, buffer[0, lengthBytes) + SCM_RIGHTS fds[0, fdCount), MSG_NOSIGNAL): bytes sent or -errno (-EPIPE
     * when the peer has gone, never SIGPIPE). At most {@link #FDS_MAX} fds; uses a per-thread {@link Sender}.
     */
    public static long send(int fd, MemorySegment buffer, long lengthBytes, int[] fds, int fdCount) {
        return SENDER.get().send(fd, buffer, lengthBytes, fds, fdCount);
    }

    /**
     * Sends messages with fds attached. Owns a native msghdr, iovec and control buffer sized for {@code fdsMax}
     * fds, so a send allocates nothing. One owner thread at a time.
     */
    public static final class Sender implements AutoCloseable {
        private final Arena arena;
        private final boolean ownsArena;
        private final MemorySegment msghdr;
        private final MemorySegment iovec;
        private final MemorySegment control;
        private final int fdsMax;

        /** A sender for up to fdsMax fds per message (the kernel takes at most 253, SCM_MAX_FD). */
        public Sender(int fdsMax) {
            this(fdsMax, Arena.ofShared(), true);
        }

        private Sender(int fdsMax, Arena arena) {
            this(fdsMax, arena, false);
        }

        private Sender(int fdsMax, Arena arena, boolean ownsArena) {
            this.fdsMax = Check.positive(fdsMax, "fdsMax");
            this.arena = arena;
            this.ownsArena = ownsArena;
            long controlBytes = cmsgSpace((long) fdsMax * FD_SIZE);
            this.msghdr = messageBlock(arena, controlBytes);
            this.iovec = msghdr.asSlice(MSGHDR_SIZE, IOVEC_SIZE);
            this.control = msghdr.asSlice(MSGHDR_SIZE + IOVEC_SIZE, controlBytes);
        }

        /**
         * sendmsg with MSG_NOSIGNAL: bytes sent or -errno. The fds travel with the first byte; when fewer than
         * lengthBytes were sent (a signal, a non-blocking socket), send the rest with no fds.
         */
        public long send(int fd, MemorySegment buffer, long lengthBytes, int[] fds, int fdCount) {
            Check.that(buffer.isNative(), "send buffer must be native memory");
            Check.that(lengthBytes > 0 && lengthBytes <= buffer.byteSize(), "send length (fds need a byte to ride on)", lengthBytes);
            Check.that(fdCount >= 0 && fdCount <= fdsMax && fdCount <= fds.length, "send fd count", fdCount);
            iovec.set(JAVA_LONG, IOVEC_BASE_OFFSET, buffer.address());
            iovec.set(JAVA_LONG, IOVEC_LEN_OFFSET, lengthBytes);
            if (fdCount == 0) {
                msghdr.set(JAVA_LONG, MSG_CONTROL_OFFSET, 0L);
                msghdr.set(JAVA_LONG, MSG_CONTROLLEN_OFFSET, 0L);
            } else {
                long dataBytes = (long) fdCount * FD_SIZE;
                control.set(JAVA_LONG, CMSG_LEN_OFFSET, cmsgLen(dataBytes));
                control.set(JAVA_INT, CMSG_LEVEL_OFFSET, SOL_SOCKET);
                control.set(JAVA_INT, CMSG_TYPE_OFFSET, SCM_RIGHTS);
                for (int i = 0; i < fdCount; i++) control.set(JAVA_INT, CMSG_DATA_OFFSET + (long) i * FD_SIZE, fds[i]);
                msghdr.set(JAVA_LONG, MSG_CONTROL_OFFSET, control.address());
                msghdr.set(JAVA_LONG, MSG_CONTROLLEN_OFFSET, cmsgSpace(dataBytes));
            }
            msghdr.set(JAVA_INT, MSG_FLAGS_OFFSET, 0);
            MemorySegment capture = capture();
            try {
                return result((long) Sendmsg.H.invokeExact(capture, fd, msghdr, MSG_NOSIGNAL), capture);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        @Override
        public void close() {
            if (ownsArena) arena.close();
        }
    }

    /**
     * Receives messages and the fds attached to them, for one connection. Owns a native msghdr, iovec and a control
     * buffer with room for {@code fdsMax} fds, so a receive allocates nothing; the fd count of the last receive is
     * read with {@link #fdCount()}. One owner thread at a time.
     */
    public static final class Receiver implements AutoCloseable {
        private final Arena arena = Arena.ofShared();
        private final MemorySegment msghdr;
        private final MemorySegment iovec;
        private final MemorySegment control;
        private final int fdsMax;
        private int fdCount;
        private long truncatedCount;

        /** Room for {@link #FDS_MAX} fds per message. */
        public Receiver() {
            this(FDS_MAX);
        }

        public Receiver(int fdsMax) {
            this.fdsMax = Check.positive(fdsMax, "fdsMax");
            long controlBytes = cmsgSpace((long) fdsMax * FD_SIZE);
            this.msghdr = messageBlock(arena, controlBytes);
            this.iovec = msghdr.asSlice(MSGHDR_SIZE, IOVEC_SIZE);
            this.control = msghdr.asSlice(MSGHDR_SIZE + IOVEC_SIZE, controlBytes);
        }

        /** Blocking {@link #receive(int, MemorySegment, long, int[], int)}. */
        public long receive(int fd, MemorySegment buffer, long lengthBytes, int[] fdsOut) {
            return receive(fd, buffer, lengthBytes, fdsOut, 0);
        }

        /**
         * recvmsg(fd, buffer[0, lengthBytes), MSG_CMSG_CLOEXEC | flags): the bytes received, at most lengthBytes
         * and maybe fewer (a stream: a message can arrive in pieces, or two in one); 0 when the peer has closed; or
         * -errno (-EAGAIN with MSG_DONTWAIT and nothing to read). The fds that came with the bytes are in
         * fdsOut[0, {@link #fdCount()}); the caller owns and closes them. More fds than the receiver's room is
         * -EMSGSIZE, with the delivered ones already closed and fdCount() 0: drop the peer, the stream is no
         * longer in step. flags: 0 or {@link SocketAbi#MSG_DONTWAIT}.
         */
        public long receive(int fd, MemorySegment buffer, long lengthBytes, int[] fdsOut, int flags) {
            Check.that(buffer.isNative(), "receive buffer must be native memory");
            Check.that(lengthBytes > 0 && lengthBytes <= buffer.byteSize(), "receive length", lengthBytes);
            Check.that(fdsOut.length >= fdsMax, "fdsOut smaller than the receiver's fd room", fdsOut.length);
            Check.that((flags & ~MSG_DONTWAIT) == 0, "receive flags", flags);
            fdCount = 0;
            iovec.set(JAVA_LONG, IOVEC_BASE_OFFSET, buffer.address());
            iovec.set(JAVA_LONG, IOVEC_LEN_OFFSET, lengthBytes);
            msghdr.set(JAVA_LONG, MSG_CONTROL_OFFSET, control.address());
            msghdr.set(JAVA_LONG, MSG_CONTROLLEN_OFFSET, control.byteSize()); // the kernel writes back what it used
            msghdr.set(JAVA_INT, MSG_FLAGS_OFFSET, 0);
            MemorySegment capture = capture();
            long bytes;
            try {
                bytes = result((long) Recvmsg.H.invokeExact(capture, fd, msghdr, MSG_CMSG_CLOEXEC | flags), capture);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (bytes < 0) return bytes;
            Check.that(bytes <= lengthBytes, "recvmsg returned more than asked", bytes);
            boolean overflow = collectFds(fdsOut);
            boolean truncated = (msghdr.get(JAVA_INT, MSG_FLAGS_OFFSET) & MSG_CTRUNC) != 0;
            if (overflow || truncated) {
                closeReceived(fdsOut);
                truncatedCount++;
                return -Errno.EMSGSIZE;
            }
            if (bytes == 0) closeReceived(fdsOut); // end of stream carries no fds; never leave any behind
            return bytes;
        }

        /**
         * Walks the control messages the kernel wrote and copies SCM_RIGHTS fds to fdsOut. Returns true when an fd
         * did not fit (it is closed here); other message types (none are enabled) are skipped.
         */
        private boolean collectFds(int[] fdsOut) {
            long usedBytes = msghdr.get(JAVA_LONG, MSG_CONTROLLEN_OFFSET);
            Check.that(usedBytes >= 0 && usedBytes <= control.byteSize(), "msg_controllen beyond the buffer", usedBytes);
            boolean overflow = false;
            long offset = 0;
            while (offset + CMSGHDR_SIZE <= usedBytes) { // CMSG_NXTHDR: a whole header must fit
                long messageBytes = control.get(JAVA_LONG, offset + CMSG_LEN_OFFSET);
                if (messageBytes < CMSG_DATA_OFFSET || messageBytes > usedBytes - offset) break;
                if (control.get(JAVA_INT, offset + CMSG_LEVEL_OFFSET) == SOL_SOCKET
                        && control.get(JAVA_INT, offset + CMSG_TYPE_OFFSET) == SCM_RIGHTS) {
                    long count = (messageBytes - CMSG_DATA_OFFSET) / FD_SIZE;
                    for (long i = 0; i < count; i++) {
                        int received = control.get(JAVA_INT, offset + CMSG_DATA_OFFSET + i * FD_SIZE);
                        if (fdCount < fdsMax) {
                            fdsOut[fdCount++] = received;
                        } else {
                            Libc.close(received);
                            overflow = true;
                        }
                    }
                }
                offset += cmsgAlign(messageBytes);
            }
            return overflow;
        }

        private void closeReceived(int[] fdsOut) {
            for (int i = 0; i < fdCount; i++) {
                Libc.close(fdsOut[i]);
                fdsOut[i] = -1;
            }
            fdCount = 0;
        }

        /** The number of fds the last receive stored in fdsOut (0 after an error). */
        public int fdCount() {
            return fdCount;
        }

        /** Receives refused for carrying more fds than the room (MSG_CTRUNC): a counter, for the peer's stats. */
        public long truncatedCount() {
            return truncatedCount;
        }

        public int fdsMax() {
            return fdsMax;
        }

        @Override
        public void close() {
            arena.close();
        }
    }
}
