package io.basalt.engine.backend;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.shims.Check;
import io.basalt.shims.Errno;
import io.basalt.shims.Libc;
import io.basalt.shims.NativeException;
import io.basalt.shims.Stat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A regular file or a block device driven through each reactor's io_uring: O_DIRECT by default, the file in
 * the ring's fixed-file table, pool buffers as fixed buffers. Opening checks everything that would otherwise
 * fail on the first I/O: existence, type, size a multiple of the block size, O_DIRECT support.
 */
public final class UringBlockDevice implements BlockDevice {
    public static final int QUEUE_DEPTH_MAX = 512;
    public static final int SEGMENTS_MAX = 64;
    private static final int TRANSFER_BYTES_MAX = 8 << 20;

    /**
     * @param direct           open with O_DIRECT (bypass the page cache)
     * @param blockBytes       logical block size (0: the device's own, 4096 for files)
     * @param createSizeBytes  create the file sparse with this size when missing (0: the file must exist)
     * @param readOnly         refuse writes
     */
    public record Options(boolean direct, int blockBytes, long createSizeBytes, boolean readOnly) {
        public static Options defaults() {
            return new Options(true, 0, 0, false);
        }
    }

    private final String name;
    private final String path;
    private final Options options;
    private final int fd;
    private final Geometry geometry;
    private final boolean blockDevice;
    /**
     * FLUSH has nothing to do: an O_DIRECT block device whose queue says "write through" (no volatile write cache;
     * O_DIRECT leaves nothing in the page cache; a block device has no file metadata to sync). FLUSH then completes
     * on the next cycle without an fsync, which io_uring always runs on a worker thread. docs/decisions.md.
     */
    private final boolean flushIsNoOp;
    private volatile boolean closed;

    private UringBlockDevice(String name, String path, Options options, int fd, Geometry geometry, boolean blockDevice,
                             boolean flushIsNoOp) {
        this.name = name;
        this.path = path;
        this.options = options;
        this.fd = fd;
        this.geometry = geometry;
        this.blockDevice = blockDevice;
        this.flushIsNoOp = flushIsNoOp;
    }

    /** Opens {@code path}; throws {@link IllegalArgumentException} with a clear message when it cannot be used. */
    public static UringBlockDevice open(String name, String path, Options options) {
        int flags = (options.readOnly() ? Libc.O_RDONLY : Libc.O_RDWR) | Libc.O_CLOEXEC
                | (options.direct() ? Libc.O_DIRECT : 0) | (options.createSizeBytes() > 0 ? Libc.O_CREAT : 0);
        int fd = Libc.open(path, flags, 0600);
        if (fd == -Errno.EINVAL && options.direct()) {
            throw new IllegalArgumentException(path + ": the file system does not support O_DIRECT (tmpfs?); "
                    + "put the file on ext4/xfs or open it with direct=0");
        }
        if (fd < 0) {
            throw new IllegalArgumentException("cannot open " + path + ": " + Errno.name(fd)
                    + (fd == -Errno.ENOENT ? " (create it, or give a size to create a sparse file)" : ""));
        }
        try {
            return describeOpened(name, path, options, fd);
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }

    private static UringBlockDevice describeOpened(String name, String path, Options options, int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment stat = arena.allocate(Stat.SIZE, 8);
            NativeException.check(Libc.fstat(fd, stat), "fstat " + path);
            int type = stat.get(ValueLayout.JAVA_INT, Stat.ST_MODE_OFFSET) & Stat.S_IFMT;
            long sizeBytes;
            int blockBytes;
            boolean isBlock = type == Stat.S_IFBLK;
            if (isBlock) {
                MemorySegment value = arena.allocate(8, 8);
                NativeException.check(Libc.ioctl(fd, Libc.BLKGETSIZE64, value), "BLKGETSIZE64 " + path);
                sizeBytes = value.get(ValueLayout.JAVA_LONG, 0);
                NativeException.check(Libc.ioctl(fd, Libc.BLKSSZGET, value), "BLKSSZGET " + path);
                int sector = value.get(ValueLayout.JAVA_INT, 0);
                blockBytes = Math.max(sector, options.blockBytes());
            } else if (type == Stat.S_IFREG) {
                sizeBytes = stat.get(ValueLayout.JAVA_LONG, Stat.ST_SIZE_OFFSET);
                if (sizeBytes == 0 && options.createSizeBytes() > 0) {
                    NativeException.check(Libc.ftruncate(fd, options.createSizeBytes()), "ftruncate " + path);
                    sizeBytes = options.createSizeBytes();
                }
                blockBytes = options.blockBytes() == 0 ? 4096 : options.blockBytes();
            } else {
                throw new IllegalArgumentException(path + " is neither a regular file nor a block device");
            }
            if (Integer.bitCount(blockBytes) != 1 || blockBytes < 512) {
                throw new IllegalArgumentException("block size " + blockBytes + " is not a power of two >= 512");
            }
            if (sizeBytes < blockBytes || sizeBytes % blockBytes != 0) {
                throw new IllegalArgumentException(path + " has a wrong size: " + sizeBytes
                        + " bytes is not a positive multiple of the " + blockBytes + "-byte block");
            }
            long rdev = stat.get(ValueLayout.JAVA_LONG, Stat.ST_RDEV_OFFSET);
            Geometry g = new Geometry(blockBytes, sizeBytes / blockBytes, 1, TRANSFER_BYTES_MAX / blockBytes, SEGMENTS_MAX, true,
                    FileCapabilities.probe(fd, isBlock, rdev, sizeBytes, blockBytes, options.readOnly()));
            boolean flushIsNoOp = isBlock && options.direct() && !FileCapabilities.volatileWriteCache(rdev);
            return new UringBlockDevice(name, path, options, fd, g, isBlock, flushIsNoOp);
        }
    }

    @Override public String name() { return name; }
    @Override public Geometry geometry() { return geometry; }
    public String path() { return path; }
    public boolean isBlockDevice() { return blockDevice; }
    /** FLUSH completes without a system call (see {@link #flushIsNoOp}'s field). */
    public boolean flushIsNoOp() { return flushIsNoOp; }
    int fd() { return fd; }
    boolean readOnly() { return options.readOnly(); }
    boolean closed() { return closed; }

    @Override
    public String describe() {
        return "uring:" + path + (options.direct() ? " (O_DIRECT)" : " (buffered)") + (options.readOnly() ? " read-only" : "")
                + (flushIsNoOp ? " write-through" : "");
    }

    @Override
    public BlockChannel openChannel(Reactor reactor) {
        Check.that(reactor.isOwnerThread(), "openChannel on the reactor's thread");
        if (closed) throw new IllegalStateException("device " + name + " is closed");
        return new UringChannel(this, reactor, QUEUE_DEPTH_MAX);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Libc.close(fd);
    }
}
