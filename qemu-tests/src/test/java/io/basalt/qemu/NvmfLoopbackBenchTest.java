package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.bench.BenchParams;
import io.basalt.bench.BenchResult;
import io.basalt.engine.DeviceSpec;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code basalt bench nvmf --loopback}'s pure parts, no server started: the alternation of {@link ServerPairs} (with
 * stand-in servers that are this JVM), the pairing and ratio summary, the goal line, and what each server is given.
 */
class NvmfLoopbackBenchTest {
    /** A stand-in server: records the runs it was given and answers each with a fixed I/O count over one second. */
    private record FakeServer(String name, long ios, List<String> log) implements ServerPairs.Server {
        @Override
        public long pid() {
            return ProcessHandle.current().pid();
        }

        @Override
        public BenchResult run(BenchParams p) {
            log.add(name + " " + p.rw() + " seed=" + p.seed() + " qd=" + p.ioDepth() + " jobs=" + p.jobs());
            return new BenchResult("fake", name, p, ios, ios * p.blockBytes(), 1.0, 0, 2000, 0, 0, 0, 0, 0, 0);
        }

        @Override
        public void close() {}
    }

    @Test
    void warmUpOnceThenPairsInSwappedOrderEveryPair() {
        List<String> log = new ArrayList<>();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<ServerPairs.Sample> samples = ServerPairs.alternate(List.of("randread", "randwrite"),
                List.of(new FakeServer("basalt", 1000, log), new FakeServer("qemu-nbd", 500, log)), 3, 32, 2, 1,
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(List.of(
                "basalt randread seed=0 qd=32 jobs=2", "qemu-nbd randread seed=0 qd=32 jobs=2",
                "basalt randwrite seed=0 qd=32 jobs=2", "qemu-nbd randwrite seed=0 qd=32 jobs=2",
                "basalt randread seed=1 qd=32 jobs=2", "qemu-nbd randread seed=1 qd=32 jobs=2",
                "basalt randwrite seed=1 qd=32 jobs=2", "qemu-nbd randwrite seed=1 qd=32 jobs=2",
                "qemu-nbd randread seed=2 qd=32 jobs=2", "basalt randread seed=2 qd=32 jobs=2",
                "qemu-nbd randwrite seed=2 qd=32 jobs=2", "basalt randwrite seed=2 qd=32 jobs=2",
                "basalt randread seed=3 qd=32 jobs=2", "qemu-nbd randread seed=3 qd=32 jobs=2",
                "basalt randwrite seed=3 qd=32 jobs=2", "qemu-nbd randwrite seed=3 qd=32 jobs=2"), log);
        assertEquals(12, samples.size(), "the warm-up is not a sample");
        assertTrue(samples.stream().allMatch(s -> s.pair() >= 0 && s.iops() == s.ios()), samples::toString);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("warm-up"), "the warm-up is shown, marked");
    }

    @Test
    void ratiosAreMediansOfPerPairRatiosMatchedByPairNumber() {
        // CPU per I/O: basalt 1, 2, 6 us; qemu-nbd 4, 4, 3 us -> ratios 0.25, 0.5, 2.0. Given out of order, one unpaired.
        List<ServerPairs.Sample> samples = List.of(
                new ServerPairs.Sample("randread", "qemu-nbd", 2, 300, 1000, 3_000_000, 10),
                new ServerPairs.Sample("randread", "basalt", 0, 100, 1000, 1_000_000, 10),
                new ServerPairs.Sample("randread", "basalt", 1, 200, 1000, 2_000_000, 10),
                new ServerPairs.Sample("randread", "qemu-nbd", 0, 100, 1000, 4_000_000, 10),
                new ServerPairs.Sample("randread", "basalt", 2, 600, 1000, 6_000_000, 10),
                new ServerPairs.Sample("randread", "qemu-nbd", 1, 100, 1000, 4_000_000, 10),
                new ServerPairs.Sample("randread", "basalt", 3, 9999, 1000, 1, 10)); // no partner: left out
        ServerPairs.Row row = ServerPairs.rows(samples, "basalt", "qemu-nbd").getFirst();
        assertEquals(3, row.pairs().size());
        assertEquals(new NvmfBench.Ratio(0.5, 0.25, 2.0), row.ratio(ServerPairs.Sample::cpuMicrosPerIo));
        assertEquals("2.00x [0.50-4.00]", row.ratio(ServerPairs.Sample::iopsPerServerCore).text(), "the inverse of CPU/IO");
        assertEquals(new NvmfBench.Ratio(2.0, 1.0, 2.0), row.ratio(ServerPairs.Sample::iops));
        assertEquals(2.0, row.median(0, ServerPairs.Sample::cpuMicrosPerIo));
        assertEquals(500_000, row.median(0, ServerPairs.Sample::iopsPerServerCore), 1e-6);
        String table = ServerPairs.table(samples, "basalt", "qemu-nbd");
        assertTrue(table.contains("0.50x [0.25-2.00]") && table.contains("2.00x [0.50-4.00]"), table);
        assertEquals(3, table.lines().count(), table);
        String goal = NvmfLoopbackBench.goal(List.of(row));
        assertTrue(goal.contains("0.50x [0.25-2.00]: meets") && goal.contains("met in 1 of 1 jobs"), goal);
        ServerPairs.Sample slow = new ServerPairs.Sample("randwrite", "basalt", 0, 1, 1000, 3_000_000, 1);
        ServerPairs.Sample nbd = new ServerPairs.Sample("randwrite", "qemu-nbd", 0, 1, 1000, 4_000_000, 1);
        assertTrue(NvmfLoopbackBench.goal(ServerPairs.rows(List.of(slow, nbd), "basalt", "qemu-nbd")).contains("0.75x [0.75-0.75]: misses"));
    }

    @Test
    void bothServersServeTheSameDevice() {
        assertEquals("null:1024M", NvmfLoopbackBench.basaltDrive("null"));
        assertEquals(List.of("--image-opts", "driver=null-co,size=1073741824,read-zeroes=off"), NvmfLoopbackBench.nbdImage("null"));
        try (var drive = DeviceSpec.parse(NvmfLoopbackBench.basaltDrive("null")).open("n")) {
            assertEquals(NvmfLoopbackBench.NULL_BYTES, drive.geometry().sizeBytes(), "the size qemu-nbd's null-co gets");
        }
        assertEquals("uring:/dev/zram3", NvmfLoopbackBench.basaltDrive("/dev/zram3"));
        assertEquals(List.of("--format=raw", "/dev/zram3"), NvmfLoopbackBench.nbdImage("/dev/zram3"));
        DeviceSpec initiator = DeviceSpec.parse(NvmfLoopbackBench.initiatorSpec(4420, 2));
        assertEquals("nvme-tcp", initiator.kind());
        assertEquals("//127.0.0.1:4420/" + NvmfBench.NQN + "?nsid=1&queues=2", initiator.target());
        assertEquals(List.of("randwrite"), ServerPairs.jobs(List.of("randw")));
        assertThrows(IllegalArgumentException.class, () -> ServerPairs.jobs(List.of("read")));
    }
}
