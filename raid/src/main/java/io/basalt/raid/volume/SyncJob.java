package io.basalt.raid.volume;

import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.shims.Check;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A background sync of a redundant volume (rebuild, resync, check, repair), as md's resync thread: a control
 * thread of its own walks the units (raid5 stripes, raid1 windows) in order and hands each to a
 * {@link SyncTarget.Worker} on one reactor by posted command (DESIGN.md: jobs run on ordinary threads and talk
 * to reactors by message); the worker's completion sets a status word and unparks the job thread. The data
 * path never waits for the job: a raid5 unit is one stripe step that takes its stripe exclusively like a
 * write, a raid1 unit is one window behind the volume's write barrier.
 *
 * <p>Throttle: at most {@code unitsInFlightMax} units in flight (so a sync holds at most that many stripes
 * and request slots, and foreground requests always find room), and a rate limit in MiB/s of member data
 * (md's speed_limit_max), checked before each unit: the job sleeps while it is ahead of
 * {@code done bytes / rate}. Both may change while the job runs.
 *
 * <p>Position: the lowest unit still in flight (or the next to submit) is the contiguous watermark; for a
 * rebuild the target's recovery position follows it and {@link Checkpoint} is told at checkpoints, on stop
 * and at the end, so a restart resumes there. Units done above the watermark are simply synced again after a
 * restart.
 */
public final class SyncJob {
    public static final int REBUILD = 0, RESYNC = 1, CHECK = 2, REPAIR = 3;
    public static final String[] ACTION_NAMES = {"rebuild", "resync", "check", "repair"};
    public static final long DEFAULT_RATE_MIB_S = 200;
    public static final int DEFAULT_UNITS_IN_FLIGHT = 4;
    /** A checkpoint at least every this many units done (and at the end). */
    public static final int CHECKPOINT_UNITS = 256;
    public static final long CHECKPOINT_INTERVAL_NS = TimeUnit.SECONDS.toNanos(2);
    static final int IN_FLIGHT_MAX = 64;
    private static final int FREE = -2, PENDING = -1;

    public enum State { RUNNING, DONE, STOPPED, FAILED }

    /** Told on the job thread: keep it short-ish (a superblock write is fine); {@code finished} at the end of a rebuild. */
    @FunctionalInterface
    public interface Checkpoint {
        void reached(SyncJob job, long recoveryUnit, boolean finished);
    }

    private final SyncTarget target;
    private final int action;
    private final Reactor reactor;
    private final long[] regionStarts, regionEnds; // units, sorted, disjoint
    private final long totalUnits;
    private final Checkpoint checkpoint;
    private volatile long rateBytesPerSecond;
    private volatile int unitsInFlight;
    private volatile boolean stopRequested;
    private volatile State state = State.RUNNING;
    private volatile String error;
    private volatile long doneUnits;
    private volatile long startNs, endNs;
    private volatile long mismatchSectors;

    // In-flight slots: written by the reactor (status) and the job thread (the rest).
    private final AtomicIntegerArray statuses = new AtomicIntegerArray(IN_FLIGHT_MAX);
    private final AtomicLongArray units = new AtomicLongArray(IN_FLIGHT_MAX);
    private final Runnable[] submitters = new Runnable[IN_FLIGHT_MAX];
    private final IoCompletion completion;
    private SyncTarget.Worker worker;
    private Thread thread;
    /** Job thread: the next unit to submit, and the lowest unit that failed (positions never pass either). */
    private long nextUnit;
    private long lowestFailed = Long.MAX_VALUE;
    private long reapedUnits;

    /**
     * @param regions null for the whole array (a rebuild: from the recovery position), else [startBlock, blocks]
     *                pairs in member blocks (the write-intent bitmap's dirty regions), rounded out to whole units
     */
    public SyncJob(SyncTarget target, int action, Reactor reactor, List<long[]> regions, long rateMiBs, int unitsInFlight,
                   Checkpoint checkpoint) {
        Check.that(action >= REBUILD && action <= REPAIR, "a sync action", action);
        if (rateMiBs <= 0) throw new IllegalArgumentException("sync rate limit must be positive MiB/s, was " + rateMiBs);
        this.target = target;
        this.action = action;
        this.reactor = reactor;
        this.checkpoint = checkpoint;
        this.rateBytesPerSecond = rateMiBs << 20;
        setUnitsInFlight(unitsInFlight);
        List<long[]> spans = spans(target, action, regions);
        regionStarts = new long[spans.size()];
        regionEnds = new long[spans.size()];
        long total = 0;
        for (int i = 0; i < spans.size(); i++) {
            regionStarts[i] = spans.get(i)[0];
            regionEnds[i] = spans.get(i)[1];
            total += regionEnds[i] - regionStarts[i];
        }
        totalUnits = total;
        for (int k = 0; k < IN_FLIGHT_MAX; k++) statuses.set(k, FREE);
        completion = (tag, status) -> {
            statuses.set((int) tag, status);
            LockSupport.unpark(thread);
        };
    }

    /** Regions in member blocks to sorted, merged unit spans; a rebuild covers [recovery position, end). */
    private static List<long[]> spans(SyncTarget target, int action, List<long[]> regions) {
        long count = target.unitCount(), per = target.unitMemberBlocks();
        List<long[]> out = new ArrayList<>();
        if (regions == null) {
            long from = action == REBUILD ? Math.min(target.recoveryUnit(), count) : 0;
            if (from < count) out.add(new long[] {from, count});
            return out;
        }
        List<long[]> units = new ArrayList<>();
        for (long[] r : regions) {
            if (r.length != 2 || r[0] < 0 || r[1] <= 0 || r[0] + r[1] > count * per) {
                throw new IllegalArgumentException("sync region [startBlock, blocks] must lie in the " + count * per
                        + " member blocks in use, was " + java.util.Arrays.toString(r));
            }
            units.add(new long[] {r[0] / per, (r[0] + r[1] + per - 1) / per});
        }
        units.sort((a, b) -> Long.compare(a[0], b[0]));
        for (long[] u : units) {
            if (!out.isEmpty() && out.getLast()[1] >= u[0]) out.getLast()[1] = Math.max(out.getLast()[1], u[1]);
            else out.add(u);
        }
        return out;
    }

    public void setRateMiBs(long rateMiBs) {
        if (rateMiBs <= 0) throw new IllegalArgumentException("sync rate limit must be positive MiB/s, was " + rateMiBs);
        rateBytesPerSecond = rateMiBs << 20;
    }

    public void setUnitsInFlight(int count) {
        if (count < 1 || count > IN_FLIGHT_MAX) {
            throw new IllegalArgumentException("sync units in flight must be 1 to " + IN_FLIGHT_MAX + ", was " + count);
        }
        unitsInFlight = Math.min(count, target.unitsInFlightMax());
    }

    private volatile Runnable onEnd;

    /** Runs {@code ended} on the job thread once the job has ended (its state set), however it ended. Before {@link #start}. */
    public SyncJob onEnd(Runnable ended) {
        this.onEnd = ended;
        return this;
    }

    /** Starts the job thread. Throws IllegalStateException when the target refuses the action. */
    public SyncJob start() {
        String refusal = target.refusal(action);
        if (refusal != null) throw new IllegalStateException(refusal);
        if (action == CHECK || action == REPAIR) target.resetMismatches();
        startNs = System.nanoTime();
        thread = Thread.ofPlatform().name("basalt-sync-" + target.name()).daemon(true).unstarted(this::run);
        thread.start();
        return this;
    }

    /** Stops submitting, waits for the units in flight, checkpoints. Any thread; returns once the job ended. */
    public void stop() {
        stopRequested = true;
        Thread t = thread;
        if (t == null) return;
        LockSupport.unpark(t);
        awaitEnd(TimeUnit.SECONDS.toNanos(60));
    }

    /** True when the job ended within the timeout. */
    public boolean awaitEnd(long timeoutNs) {
        try {
            thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNs)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !thread.isAlive();
    }

    // ------------------------------------------------------------------ the job thread

    private void run() {
        try {
            worker = reactor.call(() -> target.openWorker(reactor)).get(30, TimeUnit.SECONDS);
            walk();
        } catch (Exception e) {
            fail(e.getMessage() == null ? e.toString() : e.getMessage());
        } finally {
            drain();
            if (worker != null) {
                SyncTarget.Worker w = worker;
                try {
                    reactor.call(() -> {
                        w.close();
                        return null;
                    }).get(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    // the reactor stopped: its channels went with it
                }
            }
            finish();
            Runnable ended = onEnd;
            if (ended != null) ended.run();
        }
    }

    private void walk() throws InterruptedException {
        long lastCheckpointNs = System.nanoTime();
        long lastCheckpointUnits = 0;
        nextUnit = regionStarts.length == 0 ? target.unitCount() : regionStarts[0];
        for (int region = 0; region < regionStarts.length; region++) {
            for (long unit = regionStarts[region]; unit < regionEnds[region]; unit++) {
                int k = freeSlot();
                if (k < 0) return; // stopped or failed
                throttle();
                nextUnit = unit;
                if (stopRequested || state != State.RUNNING) return;
                try {
                    target.beforeUnit(unit);
                } catch (InterruptedException | RuntimeException e) {
                    target.afterUnit(unit); // a raid1 barrier raised for a unit never sent must not stay up
                    throw e;
                }
                units.set(k, unit);
                statuses.set(k, PENDING);
                submit(k, unit);
                nextUnit = unit + 1;
                if (action == REBUILD && (doneUnits - lastCheckpointUnits >= CHECKPOINT_UNITS
                        || System.nanoTime() - lastCheckpointNs > CHECKPOINT_INTERVAL_NS)) {
                    lastCheckpointUnits = doneUnits;
                    lastCheckpointNs = System.nanoTime();
                    checkpoint(watermark(), false);
                }
            }
        }
        nextUnit = target.unitCount();
    }

    private void submit(int k, long unit) {
        Runnable submitter = new Runnable() { // one per unit on the control path; the data path allocates nothing for it
            @Override
            public void run() {
                if (!worker.submit(unit, action, k, completion) && !reactor.post(this)) statuses.set(k, Status.DEVICE_GONE);
            }
        };
        submitters[k] = submitter;
        if (!reactor.post(submitter)) statuses.set(k, Status.DEVICE_GONE);
    }

    /** A free in-flight slot, reaping completions while it waits; -1 when the job must end. */
    private int freeSlot() {
        while (true) {
            int inFlight = reap();
            if (state != State.RUNNING || stopRequested) return -1;
            if (inFlight < unitsInFlight) {
                for (int k = 0; k < IN_FLIGHT_MAX; k++) if (statuses.get(k) == FREE) return k;
            }
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(50));
        }
    }

    /** Takes the completed units' results; returns the units still in flight. */
    private int reap() {
        int inFlight = 0;
        for (int k = 0; k < IN_FLIGHT_MAX; k++) {
            int s = statuses.get(k);
            if (s == FREE) continue;
            if (s == PENDING) {
                inFlight++;
                continue;
            }
            long unit = units.get(k);
            statuses.set(k, FREE);
            submitters[k] = null;
            target.afterUnit(unit);
            if (s != Status.OK) {
                lowestFailed = Math.min(lowestFailed, unit);
                fail("unit " + unit + " of " + target.name() + ": " + Status.name(s));
                continue;
            }
            doneUnits++;
        }
        if (action == CHECK || action == REPAIR) mismatchSectors = target.mismatchSectors();
        if (action == REBUILD && doneUnits != reapedUnits) {
            reapedUnits = doneUnits;
            watermark(); // reads of the rebuilt member follow the job closely, not only at checkpoints
        }
        return inFlight;
    }

    /** The contiguous watermark: the lowest unit in flight or failed, or the next to submit. */
    private long watermark() {
        long low = Math.min(nextUnit, lowestFailed);
        for (int k = 0; k < IN_FLIGHT_MAX; k++) if (statuses.get(k) == PENDING) low = Math.min(low, units.get(k));
        if (action == REBUILD) target.recoveredTo(low);
        return low;
    }

    private void throttle() {
        while (!stopRequested) {
            long dueNs = (long) ((double) doneBytes() * 1e9 / rateBytesPerSecond);
            long aheadNs = dueNs - (System.nanoTime() - startNs);
            if (aheadNs <= 0) return;
            LockSupport.parkNanos(this, Math.min(aheadNs, TimeUnit.MILLISECONDS.toNanos(100)));
            reap();
        }
    }

    /** Waits for every unit in flight (they hold stripes and reference the worker). */
    private void drain() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (reap() > 0) {
            if (System.nanoTime() > deadline) {
                fail("units still in flight after 60 s");
                return;
            }
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(10));
        }
    }

    private void finish() {
        boolean complete = state == State.RUNNING && !stopRequested && doneUnits == totalUnits;
        if (action == REBUILD) {
            long position = complete ? target.unitCount() : watermark();
            if (complete) {
                target.recoveredTo(position);
                target.finishRebuild();
            }
            checkpoint(position, complete);
        }
        if (action == CHECK || action == REPAIR) mismatchSectors = target.mismatchSectors();
        endNs = System.nanoTime();
        if (state == State.RUNNING) state = complete ? State.DONE : State.STOPPED;
    }

    private void checkpoint(long unit, boolean finished) {
        if (checkpoint == null) return;
        try {
            checkpoint.reached(this, unit, finished);
        } catch (RuntimeException e) {
            System.err.println("basalt: sync of " + target.name() + ": checkpoint at unit " + unit + " failed: " + e.getMessage());
        }
    }

    private void fail(String why) {
        if (error == null) error = why;
        state = State.FAILED;
    }

    // ------------------------------------------------------------------ progress (any thread)

    public int action() { return action; }
    public String actionName() { return ACTION_NAMES[action]; }
    public State state() { return state; }
    public String error() { return error; }
    public long mismatchSectors() { return mismatchSectors; }
    public long rateLimitMiBs() { return rateBytesPerSecond >> 20; }
    public int unitsInFlight() { return unitsInFlight; }
    public boolean isRunning() { return thread != null && thread.isAlive(); }

    public long doneBytes() {
        return doneUnits * target.unitMemberBlocks() * target.blockBytes();
    }

    public long totalBytes() {
        return totalUnits * target.unitMemberBlocks() * target.blockBytes();
    }

    public double percent() {
        return totalUnits == 0 ? 100.0 : 100.0 * doneUnits / totalUnits;
    }

    /** Average rate since the start, MiB/s of member data. */
    public double rateMiBs() {
        long end = endNs != 0 ? endNs : System.nanoTime();
        double seconds = (end - startNs) / 1e9;
        return seconds <= 0 ? 0 : doneBytes() / seconds / (1 << 20);
    }

    /** Seconds left at the current rate; -1 when unknown (nothing done yet). */
    public long etaSeconds() {
        if (state != State.RUNNING) return 0;
        double rate = rateMiBs() * (1 << 20);
        return rate <= 0 ? -1 : (long) Math.ceil((totalBytes() - doneBytes()) / rate);
    }

    public long elapsedNs() {
        long end = endNs != 0 ? endNs : System.nanoTime();
        return end - startNs;
    }
}
