package io.basalt.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The table of {@code basalt bench objects}: per case a line per side with its medians over the pairs (MiB/s, ops/s,
 * server CPU seconds per GiB moved), the Basalt line carrying the per-pair basalt/peer ratios as median [first
 * quartile - third quartile] and the goal's verdict (throughput >= 1.0x at CPU per GiB <= 1.0x, both medians).
 */
final class ObjectBenchTable {
    static final double GOAL_RATIO = 1.0;
    private static final String FORMAT = "%-16s %-8s %5s %9s %9s %10s   %-22s %-22s %s%n";

    private ObjectBenchTable() {}

    static String table(List<ObjectBench.Sample> samples, int rounds) {
        StringBuilder t = new StringBuilder(String.format(Locale.ROOT, FORMAT, "case", "server", "pairs", "MiB/s", "ops/s",
                "CPU s/GiB", "MiB/s basalt/peer", "CPU/GiB basalt/peer", "goal"));
        Map<String, List<ObjectBench.Sample[]>> byCase = new LinkedHashMap<>();
        for (ObjectBench.Sample s : samples) {
            if (s.pair() < 0) continue;
            List<ObjectBench.Sample[]> pairs = byCase.computeIfAbsent(s.c().label(), k -> new ArrayList<>());
            while (pairs.size() <= s.pair()) pairs.add(new ObjectBench.Sample[2]);
            pairs.get(s.pair())[s.server().equals("basalt") ? 0 : 1] = s;
        }
        for (Map.Entry<String, List<ObjectBench.Sample[]>> e : byCase.entrySet()) {
            List<ObjectBench.Sample[]> pairs = e.getValue().stream().filter(p -> p[0] != null && p[1] != null).toList();
            if (pairs.isEmpty()) continue;
            Spread mib = ratio(pairs, ObjectBench.Sample::mibPerSecond);
            Spread cpu = ratio(pairs, ObjectBench.Sample::cpuSecondsPerGib);
            String verdict = mib.median() >= GOAL_RATIO && cpu.median() <= GOAL_RATIO ? "met" : "short";
            for (int side = 0; side < 2; side++) {
                t.append(String.format(Locale.ROOT, FORMAT, e.getKey(), pairs.get(0)[side].server(), pairs.size(),
                        fixed(median(pairs, side, ObjectBench.Sample::mibPerSecond), 1),
                        fixed(median(pairs, side, ObjectBench.Sample::opsPerSecond), 0),
                        fixed(median(pairs, side, ObjectBench.Sample::cpuSecondsPerGib), 3),
                        side == 0 ? text(mib) : "", side == 0 ? text(cpu) : "", side == 0 ? verdict : ""));
            }
        }
        t.append(String.format(Locale.ROOT, "%d pairs per case wanted; ratios: per pair basalt/peer, median [q1-q3]; "
                + "CPU: the server processes' utime+stime over the run%n", rounds));
        return t.toString();
    }

    private static Spread ratio(List<ObjectBench.Sample[]> pairs, ToDoubleFunction<ObjectBench.Sample> f) {
        return Spread.of(pairs.stream().mapToDouble(p -> f.applyAsDouble(p[0]) / f.applyAsDouble(p[1])).toArray());
    }

    private static double median(List<ObjectBench.Sample[]> pairs, int side, ToDoubleFunction<ObjectBench.Sample> f) {
        return Spread.of(pairs.stream().mapToDouble(p -> f.applyAsDouble(p[side])).toArray()).median();
    }

    static String text(Spread s) {
        return String.format(Locale.ROOT, "%.2fx [%.2f-%.2f]", s.median(), s.q1(), s.q3());
    }

    private static String fixed(double v, int decimals) {
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }
}
