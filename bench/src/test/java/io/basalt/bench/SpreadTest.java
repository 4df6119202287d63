package io.basalt.bench;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The --vs-fio summary: per-pair ratios, their median, min-max and interquartile range. */
class SpreadTest {
    @Test
    void quartilesInterpolateBetweenNeighbours() {
        Spread s = Spread.of(new double[] {10, 1, 9, 2, 8, 3, 7, 4, 6, 5});
        assertEquals(1, s.min());
        assertEquals(10, s.max());
        assertEquals(5.5, s.median(), 1e-12);
        assertEquals(3.25, s.q1(), 1e-12, "h = 9 x 0.25 = 2.25: 3 + 0.25 x (4 - 3)");
        assertEquals(7.75, s.q3(), 1e-12);
        Spread one = Spread.of(new double[] {2});
        assertEquals(List.of(2.0, 2.0, 2.0, 2.0, 2.0), List.of(one.min(), one.q1(), one.median(), one.q3(), one.max()));
        assertThrows(IllegalStateException.class, () -> Spread.of(new double[0]));
    }

    private static BenchResult result(String engine, long ios, long p99Ns, double cpuSeconds) {
        BenchParams p = new BenchParams("randread", 4096, 32, 1, 1_000_000_000L, 0, 50, 1);
        return new BenchResult(engine, "file:/x", p, ios, ios * 4096, 1.0, 1, p99Ns, p99Ns, p99Ns, 1, cpuSeconds, 0, 0);
    }

    /** Pair i is Basalt's run i over fio's run i: the ratio of each pair, not the ratio of the two medians. */
    @Test
    @SuppressWarnings("unchecked")
    void comparisonReportsEveryPairAndTheMedianRatio() throws Exception {
        List<BenchResult> basalt = new ArrayList<>(), fio = new ArrayList<>();
        // fio drifts down over time; each Basalt run is 1.1x the fio run it alternated with.
        for (int i = 0; i < 10; i++) {
            long fioIos = 100_000 - 5_000L * i;
            basalt.add(result("basalt", fioIos * 11 / 10, 1000, 1.0));
            fio.add(result("fio", fioIos, 2000, 2.0));
        }
        basalt.set(3, result("basalt", fio.get(3).ios() * 2, 1000, 1.0)); // one outlier pair at 2.0x
        Map<String, Object> json = (Map<String, Object>) BenchResult.JSON.readValue(BenchTable.comparisonJson(basalt, fio), Map.class);
        assertEquals(10L, json.get("pairs"));
        assertEquals(1.1, ((Number) json.get("iops_ratio")).doubleValue(), 1e-3, "the median is not moved by the outlier");
        Map<String, Object> spread = (Map<String, Object>) json.get("iops_ratio_spread");
        assertEquals(1.1, ((Number) spread.get("min")).doubleValue(), 1e-3);
        assertEquals(2.0, ((Number) spread.get("max")).doubleValue(), 1e-3);
        assertEquals(1.1, ((Number) spread.get("q3")).doubleValue(), 1e-3);
        List<Object> pairs = (List<Object>) json.get("pair_iops_ratios");
        assertEquals(10, pairs.size());
        assertEquals(2.0, ((Number) pairs.get(3)).doubleValue(), 1e-3);
        assertEquals(0.5, ((Number) json.get("p99_ratio")).doubleValue(), 1e-9);
        assertEquals(1 / 2.2, ((Number) json.get("cpu_ratio")).doubleValue(), 1e-4, "half the CPU for 1.1x the I/Os");

        String table = BenchTable.comparison(basalt, fio);
        assertTrue(table.contains("ratio over 10 pairs"), table);
        assertTrue(table.contains("   4 "), "pair 4 has its own line:\n" + table);
        assertTrue(table.contains("2.000x"), table);
        assertTrue(table.lines().anyMatch(l -> l.trim().startsWith("IOPS ratio") && l.contains("1.100x")), table);
    }
}
