package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The harness itself: a guest boots, runs a script, reports markers and its exit status. */
class GuestBootTest {
    @Test
    void echoHello() {
        GuestResult r = Guest.builder(GuestTools.guest())
                .workDir(GuestTests.workDir("echoHello"))
                .script("echo hello\necho \"BASALT-RESULT greeting=$(echo hello) cpus=$(nproc)\"")
                .timeout(Duration.ofMinutes(2))
                .run();
        GuestTests.timing("boot + echo hello", r.elapsed().toMillis());
        r.assertSuccess();
        assertEquals("hello", r.marker("greeting"));
        assertEquals(2, r.markerLong("cpus"));
        assertTrue(r.console().contains("hello"));
    }

    @Test
    void scriptStatusComesBack() {
        GuestResult r = Guest.builder(GuestTools.guest())
                .workDir(GuestTests.workDir("scriptStatus"))
                .cpus(1).memoryMiB(512)
                .script("echo BASALT-RESULT before=exit\nexit 42")
                .timeout(Duration.ofMinutes(2))
                .run();
        GuestTests.timing("boot + exit 42 (1 vCPU, 512 MiB)", r.elapsed().toMillis());
        assertEquals(42, r.status(), r::describe);
        assertEquals(85, r.qemuExitCode(), "isa-debug-exit: (42 << 1) | 1");
        assertEquals("exit", r.marker("before"));
    }
}
