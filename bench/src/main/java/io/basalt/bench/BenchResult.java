package io.basalt.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.LinkedHashMap;
import java.util.Map;

/** What one run measured. Latencies are in nanoseconds, CPU in seconds of the I/O threads. */
public record BenchResult(String engine, String target, BenchParams params, long ios, long bytes, double seconds,
                          long p50Ns, long p99Ns, long p999Ns, long maxNs, double meanNs, double cpuSeconds,
                          long allocatedBytes, long errors) {
    public double iops() { return ios / seconds; }
    public double bandwidthBytesPerSec() { return bytes / seconds; }
    public double cpuSecondsPerIo() { return ios == 0 ? 0 : cpuSeconds / ios; }
    public double allocBytesPerIo() { return ios == 0 ? 0 : (double) allocatedBytes / ios; }

    /** Writes the bench's JSON lines (and reads fio's report): Jackson, as the daemon's control plane. */
    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.USE_LONG_FOR_INTS);

    /** One JSON object: the keys issue #2 promises, plus the workload. */
    public String toJson() {
        return writeJson(toJsonMap());
    }

    /** {@link #toJson}'s object, for a caller that nests it in its own (raid bench). */
    public Map<String, Object> toJsonMap() {
        Map<String, Object> latency = new LinkedHashMap<>();
        latency.put("p50", p50Ns);
        latency.put("p99", p99Ns);
        latency.put("p999", p999Ns);
        latency.put("max", maxNs);
        latency.put("mean", tenths(meanNs));
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("engine", engine);
        o.put("target", target);
        o.put("rw", params.rw());
        o.put("bs", params.blockBytes());
        o.put("iodepth", params.ioDepth());
        o.put("jobs", params.jobs());
        o.put("seconds", Math.round(seconds * 1e3) / 1e3);
        o.put("ios", ios);
        o.put("errors", errors);
        o.put("iops", tenths(iops()));
        o.put("bandwidth_bytes_per_sec", tenths(bandwidthBytesPerSec()));
        o.put("latency_ns", latency);
        o.put("cpu_seconds_per_io", cpuSecondsPerIo());
        o.put("alloc_bytes_per_io", allocBytesPerIo());
        return o;
    }

    static double tenths(double value) {
        return Math.round(value * 10) / 10.0;
    }

    static String writeJson(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("bench result not writable as JSON: " + e.getOriginalMessage(), e);
        }
    }
}
