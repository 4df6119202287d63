package io.basalt.engine.fault;

/**
 * What a {@link FaultBlockDevice} injects. Every random choice derives from {@code seed}, so a run is
 * reproducible: the same seed and the same sequence of requests give the same faults.
 *
 * @param seed            root of every random choice
 * @param readErrorRate   probability per READ / READV of IO_ERROR (the inner device is not touched)
 * @param writeErrorRate  probability per WRITE / WRITEV / DISCARD / WRITE_ZEROES of IO_ERROR; with
 *                        {@code tornWrites} a failed write may have written a prefix of its blocks
 * @param flushErrorRate  probability per FLUSH of IO_ERROR (nothing made durable)
 * @param latencyNsMin    least delay added to every completion (0 with max 0: none)
 * @param latencyNsMax    most delay added to every completion
 * @param failAfterIos    the device "dies" (every later request gets DEVICE_GONE) after this many requests; -1: never
 * @param powerCut        hold writes in a volatile write-back cache that only FLUSH writes to the inner device,
 *                        and allow {@link FaultBlockDevice#powerCut()}
 * @param tornWrites      a power cut keeps a random subset of the unflushed blocks, and a write failed by
 *                        {@code writeErrorRate} may leave a prefix written
 * @param flushLatencyNs  delay added to every FLUSH (and FUA write) on top of the above: a drive whose volatile
 *                        write cache makes durability cost time (0: none)
 */
public record FaultConfig(long seed, double readErrorRate, double writeErrorRate, double flushErrorRate,
                          long latencyNsMin, long latencyNsMax, long failAfterIos, boolean powerCut,
                          boolean tornWrites, long flushLatencyNs) {
    /** As the canonical constructor, without flush latency. */
    public FaultConfig(long seed, double readErrorRate, double writeErrorRate, double flushErrorRate, long latencyNsMin,
                       long latencyNsMax, long failAfterIos, boolean powerCut, boolean tornWrites) {
        this(seed, readErrorRate, writeErrorRate, flushErrorRate, latencyNsMin, latencyNsMax, failAfterIos, powerCut, tornWrites, 0);
    }

    public FaultConfig {
        checkRate(readErrorRate, "readErrorRate");
        checkRate(writeErrorRate, "writeErrorRate");
        checkRate(flushErrorRate, "flushErrorRate");
        if (latencyNsMin < 0 || latencyNsMax < latencyNsMin) {
            throw new IllegalArgumentException("latency range must satisfy 0 <= min <= max, was " + latencyNsMin + ".." + latencyNsMax + " ns");
        }
        if (flushLatencyNs < 0) throw new IllegalArgumentException("flush latency must be >= 0, was " + flushLatencyNs + " ns");
        if (failAfterIos < -1) throw new IllegalArgumentException("failAfterIos must be -1 (never) or >= 0, was " + failAfterIos);
    }

    private static void checkRate(double rate, String name) {
        if (!(rate >= 0.0 && rate <= 1.0)) throw new IllegalArgumentException(name + " must be in [0, 1], was " + rate);
    }

    /** No faults at all: a pure pass-through (useful as a base for the with-ers). */
    public static FaultConfig none(long seed) {
        return new FaultConfig(seed, 0, 0, 0, 0, 0, -1, false, false);
    }

    public FaultConfig withErrorRates(double read, double write, double flush) {
        return new FaultConfig(seed, read, write, flush, latencyNsMin, latencyNsMax, failAfterIos, powerCut, tornWrites, flushLatencyNs);
    }

    public FaultConfig withLatencyNs(long min, long max) {
        return new FaultConfig(seed, readErrorRate, writeErrorRate, flushErrorRate, min, max, failAfterIos, powerCut, tornWrites, flushLatencyNs);
    }

    public FaultConfig withFailAfterIos(long ios) {
        return new FaultConfig(seed, readErrorRate, writeErrorRate, flushErrorRate, latencyNsMin, latencyNsMax, ios, powerCut, tornWrites, flushLatencyNs);
    }

    public FaultConfig withPowerCut(boolean torn) {
        return new FaultConfig(seed, readErrorRate, writeErrorRate, flushErrorRate, latencyNsMin, latencyNsMax, failAfterIos, true, torn, flushLatencyNs);
    }

    public FaultConfig withTornWrites(boolean torn) {
        return new FaultConfig(seed, readErrorRate, writeErrorRate, flushErrorRate, latencyNsMin, latencyNsMax, failAfterIos, powerCut, torn, flushLatencyNs);
    }

    public FaultConfig withFlushLatencyNs(long ns) {
        return new FaultConfig(seed, readErrorRate, writeErrorRate, flushErrorRate, latencyNsMin, latencyNsMax, failAfterIos, powerCut, tornWrites, ns);
    }

    /** Some completion is held: every one ({@code latencyNsMax}) or flushes ({@code flushLatencyNs}). */
    public boolean hasLatency() {
        return latencyNsMax > 0 || flushLatencyNs > 0;
    }

    public boolean hasErrors() {
        return readErrorRate > 0 || writeErrorRate > 0 || flushErrorRate > 0;
    }
}
