package io.basalt.engine.conformance;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Drives one channel on a reactor run by hand (the test thread is the reactor's owner): submits requests,
 * runs {@link Reactor#doWork()} until their completions arrive, and checks the completion contract on every
 * request: exactly one completion per accepted request, never inside the submitting call.
 *
 * <p>Tags are indexes into a table of statuses, so several requests can be in flight. Public and free of
 * backend classes so that RAID volumes and exporters reuse it through the engine test-jar.
 */
public final class ConformanceHarness implements IoCompletion {
    public static final int TAGS_MAX = 4096;
    public static final long AWAIT_TIMEOUT_NS = 30_000_000_000L;
    private static final int PENDING = -1;
    private static final int IDLE = -2;

    private final Reactor reactor;
    private final BlockChannel channel;
    private final int[] statuses = new int[TAGS_MAX];
    private boolean submitting;
    private long completionsInsideSubmit;
    private long unexpectedCompletions;
    private long completions;

    public ConformanceHarness(Reactor reactor, BlockChannel channel) {
        this.reactor = reactor;
        this.channel = channel;
        Arrays.fill(statuses, IDLE);
    }

    public BlockChannel channel() { return channel; }
    public Reactor reactor() { return reactor; }
    public long completionsInsideSubmit() { return completionsInsideSubmit; }
    public long unexpectedCompletions() { return unexpectedCompletions; }
    public long completions() { return completions; }

    @Override
    public void complete(long tag, int status) {
        completions++;
        if (submitting) completionsInsideSubmit++;
        if (tag < 0 || tag >= TAGS_MAX || statuses[(int) tag] != PENDING) {
            unexpectedCompletions++;
            return;
        }
        statuses[(int) tag] = status;
    }

    // ------------------------------------------------------------------ submission (returns accepted)

    private boolean begin(int tag) {
        if (statuses[tag] == PENDING) throw new AssertionError("tag " + tag + " is already in flight");
        statuses[tag] = PENDING;
        submitting = true;
        return true;
    }

    private boolean end(int tag, boolean accepted) {
        submitting = false;
        if (!accepted) statuses[tag] = IDLE;
        return accepted;
    }

    public boolean submitRead(int tag, long lba, int blockCount, MemorySegment buffer) {
        return begin(tag) && end(tag, channel.read(lba, blockCount, buffer, tag, this));
    }

    public boolean submitWrite(int tag, long lba, int blockCount, MemorySegment buffer) {
        return begin(tag) && end(tag, channel.write(lba, blockCount, buffer, tag, this));
    }

    public boolean submitReadv(int tag, long lba, int blockCount, IoVector buffers) {
        return begin(tag) && end(tag, channel.readv(lba, blockCount, buffers, tag, this));
    }

    public boolean submitWritev(int tag, long lba, int blockCount, IoVector buffers) {
        return begin(tag) && end(tag, channel.writev(lba, blockCount, buffers, tag, this));
    }

    public boolean submitWritev(int tag, long lba, int blockCount, IoVector buffers, int flags) {
        return begin(tag) && end(tag, channel.writev(lba, blockCount, buffers, flags, tag, this));
    }

    public boolean submitFlush(int tag) {
        return begin(tag) && end(tag, channel.flush(tag, this));
    }

    public boolean submitDiscard(int tag, long lba, long blockCount) {
        return begin(tag) && end(tag, channel.discard(lba, blockCount, tag, this));
    }

    public boolean submitWriteZeroes(int tag, long lba, long blockCount) {
        return begin(tag) && end(tag, channel.writeZeroes(lba, blockCount, tag, this));
    }

    // ------------------------------------------------------------------ waiting

    public boolean done(int tag) {
        return statuses[tag] >= 0;
    }

    /** Runs the reactor until {@code tag} completes; returns its status and frees the tag. */
    public int await(int tag) {
        if (statuses[tag] == IDLE) throw new AssertionError("tag " + tag + " was never accepted");
        long deadline = System.nanoTime() + AWAIT_TIMEOUT_NS;
        while (statuses[tag] == PENDING) {
            reactor.doWork();
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("no completion for tag " + tag + " within " + AWAIT_TIMEOUT_NS / 1_000_000 + " ms");
            }
        }
        int status = statuses[tag];
        statuses[tag] = IDLE;
        return status;
    }

    /** Runs the reactor until nothing is in flight on the channel. */
    public void drain() {
        long deadline = System.nanoTime() + AWAIT_TIMEOUT_NS;
        while (channel.inFlight() > 0) {
            reactor.doWork();
            if (System.nanoTime() - deadline > 0) throw new AssertionError("channel did not drain: " + channel.inFlight() + " in flight");
        }
        reactor.doWork();
    }

    /** Runs the reactor until a submission is accepted (retrying while busy). */
    public void submitOrWait(java.util.function.BooleanSupplier submit) {
        long deadline = System.nanoTime() + AWAIT_TIMEOUT_NS;
        while (!submit.getAsBoolean()) {
            reactor.doWork();
            if (System.nanoTime() - deadline > 0) throw new AssertionError("channel stayed busy");
        }
    }

    // ------------------------------------------------------------------ one request, start to end

    public int read(long lba, int blockCount, MemorySegment buffer) {
        return accepted(submitRead(0, lba, blockCount, buffer));
    }

    public int write(long lba, int blockCount, MemorySegment buffer) {
        return accepted(submitWrite(0, lba, blockCount, buffer));
    }

    public int readv(long lba, int blockCount, IoVector buffers) {
        return accepted(submitReadv(0, lba, blockCount, buffers));
    }

    public int writev(long lba, int blockCount, IoVector buffers) {
        return accepted(submitWritev(0, lba, blockCount, buffers));
    }

    /** A vectored write with flags ({@link io.basalt.engine.BlockChannel#WRITE_FUA}). */
    public int writev(long lba, int blockCount, IoVector buffers, int flags) {
        return accepted(submitWritev(0, lba, blockCount, buffers, flags));
    }

    public int flush() {
        return accepted(submitFlush(0));
    }

    public int discard(long lba, long blockCount) {
        return accepted(submitDiscard(0, lba, blockCount));
    }

    public int writeZeroes(long lba, long blockCount) {
        return accepted(submitWriteZeroes(0, lba, blockCount));
    }

    private int accepted(boolean accepted) {
        if (!accepted) throw new AssertionError("an idle channel refused a request as busy");
        return await(0);
    }

    // ------------------------------------------------------------------ data patterns

    /** Fills {@code buffer} with the pattern of blocks starting at {@code lba} (distinct per seed and byte). */
    public static void fill(MemorySegment buffer, long lba, int blockBytes, long seed) {
        long base = lba * blockBytes;
        for (long o = 0; o < buffer.byteSize(); o += 8) {
            buffer.set(ValueLayout.JAVA_LONG_UNALIGNED, o, mix(seed ^ (base + o)));
        }
    }

    /** The index of the first block of {@code buffer} that does not hold the pattern, or -1. */
    public static long firstMismatch(MemorySegment buffer, long lba, int blockBytes, long seed) {
        long base = lba * blockBytes;
        for (long o = 0; o < buffer.byteSize(); o += 8) {
            if (buffer.get(ValueLayout.JAVA_LONG_UNALIGNED, o) != mix(seed ^ (base + o))) return o / blockBytes;
        }
        return -1;
    }

    /** Whether block {@code index} of {@code buffer} holds the pattern of block {@code lba}. */
    public static boolean blockMatches(MemorySegment buffer, int index, long lba, int blockBytes, long seed) {
        return firstMismatch(buffer.asSlice((long) index * blockBytes, blockBytes), lba, blockBytes, seed) < 0;
    }

    public static boolean blockIsZero(MemorySegment buffer, int index, int blockBytes) {
        MemorySegment block = buffer.asSlice((long) index * blockBytes, blockBytes);
        for (long o = 0; o < blockBytes; o += 8) if (block.get(ValueLayout.JAVA_LONG_UNALIGNED, o) != 0) return false;
        return true;
    }

    /** SplitMix64's finaliser: a cheap, well-spread function of the position. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    public static String statusName(int status) {
        return Status.name(status);
    }
}
