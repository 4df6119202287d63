package io.basalt.shims;

/** errno names for messages (asm-generic/errno-base.h and errno.h). */
public final class Errno {
    private Errno() {}

    public static final int EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, ENXIO = 6, EBADF = 9, EAGAIN = 11,
            ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19, ENOTDIR = 20,
            EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24, ENOTTY = 25, EFBIG = 27, ENOSPC = 28,
            ESPIPE = 29, EROFS = 30, EPIPE = 32, ERANGE = 34, ENOSYS = 38, EOPNOTSUPP = 95, ETIME = 62,
            ECANCELED = 125, ETIMEDOUT = 110, ENAMETOOLONG = 36, ENOTSOCK = 88, EMSGSIZE = 90, EADDRINUSE = 98,
            ECONNRESET = 104, ENOTCONN = 107, ECONNREFUSED = 111, ENOBUFS = 105, EAFNOSUPPORT = 97,
            EADDRNOTAVAIL = 99, EINPROGRESS = 115, EHOSTUNREACH = 113, ENETUNREACH = 101;

    /** "ENOENT (2)" for an errno value, positive or negative. */
    public static String name(long errno) {
        int e = (int) Math.abs(errno);
        String n = switch (e) {
            case EPERM -> "EPERM"; case ENOENT -> "ENOENT"; case EINTR -> "EINTR"; case EIO -> "EIO";
            case ENXIO -> "ENXIO"; case EBADF -> "EBADF"; case EAGAIN -> "EAGAIN"; case ENOMEM -> "ENOMEM";
            case EACCES -> "EACCES"; case EFAULT -> "EFAULT"; case EBUSY -> "EBUSY"; case EEXIST -> "EEXIST";
            case ENODEV -> "ENODEV"; case ENOTDIR -> "ENOTDIR"; case EISDIR -> "EISDIR"; case EINVAL -> "EINVAL";
            case ENFILE -> "ENFILE"; case EMFILE -> "EMFILE"; case ENOTTY -> "ENOTTY"; case EFBIG -> "EFBIG";
            case ENOSPC -> "ENOSPC"; case ESPIPE -> "ESPIPE"; case EROFS -> "EROFS"; case EPIPE -> "EPIPE";
            case ERANGE -> "ERANGE"; case ENOSYS -> "ENOSYS"; case EOPNOTSUPP -> "EOPNOTSUPP"; case ETIME -> "ETIME";
            case ECANCELED -> "ECANCELED"; case ETIMEDOUT -> "ETIMEDOUT"; case EINPROGRESS -> "EINPROGRESS";
            case EHOSTUNREACH -> "EHOSTUNREACH"; case ENETUNREACH -> "ENETUNREACH"; case ENAMETOOLONG -> "ENAMETOOLONG";
            case ENOTSOCK -> "ENOTSOCK"; case EMSGSIZE -> "EMSGSIZE"; case EADDRINUSE -> "EADDRINUSE";
            case ECONNRESET -> "ECONNRESET"; case ENOTCONN -> "ENOTCONN"; case ECONNREFUSED -> "ECONNREFUSED";
            case ENOBUFS -> "ENOBUFS"; case EAFNOSUPPORT -> "EAFNOSUPPORT";
            case EADDRNOTAVAIL -> "EADDRNOTAVAIL";
            default -> "errno";
        };
        return n + " (" + e + ")";
    }
}
