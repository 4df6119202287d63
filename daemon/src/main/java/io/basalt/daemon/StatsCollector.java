package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcDispatcher;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import io.basalt.engine.stats.BackendCounters;
import io.basalt.engine.stats.IoStats;
import io.basalt.engine.stats.LatencyBuckets;
import io.basalt.engine.stats.StatBlockDevice;
import io.basalt.raid.array.ArrayStatus;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Gathers every counter of a running daemon at one moment: the I/O counters of each drive, volume and export (their
 * {@link StatBlockDevice} wrappers), each reactor's busy and idle time, and the RAID sync jobs' progress. The same
 * sample feeds the {@code stat_get} RPC ({@link #toJson}) and the Prometheus endpoint ({@link PrometheusMetrics}).
 * Raw monotonic totals and a timestamp: rates are the reader's to compute (iostat, AeronStat, Prometheus' rate()).
 * Reads the reactors' counters racily (see {@link IoStats}); takes the registries' locks, never a data-path one.
 */
final class StatsCollector {
    /** One reactor's times and cycles. */
    record ReactorSample(String name, long busyNs, long idleNs, long cycles, long sleeps) {}

    /**
     * One drive, volume or export.
     *
     * @param device  the drive or volume an export serves, else null
     * @param sync    a RAID volume's sync job, else null
     * @param backend a drive's own counters when its backend keeps some ({@link BackendCounters}), else null
     */
    record DeviceSample(String name, String device, StatBlockDevice.Snapshot stats, ArrayStatus.Sync sync,
                        Map<String, Long> backend) {
        DeviceSample(String name, String device, StatBlockDevice.Snapshot stats, ArrayStatus.Sync sync) {
            this(name, device, stats, sync, null);
        }
    }

    /** @param timestampNs System.nanoTime() when taken: the base for rates (monotonic, not wall-clock time) */
    record Sample(long timestampNs, long timeMs, long uptimeNs, List<ReactorSample> reactors, List<DeviceSample> drives,
                  List<DeviceSample> volumes, List<DeviceSample> exports) {}

    private static final int REACTOR_CYCLES = 0, REACTOR_SLEEPS = 2; // indexes in Reactor.COUNTER_NAMES

    private final DriveRegistry drives;
    private final VhostRegistry exports;
    private final NvmfRegistry nvmf;
    private final Supplier<List<Reactor>> reactors;
    private final Supplier<RaidMethods> raid;
    private final long startNs;

    StatsCollector(DriveRegistry drives, VhostRegistry exports, NvmfRegistry nvmf, Supplier<List<Reactor>> reactors, Supplier<RaidMethods> raid,
                   long startNs) {
        this.nvmf = nvmf;
        this.drives = drives;
        this.exports = exports;
        this.reactors = reactors;
        this.raid = raid;
        this.startNs = startNs;
    }

    /** Registers {@code stat_get} (no params). */
    void register(RpcDispatcher dispatcher) {
        dispatcher.register("stat_get", params -> {
            params.allowOnly();
            return toJson(sample());
        });
    }

    Sample sample() {
        List<ReactorSample> rs = new ArrayList<>();
        for (Reactor r : reactors.get()) {
            long[] c = r.counters();
            rs.add(new ReactorSample(r.name(), r.busyNs(), r.idleNs(), c[REACTOR_CYCLES], c[REACTOR_SLEEPS]));
        }
        Map<String, ArrayStatus.Sync> syncs = new LinkedHashMap<>();
        RaidMethods arrays = raid.get();
        if (arrays != null) for (ArrayStatus a : arrays.list()) syncs.put(a.name(), a.sync());
        List<DeviceSample> ds = new ArrayList<>();
        for (DriveRegistry.Drive d : drives.list()) {
            ds.add(new DeviceSample(d.name(), null, snapshot(d.device()), null, backendCounters(d.device())));
        }
        List<DeviceSample> vs = new ArrayList<>();
        for (DriveRegistry.Drive v : drives.volumes()) vs.add(new DeviceSample(v.name(), null, snapshot(v.device()), syncs.get(v.name())));
        List<DeviceSample> es = new ArrayList<>();
        for (VhostRegistry.Export e : exports.list()) es.add(new DeviceSample(e.export().name(), e.drive(), e.stats().snapshot(), null));
        if (nvmf != null) {
            // An NVMe/TCP namespace is an export too: named NQN/nsid, e.g. nqn.2026-12.io.basalt:vol0/1.
            for (io.basalt.nvmeof.target.Subsystem s : nvmf.target().subsystems()) {
                for (NvmfRegistry.NamespaceEntry n : nvmf.namespaces(s.nqn())) {
                    es.add(new DeviceSample(s.nqn() + "/" + n.nsid(), n.drive(), n.stats().snapshot(), null));
                }
            }
        }
        long now = System.nanoTime();
        return new Sample(now, System.currentTimeMillis(), now - startNs, rs, ds, vs, es);
    }

    /** The counters of the backend under a drive's StatBlockDevice, when it keeps some (nvme-tcp does), else null. */
    private static Map<String, Long> backendCounters(BlockDevice device) {
        BlockDevice inner = device instanceof StatBlockDevice s ? s.inner() : device;
        return inner instanceof BackendCounters b ? b.backendCounters() : null;
    }

    /** Every registered device is wrapped (DriveRegistry); an unwrapped one (a test's) shows zeroes. */
    private static StatBlockDevice.Snapshot snapshot(BlockDevice device) {
        if (device instanceof StatBlockDevice s) return s.snapshot();
        return new StatBlockDevice.Snapshot(new long[IoStats.COUNTER_COUNT], new long[LatencyBuckets.BUCKET_COUNT]);
    }

    // ------------------------------------------------------------------ the stat_get result (docs/rpc.md)

    static Map<String, Object> toJson(Sample s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("timestamp_ns", s.timestampNs());
        m.put("time_ms", s.timeMs());
        m.put("uptime_ns", s.uptimeNs());
        List<Object> rs = new ArrayList<>();
        for (ReactorSample r : s.reactors()) {
            Map<String, Object> rm = new LinkedHashMap<>();
            rm.put("name", r.name());
            rm.put("busy_ns", r.busyNs());
            rm.put("idle_ns", r.idleNs());
            rm.put("cycles", r.cycles());
            rm.put("sleeps", r.sleeps());
            rs.add(rm);
        }
        m.put("reactors", rs);
        m.put("drives", devices(s.drives()));
        m.put("volumes", devices(s.volumes()));
        m.put("exports", devices(s.exports()));
        return m;
    }

    private static List<Object> devices(List<DeviceSample> samples) {
        List<Object> result = new ArrayList<>();
        for (DeviceSample d : samples) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", d.name());
            if (d.device() != null) m.put("device", d.device());
            for (int i = 0; i < IoStats.COUNTER_COUNT; i++) m.put(IoStats.COUNTER_NAMES[i], d.stats().counter(i));
            m.put("latency_buckets", buckets(d.stats().latencyBuckets()));
            if (d.sync() != null) m.put("sync", sync(d.sync()));
            if (d.backend() != null) m.put("backend", d.backend());
            result.add(m);
        }
        return result;
    }

    /** The non-empty buckets as [low_ns, high_ns, count] triples, lowest first. */
    private static List<Object> buckets(long[] counts) {
        List<Object> result = new ArrayList<>();
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] != 0) result.add(List.of(LatencyBuckets.lowNs(i), LatencyBuckets.highNs(i), counts[i]));
        }
        return result;
    }

    private static Map<String, Object> sync(ArrayStatus.Sync s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("action", s.action());
        m.put("last_action", s.lastAction());
        m.put("last_state", s.lastState());
        m.put("done_bytes", s.doneBytes());
        m.put("total_bytes", s.totalBytes());
        m.put("percent", s.percent());
        m.put("average_mib_s", s.rateMiBs());
        return m;
    }
}
