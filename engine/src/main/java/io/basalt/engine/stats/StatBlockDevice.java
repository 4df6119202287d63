package io.basalt.engine.stats;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.shims.Check;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link BlockDevice} that counts what passes through it (SPDK's bdev iostat, Linux's /proc/diskstats): the
 * daemon puts one around every drive and volume it registers and one in front of every export, so each backend and
 * RAID level is counted once, the same way. Requests and completions go straight through, with one slot lookup and
 * two clock reads; the counters live in one {@link IoStats} per reactor, written only by that reactor.
 *
 * <p>The wrapper is invisible otherwise: name, geometry and description are the inner device's. Whether closing it
 * closes the inner device is the creator's choice (a drive's wrapper owns the drive; an export's does not own the
 * volume it exports).
 */
public final class StatBlockDevice implements BlockDevice {
    private final BlockDevice inner;
    private final boolean ownsInner;
    /** One per reactor that ever opened a channel (bounded by the reactors); guarded by this. */
    private final List<IoStats> perReactor = new ArrayList<>();

    public StatBlockDevice(BlockDevice inner, boolean ownsInner) {
        Check.that(inner != null, "an inner device");
        this.inner = inner;
        this.ownsInner = ownsInner;
    }

    /**
     * Totals over every reactor at one moment (each counter recent, see {@link IoStats}).
     *
     * @param counters       by {@link IoStats} index, {@link IoStats#COUNTER_COUNT} of them
     * @param latencyBuckets read and write latencies by {@link LatencyBuckets} bucket
     */
    public record Snapshot(long[] counters, long[] latencyBuckets) {
        public long counter(int index) {
            return counters[index];
        }
    }

    @Override public String name() { return inner.name(); }
    @Override public Geometry geometry() { return inner.geometry(); }
    @Override public String describe() { return inner.describe(); }
    public BlockDevice inner() { return inner; }

    @Override
    public BlockChannel openChannel(Reactor reactor) {
        Check.that(reactor.isOwnerThread(), "openChannel on the reactor's thread");
        return new StatChannel(this, inner.openChannel(reactor), statsFor(reactor), reactor);
    }

    private synchronized IoStats statsFor(Reactor reactor) {
        for (IoStats s : perReactor) if (s.owner() == reactor) return s;
        IoStats s = new IoStats(reactor);
        perReactor.add(s);
        return s;
    }

    /** Sums the counters of every reactor. Any thread; allocates the snapshot, takes no lock the data path takes. */
    public Snapshot snapshot() {
        List<IoStats> all;
        synchronized (this) {
            all = List.copyOf(perReactor);
        }
        long[] counters = new long[IoStats.COUNTER_COUNT];
        long[] buckets = new long[LatencyBuckets.BUCKET_COUNT];
        for (IoStats s : all) s.addTo(counters, buckets);
        return new Snapshot(counters, buckets);
    }

    @Override
    public void close() {
        if (ownsInner) inner.close();
    }
}
