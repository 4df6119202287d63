package io.basalt.shims;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static io.basalt.shims.IoUringAbi.*;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link IoUring} against the running kernel. Every ring is created and used by the test's own thread. */
@Timeout(30)
class IoUringTest {
    /** What Reactor.SETUP_FLAG_CHOICES tries, in order (engine/.../Reactor.java; keep the two in step). */
    static final int FAST = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN
            | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    static final int COOP = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    static final int PLAIN = 0;

    /** Collects completions in arrays: the handler itself allocates nothing. */
    static final class Collected implements IoUring.CompletionHandler {
        final long[] userData;
        final int[] results;
        int count;

        Collected(int capacity) {
            userData = new long[capacity];
            results = new int[capacity];
        }

        @Override public void onCompletion(long ud, int result, int flags) {
            userData[count] = ud;
            results[count] = result;
            count++;
        }
    }

    private static boolean nop(IoUring ring, long userData) {
        return ring.prepare(IORING_OP_NOP, (byte) 0, -1, 0, 0, 0, 0, userData, (short) 0);
    }

    @ParameterizedTest(name = "flags 0x{0}")
    @ValueSource(ints = {FAST, COOP, PLAIN})
    void setupWithEachReactorFlagSetAndRoundTripANop(int flags) {
        try (IoUring ring = IoUring.setup(64, flags)) {
            assertEquals(64, ring.sqEntries());
            assertEquals(128, ring.cqEntries(), "CQ twice the SQ");
            assertEquals(flags | IORING_SETUP_CQSIZE, ring.setupFlags());
            assertTrue((ring.features() & IORING_FEAT_SINGLE_MMAP) != 0, "SINGLE_MMAP");
            assertTrue((ring.features() & IORING_FEAT_EXT_ARG) != 0, "EXT_ARG (enterWithTimeout needs it)");
            assertEquals(64, ring.sqSpace());
            long userData = 0xDEAD_BEEF_CAFEL;
            assertTrue(nop(ring, userData));
            assertEquals(1, ring.pending());
            assertEquals(1, ring.enter(1, true));
            assertEquals(0, ring.pending());
            assertEquals(1, ring.ready());
            Collected c = new Collected(4);
            assertEquals(1, ring.reap(c, 16));
            assertEquals(userData, c.userData[0]);
            assertEquals(0, c.results[0]);
            assertEquals(0, ring.ready());
            // sqSpace() re-reads the kernel's SQ head only when its cached view says full: a lower bound.
            assertTrue(ring.sqSpace() >= 63);
        }
    }

    /**
     * A registered ring fd (5.18+; this kernel has it): enters by index, timed waits too; closing unregisters. A
     * thread's table has 16 entries (IO_RINGFD_REG_MAX): 20 rings in turn register only if each close gave its back.
     */
    @Test
    void registeredRingFdEntersByIndexAndIsReleasedOnClose() throws Exception {
        for (int round = 0; round < 20; round++) {
            try (IoUring ring = IoUring.setup(64, FAST)) {
                assertEquals(0, ring.registerRingFd());
                assertTrue(ring.ringFdRegistered());
                assertEquals(0, ring.registerRingFd(), "a second call is a no-op");
                assertTrue(nop(ring, 7));
                assertEquals(1, ring.enter(1, true));
                Collected c = new Collected(4);
                assertEquals(1, ring.reap(c, 4));
                assertEquals(7, c.userData[0]);
                assertEquals(0, ring.enterWithTimeout(1, 1_000_000), "a timed wait with nothing in flight times out");
            }
        }
        try (IoUring ring = IoUring.setup(64, FAST)) {
            assertEquals(0, ring.registerRingFd());
            Throwable[] thrown = new Throwable[1];
            Thread other = Thread.ofPlatform().start(() -> {
                try {
                    ring.close();
                } catch (Throwable t) {
                    thrown[0] = t;
                }
            });
            other.join();
            assertTrue(thrown[0] instanceof IllegalStateException, "only the registering thread may close: " + thrown[0]);
        }
    }

    @Test
    void fullSqRefusesToPrepareUntilSubmitted() {
        try (IoUring ring = IoUring.setup(8, FAST)) {
            for (int i = 0; i < 8; i++) assertTrue(nop(ring, i), "SQE " + i);
            assertEquals(0, ring.sqSpace());
            assertFalse(nop(ring, 8), "SQ full");
            assertEquals(8, ring.pending());
            assertEquals(8, ring.enter(0, true));
            assertEquals(8, ring.sqSpace());
            assertTrue(nop(ring, 8), "room again after submission");
            assertEquals(1, ring.enter(0, true));
            Collected c = new Collected(16);
            assertEquals(9, ring.reap(c, 16));
            for (int i = 0; i < 9; i++) assertEquals(i, c.userData[i]);
        }
    }

    @Test
    void probeReportsTheOpcodesBasaltUses() {
        try (IoUring ring = IoUring.setup(8, PLAIN)) {
            for (byte op : new byte[] {IORING_OP_NOP, IORING_OP_READ, IORING_OP_WRITE, IORING_OP_READV, IORING_OP_WRITEV,
                    IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED, IORING_OP_FSYNC, IORING_OP_FALLOCATE, IORING_OP_TIMEOUT}) {
                assertTrue(ring.supports(op), "opcode " + op);
            }
            assertFalse(ring.supports(255), "no opcode 255");
        }
    }

    /** NOPs complete inline, in submission order: the CQ must give them back in that order, none lost. */
    @Test
    void thousandNopsComeBackInOrderWithTheirUserData() {
        int total = 1000;
        try (IoUring ring = IoUring.setup(64, FAST)) {
            Collected c = new Collected(total);
            int submitted = 0;
            while (c.count < total) {
                while (submitted < total && nop(ring, 1_000_000L + submitted)) submitted++;
                assertTrue(ring.enter(0, true) >= 0);
                ring.reap(c, 37); // an odd batch size, so reaps do not line up with submissions
            }
            assertEquals(total, submitted);
            for (int i = 0; i < total; i++) {
                assertEquals(1_000_000L + i, c.userData[i], "completion " + i);
                assertEquals(0, c.results[i]);
            }
            assertEquals(0, ring.ready());
        }
    }

    @ParameterizedTest(name = "flags 0x{0}")
    @ValueSource(ints = {FAST, PLAIN})
    void enterWithTimeoutReturnsWithNoEvents(int flags) {
        try (IoUring ring = IoUring.setup(8, flags)) {
            long start = System.nanoTime();
            assertEquals(0, ring.enterWithTimeout(1, 50_000_000L), "ETIME is reported as 0");
            long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            assertEquals(0, ring.ready());
            System.out.println("enterWithTimeout(50 ms), flags 0x" + Integer.toHexString(flags) + ": returned after " + elapsedMs + " ms");
            // A timeout of more than one second exercises the tv_sec / tv_nsec split.
            assertEquals(0, ring.enterWithTimeout(1, 1_000_000_001L));
        }
    }

    @Test
    void setupRejectsEntriesThatAreNotAPowerOfTwo() {
        assertThrows(IllegalArgumentException.class, () -> IoUring.setup(100, PLAIN));
        assertThrows(IllegalArgumentException.class, () -> IoUring.setup(0, PLAIN));
        assertThrows(IllegalArgumentException.class, () -> IoUring.setup(-8, PLAIN));
    }

    @Test
    void setupRefusalCarriesTheErrno() {
        // DEFER_TASKRUN without SINGLE_ISSUER is invalid.
        NativeException e = assertThrows(NativeException.class, () -> IoUring.setup(8, IORING_SETUP_DEFER_TASKRUN));
        assertEquals(Errno.EINVAL, e.errno());
    }

    /**
     * A sparse table (-1 slots), one slot filled by update: a WRITE through fixed file 2 reaches the eventfd;
     * after the slot is emptied again the same WRITE fails with EBADF.
     */
    @Test
    void registerSparseFilesThenUpdateASlot() {
        int efd = NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        try (IoUring ring = IoUring.setup(8, FAST); Arena arena = Arena.ofConfined()) {
            assertEquals(0, ring.registerFiles(new int[] {-1, -1, -1, -1}));
            assertEquals(1, ring.updateFile(2, efd));
            MemorySegment value = arena.allocate(JAVA_LONG);
            value.set(JAVA_LONG, 0, 7);
            Collected c = new Collected(4);
            assertTrue(ring.prepare(IORING_OP_WRITE, IOSQE_FIXED_FILE, 2, 0, value.address(), 8, 0, 1, (short) 0));
            ring.enter(1, true);
            ring.reap(c, 4);
            assertEquals(1, c.count);
            assertEquals(8, c.results[0], "WRITE through fixed file 2: " + Errno.name(c.results[0]));
            MemorySegment back = arena.allocate(JAVA_LONG);
            assertEquals(8, Libc.read(efd, back, 8));
            assertEquals(7, back.get(JAVA_LONG, 0));

            assertEquals(1, ring.updateFile(2, -1));
            assertTrue(ring.prepare(IORING_OP_WRITE, IOSQE_FIXED_FILE, 2, 0, value.address(), 8, 0, 2, (short) 0));
            ring.enter(1, true);
            ring.reap(c, 4);
            assertEquals(2, c.count);
            assertEquals(-Errno.EBADF, c.results[1], "empty slot");
            assertTrue(ring.updateFile(4, efd) < 0, "slot 4 is beyond the table");
        } finally {
            Libc.close(efd);
        }
    }

    /**
     * With DEFER_TASKRUN a completion that arrives while the thread is outside io_uring_enter stays in the
     * kernel's local work list until the next GETEVENTS enter. Does the kernel announce it through
     * IORING_SQ_TASKRUN (TASKRUN_FLAG), which {@link IoUring#kernelWantsEnter} reads?
     *
     * <p>A READ of a blocking eventfd with nothing to read arms a poll; the eventfd write from this same
     * thread wakes that poll synchronously inside write(2), so when write returns the task work is queued:
     * no timing involved.
     */
    @Test
    void deferredCompletionRaisesSqTaskrun() {
        int efd = NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC), "eventfd");
        try (IoUring ring = IoUring.setup(8, FAST); Arena arena = Arena.ofConfined()) {
            MemorySegment readInto = arena.allocate(JAVA_LONG);
            MemorySegment one = arena.allocate(JAVA_LONG);
            one.set(JAVA_LONG, 0, 1);
            assertTrue(ring.prepare(IORING_OP_READ, (byte) 0, efd, 0, readInto.address(), 8, 0, 77, (short) 0));
            assertEquals(1, ring.enter(0, true));
            assertEquals(0, ring.ready(), "nothing to read yet");
            assertFalse(ring.kernelWantsEnter(), "no deferred work yet");

            assertEquals(8, Libc.write(efd, one, 8));
            boolean flagRaised = ring.kernelWantsEnter();
            int readyBeforeEnter = ring.ready();
            System.out.println("SQ_TASKRUN finding (eventfd READ): after the write, kernelWantsEnter=" + flagRaised
                    + ", CQEs visible before enter=" + readyBeforeEnter);
            assertTrue(flagRaised, "IORING_SQ_TASKRUN set while the completion waits in the local work list");
            assertEquals(0, readyBeforeEnter, "DEFER_TASKRUN: no CQE until we enter");

            ring.enter(0, true); // GETEVENTS runs the local task work
            assertFalse(ring.kernelWantsEnter(), "flag cleared once the work ran");
            Collected c = new Collected(4);
            assertEquals(1, ring.reap(c, 4));
            assertEquals(77, c.userData[0]);
            assertEquals(8, c.results[0]);
            assertEquals(1, readInto.get(JAVA_LONG, 0));
        } finally {
            Libc.close(efd);
        }
    }

    /**
     * The same question for a completion from another context (a TIMEOUT's hrtimer). Reported, not timed:
     * waits (bounded) for either the flag or the CQE, then checks that the flag was what appeared.
     */
    @Test
    void timeoutCompletionRaisesSqTaskrun() {
        try (IoUring ring = IoUring.setup(8, FAST); Arena arena = Arena.ofConfined()) {
            MemorySegment ts = arena.allocate(TIMESPEC_SIZE, 8);
            ts.set(JAVA_LONG, TIMESPEC_SEC_OFFSET, 0);
            ts.set(JAVA_LONG, TIMESPEC_NSEC_OFFSET, 5_000_000L);
            assertTrue(ring.prepare(IORING_OP_TIMEOUT, (byte) 0, -1, 0, ts.address(), 1, 0, 99, (short) 0));
            assertEquals(1, ring.enter(0, false));
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!ring.kernelWantsEnter() && ring.ready() == 0 && System.nanoTime() < deadline) Thread.onSpinWait();
            boolean flagRaised = ring.kernelWantsEnter();
            int readyBeforeEnter = ring.ready();
            System.out.println("SQ_TASKRUN finding (TIMEOUT): kernelWantsEnter=" + flagRaised + ", CQEs visible before enter=" + readyBeforeEnter);
            assertTrue(flagRaised, "IORING_SQ_TASKRUN set for the expired timeout");
            assertEquals(0, readyBeforeEnter);
            ring.enter(0, true);
            Collected c = new Collected(4);
            assertEquals(1, ring.reap(c, 4));
            assertEquals(99, c.userData[0]);
            assertEquals(-Errno.ETIME, c.results[0]);
            assertFalse(ring.kernelWantsEnter());
        }
    }

    /**
     * The reactor's doorbell is an EFD_NONBLOCK eventfd read through the ring. On this kernel (6.18) io_uring
     * arms a poll for a pollable file even when it is O_NONBLOCK, so the READ waits for a write instead of
     * completing at once with -EAGAIN (which would make an idle reactor spin). Checked, not assumed.
     */
    @Test
    void readOfAnEmptyNonBlockingEventfdWaitsForAWrite() {
        int efd = NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        try (IoUring ring = IoUring.setup(8, FAST); Arena arena = Arena.ofConfined()) {
            MemorySegment readInto = arena.allocate(JAVA_LONG);
            MemorySegment three = arena.allocate(JAVA_LONG);
            three.set(JAVA_LONG, 0, 3);
            assertTrue(ring.prepare(IORING_OP_READ, (byte) 0, efd, 0, readInto.address(), 8, 0, 5, (short) 0));
            ring.enterWithTimeout(1, 20_000_000L);
            Collected c = new Collected(4);
            ring.reap(c, 4);
            assertEquals(0, c.count, c.count == 0 ? "" : "READ completed at once with " + Errno.name(c.results[0]));
            assertEquals(8, Libc.write(efd, three, 8));
            ring.enterWithTimeout(1, 5_000_000_000L);
            ring.reap(c, 4);
            assertEquals(1, c.count);
            assertEquals(8, c.results[0]);
            assertEquals(3, readInto.get(JAVA_LONG, 0));
        } finally {
            Libc.close(efd);
        }
    }

    /**
     * An io_uring_enter that fails before consuming the SQEs (documented as transient: "call again") must not
     * strand them: the next enter has to submit them. A ring created disabled (IORING_SETUP_R_DISABLED) refuses
     * enter with -EBADFD until IORING_REGISTER_ENABLE_RINGS, which makes the failure deterministic.
     */
    @Test
    void sqesLeftByAFailedEnterAreSubmittedByTheNext() {
        int setupRDisabled = 1 << 6;     // IORING_SETUP_R_DISABLED (io_uring.h), test-only
        int registerEnableRings = 12;    // IORING_REGISTER_ENABLE_RINGS (io_uring.h), test-only
        int ebadfd = 77;                 // EBADFD
        try (IoUring ring = IoUring.setup(8, setupRDisabled)) {
            assertTrue(nop(ring, 1));
            assertEquals(-ebadfd, ring.enter(0, true), "a disabled ring refuses to submit");
            assertEquals(0, Libc.syscall(Libc.SYS_IO_URING_REGISTER, ring.fd(), registerEnableRings, 0, 0, 0, 0));
            assertTrue(nop(ring, 2));
            assertEquals(2, ring.enterWithTimeout(2, 2_000_000_000L), "both SQEs submitted by the retry");
            Collected c = new Collected(4);
            assertEquals(2, ring.reap(c, 4));
            assertEquals(1, c.userData[0]);
            assertEquals(2, c.userData[1]);
            assertEquals(0, ring.pending());
        }
    }
}
