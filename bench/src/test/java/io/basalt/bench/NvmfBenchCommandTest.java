package io.basalt.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code basalt bench nvmf}'s options, read into the request qemu-tests runs (no guest here: a recording runner). */
class NvmfBenchCommandTest {
    private record Run(int exit, String out, String err) {}

    private final List<NvmfBenchRequest> requests = new ArrayList<>();

    private Run nvmf(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        NvmfBenchCommand command = new NvmfBenchCommand((request, o, e) -> {
            requests.add(request);
            o.println("ran");
            return 0;
        });
        int exit = Cli.execute(command, args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Through the launcher the script gets the command's own arguments, not "bench nvmf" in front of them. */
    @Test
    void theScriptGetsOnlyTheCommandsOwnArguments() {
        picocli.CommandLine root = new picocli.CommandLine(new BenchCommand());
        picocli.CommandLine.ParseResult parsed = root.parseArgs("nvmf", "--rounds", "4", "--serve-args", "--reactors 1 --idle wait");
        picocli.CommandLine.Model.CommandSpec nvmf = parsed.subcommand().commandSpec();
        assertEquals(List.of("--rounds", "4", "--serve-args", "--reactors 1 --idle wait"), VhostBenchCommand.ownArgs(nvmf));
    }

    @Test
    void defaultsAreShortRunsManyRounds() {
        assertEquals(0, nvmf().exit());
        NvmfBenchRequest r = requests.getFirst();
        assertEquals(List.of(5, 10, 2, 0), List.of(r.seconds(), r.rounds(), r.guestCpus(), r.ioQueues()));
        assertEquals(1L << 30, r.imageBytes());
        assertEquals("--reactors 2 --idle sleep", r.serveArgs());
        assertEquals(List.of(), r.jobPrefixes());
        assertNull(r.workDir());
        assertNull(r.loopback(), "the guest benchmark unless --loopback");
    }

    @Test
    void loopbackTakesDeviceQueuesDepthAndTheTargetGetsOneReactorPerQueue() {
        assertEquals(0, nvmf("--loopback").exit());
        assertEquals(0, nvmf("--loopback", "--queues", "2", "--iodepth", "16", "--seconds", "3", "--rounds", "8", "--jobs", "randw",
                "--server-java-opts", "-agentpath:/tmp/ap.so=start").exit());
        assertEquals(0, nvmf("--loopback", "--queues", "2", "--serve-args", "--reactors 1 --idle wait").exit());
        NvmfBenchRequest plain = requests.get(0), given = requests.get(1), serve = requests.get(2);
        assertEquals(new NvmfBenchRequest.Loopback("null", 1, 32, ""), plain.loopback());
        assertEquals("--reactors 1 --idle sleep", plain.serveArgs());
        assertEquals(List.of(5, 10), List.of(plain.seconds(), plain.rounds()));
        assertEquals(new NvmfBenchRequest.Loopback("null", 2, 16, "-agentpath:/tmp/ap.so=start"), given.loopback());
        assertEquals("--reactors 2 --idle sleep", given.serveArgs());
        assertEquals(List.of(3, 8), List.of(given.seconds(), given.rounds()));
        assertEquals(List.of("randw"), given.jobPrefixes());
        assertEquals("--reactors 1 --idle wait", serve.serveArgs(), "given serve args win");
    }

    @Test
    void loopbackRefusesWhatItCannotRun() {
        for (String[] args : List.of(new String[] {"--queues", "0"}, new String[] {"--iodepth", "0"}, new String[] {"--queues", "65"},
                new String[] {"--device", "/dev/no-such-device"}, new String[] {"--jobs", "write"})) {
            List<String> all = new ArrayList<>(List.of("--loopback"));
            all.addAll(List.of(args));
            Run run = nvmf(all.toArray(String[]::new));
            assertEquals(2, run.exit(), String.join(" ", args));
            assertTrue(run.err().contains(args[0]), args[0] + " in: " + run.err());
        }
        assertTrue(requests.isEmpty(), "nothing ran");
    }

    @Test
    void fioDrivesQemuNbdThroughItsNbdEngineOneConnectionPerJob() {
        BenchParams p = new BenchParams("randwrite", 4096, 32, 2, 3_000_000_000L, 0, 0, 1);
        List<String> c = FioRunner.nbd("nbd://127.0.0.1:10809/bench", "fio").command(p);
        for (String arg : List.of("--ioengine=nbd", "--uri=nbd://127.0.0.1:10809/bench", "--rw=randwrite", "--bs=4096", "--iodepth=32",
                "--numjobs=2", "--group_reporting=1", "--refill_buffers=1", "--output-format=json")) {
            assertTrue(c.contains(arg), arg + " in " + c);
        }
        assertTrue(c.stream().noneMatch(a -> a.startsWith("--filename") || a.startsWith("--direct")), c::toString);
        assertThrows(IllegalArgumentException.class, () -> FioRunner.nbd("/dev/nbd0", "fio"));
    }

    @Test
    void quickShortensRunsAndImageUnlessGiven() {
        assertEquals(0, nvmf("--quick", "--rounds", "5").exit());
        assertEquals(0, nvmf("--quick", "--seconds", "3", "--image-size", "256m", "--jobs", "randr,write", "--io-queues", "1",
                "--serve-args", "--reactors 1 --idle wait", "--work-dir", "/tmp/w").exit());
        NvmfBenchRequest quick = requests.get(0), given = requests.get(1);
        assertEquals(List.of(2, 5), List.of(quick.seconds(), quick.rounds()));
        assertEquals(128L << 20, quick.imageBytes());
        assertEquals(3, given.seconds());
        assertEquals(256L << 20, given.imageBytes());
        assertEquals(List.of("randr", "write"), given.jobPrefixes());
        assertEquals(1, given.ioQueues());
        assertEquals("--reactors 1 --idle wait", given.serveArgs());
        assertEquals(Path.of("/tmp/w"), given.workDir());
    }

    @Test
    void badOptionsNameTheOptionAndExit2() {
        for (String[] args : List.of(new String[] {"--seconds", "0"}, new String[] {"--rounds", "0"}, new String[] {"--image-size", "10m"},
                new String[] {"--io-queues", "-1"}, new String[] {"--jobs", "sideways"}, new String[] {"--colour"})) {
            Run run = nvmf(args);
            assertEquals(2, run.exit(), String.join(" ", args));
            assertTrue(run.err().contains(args[0]), args[0] + " in: " + run.err());
        }
        assertTrue(requests.isEmpty(), "nothing ran");
        Run help = nvmf("--help");
        assertEquals(0, help.exit());
        for (String option : List.of("--quick", "--seconds", "--rounds", "--guest-cpus", "--io-queues", "--image-size", "--serve-args",
                "--jobs", "--work-dir", "qemu-nbd", "--loopback", "--device", "--queues", "--iodepth", "--server-java-opts")) {
            assertTrue(help.out().contains(option), option);
        }
    }
}
