package io.basalt.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code basalt bench vhost}'s options, read into the request qemu-tests runs (no guest here: a recording runner). */
class VhostBenchCommandTest {
    private record Run(int exit, String out, String err) {}

    private final List<VhostBenchRequest> requests = new ArrayList<>();

    private Run vhost(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        VhostBenchCommand command = new VhostBenchCommand((request, o, e) -> {
            requests.add(request);
            o.println("ran");
            return 0;
        });
        int exit = Cli.execute(command, args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void backendsKeepTheOrderGivenAcrossTheThreeOptions() {
        Run run = vhost("--qsd", "q1", "--basalt", "b=--reactors 1 --idle wait", "--backend", "other=srv --image {image}", "--basalt", "b2",
                "--seconds", "3", "--rounds", "2", "--jobs", "randread,write", "--image-size", "128m", "--work-dir", "/tmp/w");
        assertEquals(0, run.exit(), run.err());
        assertEquals("ran\n", run.out());
        VhostBenchRequest r = requests.getFirst();
        assertEquals(List.of(new VhostBenchRequest.Backend(VhostBenchRequest.Kind.QSD, "q1", null),
                new VhostBenchRequest.Backend(VhostBenchRequest.Kind.BASALT, "b", "--reactors 1 --idle wait"),
                new VhostBenchRequest.Backend(VhostBenchRequest.Kind.COMMAND, "other", "srv --image {image}"),
                new VhostBenchRequest.Backend(VhostBenchRequest.Kind.BASALT, "b2", null)), r.backends());
        assertEquals(List.of("randread", "write"), r.jobPrefixes());
        assertEquals(3, r.seconds());
        assertEquals(2, r.rounds());
        assertEquals(128L << 20, r.imageBytes());
        assertEquals(Path.of("/tmp/w"), r.workDir());
    }

    @Test
    void defaultsAreTheDocumentedOnes() {
        assertEquals(0, vhost().exit());
        VhostBenchRequest r = requests.getFirst();
        assertEquals(List.of(), r.backends(), "none given: the runner adds basalt and qsd");
        assertEquals(List.of(20, 1, 2, 2), List.of(r.seconds(), r.rounds(), r.queues(), r.guestCpus()));
        assertEquals(1L << 30, r.imageBytes());
        assertNull(r.workDir());
    }

    @Test
    void frontendModeTakesItsDeviceAndDepthAndNoBackendOptions() {
        Run run = vhost("--frontend", "--queues", "1", "--iodepth", "16", "--rounds", "10", "--seconds", "3");
        assertEquals(0, run.exit(), run.err());
        VhostBenchRequest r = requests.getFirst();
        assertTrue(r.frontend());
        assertEquals("null", r.device(), "the default device: no data touched");
        assertEquals(List.of(1, 16, 10), List.of(r.queues(), r.ioDepth(), r.rounds()));
        Run mixed = vhost("--frontend", "--qsd", "q");
        assertEquals(2, mixed.exit());
        assertTrue(mixed.err().contains("--frontend measures Basalt against qemu-storage-daemon"), mixed.err());
        assertEquals(0, vhost("--frontend", "--basalt", "b=--reactors 1 --idle wait").exit(), "Basalt's serve args for tuning runs");
        Run missing = vhost("--frontend", "--device", "/dev/no-such-zram");
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("--device /dev/no-such-zram: no such device"), missing.err());
    }

    @Test
    void badOptionsNameTheOptionAndExit2() {
        for (String[] args : List.of(new String[] {"--seconds", "0"}, new String[] {"--image-size", "10m"}, new String[] {"--backend", "noequals"},
                new String[] {"--qsd", "bad name"}, new String[] {"--jobs", "sideways"}, new String[] {"--colour"})) {
            Run run = vhost(args);
            assertEquals(2, run.exit(), String.join(" ", args));
            assertTrue(run.err().contains(args[0]), args[0] + " in: " + run.err());
        }
        assertTrue(requests.isEmpty(), "nothing ran");
        Run help = vhost("--help");
        assertEquals(0, help.exit());
        for (String option : List.of("--basalt", "--qsd", "--backend", "--seconds", "--rounds", "--queues", "--guest-cpus", "--image-size",
                "--jobs", "--work-dir")) {
            assertTrue(help.out().contains(option), option);
        }
    }
}
