package io.basalt.daemon;

import io.basalt.engine.stats.LatencyBuckets;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The arithmetic of a basalt stat report, on two stat_get results made by hand: 2 s apart. */
class StatTableTest {
    private static final long SECOND_NS = 1_000_000_000L;
    private static final long MIB = 1 << 20;

    private static Map<String, Object> device(String name, long reads, long readBytes, long ioTimeNs, List<Object> buckets, Map<String, Object> sync) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("read_ios", reads);
        m.put("read_bytes", readBytes);
        m.put("write_ios", 0L);
        m.put("write_bytes", 0L);
        m.put("errors", 0L);
        m.put("io_time_ns", ioTimeNs);
        m.put("latency_buckets", buckets);
        if (sync != null) m.put("sync", sync);
        return m;
    }

    private static Map<String, Object> sync(String action, long doneBytes) {
        return new LinkedHashMap<>(Map.of("action", action, "done_bytes", doneBytes, "total_bytes", 1000 * MIB, "percent", 30.0,
                "average_mib_s", 55.5));
    }

    private static Map<String, Object> sample(long timestampNs, long busyNs, Map<String, Object> volume) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("timestamp_ns", timestampNs);
        m.put("time_ms", 0L);
        m.put("reactors", List.of(Map.of("name", "reactor-0", "busy_ns", busyNs)));
        m.put("drives", List.of());
        m.put("volumes", List.of(volume));
        m.put("exports", List.of());
        return m;
    }

    /** A bucket triple as stat_get writes it, for {@code count} values of {@code valueNs}. */
    private static List<Object> bucket(long valueNs, long count) {
        int i = LatencyBuckets.index(valueNs);
        return List.of(LatencyBuckets.lowNs(i), LatencyBuckets.highNs(i), count);
    }

    @Test
    void ratesLatencyQueueDepthBusyAndSyncComeFromTheDifferences() {
        Map<?, ?> before = sample(10 * SECOND_NS, 0, device("r5", 1000, 1000 * 4096, 0, List.of(bucket(100_000, 1000)),
                sync("rebuild", 100 * MIB)));
        // 2 s later: 2000 more reads of 4 KiB, 1970 at 100 us and 30 at 5 ms (p99: rank 1980); 0.5 s of request time; 1 s busy
        Map<?, ?> after = sample(12 * SECOND_NS, SECOND_NS, device("r5", 3000, 3000 * 4096, SECOND_NS / 2,
                List.of(bucket(100_000, 2970), bucket(5_000_000, 30)), sync("rebuild", 300 * MIB)));
        String report = StatTable.format(before, after, List.of());
        String row = report.lines().filter(l -> l.startsWith("r5 ")).findFirst().orElseThrow(() -> new AssertionError(report));
        String[] cells = row.trim().split("\\s+");
        assertEquals("volume", cells[1]);
        assertEquals("1000.0", cells[2], "r/s");
        assertEquals("0.0", cells[3], "w/s");
        assertEquals("3.91", cells[4], "rMiB/s: 2000 x 4 KiB in 2 s");
        assertTrue(cells[6].endsWith("us") && Math.abs(Double.parseDouble(cells[6].replace("us", "")) - 100) < 7, "p50 near 100 us: " + row);
        assertTrue(cells[7].endsWith("ms") && Math.abs(Double.parseDouble(cells[7].replace("ms", "")) - 5) < 0.4,
                "p99 near 5 ms: only this interval's samples count (the first 1000 at 100 us are gone): " + row);
        assertEquals("0.25", cells[8], "qd: 0.5 s of request time over 2 s");
        assertTrue(report.contains("reactor-0") && report.lines().anyMatch(l -> l.matches("reactor-0\\s+50\\.0")), report);
        assertTrue(report.lines().anyMatch(l -> l.matches("r5\\s+rebuild\\s+30\\.0\\s+100\\.0")), "200 MiB in 2 s: " + report);
    }

    @Test
    void anIdleDeviceShowsDashesAndANewSyncJobItsAverage() {
        Map<?, ?> before = sample(0, 0, device("r5", 5, 5 * 4096, 0, List.of(bucket(100_000, 5)), sync("check", 900 * MIB)));
        Map<?, ?> after = sample(SECOND_NS, 0, device("r5", 5, 5 * 4096, 0, List.of(bucket(100_000, 5)), sync("rebuild", 10 * MIB)));
        String report = StatTable.format(before, after, List.of());
        assertTrue(report.lines().anyMatch(l -> l.matches("r5\\s+volume\\s+0\\.0\\s+0\\.0\\s+0\\.00\\s+0\\.00\\s+-\\s+-\\s+0\\.00\\s+0")), report);
        assertTrue(report.lines().anyMatch(l -> l.matches("r5\\s+rebuild\\s+30\\.0\\s+55\\.5")), "another job: its average rate " + report);
    }

    @Test
    void anIdleSyncShowsNoSyncSection() {
        Map<?, ?> s = sample(0, 0, device("r5", 0, 0, 0, List.of(), sync("idle", 0)));
        Map<?, ?> t = sample(SECOND_NS, 0, device("r5", 0, 0, 0, List.of(), sync("idle", 0)));
        assertFalse(StatTable.format(s, t, List.of()).contains("SYNC"));
    }

    @Test
    void latenciesReadLikeIostatsAndFio() {
        assertEquals("850ns", StatTable.latency(850));
        assertEquals("1.50us", StatTable.latency(1_500));
        assertEquals("120us", StatTable.latency(120_000));
        assertEquals("13.1ms", StatTable.latency(13_100_000));
        assertEquals("2.00s", StatTable.latency(2_000_000_000L));
    }
}
