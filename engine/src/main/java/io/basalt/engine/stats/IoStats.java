package io.basalt.engine.stats;

import io.basalt.engine.Reactor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The I/O counters of one device on one reactor (iostat's and SPDK's bdev_get_iostat numbers): completed reads and
 * writes with their bytes, flushes, trims (discard and write-zeroes), errors, busy refusals, requests in flight, the
 * summed time requests spent in the device, and a latency histogram of reads and writes ({@link LatencyBuckets}).
 *
 * <p>One owner: only the reactor thread whose channels update it writes ({@link StatChannel}); every channel of the
 * device on that reactor shares it, so a channel closed and opened again keeps counting where it was. Totals are
 * monotonic (except {@link #IN_FLIGHT}, a gauge), so a reader computes rates from two snapshots.
 *
 * <p>Memory-ordering rule (Java memory model, opaque mode): the owner writes each element with
 * {@code setOpaque} after a plain read of its own last value (a single writer needs no atomic add); readers use
 * {@code getOpaque}. Opaque accesses of a long are never torn (JLS 17.7 allows plain ones to be) and are
 * eventually visible, and on x86-64 and AArch64 both compile to a plain load or store: no fence, no lock on the
 * data path. A reader gets each counter recent, not all counters from one instant (a read counted but its bytes
 * not yet, for a moment): fine for rates over a second. Nothing here allocates after construction.
 */
public final class IoStats {
    public static final int READ_IOS = 0, READ_BYTES = 1, WRITE_IOS = 2, WRITE_BYTES = 3, FLUSH_IOS = 4, TRIM_IOS = 5,
            ERRORS = 6, BUSY_REFUSALS = 7, IO_TIME_NS = 8, LATENCY_SUM_NS = 9, IN_FLIGHT = 10;
    /** Wire names, in index order (stat_get, docs/rpc.md). */
    public static final String[] COUNTER_NAMES = {"read_ios", "read_bytes", "write_ios", "write_bytes", "flush_ios",
            "trim_ios", "errors", "busy_refusals", "io_time_ns", "latency_sum_ns", "in_flight"};
    public static final int COUNTER_COUNT = COUNTER_NAMES.length;

    static final int OP_READ = 0, OP_WRITE = 1, OP_FLUSH = 2, OP_TRIM = 3;

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    private final Reactor owner;
    private final long[] counters = new long[COUNTER_COUNT];
    private final long[] latencyBuckets = new long[LatencyBuckets.BUCKET_COUNT];

    IoStats(Reactor owner) {
        this.owner = owner;
    }

    Reactor owner() {
        return owner;
    }

    // ------------------------------------------------------------------ owner thread

    void submitted() {
        bump(counters, IN_FLIGHT, 1);
    }

    void refused() {
        bump(counters, BUSY_REFUSALS, 1);
    }

    /** A request ended: {@code bytes} moved if it was a successful read or write. */
    void completed(int op, long bytes, long latencyNs, boolean ok) {
        bump(counters, IN_FLIGHT, -1);
        bump(counters, IO_TIME_NS, latencyNs);
        if (!ok) {
            bump(counters, ERRORS, 1);
            return;
        }
        switch (op) {
            case OP_READ -> countTransfer(READ_IOS, READ_BYTES, bytes, latencyNs);
            case OP_WRITE -> countTransfer(WRITE_IOS, WRITE_BYTES, bytes, latencyNs);
            case OP_FLUSH -> bump(counters, FLUSH_IOS, 1);
            default -> bump(counters, TRIM_IOS, 1);
        }
    }

    private void countTransfer(int ios, int bytesIndex, long bytes, long latencyNs) {
        bump(counters, ios, 1);
        bump(counters, bytesIndex, bytes);
        bump(counters, LATENCY_SUM_NS, latencyNs);
        bump(latencyBuckets, LatencyBuckets.index(latencyNs), 1);
    }

    /** Single writer: a plain read of our own last value, an opaque store for the readers (see the class comment). */
    private static void bump(long[] array, int index, long delta) {
        LONGS.setOpaque(array, index, array[index] + delta);
    }

    // ------------------------------------------------------------------ any thread

    /** Adds this reactor's counters and latency buckets into {@code counterSums} and {@code bucketSums}. */
    void addTo(long[] counterSums, long[] bucketSums) {
        for (int i = 0; i < COUNTER_COUNT; i++) counterSums[i] += (long) LONGS.getOpaque(counters, i);
        for (int i = 0; i < bucketSums.length; i++) bucketSums[i] += (long) LONGS.getOpaque(latencyBuckets, i);
    }
}
