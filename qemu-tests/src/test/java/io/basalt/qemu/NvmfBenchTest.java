package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code basalt bench nvmf} in its quick mode, so it does not rot: Basalt (NVMe/TCP) and qemu-nbd alternate in one guest. */
class NvmfBenchTest {
    private static final Pattern RATIO = Pattern.compile("\\d+\\.\\d\\dx \\[\\d+\\.\\d\\d-\\d+\\.\\d\\d\\]");

    @Test
    void quickModeOneRoundAllJobsBothServersDidTheIo() {
        NvmfBench.Options o = new NvmfBench.Options(VhostBench.DEFAULT_JOBS, 2, 1, 128L << 20, 2, 0, "--reactors 2 --idle sleep",
                GuestTests.workDir("benchNvmf"));
        long start = System.nanoTime();
        List<VhostBench.Sample> samples = NvmfBench.run(o);
        GuestTests.timing("bench nvmf quick (2 servers x 4 jobs x 2 s)", (System.nanoTime() - start) / 1_000_000);
        List<NvmfBench.Row> rows = NvmfBench.rows(samples);
        String table = NvmfBench.table(rows);
        System.out.print(table);
        assertEquals(8, samples.size(), table);
        for (VhostBench.Sample s : samples) {
            assertTrue(s.iops() > 0 && s.ioCount() > 0, () -> "the guest's fio did I/O: " + s);
            assertTrue(s.backendCpuNanos() > 0, () -> "the server did the I/O, so it used CPU: " + s);
        }
        assertEquals(VhostBench.DEFAULT_JOBS.stream().map(VhostBench.Job::name).toList(), rows.stream().map(NvmfBench.Row::job).toList());
        for (NvmfBench.Row r : rows) {
            assertEquals(1, r.pairs(), table);
            assertTrue(r.iops().finite() && r.mibs().finite() && r.cpuPerIo().finite(), () -> "finite ratios: " + r);
            String line = table.lines().filter(l -> l.startsWith(r.job() + " ")).findFirst().orElseThrow();
            assertEquals(3, RATIO.matcher(line).results().count(), line);
        }
        assertTrue(table.contains("met in "), table);
    }

    @Test
    void scriptConnectsBothOnceAndSwapsTheOrderEveryRound() {
        NvmfBench.Options o = new NvmfBench.Options(List.of(VhostBench.DEFAULT_JOBS.get(0)), 1, 2, 64L << 20, 2, 1, "",
                GuestTests.workDir("benchNvmfScript"));
        String s = NvmfBench.script(o, 4420, 10809);
        assertTrue(s.contains("nvme connect -t tcp -a $A -s 4420 -n " + NvmfBench.NQN + " -i 1"), s);
        assertTrue(s.contains("nbd-client $A 10809 /dev/nbd0 -N " + NvmfBench.NBD_EXPORT), s);
        assertTrue(s.indexOf("backend=basalt round=1") < s.indexOf("backend=qemu-nbd round=1"), s);
        assertTrue(s.indexOf("backend=qemu-nbd round=2") < s.indexOf("backend=basalt round=2"), s);
        assertEquals(1, s.split("nvme connect", -1).length - 1, "connected once for all rounds");
    }

    @Test
    void ratiosAreMediansOfThePairsWithTheirRange() {
        List<VhostBench.Sample> samples = List.of(
                new VhostBench.Sample("j", "basalt", 1, 100, 400, 1000, 1_000_000),
                new VhostBench.Sample("j", "qemu-nbd", 1, 200, 800, 1000, 4_000_000),
                new VhostBench.Sample("j", "qemu-nbd", 2, 100, 400, 1000, 4_000_000),
                new VhostBench.Sample("j", "basalt", 2, 150, 600, 1000, 1_000_000),
                new VhostBench.Sample("j", "basalt", 3, 300, 1200, 1000, 3_000_000),
                new VhostBench.Sample("j", "qemu-nbd", 3, 100, 400, 1000, 1_000_000),
                new VhostBench.Sample("j", "basalt", 4, 999, 999, 1000, 1_000_000)); // no partner: left out
        NvmfBench.Row r = NvmfBench.rows(samples).getFirst();
        assertEquals(3, r.pairs());
        assertEquals(new NvmfBench.Ratio(1.5, 0.5, 3.0), r.iops());
        assertEquals(new NvmfBench.Ratio(0.25, 0.25, 3.0), r.cpuPerIo());
        assertEquals(150, r.basaltIops());
        assertTrue(NvmfBench.table(List.of(r)).contains("1.50x [0.50-3.00]"));
    }
}
