package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The benchmark in miniature, so it does not rot: Basalt and qemu-storage-daemon alternate in one guest, CPU sampled per job. */
class VhostBenchTest {
    @Test
    void twoBackendsTwoJobsShortRuns() {
        VhostBench.Options o = new VhostBench.Options(
                List.of(VhostBench.Backend.basalt("basalt"), VhostBench.Backend.qemuStorageDaemon("qsd")),
                List.of(VhostBench.DEFAULT_JOBS.get(0), VhostBench.DEFAULT_JOBS.get(3)),
                2, 1, 64L << 20, 2, 2, GuestTests.workDir("bench"));
        long start = System.nanoTime();
        List<VhostBench.Sample> samples = VhostBench.run(o);
        GuestTests.timing("bench smoke (2 backends x 2 jobs x 2 s)", (System.nanoTime() - start) / 1_000_000);
        String table = VhostBench.table(samples);
        System.out.print(table);
        assertEquals(4, samples.size(), table);
        assertTrue(table.contains("IOPS/qsd ") && table.contains("1.00x") && table.contains("basalt"), table);
        for (VhostBench.Sample s : samples) {
            assertTrue(s.iops() > 0 && s.ioCount() > 0, table);
            assertTrue(s.backendCpuNanos() > 0, () -> "the backend did the I/O, so it used CPU: " + s);
        }
    }

    @Test
    void scriptAlternatesBackendOrderEveryRound() {
        VhostBench.Options o = new VhostBench.Options(
                List.of(new VhostBench.Backend("a", "x"), new VhostBench.Backend("b", "y")),
                List.of(VhostBench.DEFAULT_JOBS.get(0)), 1, 2, 64L << 20, 1, 2, GuestTests.workDir("benchScript"));
        String s = VhostBench.script(o);
        assertTrue(s.indexOf("backend=a round=1") < s.indexOf("backend=b round=1"), s);
        assertTrue(s.indexOf("backend=b round=2") < s.indexOf("backend=a round=2"), s);
        assertTrue(s.contains("--filename=/dev/vdb"), s);
        assertEquals(2.5, VhostBench.median(new double[] {4, 1, 2, 3}));
    }
}
