package io.basalt.shims;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;

import static io.basalt.shims.Libc.capture;
import static io.basalt.shims.Libc.downcall;
import static io.basalt.shims.Libc.rethrow;
import static io.basalt.shims.Libc.result;
import static io.basalt.shims.SocketAbi.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * TCP sockets (IPv4 and IPv6) for the NVMe/TCP target: the set-up calls (socket, setsockopt, bind, listen) and the
 * address queries. Data moves through io_uring (IORING_OP_ACCEPT, RECV, SENDMSG), not through here. Every socket is
 * created SOCK_NONBLOCK | SOCK_CLOEXEC: io_uring polls a socket before it would block either way, and a stray
 * blocking call on the reactor thread must fail with -EAGAIN instead of stalling it.
 *
 * <p>Every call returns a non-negative result or {@code -errno}. These are control-path calls: they allocate.
 * Host names go through {@link InetAddress#getByName} (a numeric address is never looked up in DNS).
 */
public final class TcpSocket {
    private TcpSocket() {}

    /** The port field of sockaddr_in/sockaddr_in6 is big-endian (network order); the family is host order. */
    private static final ValueLayout.OfShort PORT = JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int PORT_MAX = 65535;

    private static final class Socket {
        static final MethodHandle H = downcall("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    }

    private static final class Setsockopt {
        static final MethodHandle H = downcall("setsockopt",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    }

    private static final class Bind {
        static final MethodHandle H = downcall("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    }

    private static final class Connect {
        static final MethodHandle H = downcall("connect", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    }

    private static final class Listen {
        static final MethodHandle H = downcall("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    }

    private static final class Getsockname {
        static final MethodHandle H = downcall("getsockname", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    }

    private static final class Getpeername {
        static final MethodHandle H = downcall("getpeername", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    }

    private static final class Shutdown {
        static final MethodHandle H = downcall("shutdown", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    }

    /**
     * A listening socket on {@code host:port} (port 0: the kernel picks one, see {@link #localPort}), with
     * SO_REUSEADDR (a restarted target binds its port again while old connections sit in TIME_WAIT). Returns the
     * fd or -errno; an unknown host is -EINVAL, a port outside [0, 65535] too.
     */
    public static int listen(String host, int port, int backlog) {
        Check.positive(backlog, "backlog");
        return socketAt(host, port, 0, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, (fd, address, addressBytes, capture) -> {
            int r = setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1);
            if (r >= 0) r = result((int) Bind.H.invokeExact(capture, fd, address, addressBytes), capture);
            if (r >= 0) r = result((int) Listen.H.invokeExact(capture, fd, backlog), capture);
            return r;
        });
    }

    /**
     * A TCP socket connected to {@code host:port}, for a host (the NVMe/TCP initiator). Unlike {@link #listen}'s it
     * is blocking (SOCK_CLOEXEC only): the caller runs its handshake with plain read/write on the control path
     * before handing the fd to io_uring, which never blocks on it either way. Returns the fd or -errno (an unknown
     * host or a port outside [1, 65535] is -EINVAL).
     */
    public static int connect(String host, int port) {
        return socketAt(host, port, 1, SOCK_STREAM | SOCK_CLOEXEC, (fd, address, addressBytes, capture) ->
                result((int) Connect.H.invokeExact(capture, fd, address, addressBytes), capture));
    }

    /**
     * As {@link #connect(String, int)}, but gives up after {@code timeoutMs} with -ETIMEDOUT (a host that is gone
     * answers no SYN, and a plain blocking connect waits out the kernel's SYN retries, about two minutes). Linux
     * bounds a blocking connect by SO_SNDTIMEO (it then returns -EINPROGRESS); the option is reset afterwards.
     */
    public static int connect(String host, int port, int timeoutMs) {
        return socketAt(host, port, 1, SOCK_STREAM | SOCK_CLOEXEC, (fd, address, addressBytes, capture) -> {
            int r = setTimeout(fd, SO_SNDTIMEO, timeoutMs);
            if (r < 0) return r;
            r = result((int) Connect.H.invokeExact(capture, fd, address, addressBytes), capture);
            if (r == -Errno.EINPROGRESS) return -Errno.ETIMEDOUT;
            if (r < 0) return r;
            return setTimeout(fd, SO_SNDTIMEO, 0);
        });
    }

    /** SO_SNDTIMEO / SO_RCVTIMEO: a struct timeval of {@code millis} (0: no timeout). 0 or -errno. */
    public static int setTimeout(int fd, int option, int millis) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment timeval = arena.allocate(TIMEVAL_BYTES, 8);
            timeval.set(ValueLayout.JAVA_LONG, 0, millis / 1000);
            timeval.set(ValueLayout.JAVA_LONG, 8, (millis % 1000) * 1000L);
            MemorySegment capture = capture();
            return result((int) Setsockopt.H.invokeExact(capture, fd, SOL_SOCKET, option, timeval, (int) TIMEVAL_BYTES), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** What {@link #socketAt} does with the new socket and the peer's or its own address: 0 or -errno. */
    @FunctionalInterface
    private interface AddressedCall {
        int apply(int fd, MemorySegment address, int addressBytes, MemorySegment capture) throws Throwable;
    }

    /**
     * A TCP socket of {@code type} for {@code host:port} (port in [portMin, 65535], else -EINVAL; an unknown host
     * -EINVAL), handed to {@code then} with the address; closed again when {@code then} fails. The fd or -errno.
     */
    private static int socketAt(String host, int port, int portMin, int type, AddressedCall then) {
        if (port < portMin || port > PORT_MAX) return -Errno.EINVAL;
        byte[] ip = resolve(host);
        if (ip == null) return -Errno.EINVAL;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = arena.allocate(SOCKADDR_STORAGE_SIZE, 8);
            int addressBytes = sockaddr(ip, port, address);
            int family = ip.length == IN_ADDR_SIZE ? AF_INET : AF_INET6;
            MemorySegment capture = capture();
            int fd = result((int) Socket.H.invokeExact(capture, family, type, 0), capture);
            if (fd < 0) return fd;
            int r = then.apply(fd, address, addressBytes, capture);
            if (r < 0) {
                Libc.close(fd);
                return r;
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** setsockopt(fd, level, option, &intValue, 4): 0 or -errno. */
    public static int setOption(int fd, int level, int option, int value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cell = arena.allocateFrom(JAVA_INT, value);
            MemorySegment capture = capture();
            return result((int) Setsockopt.H.invokeExact(capture, fd, level, option, cell, (int) JAVA_INT.byteSize()), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** TCP_NODELAY: small PDUs leave at once instead of waiting for Nagle's timer (NVMe/TCP hosts set it too). */
    public static int setNoDelay(int fd, boolean on) {
        return setOption(fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
    }

    /** shutdown(fd, how): 0 or -errno. Pending io_uring receives then complete with 0, sends with -EPIPE. */
    public static int shutdown(int fd, int how) {
        MemorySegment capture = capture();
        try {
            return result((int) Shutdown.H.invokeExact(capture, fd, how), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The port the socket is bound to (getsockname), or -errno. */
    public static int localPort(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = arena.allocate(SOCKADDR_STORAGE_SIZE, 8);
            int r = name(fd, address, arena, true);
            return r < 0 ? r : Short.toUnsignedInt(address.get(PORT, SIN_PORT_OFFSET));
        }
    }

    /** getsockname as "ip:port" ("[ipv6]:port"), or "?" with the errno when the call fails. */
    public static String localAddress(int fd) {
        return addressString(fd, true);
    }

    /** getpeername as "ip:port" ("[ipv6]:port"), or "?" with the errno when the call fails. */
    public static String peerAddress(int fd) {
        return addressString(fd, false);
    }

    private static String addressString(int fd, boolean local) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = arena.allocate(SOCKADDR_STORAGE_SIZE, 8);
            int r = name(fd, address, arena, local);
            return r < 0 ? "?(" + Errno.name(r) + ")" : format(address);
        }
    }

    private static int name(int fd, MemorySegment address, Arena arena, boolean local) {
        MemorySegment length = arena.allocateFrom(JAVA_INT, SOCKADDR_STORAGE_SIZE);
        MemorySegment capture = capture();
        try {
            return local ? result((int) Getsockname.H.invokeExact(capture, fd, address, length), capture)
                    : result((int) Getpeername.H.invokeExact(capture, fd, address, length), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** "ip:port" of a sockaddr_in or sockaddr_in6 ("[ip]:port" for IPv6, as URLs write it). */
    static String format(MemorySegment address) {
        int family = Short.toUnsignedInt(address.get(JAVA_SHORT, SIN_FAMILY_OFFSET));
        int port = Short.toUnsignedInt(address.get(PORT, SIN_PORT_OFFSET));
        try {
            if (family == AF_INET) {
                byte[] ip = address.asSlice(SIN_ADDR_OFFSET, IN_ADDR_SIZE).toArray(JAVA_BYTE);
                return InetAddress.getByAddress(ip).getHostAddress() + ":" + port;
            }
            if (family == AF_INET6) {
                byte[] ip = address.asSlice(SIN6_ADDR_OFFSET, IN6_ADDR_SIZE).toArray(JAVA_BYTE);
                return "[" + InetAddress.getByAddress(ip).getHostAddress() + "]:" + port;
            }
        } catch (UnknownHostException e) {
            throw new IllegalStateException("an address of " + 4 + " or 16 bytes is always valid", e);
        }
        return "?(family " + family + ")";
    }

    /** Fills a sockaddr_in (4-byte ip) or sockaddr_in6 (16-byte ip); returns its length. */
    static int sockaddr(byte[] ip, int port, MemorySegment address) {
        Check.that(port >= 0 && port <= PORT_MAX, "port in [0, 65535]", port);
        address.fill((byte) 0);
        if (ip.length == IN_ADDR_SIZE) {
            address.set(JAVA_SHORT, SIN_FAMILY_OFFSET, (short) AF_INET);
            address.set(PORT, SIN_PORT_OFFSET, (short) port);
            MemorySegment.copy(ip, 0, address, JAVA_BYTE, SIN_ADDR_OFFSET, IN_ADDR_SIZE);
            return SOCKADDR_IN_SIZE;
        }
        Check.that(ip.length == IN6_ADDR_SIZE, "an IPv6 address has 16 bytes", ip.length);
        address.set(JAVA_SHORT, SIN6_FAMILY_OFFSET, (short) AF_INET6);
        address.set(PORT, SIN6_PORT_OFFSET, (short) port);
        MemorySegment.copy(ip, 0, address, JAVA_BYTE, SIN6_ADDR_OFFSET, IN6_ADDR_SIZE);
        return SOCKADDR_IN6_SIZE;
    }

    /** The address bytes of {@code host} (a literal, or a name resolved once), or null when unknown. */
    private static byte[] resolve(String host) {
        try {
            String literal = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
            return InetAddress.getByName(literal).getAddress();
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
