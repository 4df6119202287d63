package io.basalt.daemon;

import io.basalt.daemon.json.Json;
import io.basalt.daemon.rpc.RpcClient;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** stat_get's counters move by exactly the I/O done, and basalt stat prints that I/O as rates. */
class StatRpcTest extends DaemonTestBase {
    private static final int BLOCKS = 8;
    private static final long REQUESTS = 50;

    private static final String CONFIG = """
            [ {"method": "drive_create", "params": {"name": "m0", "spec": "memory:16M"}},
              {"method": "drive_create", "params": {"name": "m1", "spec": "memory:16M"}},
              {"method": "raid_create", "params": {"name": "r1", "level": 1, "members": ["m0", "m1"]}},
              {"method": "vhost_create", "params": {"name": "v0", "drive": "r1", "socket": "SOCKET"}} ]""";

    private void startWithExport() throws Exception {
        start(CONFIG.replace("SOCKET", dir.resolve("v0.sock").toString()));
    }

    private Reactor reactor() {
        return daemon.reactors().getFirst();
    }

    private BlockDevice exportDevice() {
        return daemon.exports().get("v0").stats();
    }

    private Map<?, ?> stat() throws Exception {
        return assertInstanceOf(Map.class, result("stat_get", null));
    }

    private static Map<?, ?> entry(Map<?, ?> stat, String list, String name) {
        for (Object o : (List<?>) stat.get(list)) if (name.equals(((Map<?, ?>) o).get("name"))) return (Map<?, ?>) o;
        throw new AssertionError("no " + name + " in " + list + ": " + stat);
    }

    private static long delta(Map<?, ?> before, Map<?, ?> after, String list, String name, String counter) {
        return (Long) entry(after, list, name).get(counter) - (Long) entry(before, list, name).get(counter);
    }

    /**
     * A second daemon serves a memory drive over NVMe/TCP (its own reactor: a daemon opening an nvme-tcp channel
     * blocks its reactor for the queue's set-up, so it cannot be its own target); this one opens it with digests.
     */
    @Test
    void anNvmeTcpDriveShowsItsBackendCountersWithDigestsInUse() throws Exception {
        String nqn = "nqn.2026-12.io.basalt:stat-backend";
        Daemon target = Daemon.start(new Daemon.Options(dir.resolve("target"), null, 1, "sleep"));
        try (RpcClient targetRpc = RpcClient.connect(target.socketPath())) {
            for (String[] call : new String[][] {{"drive_create", "{\"name\":\"m0\",\"spec\":\"memory:16M\"}"},
                    {"nvmf_subsystem_create", "{\"nqn\":\"" + nqn + "\",\"allow_any_host\":true}"},
                    {"nvmf_namespace_add", "{\"nqn\":\"" + nqn + "\",\"drive\":\"m0\"}"},
                    {"nvmf_listener_add", "{\"address\":\"127.0.0.1\",\"port\":0}"}}) {
                Map<String, Object> response = targetRpc.call(call[0], Json.parse(call[1]));
                assertFalse(response.containsKey("error"), () -> Json.write(response));
                if (call[0].equals("nvmf_listener_add")) startAndOpen(nqn, (Long) ((Map<?, ?>) response.get("result")).get("port"));
            }
        } finally {
            down();
            target.close();
        }
    }

    private void startAndOpen(String nqn, long port) throws Exception {
        start("[]");
        result("drive_create", "{\"name\":\"m1\",\"spec\":\"memory:16M\"}");
        result("drive_create", "{\"name\":\"remote\",\"spec\":\"nvme-tcp://127.0.0.1:" + port + "/" + nqn
                + "?nsid=1&digest=hd,dd\"}");
        BlockDevice remote = daemon.drives().get("remote").device();
        int blockBytes = remote.geometry().logicalBlockBytes();
        assertEquals(0, StatTestIo.run(reactor(), remote, true, BLOCKS, REQUESTS));
        assertEquals(0, StatTestIo.run(reactor(), remote, false, BLOCKS, REQUESTS));
        Map<?, ?> backend = assertInstanceOf(Map.class, entry(stat(), "drives", "remote").get("backend"));
        assertEquals(2 * REQUESTS, backend.get("commands_completed"), backend.toString());
        assertEquals(REQUESTS * BLOCKS * blockBytes, backend.get("written_bytes"));
        assertEquals(REQUESTS * BLOCKS * blockBytes, backend.get("read_bytes"));
        for (String error : List.of("status_errors", "transport_errors", "data_digest_errors", "header_digest_errors",
                "protocol_errors", "timeouts", "queue_resets", "reconnects")) {
            assertEquals(0L, backend.get(error), error);
        }
        assertNull(entry(stat(), "drives", "m1").get("backend"), "a memory drive has no backend counters");
    }

    @Test
    void writesThroughAnExportMoveTheExportTheVolumeAndEveryMirror() throws Exception {
        startWithExport();
        int blockBytes = exportDevice().geometry().logicalBlockBytes();
        Map<?, ?> before = stat();
        assertEquals(0, StatTestIo.run(reactor(), exportDevice(), true, BLOCKS, REQUESTS));
        Map<?, ?> after = stat();
        for (String[] where : new String[][] {{"exports", "v0"}, {"volumes", "r1"}}) {
            assertEquals(REQUESTS, delta(before, after, where[0], where[1], "write_ios"), where[1]);
            assertEquals(REQUESTS * BLOCKS * blockBytes, delta(before, after, where[0], where[1], "write_bytes"), where[1]);
            assertEquals(0, delta(before, after, where[0], where[1], "read_ios"), where[1]);
            assertEquals(0, delta(before, after, where[0], where[1], "errors"), where[1]);
            assertEquals(0L, entry(after, where[0], where[1]).get("in_flight"), where[1]);
        }
        for (String m : List.of("m0", "m1")) { // each mirror gets every write, plus the write-intent bitmap's own writes
            assertTrue(delta(before, after, "drives", m, "write_ios") >= REQUESTS, m);
            assertTrue(delta(before, after, "drives", m, "write_bytes") >= REQUESTS * BLOCKS * blockBytes, m);
            assertEquals(0, delta(before, after, "drives", m, "read_ios"), m);
        }
        assertEquals("v0", entry(after, "exports", "v0").get("name"));
        assertEquals("r1", entry(after, "exports", "v0").get("device"));
        long histogram = 0;
        for (Object t : (List<?>) entry(after, "volumes", "r1").get("latency_buckets")) histogram += (Long) ((List<?>) t).get(2);
        assertEquals((Long) entry(after, "volumes", "r1").get("write_ios") + (Long) entry(after, "volumes", "r1").get("read_ios"), histogram,
                "every read and write is in the latency histogram once");
    }

    @Test
    void readsOfAMirrorComeFromOneMemberEach() throws Exception {
        startWithExport();
        Map<?, ?> before = stat();
        assertEquals(0, StatTestIo.run(reactor(), exportDevice(), false, BLOCKS, REQUESTS));
        Map<?, ?> after = stat();
        assertEquals(REQUESTS, delta(before, after, "volumes", "r1", "read_ios"));
        assertEquals(REQUESTS, delta(before, after, "drives", "m0", "read_ios") + delta(before, after, "drives", "m1", "read_ios"));
        assertTrue((Long) after.get("timestamp_ns") > (Long) before.get("timestamp_ns"));
        Map<?, ?> reactor = entry(after, "reactors", reactor().name());
        assertTrue((Long) reactor.get("busy_ns") > 0, "the reactor did the I/O: busy time");
        assertInstanceOf(Map.class, entry(after, "volumes", "r1").get("sync"), "a RAID volume reports its sync job");
    }

    @Test
    void statGetTakesNoParams() throws Exception {
        startWithExport();
        assertTrue(error("stat_get", "{\"name\": \"r1\"}", -32602).contains("name"));
    }

    /** One report line of a device: its columns by header name. */
    private static Map<String, String> row(String report, String name, String kind) {
        String[] header = StatTable.DEVICE_HEADER.trim().split("\\s+");
        for (String line : report.split("\n")) {
            String[] cells = line.trim().split("\\s+");
            if (cells.length == header.length && cells[0].equals(name) && cells[1].equals(kind)) {
                Map<String, String> m = new java.util.LinkedHashMap<>();
                for (int i = 0; i < header.length; i++) m.put(header[i], cells[i]);
                return m;
            }
        }
        return null;
    }

    private String runStat(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = new CommandLine(new StatCommand()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        assertEquals(0, status, () -> "basalt stat failed: " + err);
        return out.toString();
    }

    @Test
    void basaltStatShowsTheWritesWhileTheyRun() throws Exception {
        startWithExport();
        StatTestIo io = StatTestIo.start(reactor(), exportDevice(), true, BLOCKS, Long.MAX_VALUE);
        String report;
        try {
            report = runStat("--socket", daemon.socketPath().toString(), "--interval", "300ms", "--count", "2");
        } finally {
            io.stop();
        }
        assertEquals(0, io.await());
        String[] reports = report.split("\n\n");
        assertEquals(2, reports.length, report);
        for (String r : reports) {
            assertTrue(Pattern.compile("^\\d\\d:\\d\\d:\\d\\d  interval 0\\.\\d\\d s").matcher(r).find(), r);
            for (String[] device : new String[][] {{"v0", "export"}, {"r1", "volume"}, {"m0", "drive"}, {"m1", "drive"}}) {
                Map<String, String> row = row(r, device[0], device[1]);
                assertNotNull(row, () -> device[0] + " in\n" + r);
                assertTrue(Double.parseDouble(row.get("w/s")) > 0, () -> "writes per second of " + device[0] + " in\n" + r);
                assertTrue(Double.parseDouble(row.get("wMiB/s")) > 0, () -> r);
                assertEquals(0.0, Double.parseDouble(row.get("r/s")), () -> r);
                assertTrue(row.get("p50").matches("[\\d.]+(ns|us|ms|s)") && row.get("p99").matches("[\\d.]+(ns|us|ms|s)"), () -> r);
                assertEquals("0", row.get("errors"));
            }
            Matcher busy = Pattern.compile("(?m)^" + reactor().name() + "\\s+([\\d.]+)$").matcher(r);
            assertTrue(busy.find(), r);
            double percent = Double.parseDouble(busy.group(1));
            assertTrue(percent > 0 && percent <= 100, r);
        }
    }

    @Test
    void basaltStatWithNamesShowsOnlyThose() throws Exception {
        startWithExport();
        String report = runStat("--socket", daemon.socketPath().toString(), "--interval", "100ms", "--count", "1", "r1");
        assertNotNull(row(report, "r1", "volume"), report);
        List<String> others = new ArrayList<>();
        for (String n : List.of("m0", "m1", "v0", reactor().name())) if (report.contains(n + " ")) others.add(n);
        assertEquals(List.of(), others, report);
    }

    @Test
    void basaltStatRefusesBadOptionsAndAnswersHelp() {
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new StatCommand()).setErr(new PrintWriter(err));
        assertEquals(2, cl.execute("--interval", "5ms"));
        assertTrue(err.toString().contains("shorter than 100ms"), err.toString());
        assertEquals(2, new CommandLine(new StatCommand()).setErr(new PrintWriter(new StringWriter()))
                .execute("--socket", "/x", "--data-dir", "/y"), "--socket and --data-dir exclude each other");
        StringWriter out = new StringWriter();
        assertEquals(0, new CommandLine(new StatCommand()).setOut(new PrintWriter(out)).execute("--help"));
        assertTrue(out.toString().contains("--interval") && out.toString().contains("--count"), out.toString());
    }

    @Test
    void basaltStatWithoutADaemonSaysWhereItLooked() {
        StringWriter err = new StringWriter();
        int status = new CommandLine(new StatCommand()).setErr(new PrintWriter(err)).execute("--socket", dir.resolve("none.sock").toString());
        assertEquals(1, status);
        assertTrue(err.toString().contains("none.sock") && err.toString().contains("basalt serve"), err.toString());
    }
}
