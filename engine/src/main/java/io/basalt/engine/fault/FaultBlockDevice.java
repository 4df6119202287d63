package io.basalt.engine.fault;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.shims.Check;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A {@link BlockDevice} wrapping another and injecting faults, deterministically from a seed (TigerBeetle's
 * simulated storage, SPDK's error bdev): error statuses, completion latency, a drive that dies after N
 * requests, and in power-cut mode a volatile write-back cache that a {@link #powerCut()} throws away.
 *
 * <p>With no fault configured a request goes straight to the inner channel and back: no allocation, one
 * slot lookup. The power-cut cache is a test tool and allocates per cached block (see {@link WriteBackCache}).
 *
 * <p>Determinism: each channel draws from its own {@link SplittableRandom} split off the seed in the order
 * channels are opened, and power cuts from another; the same seed and the same requests give the same faults.
 *
 * <p>Power-cut mode allows one open channel at a time (the cache has one owner: that channel's reactor).
 * {@link #powerCut()} runs on the control thread while that reactor is not running, or on the reactor
 * itself (post it as a command). The device owns the inner device: closing it closes the inner one.
 */
public final class FaultBlockDevice implements BlockDevice {
    /** Counter indexes, see {@link #counter(int)}. */
    public static final int READ_ERRORS = 0, WRITE_ERRORS = 1, FLUSH_ERRORS = 2, TORN_WRITES = 3, GONE_ANSWERS = 4,
            DELAYED_COMPLETIONS = 5, POWER_CUTS = 6, BLOCKS_LOST = 7, BLOCKS_KEPT_TORN = 8, IOS = 9;
    public static final String[] COUNTER_NAMES = {"read_errors", "write_errors", "flush_errors", "torn_writes",
            "gone_answers", "delayed_completions", "power_cuts", "blocks_lost", "blocks_kept_torn", "ios"};

    private final String name;
    private final BlockDevice inner;
    private final FaultConfig config;
    private final SplittableRandom channelSeeds;
    private final SplittableRandom powerCutRandom;
    private final WriteBackCache cache;
    private final AtomicLongArray counters = new AtomicLongArray(COUNTER_NAMES.length);
    private int powerCutEpoch;
    private int openPowerCutChannels;
    private volatile boolean failed;
    private volatile boolean closed;

    public FaultBlockDevice(String name, BlockDevice inner, FaultConfig config) {
        this.name = name;
        this.inner = inner;
        this.config = config;
        SplittableRandom root = new SplittableRandom(config.seed());
        this.powerCutRandom = root.split();
        this.channelSeeds = root;
        this.cache = config.powerCut() ? new WriteBackCache(inner.geometry().logicalBlockBytes()) : null;
    }

    @Override public String name() { return name; }
    @Override public Geometry geometry() { return inner.geometry(); }
    public BlockDevice inner() { return inner; }
    public FaultConfig config() { return config; }

    @Override
    public String describe() {
        return "fault(seed=" + config.seed() + (config.powerCut() ? ", power-cut" : "") + (config.tornWrites() ? ", torn" : "")
                + ") over " + inner.describe();
    }

    @Override
    public synchronized BlockChannel openChannel(Reactor reactor) {
        Check.that(reactor.isOwnerThread(), "openChannel on the reactor's thread");
        if (closed) throw new IllegalStateException("device " + name + " is closed");
        if (cache != null) {
            Check.that(openPowerCutChannels == 0, "a power-cut fault device allows one open channel at a time");
            openPowerCutChannels++;
        }
        return new FaultChannel(this, inner.openChannel(reactor), reactor, channelSeeds.split());
    }

    synchronized void channelClosed() {
        if (cache != null) openPowerCutChannels--;
    }

    /** Pulls (true) or re-inserts (false) the drive: while failed, every request gets DEVICE_GONE. */
    public void setFailed(boolean failed) {
        this.failed = failed;
    }

    public boolean failed() {
        return failed;
    }

    /**
     * Cuts the power: every cached block not yet flushed is lost, except that with torn writes each survives
     * with a seeded coin flip. A flush in progress completes with IO_ERROR. Power-cut mode only.
     */
    public void powerCut() {
        Check.that(cache != null, "powerCut() needs a device in power-cut mode (fault_power_cut=1)");
        long[] lostKept = cache.powerCut(powerCutRandom, config.tornWrites());
        powerCutEpoch++;
        counters.incrementAndGet(POWER_CUTS);
        counters.addAndGet(BLOCKS_LOST, lostKept[0]);
        counters.addAndGet(BLOCKS_KEPT_TORN, lostKept[1]);
    }

    /** A counter: see the index constants and {@link #COUNTER_NAMES}. */
    public long counter(int index) {
        return counters.get(index);
    }

    /** Injected faults of all kinds (errors, torn writes, DEVICE_GONE answers of a failed device). */
    public long faultsInjected() {
        return counter(READ_ERRORS) + counter(WRITE_ERRORS) + counter(FLUSH_ERRORS) + counter(GONE_ANSWERS);
    }

    void count(int index) {
        counters.incrementAndGet(index);
    }

    /**
     * Admits one request toward {@code failAfterIos}: false (the device just died or is dead) when it is
     * over the limit. Only counts when a limit is configured, to keep the pass-through path cheap.
     */
    boolean admit() {
        if (config.failAfterIos() < 0) return true;
        if (counters.incrementAndGet(IOS) > config.failAfterIos()) {
            failed = true;
            return false;
        }
        return true;
    }

    /** Gives back an admission whose request was refused as busy. */
    void unadmit() {
        if (config.failAfterIos() >= 0) counters.decrementAndGet(IOS);
    }

    boolean gone() {
        return closed || failed;
    }

    WriteBackCache cache() { return cache; }
    int powerCutEpoch() { return powerCutEpoch; }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        inner.close();
    }
}
