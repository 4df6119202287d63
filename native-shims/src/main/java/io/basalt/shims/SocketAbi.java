package io.basalt.shims;

/**
 * Socket ABI: structure offsets and constants from glibc's sys/socket.h, sys/un.h, bits/socket.h, netinet/in.h
 * and netinet/tcp.h (which mirror linux/socket.h, linux/in.h, linux/in6.h and linux/tcp.h), x86_64 (LP64). Unix
 * sockets for vhost-user ({@link UnixSocket}), TCP for NVMe/TCP ({@link TcpSocket}).
 * {@code StructLayoutTest} compiles a C program against the installed headers and checks every value here.
 * struct iovec is the one in {@link IoUringAbi} ({@code IOVEC_SIZE}, {@code IOVEC_BASE_OFFSET}, {@code IOVEC_LEN_OFFSET}).
 *
 * <pre>
 * struct sockaddr_un (110 bytes)        struct msghdr (56 bytes)
 *   0 sun_family u16 (AF_UNIX)            0 msg_name       void*
 *   2 sun_path   char[108], NUL ended     8 msg_namelen    u32  (4 bytes padding)
 *                                        16 msg_iov        struct iovec*
 * struct cmsghdr (16 bytes, glibc)       24 msg_iovlen     size_t
 *   0 cmsg_len   size_t (header + data)  32 msg_control    void*
 *   8 cmsg_level s32 (SOL_SOCKET)        40 msg_controllen size_t (bytes; the kernel writes back what it used)
 *  12 cmsg_type  s32 (SCM_RIGHTS)        48 msg_flags      s32  (recvmsg output: MSG_CTRUNC, ...)
 *  16 data: int fds[]
 *
 * struct sockaddr_in (16 bytes)          struct sockaddr_in6 (28 bytes)
 *   0 sin_family u16 (AF_INET, host order) 0 sin6_family   u16 (AF_INET6, host order)
 *   2 sin_port   u16 BIG-endian            2 sin6_port     u16 BIG-endian
 *   4 sin_addr   u8[4] network order       4 sin6_flowinfo u32 (0)
 *   8 sin_zero   u8[8] (0)                 8 sin6_addr     u8[16] network order
 *                                         24 sin6_scope_id u32 (0: no link-local scope)
 * </pre>
 *
 * <p>Control-message arithmetic (bits/socket.h): every header and every data block is aligned to
 * {@code sizeof(size_t)} = 8 bytes. {@code CMSG_ALIGN(n) = (n + 7) & ~7};
 * {@code CMSG_LEN(n) = CMSG_ALIGN(sizeof(struct cmsghdr)) + n} is what goes in {@code cmsg_len} (no padding after
 * the data); {@code CMSG_SPACE(n) = CMSG_ALIGN(sizeof(struct cmsghdr)) + CMSG_ALIGN(n)} is the room a message
 * takes in the control buffer; {@code CMSG_DATA(c) = (char *) c + CMSG_LEN(0)}. For fds, n = count * 4: eight fds
 * take CMSG_LEN(32) = 48 and CMSG_SPACE(32) = 48, nine take CMSG_LEN(36) = 52 and CMSG_SPACE(36) = 56.
 */
public final class SocketAbi {
    private SocketAbi() {}

    // struct sockaddr_un (sys/un.h)
    public static final int SOCKADDR_UN_SIZE = 110;
    public static final int SUN_FAMILY_OFFSET = 0;
    public static final int SUN_PATH_OFFSET = 2;
    /** Bytes of sun_path, the terminating NUL included: a path has at most 107 bytes. */
    public static final int SUN_PATH_SIZE = 108;

    // struct sockaddr_in (netinet/in.h): family in host order, port and address in network (big-endian) order
    public static final int SOCKADDR_IN_SIZE = 16;
    public static final int SIN_FAMILY_OFFSET = 0;
    public static final int SIN_PORT_OFFSET = 2;
    public static final int SIN_ADDR_OFFSET = 4;
    public static final int IN_ADDR_SIZE = 4;

    // struct sockaddr_in6 (netinet/in.h)
    public static final int SOCKADDR_IN6_SIZE = 28;
    public static final int SIN6_FAMILY_OFFSET = 0;
    public static final int SIN6_PORT_OFFSET = 2;
    public static final int SIN6_FLOWINFO_OFFSET = 4;
    public static final int SIN6_ADDR_OFFSET = 8;
    public static final int SIN6_SCOPE_ID_OFFSET = 24;
    public static final int IN6_ADDR_SIZE = 16;

    /** struct sockaddr_storage: room for any address getsockname/getpeername may return. */
    public static final int SOCKADDR_STORAGE_SIZE = 128;

    // struct msghdr (bits/socket.h)
    public static final int MSGHDR_SIZE = 56;
    public static final int MSG_NAME_OFFSET = 0;
    public static final int MSG_NAMELEN_OFFSET = 8;
    public static final int MSG_IOV_OFFSET = 16;
    public static final int MSG_IOVLEN_OFFSET = 24;
    public static final int MSG_CONTROL_OFFSET = 32;
    public static final int MSG_CONTROLLEN_OFFSET = 40;
    public static final int MSG_FLAGS_OFFSET = 48;

    // struct cmsghdr (bits/socket.h)
    public static final int CMSGHDR_SIZE = 16;
    public static final int CMSG_LEN_OFFSET = 0;
    public static final int CMSG_LEVEL_OFFSET = 8;
    public static final int CMSG_TYPE_OFFSET = 12;
    /** CMSG_DATA(c) - c, equal to CMSG_LEN(0). */
    public static final int CMSG_DATA_OFFSET = 16;
    /** CMSG_SPACE(8 * sizeof(int)): a control buffer that holds one SCM_RIGHTS message of eight fds. */
    public static final int CMSG_SPACE_8_FDS = 48;
    /** sizeof(int): the bytes of one fd in an SCM_RIGHTS message. */
    public static final int FD_SIZE = 4;

    // address family, socket types and flags (bits/socket.h, bits/socket_type.h)
    public static final int AF_UNIX = 1;
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_CLOEXEC = 0x80000;
    public static final int SOCK_NONBLOCK = 0x800;

    // control messages (bits/socket.h)
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_KEEPALIVE = 9;
    public static final int SO_RCVTIMEO = 20;
    public static final int SO_SNDTIMEO = 21;
    /** struct timeval on x86_64: tv_sec (long), tv_usec (long). */
    public static final long TIMEVAL_BYTES = 16;
    public static final int IPPROTO_TCP = 6;
    public static final int TCP_NODELAY = 1;
    public static final int SCM_RIGHTS = 1;

    // send/recv flags (bits/socket.h)
    public static final int MSG_CTRUNC = 0x8;
    public static final int MSG_DONTWAIT = 0x40;
    public static final int MSG_WAITALL = 0x100;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;

    // shutdown(2) (sys/socket.h)
    public static final int SHUT_RD = 0;
    public static final int SHUT_WR = 1;
    public static final int SHUT_RDWR = 2;

    /** CMSG_ALIGN: rounds up to sizeof(size_t). */
    public static long cmsgAlign(long lengthBytes) {
        Check.that(lengthBytes >= 0, "cmsg length", lengthBytes);
        return (lengthBytes + 7) & ~7L;
    }

    /** CMSG_LEN(dataBytes): the cmsg_len of a control message carrying dataBytes. */
    public static long cmsgLen(long dataBytes) {
        return cmsgAlign(CMSGHDR_SIZE) + dataBytes;
    }

    /** CMSG_SPACE(dataBytes): the room that message takes in a control buffer, padding included. */
    public static long cmsgSpace(long dataBytes) {
        return cmsgAlign(CMSGHDR_SIZE) + cmsgAlign(dataBytes);
    }
}
