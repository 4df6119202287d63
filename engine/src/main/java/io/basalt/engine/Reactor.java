package io.basalt.engine;

import io.basalt.shims.Check;
import io.basalt.shims.Errno;
import io.basalt.shims.IoUring;
import io.basalt.shims.IoUringAbi;
import io.basalt.shims.Libc;
import io.basalt.shims.NativeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * One polling thread and everything it owns: an io_uring, a buffer pool registered with it, a fixed-file
 * table, the channels opened on it, and a bounded queue through which other threads post commands (the
 * only way in). A cycle ({@link #doWork}) runs posted commands, delivers deferred completions, runs pollers,
 * then submits prepared SQEs and reaps completions in one io_uring_enter. The {@link IdleStrategy} decides
 * what an idle cycle costs.
 *
 * <p>{@code user_data} of every SQE packs a sink index (16 bits) and the sink's own 48 bits (a request slot
 * and generation), never an object reference.
 */
public final class Reactor implements AutoCloseable {
    /** Something the reactor calls every cycle: returns how much it did. Never blocks. */
    public interface Poller {
        int poll(long nowNs);

        /** True while the poller holds work that no ring completion will announce (so the reactor must not sleep). */
        boolean needsPolling();

        /**
         * Called just before the reactor sleeps (after its poll window ran out): a poller that polls a queue with
         * notifications off (a virtqueue) turns them on here and looks once more. False cancels this sleep.
         * Pollers therefore keep notifications off through the whole poll window, not only while work arrives.
         */
        default boolean readyToSleep() {
            return !needsPolling();
        }
    }

    /** Receives the ring completions whose user_data carries its sink index. */
    public interface RingSink {
        void onRingCompletion(long userData48, int result, int flags);
    }

    public static final long USER_DATA_MASK = (1L << 48) - 1;
    private static final int SINK_SHIFT = 48;
    private static final int DOORBELL_SINK = 0;
    private static final int SINKS_MAX = 1 << 16;
    private static final long DRAIN_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);

    /** Setup flags tried in order: fio's fast set first, then plainer ones for older kernels. */
    private static final int[] SETUP_FLAG_CHOICES = {
            IoUringAbi.IORING_SETUP_SINGLE_ISSUER | IoUringAbi.IORING_SETUP_DEFER_TASKRUN
                    | IoUringAbi.IORING_SETUP_COOP_TASKRUN | IoUringAbi.IORING_SETUP_TASKRUN_FLAG,
            IoUringAbi.IORING_SETUP_COOP_TASKRUN | IoUringAbi.IORING_SETUP_TASKRUN_FLAG,
            0,
    };
    private static final MemorySegment ONE = Arena.global().allocateFrom(ValueLayout.JAVA_LONG, 1L);

    private final ReactorConfig config;
    private final IdleStrategy idle;
    private final MpscQueue<Runnable> commands;
    private final Consumer<Runnable> commandRunner = this::runCommand;
    private final IoUring.CompletionHandler dispatcher = this::dispatch;
    private final DeferredCompletions deferred;
    private final int submitBatch;
    private final Arena arena = Arena.ofShared();
    private final CountDownLatch started = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);

    private Thread owner;
    private IoUring ring;
    private BufferPool pool;
    private boolean poolRegistered;
    private int doorbellFd = -1;
    private MemorySegment doorbellBuffer;
    private boolean doorbellArmed;
    private boolean[] fileSlotUsed = new boolean[0];
    private RingSink[] sinks = new RingSink[16];
    private int[] freeSinks = new int[0];
    private Poller[] pollers = new Poller[0];
    private int ringInFlight;
    private long nowNs;
    private volatile boolean running = true;
    private volatile boolean sleeping;
    private volatile Throwable failure;

    // Counters: written by the owner only, read racily by the control plane.
    private long cycles, enterCalls, sleeps, ringCompletions, commandsRun, sqFullRetries, enterErrors;
    /**
     * Time in cycles that did work, and the rest (cycles that found none, spinning, sleeping): SPDK's reactor busy
     * and idle ticks, without which a polling thread's CPU% says nothing. Owner writes with setOpaque, readers
     * getOpaque (never torn, no fence on x86-64/AArch64; see io.basalt.engine.stats.IoStats).
     */
    private long busyNs, idleNs;
    private long lastCycleEndNs;
    private static final java.lang.invoke.VarHandle BUSY_NS, IDLE_NS;

    static {
        try {
            java.lang.invoke.MethodHandles.Lookup lookup = java.lang.invoke.MethodHandles.lookup();
            BUSY_NS = lookup.findVarHandle(Reactor.class, "busyNs", long.class);
            IDLE_NS = lookup.findVarHandle(Reactor.class, "idleNs", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    public Reactor(ReactorConfig config) {
        this.config = config;
        this.idle = config.idle().copy();
        this.commands = new MpscQueue<>(config.commandQueueCapacity());
        this.deferred = new DeferredCompletions(config.deferredCapacity());
        this.submitBatch = config.submitBatch() == ReactorConfig.SUBMIT_PER_CYCLE ? Integer.MAX_VALUE : config.submitBatch();
    }

    /** Starts a reactor on its own thread and waits until its ring is up; throws what set-up threw. */
    public static Reactor start(ReactorConfig config) {
        Reactor r = new Reactor(config);
        Thread t = Thread.ofPlatform().name(config.name()).daemon(true).unstarted(r::run);
        t.start();
        try {
            r.started.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting " + config.name(), e);
        }
        if (r.failure != null) {
            if (r.failure instanceof RuntimeException re) throw re;
            throw new IllegalStateException("reactor " + config.name() + " failed to start", r.failure);
        }
        return r;
    }

    /** Sets the reactor up on the calling thread, which becomes its owner; the caller drives {@link #doWork}. */
    public void initOnCurrentThread() {
        Check.that(owner == null, "reactor already initialised");
        owner = Thread.currentThread();
        ring = setupRing(config.ringEntries());
        requireFeatures(ring);
        ring.registerRingFd(); // enters skip the fd lookup; an older kernel (before 5.18) keeps the fd
        doorbellFd = (int) NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        doorbellBuffer = arena.allocate(8, 8);
        sinks[DOORBELL_SINK] = (ud, res, flags) -> doorbellArmed = false;
        if (config.bufferCount() > 0) {
            pool = new BufferPool(config.bufferBytes(), config.bufferCount());
            MemorySegment iov = arena.allocate(IoUringAbi.IOVEC_SIZE, 8);
            iov.set(ValueLayout.JAVA_LONG, IoUringAbi.IOVEC_BASE_OFFSET, pool.slab().address());
            iov.set(ValueLayout.JAVA_LONG, IoUringAbi.IOVEC_LEN_OFFSET, pool.slab().byteSize());
            // A refusal (RLIMIT_MEMLOCK for non-root users) is not fatal: I/O then runs without fixed buffers.
            poolRegistered = ring.registerBuffers(iov, 1) == 0;
        }
        if (config.registeredFiles() > 0) {
            int[] empty = new int[config.registeredFiles()];
            Arrays.fill(empty, -1);
            if (ring.registerFiles(empty) == 0) fileSlotUsed = new boolean[empty.length];
        }
        nowNs = System.nanoTime();
    }

    private static IoUring setupRing(int entries) {
        NativeException last = null;
        for (int flags : SETUP_FLAG_CHOICES) {
            try {
                return IoUring.setup(entries, flags);
            } catch (NativeException e) {
                last = e;
                if (e.errno() != Errno.EINVAL) break; // only EINVAL means "flag unknown to this kernel"
            }
        }
        throw last;
    }

    /** Features the reactor relies on; a kernel without them gets a message saying what to do. */
    private static void requireFeatures(IoUring ring) {
        int missing = ~ring.features() & (IoUringAbi.IORING_FEAT_EXT_ARG | IoUringAbi.IORING_FEAT_NODROP);
        if (missing != 0) {
            ring.close();
            throw new IllegalStateException("this kernel's io_uring lacks features 0x" + Integer.toHexString(missing)
                    + " (EXT_ARG for timed waits, NODROP for no lost completions): Basalt needs Linux 5.11 or newer");
        }
    }

    private void run() {
        try {
            initOnCurrentThread();
        } catch (Throwable t) {
            failure = t;
            started.countDown();
            stopped.countDown();
            return;
        }
        started.countDown();
        try {
            while (running) {
                idle.idle(doWork(), this);
            }
            drain();
        } catch (Throwable t) {
            failure = t;
            System.err.println("reactor " + config.name() + " stopped by an error: " + t);
            t.printStackTrace();
        } finally {
            release();
            stopped.countDown();
        }
    }

    /** Finishes what is in flight (bounded by a timeout) before the ring goes away. */
    private void drain() {
        long deadline = System.nanoTime() + DRAIN_TIMEOUT_NS;
        while ((ringInFlight > 0 || deferred.size() > 0 || !commands.isEmpty() || pollersNeedPolling())
                && System.nanoTime() < deadline) {
            if (doWork() == 0 && ringInFlight > 0) ring.enterWithTimeout(1, 1_000_000);
        }
    }

    private void release() {
        if (ring != null) ring.close();
        if (doorbellFd >= 0) Libc.close(doorbellFd);
        if (pool != null) pool.close();
        arena.close();
    }

    /** One cycle. Returns the work done: commands run, completions delivered, poller work. */
    public int doWork() {
        assertOwner();
        long startNs = System.nanoTime();
        nowNs = startNs;
        cycles++;
        int work = 0;
        if (!commands.isEmpty()) work += commands.drain(commandRunner, 64);
        if (deferred.size() > 0) work += deferred.drain();
        Poller[] ps = pollers;
        for (int i = 0; i < ps.length; i++) work += ps[i].poll(nowNs);
        work += submitAndReap();
        accountTime(startNs, work);
        return work;
    }

    /** The cycle's time is busy when it did work; the time since the last cycle (the idle strategy's) is idle. */
    private void accountTime(long startNs, int work) {
        long endNs = System.nanoTime();
        long idleBeforeNs = lastCycleEndNs == 0 ? 0 : startNs - lastCycleEndNs;
        if (work > 0) {
            BUSY_NS.setOpaque(this, busyNs + (endNs - startNs));
            IDLE_NS.setOpaque(this, idleNs + idleBeforeNs);
        } else {
            IDLE_NS.setOpaque(this, idleNs + idleBeforeNs + (endNs - startNs));
        }
        lastCycleEndNs = endNs;
    }

    /**
     * Enters the kernel only when there is something to submit or the kernel flags deferred work
     * (IORING_SQ_TASKRUN, set under TASKRUN_FLAG when completions wait for an enter, as liburing's
     * cq_ring_needs_flush reads it). A spinning reactor with requests in flight thus makes no system calls.
     */
    private int submitAndReap() {
        if (ring.pending() > 0 || (ringInFlight > 0 && ring.kernelWantsEnter())) {
            enterCalls++;
            int r = ring.enter(0, true);
            if (r < 0 && r != -Errno.EINTR && r != -Errno.EAGAIN && r != -Errno.EBUSY) enterErrors++;
        }
        int n = ring.reap(dispatcher, config.ringEntries() * 2, submitBatch);
        ringCompletions += n;
        return n;
    }

    private void dispatch(long userData, int result, int flags) {
        int sink = (int) (userData >>> SINK_SHIFT);
        // A multishot request (recv, accept) posts many CQEs for one SQE; only its last one lacks F_MORE.
        if ((flags & IoUringAbi.IORING_CQE_F_MORE) == 0) ringInFlight--;
        sinks[sink].onRingCompletion(userData & USER_DATA_MASK, result, flags);
    }

    private void runCommand(Runnable command) {
        commandsRun++;
        try {
            command.run();
        } catch (RuntimeException e) {
            // A failed control command must not take the data path down with it.
            System.err.println("reactor " + config.name() + ": command failed: " + e);
        }
    }

    // ------------------------------------------------------------------ for channels (owner thread)

    /**
     * Fills one SQE for {@code sink}. Returns false when the ring is full even after submitting what was
     * prepared, or when the completions in flight would not fit the CQ: the caller reports busy.
     */
    public boolean prepare(int sink, byte opcode, byte sqeFlags, int fd, long offset, long address, int length,
                           int opFlags, long userData48, short bufIndex) {
        return prepare(sink, opcode, sqeFlags, (short) 0, fd, offset, address, length, opFlags, userData48, bufIndex);
    }

    /**
     * As above, with sqe->ioprio, which the networking ops read as their own flags (IORING_RECV_MULTISHOT,
     * IORING_ACCEPT_MULTISHOT). A multishot request counts as one in flight until its last CQE (no F_MORE).
     */
    public boolean prepare(int sink, byte opcode, byte sqeFlags, short ioprio, int fd, long offset, long address,
                           int length, int opFlags, long userData48, short bufIndex) {
        if (ringInFlight >= ring.cqEntries()) return false;
        long userData = ((long) sink << SINK_SHIFT) | (userData48 & USER_DATA_MASK);
        if (!ring.prepare(opcode, sqeFlags, ioprio, fd, offset, address, length, opFlags, userData, bufIndex)) {
            sqFullRetries++;
            enterCalls++;
            ring.enter(0, false);
            if (!ring.prepare(opcode, sqeFlags, ioprio, fd, offset, address, length, opFlags, userData, bufIndex)) return false;
        }
        ringInFlight++;
        return true;
    }

    /**
     * Registers a provided-buffer ring with this reactor's io_uring as buffer group {@code groupId}
     * (IORING_REGISTER_PBUF_RING). Owner thread, control path. 0 or -errno (-EEXIST when the group is taken).
     */
    public int registerBufferRing(MemorySegment bufferRing, int entries, int groupId) {
        assertOwner();
        Check.that(bufferRing.byteSize() >= (long) entries * IoUringAbi.BUF_SIZE, "buffer ring holds its entries", entries);
        return ring.registerBufferRing(bufferRing.address(), entries, groupId);
    }

    /** Unregisters buffer group {@code groupId}; no request may still select from it. 0 or -errno. */
    public int unregisterBufferRing(int groupId) {
        assertOwner();
        return ring.unregisterBufferRing(groupId);
    }


    /** Registers a ring sink; returns its index for {@link #prepare}. Owner thread, control path. */
    public int addSink(RingSink sink) {
        assertOwner();
        if (freeSinks.length > 0) {
            int index = freeSinks[freeSinks.length - 1];
            freeSinks = Arrays.copyOf(freeSinks, freeSinks.length - 1);
            sinks[index] = sink;
            return index;
        }
        for (int i = 1; i < sinks.length; i++) {
            if (sinks[i] == null) {
                sinks[i] = sink;
                return i;
            }
        }
        Check.that(sinks.length < SINKS_MAX, "too many ring sinks on one reactor");
        int index = sinks.length;
        sinks = Arrays.copyOf(sinks, Math.min(SINKS_MAX, sinks.length * 2));
        sinks[index] = sink;
        return index;
    }

    /** Removes a sink; its requests must all have completed. */
    public void removeSink(int index) {
        assertOwner();
        Check.that(index > 0 && sinks[index] != null, "removing an unknown sink", index);
        sinks[index] = null;
    }

    public void addPoller(Poller poller) {
        assertOwner();
        pollers = Arrays.copyOf(pollers, pollers.length + 1);
        pollers[pollers.length - 1] = poller;
    }

    public void removePoller(Poller poller) {
        assertOwner();
        Poller[] next = Arrays.stream(pollers).filter(p -> p != poller).toArray(Poller[]::new);
        Check.that(next.length == pollers.length - 1, "removing an unknown poller");
        pollers = next;
    }

    /** Puts {@code fd} in the ring's fixed-file table; returns its slot, or -1 when the table is full or absent. */
    public int registerFile(int fd) {
        assertOwner();
        for (int i = 0; i < fileSlotUsed.length; i++) {
            if (!fileSlotUsed[i] && ring.updateFile(i, fd) == 1) {
                fileSlotUsed[i] = true;
                return i;
            }
        }
        return -1;
    }

    public void unregisterFile(int slot) {
        assertOwner();
        Check.that(slot >= 0 && slot < fileSlotUsed.length && fileSlotUsed[slot], "unregistering an unknown file slot", slot);
        ring.updateFile(slot, -1);
        fileSlotUsed[slot] = false;
    }

    /** Room left in the deferred-completion queue. */
    public int deferredSpace() {
        return deferred.space();
    }

    /** Delivers a completion on the next cycle. The caller checked {@link #deferredSpace()} first. */
    public void completeLater(IoCompletion completion, long tag, int status) {
        deferred.add(completion, tag, status);
    }

    /** The fixed-buffer index for a buffer inside the registered pool, or -1. */
    public int fixedBufferIndex(long address, long lengthBytes) {
        return poolRegistered && pool.contains(address, lengthBytes) ? 0 : -1;
    }

    /** This reactor's buffer pool, or null when configured without one. Owner thread only. */
    public BufferPool bufferPool() {
        return pool;
    }

    /** The time at the start of this cycle. */
    public long nowNs() {
        return nowNs;
    }

    /** The time at the end of the last cycle (its time accounting's clock read; idle strategies reuse it). */
    long cycleEndNs() {
        return lastCycleEndNs;
    }

    public boolean isOwnerThread() {
        return Thread.currentThread() == owner;
    }

    private void assertOwner() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("reactor " + config.name() + " used from thread " + Thread.currentThread().getName());
        }
    }

    // ------------------------------------------------------------------ idling

    /** Sleeps in io_uring_enter until a completion, a posted command or {@code timeoutNs}. */
    void sleepUntilWork(long timeoutNs) {
        sleeping = true; // Dekker with post(): publish "sleeping", then look at the queue once more
        try {
            if (!commands.isEmpty() || deferred.size() > 0 || ring.pending() > 0 || !pollersReadyToSleep()) return;
            if (!doorbellArmed) {
                doorbellArmed = prepare(DOORBELL_SINK, IoUringAbi.IORING_OP_READ, (byte) 0, doorbellFd, 0,
                        doorbellBuffer.address(), 8, 0, 0, (short) 0);
            }
            sleeps++;
            enterCalls++;
            ring.enterWithTimeout(1, timeoutNs);
        } finally {
            sleeping = false;
        }
    }

    /** Parks the thread (backoff idling); a posted command unparks it. */
    void parkUntilWork(long timeoutNs) {
        sleeping = true;
        try {
            if (commands.isEmpty() && pollersReadyToSleep()) LockSupport.parkNanos(this, timeoutNs);
        } finally {
            sleeping = false;
        }
    }

    /** Asks every poller (each one, so that all turn their notifications on before the reactor sleeps). */
    private boolean pollersReadyToSleep() {
        boolean ready = true;
        for (Poller p : pollers) ready &= p.readyToSleep();
        return ready;
    }

    private boolean pollersNeedPolling() {
        for (Poller p : pollers) if (p.needsPolling()) return true;
        return false;
    }

    // ------------------------------------------------------------------ other threads

    /** Posts a command to run on this reactor. Any thread; false when the queue is full or the reactor stopped. */
    public boolean post(Runnable command) {
        if (!running || !commands.offer(command)) return false;
        if (sleeping) wake();
        return true;
    }

    private void wake() {
        Libc.write(doorbellFd, ONE, 8);
        Thread o = owner;
        if (o != null) LockSupport.unpark(o);
    }

    /** Runs {@code task} on the reactor and returns its result (control path only). */
    public <T> CompletableFuture<T> call(Callable<T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        boolean posted = post(() -> {
            try {
                result.complete(task.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        if (!posted) {
            result.completeExceptionally(new IllegalStateException("reactor " + config.name() + " is stopped or its command queue is full"));
        }
        return result;
    }

    /** Stops the loop after in-flight requests finish, then releases the ring. Waits for the thread. */
    @Override
    public void close() {
        if (owner == null) return;
        if (owner == Thread.currentThread() && stopped.getCount() > 0 && !running) return;
        running = false;
        if (owner == Thread.currentThread()) {
            // Driven by hand: drain and release here.
            drain();
            release();
            stopped.countDown();
            return;
        }
        wake();
        try {
            stopped.await(DRAIN_TIMEOUT_NS + TimeUnit.SECONDS.toNanos(5), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public boolean isRunning() {
        return running && stopped.getCount() > 0;
    }

    public String name() { return config.name(); }
    public ReactorConfig config() { return config; }
    public String idleStrategyName() { return idle.name(); }
    public Thread thread() { return owner; }
    public Throwable failure() { return failure; }

    /** Ring set-up flags in use, as text (which of the fallbacks the kernel took). */
    public String ringMode() {
        return ring == null ? "none" : "flags=0x" + Integer.toHexString(ring.setupFlags()) + " features=0x" + Integer.toHexString(ring.features())
                + (ring.ringFdRegistered() ? " registered-ring" : "");
    }

    public boolean fixedBuffersRegistered() { return poolRegistered; }
    public boolean fixedFilesRegistered() { return fileSlotUsed.length > 0; }

    /** Counters, read racily (for status and benchmarks). */
    public long[] counters() {
        return new long[] {cycles, enterCalls, sleeps, ringCompletions, commandsRun, sqFullRetries, enterErrors, busyNs(), idleNs()};
    }

    public static final String[] COUNTER_NAMES = {"cycles", "enter_calls", "sleeps", "ring_completions", "commands_run",
            "sq_full_retries", "enter_errors", "busy_ns", "idle_ns"};

    /** Nanoseconds spent in cycles that did work, since start. Any thread. */
    public long busyNs() {
        return (long) BUSY_NS.getOpaque(this);
    }

    /** Nanoseconds spent otherwise (idle cycles, spinning, sleeping), up to the end of the last cycle. Any thread. */
    public long idleNs() {
        return (long) IDLE_NS.getOpaque(this);
    }
}
