package io.basalt.shims;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * FFM downcalls into glibc. Every call returns what the kernel ABI returns: a non-negative result, or
 * {@code -errno} on failure (errno is captured through {@link Linker.Option#captureCallState}). No call
 * allocates on the Java heap after its handle exists, so the data path can use them.
 *
 * <p>Handles are created lazily, one holder class per function: creating a downcall handle costs about
 * 30-50 ms on these machines (seconds in a TCG guest), and most programs use a few of them.
 */
public final class Libc {
    private Libc() {}

    static final Linker LINKER = Linker.nativeLinker();
    static final SymbolLookup LOOKUP = LINKER.defaultLookup();
    static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO_HANDLE = CAPTURE_LAYOUT.varHandle(groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    /** One errno capture buffer per thread, allocated once and kept for the thread's life. */
    private static final ThreadLocal<MemorySegment> CAPTURE =
            ThreadLocal.withInitial(() -> Arena.global().allocate(CAPTURE_LAYOUT));

    // open(2) flags, x86_64 values (asm-generic/fcntl.h).
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0x40;
    public static final int O_EXCL = 0x80;
    public static final int O_TRUNC = 0x200;
    public static final int O_DIRECT = 0x4000;
    public static final int O_CLOEXEC = 0x80000;

    // mmap(2)
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 1;
    public static final int MAP_PRIVATE = 2;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_POPULATE = 0x8000;
    public static final long MAP_FAILED = -1L;
    public static final int MADV_DONTNEED = 4;
    public static final int MADV_DONTFORK = 10;
    public static final int MADV_HUGEPAGE = 14;

    // fallocate(2) modes (linux/falloc.h)
    public static final int FALLOC_FL_KEEP_SIZE = 0x01;
    public static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    public static final int FALLOC_FL_ZERO_RANGE = 0x10;

    // ioctl requests (linux/fs.h): _IOR(0x12,114,size_t) and _IO(0x12,104), _IO(0x12,123)
    public static final long BLKGETSIZE64 = 0x80081272L;
    public static final long BLKSSZGET = 0x1268L;
    public static final long BLKPBSZGET = 0x127bL;

    // eventfd(2), memfd_create(2)
    public static final int EFD_CLOEXEC = 0x80000;
    public static final int EFD_NONBLOCK = 0x800;
    public static final int MFD_CLOEXEC = 1;
    public static final int MFD_ALLOW_SEALING = 2;

    // poll(2) (asm-generic/poll.h) and struct pollfd (8 bytes: 0 fd s32, 4 events s16, 6 revents s16)
    public static final int POLLIN = 0x1;
    public static final int POLLOUT = 0x4;
    public static final int POLLERR = 0x8;
    public static final int POLLHUP = 0x10;
    public static final int POLLNVAL = 0x20;
    public static final int POLLFD_SIZE = 8;
    public static final int POLLFD_FD_OFFSET = 0;
    public static final int POLLFD_EVENTS_OFFSET = 4;
    public static final int POLLFD_REVENTS_OFFSET = 6;

    // x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl)
    public static final long SYS_IO_URING_SETUP = 425;
    public static final long SYS_IO_URING_ENTER = 426;
    public static final long SYS_IO_URING_REGISTER = 427;

    static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... extra) {
        MemorySegment symbol = LOOKUP.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        Linker.Option[] options = new Linker.Option[extra.length + 1];
        options[0] = CAPTURE_ERRNO;
        System.arraycopy(extra, 0, options, 1, extra.length);
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    /** The calling thread's capture buffer. */
    static MemorySegment capture() {
        return CAPTURE.get();
    }

    /** Turns a libc "-1 and errno" result into the kernel's "-errno". */
    static long result(long value, MemorySegment capture) {
        return value == -1 ? -(int) ERRNO_HANDLE.get(capture, 0L) : value;
    }

    static int result(int value, MemorySegment capture) {
        return value == -1 ? -(int) ERRNO_HANDLE.get(capture, 0L) : value;
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    // ---------------------------------------------------------------- syscall(2), for io_uring

    private static final class Syscall {
        static final MethodHandle H = downcall("syscall",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
    }

    /** syscall(number, a..f): returns the result or -errno. Unused arguments are ignored by the kernel. */
    public static long syscall(long number, long a, long b, long c, long d, long e, long f) {
        MemorySegment capture = capture();
        try {
            return result((long) Syscall.H.invokeExact(capture, number, a, b, c, d, e, f), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- files

    private static final class Open {
        static final MethodHandle H = downcall("open",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    }

    /** open(path, flags, mode): a file descriptor or -errno. */
    public static int open(String path, int flags, int mode) {
        MemorySegment capture = capture();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(path);
            return result((int) Open.H.invokeExact(capture, cPath, flags, mode), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Close {
        static final MethodHandle H = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    }

    public static int close(int fd) {
        MemorySegment capture = capture();
        try {
            return result((int) Close.H.invokeExact(capture, fd), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Fstat {
        static final MethodHandle H = downcall("fstat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    }

    /** fstat(fd, stat): fills a {@link Stat#LAYOUT}-sized segment; 0 or -errno. */
    public static int fstat(int fd, MemorySegment stat) {
        Check.that(stat.byteSize() >= Stat.SIZE, "stat buffer too small");
        MemorySegment capture = capture();
        try {
            return result((int) Fstat.H.invokeExact(capture, fd, stat), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Fallocate {
        static final MethodHandle H = downcall("fallocate",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    }

    public static int fallocate(int fd, int mode, long offsetBytes, long lengthBytes) {
        MemorySegment capture = capture();
        try {
            return result((int) Fallocate.H.invokeExact(capture, fd, mode, offsetBytes, lengthBytes), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Ftruncate {
        static final MethodHandle H = downcall("ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    }

    public static int ftruncate(int fd, long lengthBytes) {
        MemorySegment capture = capture();
        try {
            return result((int) Ftruncate.H.invokeExact(capture, fd, lengthBytes), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Fsync {
        static final MethodHandle H = downcall("fsync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    }

    public static int fsync(int fd) {
        MemorySegment capture = capture();
        try {
            return result((int) Fsync.H.invokeExact(capture, fd), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Ioctl {
        static final MethodHandle H = downcall("ioctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));
    }

    /** ioctl(fd, request, argp): 0 (or the ioctl's result) or -errno. */
    public static int ioctl(int fd, long request, MemorySegment arg) {
        MemorySegment capture = capture();
        try {
            return result((int) Ioctl.H.invokeExact(capture, fd, request, arg), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Read {
        static final MethodHandle H = downcall("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    }

    public static long read(int fd, MemorySegment buffer, long lengthBytes) {
        Check.that(lengthBytes <= buffer.byteSize(), "read length beyond buffer");
        MemorySegment capture = capture();
        try {
            return result((long) Read.H.invokeExact(capture, fd, buffer, lengthBytes), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Write {
        static final MethodHandle H = downcall("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    }

    public static long write(int fd, MemorySegment buffer, long lengthBytes) {
        Check.that(lengthBytes <= buffer.byteSize(), "write length beyond buffer");
        MemorySegment capture = capture();
        try {
            return result((long) Write.H.invokeExact(capture, fd, buffer, lengthBytes), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- memory

    private static final class Mmap {
        static final MethodHandle H = downcall("mmap",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    }

    /** mmap: the mapping's address, or -errno (addresses of user mappings are below 2^47, so never negative). */
    public static long mmap(long address, long lengthBytes, int prot, int flags, int fd, long offsetBytes) {
        MemorySegment capture = capture();
        try {
            return result((long) Mmap.H.invokeExact(capture, address, lengthBytes, prot, flags, fd, offsetBytes), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Munmap {
        static final MethodHandle H = downcall("munmap", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    }

    public static int munmap(long address, long lengthBytes) {
        MemorySegment capture = capture();
        try {
            return result((int) Munmap.H.invokeExact(capture, address, lengthBytes), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Madvise {
        static final MethodHandle H = downcall("madvise", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    }

    public static int madvise(long address, long lengthBytes, int advice) {
        MemorySegment capture = capture();
        try {
            return result((int) Madvise.H.invokeExact(capture, address, lengthBytes, advice), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- eventfd, memfd

    private static final class Eventfd {
        static final MethodHandle H = downcall("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    }

    public static int eventfd(int initialValue, int flags) {
        MemorySegment capture = capture();
        try {
            return result((int) Eventfd.H.invokeExact(capture, initialValue, flags), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class MemfdCreate {
        static final MethodHandle H = downcall("memfd_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    }

    public static int memfdCreate(String name, int flags) {
        MemorySegment capture = capture();
        try (Arena arena = Arena.ofConfined()) {
            return result((int) MemfdCreate.H.invokeExact(capture, arena.allocateFrom(name), flags), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- paths and identity, for socket files

    private static final class Chmod {
        static final MethodHandle H = downcall("chmod", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    }

    /** chmod(path, mode): 0 or -errno. */
    public static int chmod(String path, int mode) {
        MemorySegment capture = capture();
        try (Arena arena = Arena.ofConfined()) {
            return result((int) Chmod.H.invokeExact(capture, arena.allocateFrom(path), mode), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Chown {
        static final MethodHandle H = downcall("chown", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    }

    /** chown(path, uid, gid): 0 or -errno; -1 for uid or gid leaves that one unchanged. */
    public static int chown(String path, int uid, int gid) {
        MemorySegment capture = capture();
        try (Arena arena = Arena.ofConfined()) {
            return result((int) Chown.H.invokeExact(capture, arena.allocateFrom(path), uid, gid), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Unlink {
        static final MethodHandle H = downcall("unlink", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    /** unlink(path): 0 or -errno. */
    public static int unlink(String path) {
        MemorySegment capture = capture();
        try (Arena arena = Arena.ofConfined()) {
            return result((int) Unlink.H.invokeExact(capture, arena.allocateFrom(path)), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Getuid {
        static final MethodHandle H = downcall("getuid", FunctionDescriptor.of(JAVA_INT));
    }

    /** getuid(): the real user id (never fails). */
    public static int getuid() {
        MemorySegment capture = capture();
        try {
            return (int) Getuid.H.invokeExact(capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Getgid {
        static final MethodHandle H = downcall("getgid", FunctionDescriptor.of(JAVA_INT));
    }

    /** getgid(): the real group id (never fails). */
    public static int getgid() {
        MemorySegment capture = capture();
        try {
            return (int) Getgid.H.invokeExact(capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- poll, one fd

    private static final class Poll {
        static final MethodHandle H = downcall("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        /** One struct pollfd per thread, allocated once, like the errno capture buffer. */
        static final ThreadLocal<MemorySegment> POLLFD =
                ThreadLocal.withInitial(() -> Arena.global().allocate(POLLFD_SIZE, 8));
    }

    /**
     * poll on one fd: waits up to timeoutMs (-1: forever, 0: just look) for {@code events}. Returns the revents
     * (POLLIN, POLLHUP, ...; POLLERR, POLLHUP and POLLNVAL are reported even when not asked for), 0 on timeout, or
     * -errno (-EINTR is returned, not retried). Allocates nothing after the first call on a thread.
     */
    public static int poll(int fd, int events, int timeoutMs) {
        Check.that(events >= 0 && events <= 0xFFFF, "poll events are a short", events);
        MemorySegment pollfd = Poll.POLLFD.get();
        pollfd.set(JAVA_INT, POLLFD_FD_OFFSET, fd);
        pollfd.set(JAVA_SHORT, POLLFD_EVENTS_OFFSET, (short) events);
        pollfd.set(JAVA_SHORT, POLLFD_REVENTS_OFFSET, (short) 0);
        MemorySegment capture = capture();
        int ready;
        try {
            ready = result((int) Poll.H.invokeExact(capture, pollfd, 1L, timeoutMs), capture);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (ready <= 0) return ready;
        int revents = pollfd.get(JAVA_SHORT, POLLFD_REVENTS_OFFSET) & 0xFFFF;
        Check.that(revents != 0, "poll reported a ready fd with no revents", ready);
        return revents;
    }

    /** Maps a native address range as a segment with the given lifetime (no copy). */
    public static MemorySegment segment(long address, long lengthBytes) {
        return MemorySegment.ofAddress(address).reinterpret(lengthBytes);
    }

}
