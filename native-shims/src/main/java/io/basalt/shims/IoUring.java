package io.basalt.shims;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static io.basalt.shims.IoUringAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * One io_uring instance: the mapped submission and completion rings and the SQE array.
 *
 * <p>Single owner: every method but {@link #close()} must be called by the thread that created the ring
 * (and with {@code IORING_SETUP_SINGLE_ISSUER} the kernel enforces it for submissions). Nothing here
 * allocates after {@link #setup}: SQEs are written in place, completions are handed to a
 * {@link CompletionHandler} as primitives.
 *
 * <p>Memory ordering follows io_uring.h and liburing: the application publishes SQEs with a store-release
 * of the SQ tail and reads the kernel's SQ head with a load-acquire; it reads the CQ tail with a
 * load-acquire before reading CQEs, and frees CQ slots with a store-release of the CQ head.
 */
public final class IoUring implements AutoCloseable {
    /** Receives one completion: allocation-free by design (primitives only). */
    @FunctionalInterface
    public interface CompletionHandler {
        void onCompletion(long userData, int result, int flags);
    }

    private static final VarHandle INT = JAVA_INT.varHandle();

    private final Arena arena;
    private final int ringFd;
    private final int setupFlags;
    private final int features;
    private final int sqEntries;
    private final int cqEntries;
    private final MemorySegment sqRing;
    private final MemorySegment cqRing;
    private final MemorySegment sqes;
    private final long sqRingBytes;
    private final long cqRingBytes;
    private final long sqHeadOffset, sqTailOffset, sqFlagsOffset, cqHeadOffset, cqTailOffset, cqesOffset;
    private final int sqMask, cqMask;
    private final MemorySegment eventsArg;
    private final MemorySegment timespec;

    private int sqTail;          // next SQE slot to fill (ours alone until published)
    private int sqTailPublished; // last tail made visible to the kernel
    private int sqHeadCached;    // kernel's SQ head as last read
    private int cqHead;          // ours; published after each reap
    private boolean closed;
    /** What io_uring_enter names the ring by: its fd, or its index in the registering thread's ring table. */
    private int enterFd;
    private int enterFlags;
    private Thread ringFdOwner;

    private IoUring(Arena arena, int ringFd, MemorySegment params, MemorySegment sqRing, MemorySegment cqRing,
                    MemorySegment sqes, long sqRingBytes, long cqRingBytes) {
        this.arena = arena;
        this.ringFd = ringFd;
        this.enterFd = ringFd;
        this.setupFlags = params.get(JAVA_INT, PARAMS_FLAGS_OFFSET);
        this.features = params.get(JAVA_INT, PARAMS_FEATURES_OFFSET);
        this.sqEntries = params.get(JAVA_INT, PARAMS_SQ_ENTRIES_OFFSET);
        this.cqEntries = params.get(JAVA_INT, PARAMS_CQ_ENTRIES_OFFSET);
        this.sqRing = sqRing;
        this.cqRing = cqRing;
        this.sqes = sqes;
        this.sqRingBytes = sqRingBytes;
        this.cqRingBytes = cqRingBytes;
        long sq = PARAMS_SQ_OFF_OFFSET;
        long cq = PARAMS_CQ_OFF_OFFSET;
        this.sqHeadOffset = params.get(JAVA_INT, sq + SQ_OFF_HEAD);
        this.sqTailOffset = params.get(JAVA_INT, sq + SQ_OFF_TAIL);
        this.sqFlagsOffset = params.get(JAVA_INT, sq + SQ_OFF_FLAGS);
        this.sqMask = sqRing.get(JAVA_INT, params.get(JAVA_INT, sq + SQ_OFF_RING_MASK));
        this.cqHeadOffset = params.get(JAVA_INT, cq + CQ_OFF_HEAD);
        this.cqTailOffset = params.get(JAVA_INT, cq + CQ_OFF_TAIL);
        this.cqesOffset = params.get(JAVA_INT, cq + CQ_OFF_CQES);
        this.cqMask = cqRing.get(JAVA_INT, params.get(JAVA_INT, cq + CQ_OFF_RING_MASK));
        this.eventsArg = arena.allocate(GETEVENTS_ARG_SIZE, 8);
        this.timespec = arena.allocate(TIMESPEC_SIZE, 8);
        this.sqTail = (int) INT.getAcquire(sqRing, sqTailOffset);
        this.sqTailPublished = sqTail;
        this.sqHeadCached = (int) INT.getAcquire(sqRing, sqHeadOffset);
        this.cqHead = (int) INT.getAcquire(cqRing, cqHeadOffset);
        // Identity SQ index array, filled once (as liburing does): slot i always names SQE i.
        long array = params.get(JAVA_INT, sq + SQ_OFF_ARRAY);
        for (int i = 0; i < sqEntries; i++) sqRing.set(JAVA_INT, array + 4L * i, i);
    }

    /**
     * io_uring_setup with {@code entries} SQEs (a power of two) and the given setup flags; the CQ gets twice
     * as many entries. Throws {@link NativeException} with the errno when the kernel refuses.
     */
    public static IoUring setup(int entries, int flags) {
        Check.powerOfTwo(entries, "entries");
        Arena arena = Arena.ofShared();
        try {
            MemorySegment params = arena.allocate(PARAMS_SIZE, 8);
            params.set(JAVA_INT, PARAMS_FLAGS_OFFSET, flags | IORING_SETUP_CQSIZE);
            params.set(JAVA_INT, PARAMS_CQ_ENTRIES_OFFSET, entries * 2);
            long fd = Libc.syscall(Libc.SYS_IO_URING_SETUP, entries, params.address(), 0, 0, 0, 0);
            if (fd < 0) {
                throw new NativeException("io_uring_setup(entries=" + entries + ", flags=0x" + Integer.toHexString(flags) + ")", fd,
                        fd == -Errno.EPERM ? "io_uring is disabled: set sysctl kernel.io_uring_disabled=0" :
                        fd == -Errno.ENOSYS ? "this kernel has no io_uring (needs Linux 5.19 or newer, CONFIG_IO_URING=y)" :
                        fd == -Errno.ENOMEM ? "locked memory limit too low: raise ulimit -l" : "");
            }
            return map(arena, (int) fd, params);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static IoUring map(Arena arena, int fd, MemorySegment params) {
        int features = params.get(JAVA_INT, PARAMS_FEATURES_OFFSET);
        int sqEntries = params.get(JAVA_INT, PARAMS_SQ_ENTRIES_OFFSET);
        int cqEntries = params.get(JAVA_INT, PARAMS_CQ_ENTRIES_OFFSET);
        long sqBytes = params.get(JAVA_INT, PARAMS_SQ_OFF_OFFSET + SQ_OFF_ARRAY) + 4L * sqEntries;
        long cqBytes = params.get(JAVA_INT, PARAMS_CQ_OFF_OFFSET + CQ_OFF_CQES) + (long) CQE_SIZE * cqEntries;
        boolean single = (features & IORING_FEAT_SINGLE_MMAP) != 0;
        if (single) {
            sqBytes = cqBytes = Math.max(sqBytes, cqBytes);
        }
        int prot = Libc.PROT_READ | Libc.PROT_WRITE;
        int mapFlags = Libc.MAP_SHARED | Libc.MAP_POPULATE;
        long sq = Libc.mmap(0, sqBytes, prot, mapFlags, fd, IORING_OFF_SQ_RING);
        if (sq < 0) {
            Libc.close(fd);
            throw new NativeException("mmap of the io_uring SQ ring", sq);
        }
        long cq = sq;
        if (!single) {
            cq = Libc.mmap(0, cqBytes, prot, mapFlags, fd, IORING_OFF_CQ_RING);
            if (cq < 0) {
                Libc.munmap(sq, sqBytes);
                Libc.close(fd);
                throw new NativeException("mmap of the io_uring CQ ring", cq);
            }
        }
        long sqeBytes = (long) SQE_SIZE * sqEntries;
        long sqes = Libc.mmap(0, sqeBytes, prot, mapFlags, fd, IORING_OFF_SQES);
        if (sqes < 0) {
            Libc.munmap(sq, sqBytes);
            if (!single) Libc.munmap(cq, cqBytes);
            Libc.close(fd);
            throw new NativeException("mmap of the io_uring SQE array", sqes);
        }
        return new IoUring(arena, fd, params, Libc.segment(sq, sqBytes), Libc.segment(cq, cqBytes),
                Libc.segment(sqes, sqeBytes), sqBytes, single ? 0 : cqBytes);
    }

    public int fd() { return ringFd; }
    public int sqEntries() { return sqEntries; }
    public int cqEntries() { return cqEntries; }
    public int setupFlags() { return setupFlags; }
    public int features() { return features; }

    /** SQEs filled and not yet consumed by the kernel (including any an earlier failed enter left). */
    public int pending() { return sqTail - (int) INT.getAcquire(sqRing, sqHeadOffset); }

    /** Free SQE slots, counting those filled but not yet submitted as used. */
    public int sqSpace() {
        int used = sqTail - sqHeadCached;
        if (used >= sqEntries) {
            sqHeadCached = (int) INT.getAcquire(sqRing, sqHeadOffset);
            used = sqTail - sqHeadCached;
        }
        return sqEntries - used;
    }

    /**
     * Fills the next SQE. Returns false when the SQ is full (submit, then retry). Every field is written, so
     * nothing from an earlier use of the slot leaks into this one.
     */
    public boolean prepare(byte opcode, byte sqeFlags, int fd, long offset, long address, int length,
                           int opFlags, long userData, short bufIndex) {
        return prepare(opcode, sqeFlags, (short) 0, fd, offset, address, length, opFlags, userData, bufIndex);
    }

    /**
     * As above, with {@code ioprio}: an I/O priority for reads and writes, and the per-opcode flags of the
     * networking ops (IORING_RECV_MULTISHOT, IORING_ACCEPT_MULTISHOT, IORING_RECVSEND_POLL_FIRST). With
     * IOSQE_BUFFER_SELECT, {@code bufIndex} is the buffer group (sqe->buf_group shares the field).
     */
    public boolean prepare(byte opcode, byte sqeFlags, short ioprio, int fd, long offset, long address, int length,
                           int opFlags, long userData, short bufIndex) {
        if (sqSpace() == 0) return false;
        long sqe = (long) (sqTail & sqMask) * SQE_SIZE;
        sqes.set(JAVA_BYTE, sqe + SQE_OPCODE_OFFSET, opcode);
        sqes.set(JAVA_BYTE, sqe + SQE_FLAGS_OFFSET, sqeFlags);
        sqes.set(JAVA_SHORT, sqe + SQE_IOPRIO_OFFSET, ioprio);
        sqes.set(JAVA_INT, sqe + SQE_FD_OFFSET, fd);
        sqes.set(JAVA_LONG, sqe + SQE_OFF_OFFSET, offset);
        sqes.set(JAVA_LONG, sqe + SQE_ADDR_OFFSET, address);
        sqes.set(JAVA_INT, sqe + SQE_LEN_OFFSET, length);
        sqes.set(JAVA_INT, sqe + SQE_OP_FLAGS_OFFSET, opFlags);
        sqes.set(JAVA_LONG, sqe + SQE_USER_DATA_OFFSET, userData);
        sqes.set(JAVA_SHORT, sqe + SQE_BUF_INDEX_OFFSET, bufIndex);
        sqes.set(JAVA_SHORT, sqe + SQE_PERSONALITY_OFFSET, (short) 0);
        sqes.set(JAVA_INT, sqe + SQE_FILE_INDEX_OFFSET, 0);
        sqes.set(JAVA_LONG, sqe + SQE_ADDR3_OFFSET, 0L);
        sqes.set(JAVA_LONG, sqe + SQE_ADDR3_OFFSET + 8, 0L);
        sqTail++;
        return true;
    }

    /** True when the kernel has deferred work or completions waiting that only io_uring_enter delivers. */
    public boolean kernelWantsEnter() {
        int flags = (int) INT.getAcquire(sqRing, sqFlagsOffset);
        return (flags & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) != 0;
    }

    /** Completions ready to reap now, without a system call. */
    public int ready() {
        return (int) INT.getAcquire(cqRing, cqTailOffset) - cqHead;
    }

    /**
     * Publishes filled SQEs and enters the kernel: submits them and, with {@code getEvents}, runs deferred
     * task work and waits for {@code minComplete} completions. Returns SQEs consumed or -errno; -EINTR,
     * -EAGAIN and -EBUSY are transient (reap, then call again).
     */
    public int enter(int minComplete, boolean getEvents) {
        int toSubmit = publish();
        int flags = getEvents || minComplete > 0 ? IORING_ENTER_GETEVENTS : 0;
        long r = Libc.syscall(Libc.SYS_IO_URING_ENTER, enterFd, toSubmit, minComplete, flags | enterFlags, 0, 0);
        return (int) r;
    }

    /** As {@link #enter} with a wait for at least one completion bounded by {@code timeoutNs} (needs EXT_ARG). */
    public int enterWithTimeout(int minComplete, long timeoutNs) {
        int toSubmit = publish();
        timespec.set(JAVA_LONG, TIMESPEC_SEC_OFFSET, timeoutNs / 1_000_000_000L);
        timespec.set(JAVA_LONG, TIMESPEC_NSEC_OFFSET, timeoutNs % 1_000_000_000L);
        eventsArg.set(JAVA_LONG, GETEVENTS_ARG_SIGMASK_OFFSET, 0L);
        eventsArg.set(JAVA_INT, GETEVENTS_ARG_SIGMASK_SZ_OFFSET, 0);
        eventsArg.set(JAVA_INT, GETEVENTS_ARG_SIGMASK_SZ_OFFSET + 4, 0);
        eventsArg.set(JAVA_LONG, GETEVENTS_ARG_TS_OFFSET, timespec.address());
        long r = Libc.syscall(Libc.SYS_IO_URING_ENTER, enterFd, toSubmit, minComplete,
                IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | enterFlags, eventsArg.address(), GETEVENTS_ARG_SIZE);
        // ETIME (timed out) and EINTR (a signal, e.g. a profiler's) both mean "woke with nothing": wait again.
        return r == -Errno.ETIME || r == -Errno.EINTR ? 0 : (int) r;
    }

    /**
     * Publishes the tail and returns how many SQEs the kernel has not consumed yet: counted from the kernel's
     * SQ head, not from the last publish, as liburing does, so SQEs left by an enter that failed before
     * consuming them (-EAGAIN, -EBUSY, ...) are submitted by the next one instead of being stranded. Without
     * SQPOLL the head moves only inside our own io_uring_enter, so the count is exact.
     */
    private int publish() {
        if (sqTail != sqTailPublished) {
            INT.setRelease(sqRing, sqTailOffset, sqTail); // io_uring.h: SQ tail store-release
            sqTailPublished = sqTail;
        }
        return sqTail - (int) INT.getAcquire(sqRing, sqHeadOffset); // pairs with the kernel's head store-release
    }

    /** Hands at most {@code max} completions to {@code handler}; returns how many. Handlers may prepare SQEs. */
    public int reap(CompletionHandler handler, int max) {
        return reap(handler, max, Integer.MAX_VALUE);
    }

    /**
     * As {@link #reap(CompletionHandler, int)}, and submits the SQEs the handlers prepared as soon as
     * {@code submitBatch} of them wait, between completions: a request that a completion resubmits starts
     * at once instead of after the whole batch. The enter happens here, not inside the handler, so that the
     * downcall stays shallow enough for the JIT to keep it allocation-free.
     */
    public int reap(CompletionHandler handler, int max, int submitBatch) {
        int tail = (int) INT.getAcquire(cqRing, cqTailOffset); // pairs with the kernel's store-release
        int head = cqHead;
        int count = 0;
        while (head != tail && count < max) {
            long cqe = cqesOffset + (long) (head & cqMask) * CQE_SIZE;
            long userData = cqRing.get(JAVA_LONG, cqe + CQE_USER_DATA_OFFSET);
            int res = cqRing.get(JAVA_INT, cqe + CQE_RES_OFFSET);
            int flags = cqRing.get(JAVA_INT, cqe + CQE_FLAGS_OFFSET);
            head++;
            count++;
            // Free the slot before the callback runs, so a handler that reaps recursively sees a sane head.
            cqHead = head;
            INT.setRelease(cqRing, cqHeadOffset, head);
            handler.onCompletion(userData, res, flags);
            if (sqTail - sqTailPublished >= submitBatch) enter(0, false); // a failure leaves them for the next enter
        }
        return count;
    }

    /** IORING_REGISTER_BUFFERS: {@code iovecs} holds {@code count} struct iovec. 0 or -errno. */
    public int registerBuffers(MemorySegment iovecs, int count) {
        return (int) Libc.syscall(Libc.SYS_IO_URING_REGISTER, ringFd, IORING_REGISTER_BUFFERS, iovecs.address(), count, 0, 0);
    }

    /** IORING_REGISTER_FILES with a table of {@code count} fds (-1 for an empty slot). 0 or -errno. */
    public int registerFiles(int[] fds) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment table = a.allocateFrom(JAVA_INT, fds);
            return (int) Libc.syscall(Libc.SYS_IO_URING_REGISTER, ringFd, IORING_REGISTER_FILES, table.address(), fds.length, 0, 0);
        }
    }

    /** IORING_REGISTER_FILES_UPDATE of one slot (fd -1 empties it). Returns slots updated (1) or -errno. */
    public int updateFile(int slot, int fd) {
        try (Arena a = Arena.ofConfined()) {
            // struct io_uring_files_update { __u32 offset; __u32 resv; __aligned_u64 fds; }
            MemorySegment update = a.allocate(16, 8);
            MemorySegment fdCell = a.allocateFrom(JAVA_INT, fd);
            update.set(JAVA_INT, 0, slot);
            update.set(JAVA_INT, 4, 0);
            update.set(JAVA_LONG, 8, fdCell.address());
            return (int) Libc.syscall(Libc.SYS_IO_URING_REGISTER, ringFd, IORING_REGISTER_FILES_UPDATE, update.address(), 1, 0, 0);
        }
    }

    /**
     * IORING_REGISTER_PBUF_RING: hands the kernel a provided-buffer ring of {@code entries} (a power of two, at
     * most 32768) struct io_uring_buf at {@code ringAddress} (page aligned), as buffer group {@code groupId}.
     * 0 or -errno (-EEXIST: the group id is taken; -EINVAL: before Linux 5.19, or a bad size or alignment).
     */
    public int registerBufferRing(long ringAddress, int entries, int groupId) {
        Check.powerOfTwo(entries, "buffer ring entries");
        Check.that(groupId >= 0 && groupId <= 0xFFFF, "buffer group id is a u16", groupId);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment reg = a.allocate(BUF_REG_SIZE, 8); // zeroed: flags and resv must be 0
            reg.set(JAVA_LONG, BUF_REG_RING_ADDR_OFFSET, ringAddress);
            reg.set(JAVA_INT, BUF_REG_RING_ENTRIES_OFFSET, entries);
            reg.set(JAVA_SHORT, BUF_REG_BGID_OFFSET, (short) groupId);
            return (int) Libc.syscall(Libc.SYS_IO_URING_REGISTER, ringFd, IORING_REGISTER_PBUF_RING, reg.address(), 1, 0, 0);
        }
    }

    /** IORING_UNREGISTER_PBUF_RING of buffer group {@code groupId}: 0 or -errno. */
    public int unregisterBufferRing(int groupId) {
        Check.that(groupId >= 0 && groupId <= 0xFFFF, "buffer group id is a u16", groupId);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment reg = a.allocate(BUF_REG_SIZE, 8);
            reg.set(JAVA_SHORT, BUF_REG_BGID_OFFSET, (short) groupId);
            return (int) Libc.syscall(Libc.SYS_IO_URING_REGISTER, ringFd, IORING_UNREGISTER_PBUF_RING, reg.address(), 1, 0, 0);
        }
    }

    /**
     * IORING_REGISTER_RING_FDS: puts this ring in the calling thread's registered-ring table, so that its
     * io_uring_enter calls pass an index and skip the kernel's per-call file lookup (fget/fput, 2-4% of a polling
     * reactor's samples on zram). The table is per thread: only the thread that registered may enter afterwards,
     * and it must be the one that closes the ring (the entry holds a reference to the ring). Returns 0, or -errno
     * when the kernel lacks it (before 5.18), in which case enters keep using the fd.
     */
    public int registerRingFd() {
        if (ringFdOwner != null) return 0;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment update = a.allocate(RSRC_UPDATE_SIZE, 8);
            update.set(JAVA_INT, RSRC_UPDATE_OFFSET_OFFSET, -1); // any free slot; the kernel writes back which
            update.set(JAVA_LONG, RSRC_UPDATE_DATA_OFFSET, ringFd);
            long r = Libc.syscall(Libc.SYS_IO_URING_REGISTER, ringFd, IORING_REGISTER_RING_FDS, update.address(), 1, 0, 0);
            if (r != 1) return r < 0 ? (int) r : -Errno.EINVAL;
            enterFd = update.get(JAVA_INT, RSRC_UPDATE_OFFSET_OFFSET);
            enterFlags = IORING_ENTER_REGISTERED_RING;
            ringFdOwner = Thread.currentThread();
            return 0;
        }
    }

    /** True when enters name the ring by its registered index. */
    public boolean ringFdRegistered() { return ringFdOwner != null; }

    private void unregisterRingFd() {
        Check.that(Thread.currentThread() == ringFdOwner, "a registered ring is closed by the thread that registered it");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment update = a.allocate(RSRC_UPDATE_SIZE, 8);
            update.set(JAVA_INT, RSRC_UPDATE_OFFSET_OFFSET, enterFd);
            Libc.syscall(Libc.SYS_IO_URING_REGISTER, ringFd, IORING_UNREGISTER_RING_FDS, update.address(), 1, 0, 0);
        }
        enterFd = ringFd;
        enterFlags = 0;
        ringFdOwner = null;
    }

    /** IORING_REGISTER_PROBE: whether the kernel supports {@code opcode}. */
    public boolean supports(int opcode) {
        try (Arena a = Arena.ofConfined()) {
            int ops = 256;
            MemorySegment probe = a.allocate(PROBE_SIZE + (long) ops * PROBE_OP_SIZE, 8);
            long r = Libc.syscall(Libc.SYS_IO_URING_REGISTER, ringFd, IORING_REGISTER_PROBE, probe.address(), ops, 0, 0);
            if (r < 0) return false;
            int lastOp = Byte.toUnsignedInt(probe.get(JAVA_BYTE, PROBE_LAST_OP_OFFSET));
            if (opcode > lastOp) return false;
            short flags = probe.get(JAVA_SHORT, PROBE_SIZE + (long) opcode * PROBE_OP_SIZE + PROBE_OP_FLAGS_OFFSET);
            return (flags & IO_URING_OP_SUPPORTED) != 0;
        }
    }

    @Override
    public void close() {
        if (closed) return;
        if (ringFdOwner != null) unregisterRingFd();
        closed = true;
        Libc.munmap(sqes.address(), sqes.byteSize());
        Libc.munmap(sqRing.address(), sqRingBytes);
        if (cqRingBytes != 0) Libc.munmap(cqRing.address(), cqRingBytes);
        Libc.close(ringFd);
        arena.close();
    }
}
