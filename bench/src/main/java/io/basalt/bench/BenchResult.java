package io.basalt.bench;

import java.util.Locale;

/** What one run measured. Latencies are in nanoseconds, CPU in seconds of the I/O threads. */
public record BenchResult(String engine, String target, BenchParams params, long ios, long bytes, double seconds,
                          long p50Ns, long p99Ns, long p999Ns, long maxNs, double meanNs, double cpuSeconds,
                          long allocatedBytes, long errors) {
    public double iops() { return ios / seconds; }
    public double bandwidthBytesPerSec() { return bytes / seconds; }
    public double cpuSecondsPerIo() { return ios == 0 ? 0 : cpuSeconds / ios; }
    public double allocBytesPerIo() { return ios == 0 ? 0 : (double) allocatedBytes / ios; }

    /** One JSON object: the keys issue #2 promises, plus the workload. */
    public String toJson() {
        return String.format(Locale.ROOT,
                "{\"engine\":\"%s\",\"target\":\"%s\",\"rw\":\"%s\",\"bs\":%d,\"iodepth\":%d,\"jobs\":%d,"
                        + "\"seconds\":%.3f,\"ios\":%d,\"errors\":%d,\"iops\":%.1f,\"bandwidth_bytes_per_sec\":%.1f,"
                        + "\"latency_ns\":{\"p50\":%d,\"p99\":%d,\"p999\":%d,\"max\":%d,\"mean\":%.1f},"
                        + "\"cpu_seconds_per_io\":%.4e,\"alloc_bytes_per_io\":%.4f}",
                escape(engine), escape(target), params.rw(), params.blockBytes(), params.ioDepth(), params.jobs(),
                seconds, ios, errors, iops(), bandwidthBytesPerSec(), p50Ns, p99Ns, p999Ns, maxNs, meanNs,
                cpuSecondsPerIo(), allocBytesPerIo());
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
