package io.basalt.engine;

import io.basalt.shims.Errno;

/**
 * Completion statuses of block I/O: plain ints so that a completion allocates nothing. Only {@link #OK}
 * means the request took effect; every other status leaves the request's blocks in an unspecified state
 * for writes (old or new data per block, never a third value) and the buffer unspecified for reads.
 */
public final class Status {
    private Status() {}

    public static final int OK = 0;
    /** The medium or backend failed the request (EIO, a fault injected, a short transfer). */
    public static final int IO_ERROR = 1;
    /** LBA range beyond the device's block count, or a negative LBA or count. */
    public static final int OUT_OF_RANGE = 2;
    /** Buffer address or length not a multiple of the logical block size, or length != blocks x block size. */
    public static final int MISALIGNED = 3;
    /** The device cannot do this operation (for example DISCARD on a file system without hole punching). */
    public static final int UNSUPPORTED = 4;
    /** The device or channel is closed or the drive disappeared. */
    public static final int DEVICE_GONE = 5;
    /** No space left on the backing store (a sparse file on a full file system). */
    public static final int NO_SPACE = 6;
    /** A write to a read-only device. */
    public static final int READ_ONLY = 7;

    /** A malformed request: more blocks than the device's maximum transfer, too many segments. */
    public static final int INVALID = 8;

    public static final int COUNT = 9;

    public static String name(int status) {
        return switch (status) {
            case OK -> "OK";
            case IO_ERROR -> "IO_ERROR";
            case OUT_OF_RANGE -> "OUT_OF_RANGE";
            case MISALIGNED -> "MISALIGNED";
            case UNSUPPORTED -> "UNSUPPORTED";
            case DEVICE_GONE -> "DEVICE_GONE";
            case NO_SPACE -> "NO_SPACE";
            case READ_ONLY -> "READ_ONLY";
            case INVALID -> "INVALID";
            default -> "STATUS_" + status;
        };
    }

    /** Maps a negative errno from the kernel to a status. */
    public static int fromErrno(int negativeErrno) {
        return switch (-negativeErrno) {
            case Errno.ENOSPC, Errno.EFBIG -> NO_SPACE;
            case Errno.EOPNOTSUPP, Errno.ENOTTY -> UNSUPPORTED;
            case Errno.ENODEV, Errno.ENXIO, Errno.EBADF -> DEVICE_GONE;
            case Errno.EROFS, Errno.EPERM, Errno.EACCES -> READ_ONLY;
            case Errno.EINVAL -> MISALIGNED;
            default -> IO_ERROR;
        };
    }
}
