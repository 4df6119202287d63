package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
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

    @Test
    void aDiskWhoseSocketIsNotListeningFailsWithQemusReason() {
        GuestResult r = Guest.builder(GuestTools.guest())
                .workDir(GuestTests.workDir("noSocket"))
                .vhostUserBlk(Path.of("/nonexistent/basalt.sock"), 1)
                .timeout(Duration.ofMinutes(1))
                .run();
        assertEquals(GuestResult.NO_STATUS, r.status());
        assertFalse(r.booted());
        AssertionError e = assertThrows(AssertionError.class, r::assertSuccess);
        assertTrue(e.getMessage().contains("basalt.sock"), e.getMessage());
    }

    @Test
    void aHungGuestIsKilledAtTheTimeoutWithTheConsoleTail() {
        long start = System.nanoTime();
        AssertionError e = assertThrows(AssertionError.class, () -> Guest.builder(GuestTools.guest())
                .workDir(GuestTests.workDir("hung"))
                .script("echo about-to-hang; sleep 600")
                .timeout(Duration.ofSeconds(12))
                .run());
        GuestTests.timing("hung guest killed at a 12 s timeout", (System.nanoTime() - start) / 1_000_000);
        assertTrue(e.getMessage().contains("timed out after 12 s"), e.getMessage());
        assertTrue(e.getMessage().contains("about-to-hang"), e.getMessage());
    }
}
