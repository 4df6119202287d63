package io.basalt.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code basalt bench objects} end to end, as short as it goes: one pair of 1 s per case, 8 connections, 128 KiB. */
class ObjectBenchTest {
    @TempDir
    Path dir;

    @Test
    void onePairPerCaseGivesBothSidesNonZeroRowsSkippedWithoutNginxOrWrk() throws Exception {
        Assumptions.assumeTrue(ObjectBenchProcesses.onPath("nginx") != null, "nginx is not installed (scripts/install-deps.sh)");
        Assumptions.assumeTrue(ObjectBenchProcesses.onPath("wrk") != null, "wrk is not installed (scripts/install-deps.sh)");
        // PUT's peer is resolved by mvn (offline from ~/.m2 first); without it only GET runs.
        boolean put = ObjectBenchProcesses.onPath("mvn") != null;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = BenchCli.run(new String[] {"objects", "--ops", put ? "get,put" : "get", "--seconds", "1", "--warmup-seconds", "1",
            "--rounds", "1", "--connections", "8", "--sizes", "128k", "--dir", dir.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        String table = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, rc, table + err.toString(StandardCharsets.UTF_8));
        assertTrue(table.contains("raw file system (dd"), table);
        checkRows(table, "GET 128 KiB c8", "nginx");
        if (put) checkRows(table, "PUT 128 KiB c8", "s3proxy");
        try (var left = Files.list(dir)) {
            assertEquals(List.of(), left.toList(), "the work directory is removed");
        }
    }

    /** The case's two rows: Basalt's then the peer's, each with non-zero MiB/s, ops/s and CPU per GiB. */
    private static void checkRows(String table, String label, String peer) {
        List<String[]> rows = new ArrayList<>();
        for (String line : table.lines().toList()) {
            if (line.startsWith(label)) rows.add(line.substring(label.length()).trim().split("\\s+"));
        }
        assertEquals(2, rows.size(), table);
        assertEquals("basalt", rows.get(0)[0], table);
        assertEquals(peer, rows.get(1)[0], table);
        for (String[] r : rows) {
            assertEquals("1", r[1], "pairs: " + table);
            for (int column = 2; column <= 4; column++) assertTrue(Double.parseDouble(r[column]) > 0, table);
        }
    }
}
