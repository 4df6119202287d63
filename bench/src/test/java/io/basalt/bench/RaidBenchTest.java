package io.basalt.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** {@code basalt bench raid}: options, member lists, the table and JSON it prints (no timing is asserted). */
class RaidBenchTest {
    private static final String MEMBERS = "memory:16M,memory:16M,memory:16M,memory:16M";

    private record Run(int exit, String out, String err) {}

    private static Run bench(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int exit = RaidBench.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The efficiency table's rows, cells trimmed, header and rule left out. */
    private static List<List<String>> efficiencyRows(String out) {
        List<List<String>> rows = new ArrayList<>();
        boolean inTable = false;
        for (String line : out.split("\n")) {
            if (line.startsWith("| chunk | workload |")) {
                inTable = true;
                continue;
            }
            if (!inTable || line.startsWith("|---")) continue;
            if (!line.startsWith("|")) break;
            List<String> cells = new ArrayList<>();
            for (String c : line.substring(1, line.length() - 1).split("\\|")) cells.add(c.trim());
            rows.add(cells);
        }
        return rows;
    }

    @Test
    void smokeRunOnMemoryMembersPrintsEveryRow() {
        Run run = bench("--members", MEMBERS, "--chunk", "16k,32k", "--seconds", "0.1", "--ramp-seconds", "0", "--consistency", "resync");
        assertEquals(0, run.exit(), run.err() + run.out());
        for (int m = 0; m < 4; m++) {
            for (String w : List.of("randread 4k qd32", "randwrite 4k qd32", "write 1m qd4")) {
                assertTrue(run.out().contains("| member " + m + " | " + w + " |"), "member " + m + " alone " + w + "\n" + run.out());
            }
        }
        for (String w : List.of("randread 4k qd32", "randwrite 4k qd32", "write 1m qd4")) assertTrue(run.out().contains("| all 4 | " + w + " |"), w);
        List<List<String>> rows = efficiencyRows(run.out());
        assertEquals(10, rows.size(), run.out());
        List<String> workloads = List.of("random read 4k qd128", "full-stripe write 48k qd128", "random write 4k qd128",
                "random write 4k qd128 (vs RMW on these members)", "degraded random read 4k qd128 (member 3 failed)",
                "random read 4k qd128", "full-stripe write 96k qd128", "random write 4k qd128",
                "random write 4k qd128 (vs RMW on these members)", "degraded random read 4k qd128 (member 3 failed)");
        for (int i = 0; i < rows.size(); i++) {
            List<String> r = rows.get(i);
            assertEquals(8, r.size(), r.toString());
            assertEquals(i < 5 ? "16k" : "32k", r.get(0));
            assertEquals(workloads.get(i), r.get(1));
            assertEquals(List.of("N x R", "(N-1)/N x raw", "N x W / 4", "1 / (2/NR + 2/NW)", "N x R / (2(N-1)/N)").get(i % 5), r.get(2));
            double efficiency = Double.parseDouble(r.get(5));
            assertTrue(efficiency > 0, r.toString());
            if (i % 5 == 3) {
                assertEquals("none", r.get(6));
                assertEquals("-", r.get(7), "the RMW model has no goal");
            } else {
                double goal = Double.parseDouble(r.get(6).substring(3));
                assertEquals(efficiency >= goal ? "yes" : "NO", r.get(7), r.toString());
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void jsonHasOneObjectPerRunAndPerEfficiencyRow() throws Exception {
        Run run = bench("--members", "memory:8M;memory:8M;memory:8M", "--seconds", "0.1", "--ramp-seconds", "0", "--consistency", "resync",
                "--no-alone", "--jobs", "2", "--iodepth", "8", "--failed-member", "0", "--repeat", "2", "--json");
        assertEquals(0, run.exit(), run.err());
        List<Map<String, Object>> runs = new ArrayList<>(), efficiency = new ArrayList<>();
        for (String line : run.out().split("\n")) {
            Map<String, Object> o = (Map<String, Object>) BenchResult.JSON.readValue(line, Map.class); // every line is one JSON object
            (o.get("raid_bench").equals("run") ? runs : efficiency).add(o);
        }
        assertEquals(2 * (3 + 4), runs.size(), "per round: 3 all-members references (no alone runs) and 4 volume runs");
        for (Map<String, Object> r : runs) assertEquals(0L, ((Map<String, Object>) r.get("result")).get("errors"), r.toString());
        assertEquals(5, efficiency.size());
        for (Map<String, Object> e : efficiency) {
            assertEquals(3L, e.get("members"));
            assertEquals(2L, e.get("jobs"));
            assertEquals(2L, e.get("rounds"));
            assertEquals("resync", e.get("consistency"));
            assertEquals((long) io.basalt.raid.volume.RaidDefaults.CHUNK_BYTES, e.get("chunk_bytes"));
            for (String key : List.of("workload", "reference", "volume", "efficiency", "goal", "met")) assertTrue(e.containsKey(key), key);
        }
        assertEquals("degraded random read 4k qd24 (member 0 failed)", efficiency.get(4).get("workload"));
        assertFalse(efficiency.get(3).get("goal") instanceof Number, "the RMW model has no goal: null");
        assertEquals(0.95, ((Number) efficiency.get(4).get("goal")).doubleValue(), 1e-9, "degraded read against its model");
        assertTrue(efficiency.get(0).get("goal") instanceof Number);
    }

    @Test
    void pplIsTheDefaultAndTheVolumeRowsRunWithIt() {
        Run run = bench("--members", "memory:8M;memory:8M;memory:8M", "--seconds", "0.1", "--ramp-seconds", "0", "--json");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("\"consistency\":\"ppl\""), run.out());
        assertFalse(run.err().contains("I/O errors"), run.err());
    }

    @Test
    void fullStripeDepthKeepsTheReferencesBytesInFlight() {
        assertEquals(86, RaidBench.fullStripeDepth(4, 3 * 64 * 1024), "16 MiB / 192 KiB");
        assertEquals(11, RaidBench.fullStripeDepth(4, 3 * 512 * 1024));
        assertEquals(128, RaidBench.fullStripeDepth(4, 3 * 16 * 1024), "capped");
        assertEquals(2, RaidBench.fullStripeDepth(3, 2 * (64 << 20)), "at least 2");
    }

    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(2.0, RaidBench.median(new double[] {3, 1, 2}));
        assertEquals(2.5, RaidBench.median(new double[] {4, 1, 2, 3}));
    }

    @Test
    void membersSplitOnCommasWhereANewSpecStarts() {
        assertEquals(List.of("uring:/f0,direct=0", "uring:/f1", "memory:1G,block=512"), RaidBench.splitMembers("uring:/f0,direct=0,uring:/f1,memory:1G,block=512"));
        assertEquals(List.of("uring:/f0,direct=0", "memory:1G"), RaidBench.splitMembers("uring:/f0,direct=0;memory:1G"), "or ';'");
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertBad("--members SPEC,SPEC,SPEC is required", "--seconds", "1");
        assertBad("raid5 needs 3 to 32 members, got 2", "--members", "memory:1M,memory:1M");
        assertBad("member 1 '/dev/sdb' is not a backend spec", "--members", "memory:1M;/dev/sdb;memory:1M");
        assertBad("chunk=48k must be a power of two", "--members", MEMBERS, "--chunk", "16k,48k");
        assertBad("--jobs 9 is not in [1, 8]", "--members", MEMBERS, "--jobs", "9");
        assertBad("--failed-member 4 is not in [0, 3]", "--members", MEMBERS, "--failed-member", "4");
        assertBad("consistency 'bitmap' is not one of ppl, resync", "--members", MEMBERS, "--consistency", "bitmap");
        assertBad("exceeds a volume channel's 256 requests", "--members", MEMBERS, "--iodepth", "128");
        assertBad("Unknown options: '--target'", "--members", MEMBERS, "--target", "memory:1G");
        assertBad("--repeat 0 is not in [1, 99]", "--members", MEMBERS, "--repeat", "0");
    }

    @Test
    void helpExits0AndNamesEveryOption() {
        Run help = bench("--help");
        assertEquals(0, help.exit(), help.err());
        for (String option : List.of("--members", "--chunk", "--seconds", "--ramp-seconds", "--jobs", "--iodepth", "--idle", "--consistency",
                "--failed-member", "--no-alone", "--repeat", "--json")) {
            assertTrue(help.out().contains(option), option + " in:\n" + help.out());
        }
        assertBad("--seconds", "--members", MEMBERS, "--seconds", "soon");
    }

    private static void assertBad(String expected, String... args) {
        Run run = bench(args);
        assertEquals(2, run.exit(), run.err());
        assertTrue(run.err().contains(expected), expected + " in: " + run.err());
    }
}
