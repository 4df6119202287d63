package io.basalt.bench;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.IdleStrategy;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import io.basalt.engine.conformance.ConformanceHarness;
import io.basalt.engine.conformance.TestFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class BenchCliTest {
    private Path folder;

    @AfterEach
    void cleanUp() throws Exception {
        TestFiles.deleteTree(folder);
    }

    private record Run(int exit, String out, String err) {}

    private static Run bench(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int exit = BenchCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> jsonLines(String out) {
        List<Map<String, Object>> objects = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.startsWith("{")) continue;
            try {
                objects.add((Map<String, Object>) BenchResult.JSON.readValue(line, Map.class));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new AssertionError("not a JSON line: " + line, e);
            }
        }
        return objects;
    }

    @Test
    @SuppressWarnings("unchecked")
    void jsonRunOnNullCarriesThePromisedKeys() {
        Run run = bench("--target", "null:1G", "--seconds", "0.3", "--ramp-seconds", "0.1", "--json", "--rw", "randrw");
        assertEquals(0, run.exit(), run.err());
        List<Map<String, Object>> results = jsonLines(run.out());
        assertEquals(1, results.size(), run.out());
        Map<String, Object> r = results.get(0);
        for (String key : List.of("iops", "bandwidth_bytes_per_sec", "latency_ns", "cpu_seconds_per_io", "alloc_bytes_per_io")) {
            assertTrue(r.containsKey(key), key + " in " + r);
        }
        Map<String, Object> latency = (Map<String, Object>) r.get("latency_ns");
        for (String key : List.of("p50", "p99", "p999", "max")) assertTrue(latency.containsKey(key), key);
        assertTrue(((Number) r.get("iops")).doubleValue() > 1000, "null device does more than 1000 IOPS: " + r);
        assertTrue((long) latency.get("p50") <= (long) latency.get("p99"));
        assertTrue((long) latency.get("p99") <= (long) latency.get("max"));
    }

    @Test
    void tableRunOnAFileWritesTheSparseFileFirst() {
        folder = TestFiles.directIoFolder("bench");
        Run run = bench("--target", "uring:" + folder.resolve("f") + ",size=8M", "--seconds", "0.3", "--ramp-seconds", "0",
                "--rw", "randread", "--iodepth", "8", "--idle", "sleep");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.err().contains("sparse"), run.err());
        assertTrue(run.out().contains("randread"), run.out());
        assertTrue(Prefill.allocatedBytes(folder.resolve("f").toString()) >= 8 << 20, "file written in full");
    }

    /** Three devices from two reactors at once: one summed result, and every device was written. */
    @Test
    void concurrentRunDrivesEveryDevice() {
        List<BlockDevice> devices = new ArrayList<>();
        for (int i = 0; i < 3; i++) devices.add(DeviceSpec.open("m" + i, "memory:4M"));
        try {
            BenchParams p = new BenchParams("randwrite", 4096, 8, 1, 200_000_000L, 0, 0, 3);
            BenchResult r = BenchCli.runConcurrent(devices, 2, "all", p, IdleStrategy.parse("busy"), 1);
            assertEquals(0, r.errors());
            assertTrue(r.ios() > 0 && r.iops() > 0, r.toJson());
            Reactor reactor = new Reactor(ReactorConfig.defaults("check"));
            reactor.initOnCurrentThread();
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                java.lang.foreign.MemorySegment back = arena.allocate(4L << 20, 4096);
                for (BlockDevice d : devices) {
                    ConformanceHarness io = new ConformanceHarness(reactor, d.openChannel(reactor));
                    assertEquals(Status.OK, io.read(0, 1024, back));
                    assertTrue(back.mismatch(arena.allocate(4L << 20, 4096)) >= 0, d.name() + " was written");
                    io.channel().close();
                }
            } finally {
                reactor.close();
            }
        } finally {
            for (BlockDevice d : devices) d.close();
        }
    }

    @Test
    void badArgumentsGetUsageAndExit2() {
        Run unknown = bench("--target", "null:1G", "--colour", "blue");
        assertEquals(2, unknown.exit());
        assertTrue(unknown.err().contains("--colour") && unknown.err().contains("Usage: "), unknown.err());
        assertEquals(2, bench("--target").exit());
        Run noTarget = bench("--rw", "randread");
        assertEquals(2, noTarget.exit(), "a missing required option is bad usage");
        assertTrue(noTarget.err().contains("--target"), noTarget.err());
        Run badRw = bench("--target", "null:1G", "--rw", "sideways");
        assertEquals(2, badRw.exit());
        assertTrue(badRw.err().contains("--rw") && badRw.err().contains("sideways"), badRw.err());
        Run badBs = bench("--target", "null:1G", "--bs", "4q");
        assertEquals(2, badBs.exit());
        assertTrue(badBs.err().contains("--bs"), badBs.err());
        Run badDepth = bench("--target", "null:1G", "--iodepth", "many");
        assertEquals(2, badDepth.exit());
        assertTrue(badDepth.err().contains("--iodepth"), badDepth.err());
        Run badSpec = bench("--target", "floppy:1M");
        assertEquals(1, badSpec.exit());
        assertTrue(badSpec.err().contains("floppy") && badSpec.err().startsWith("basalt bench: "), badSpec.err());
        Run fioOnMemory = bench("--target", "memory:16M", "--vs-fio");
        assertEquals(1, fioOnMemory.exit());
        assertTrue(fioOnMemory.err().contains("file target"), fioOnMemory.err());
    }

    /** --help exits 0 and lists every option the README and docs use, from the definitions. */
    @Test
    void helpListsEveryOptionAndExits0() {
        Run help = bench("--help");
        assertEquals(0, help.exit(), help.err());
        for (String option : List.of("--target", "--rw", "--bs", "--iodepth", "--jobs", "--seconds", "--ramp-seconds", "--rwmixread",
                "--idle", "--submit-batch", "--seed", "--repeat", "--json", "--vs-fio", "--fio", "--no-prefill", "raid", "vhost", "ppl-cost",
                "volume targets")) {
            assertTrue(help.out().contains(option), option + " in:\n" + help.out());
        }
        for (String sub : List.of("raid", "vhost", "ppl-cost")) {
            Run subHelp = bench(sub, "--help");
            assertEquals(0, subHelp.exit(), sub);
            assertTrue(subHelp.out().contains("Usage: basalt bench " + sub), subHelp.out());
        }
    }

    /** The real fio, on a small file, for one short alternated pair: the comparison path end to end. */
    @Test
    void versusFioRunsBothAndPrintsTheRatio() {
        folder = TestFiles.directIoFolder("bench-fio");
        Run run = bench("--target", "uring:" + folder.resolve("f") + ",size=16M", "--vs-fio", "--repeat", "1",
                "--seconds", "0.5", "--ramp-seconds", "0.2", "--rw", "randwrite", "--json");
        assertEquals(0, run.exit(), run.err() + run.out());
        List<Map<String, Object>> lines = jsonLines(run.out());
        assertEquals(3, lines.size(), run.out());
        assertEquals("basalt", lines.get(0).get("engine"));
        assertEquals("fio", lines.get(1).get("engine"));
        assertTrue(((Number) lines.get(1).get("iops")).doubleValue() > 0, "fio reported IOPS");
        Map<String, Object> comparison = lines.get(2);
        assertTrue(((Number) comparison.get("iops_ratio")).doubleValue() > 0, comparison.toString());
        assertEquals(1L, comparison.get("pairs"));
        assertEquals(1, ((List<?>) comparison.get("pair_iops_ratios")).size(), comparison.toString());
        assertTrue(comparison.get("iops_ratio_spread") instanceof Map, comparison.toString());
    }

    @Test
    void fioReportIsReadForBothDirections() {
        String report = """
                fio: some note before the JSON
                {"fio version":"fio-3.33","jobs":[{"jobname":"x","error":0,"job_runtime":2000,"usr_cpu":5.0,"sys_cpu":45.0,
                 "read":{"io_bytes":4096000,"total_ios":1000,"lat_ns":{"max":900000,"mean":300000.0,
                   "percentile":{"50.000000":250000,"99.000000":800000,"99.900000":880000}}},
                 "write":{"io_bytes":4096000,"total_ios":1000,"lat_ns":{"max":950000,"mean":100000.0,
                   "percentile":{"50.000000":90000,"99.000000":700000,"99.900000":900000}}}}]}
                """;
        BenchParams p = new BenchParams("randrw", 4096, 32, 1, 2_000_000_000L, 0, 50, 1);
        BenchResult r = FioRunner.parse(report, p, "/x");
        assertEquals(2000, r.ios());
        assertEquals(1000.0, r.iops(), 1e-9);
        assertEquals(250_000, r.p50Ns());
        assertEquals(800_000, r.p99Ns());
        assertEquals(900_000, r.p999Ns());
        assertEquals(950_000, r.maxNs());
        assertEquals(200_000.0, r.meanNs(), 1e-6);
        assertEquals(1.0 / 2000, r.cpuSecondsPerIo(), 1e-12); // 50% of a core over 2 s, 2000 I/Os
        assertThrows(IllegalStateException.class, () -> FioRunner.parse("no json here", p, "/x"));
    }

    @Test
    void everyWriteCarriesFreshDataAsFioRefillBuffersDoes() {
        // 256 blocks written over and over from 32 buffers: without a refill per write, blocks would repeat.
        var device = new io.basalt.engine.backend.MemoryBlockDevice("m", 1 << 20, 512);
        BenchParams p = new BenchParams("write", 4096, 32, 1, 200_000_000L, 0, 0, 1);
        BenchResult r = BenchCli.runBasalt(device, "memory", p, IdleStrategy.parse("busy"), 1);
        assertTrue(r.ios() > 256, "the device was written over more than once: " + r.ios());
        java.util.Set<String> seen = new java.util.HashSet<>();
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            var block = arena.allocate(4096, 4096);
            for (long off = 0; off < 1 << 20; off += 4096) {
                assertEquals(Status.OK, device.read(off, block));
                assertTrue(seen.add(java.util.HexFormat.of().formatHex(block.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))),
                        "block at " + off + " repeats another block's data");
            }
        }
        device.close();
        List<String> write = FioRunner.forSpec(DeviceSpec.parse("uring:/x"), "fio").command(p);
        assertTrue(write.contains("--refill_buffers=1"), write.toString());
        BenchParams read = new BenchParams("randread", 4096, 32, 1, 200_000_000L, 0, 100, 1);
        assertFalse(FioRunner.forSpec(DeviceSpec.parse("uring:/x"), "fio").command(read).contains("--refill_buffers=1"));
    }
}
