package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Decoding without QEMU: markers behind SeaBIOS escape codes, isa-debug-exit statuses, QEMU start-up failures. */
class GuestResultTest {
    private static final String SEABIOS = "\u001bc\u001b[?7l\u001b[2J\u001b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n"
            + "Booting from ROM..\r\n\u001bc\u001b[?7l\u001b[2J";

    @Test
    void markersAfterEscapeCodesAndStatusFromExitMarker() {
        String console = SEABIOS + "BASALT-BOOT kernel=6.1 cpus=2\r\nBASALT-START\r\nhello\r\n"
                + "BASALT-RESULT iops=31000 bw_kib=124000\r\nnoise BASALT-RESULT iops=32000\r\nBASALT-EXIT rc=0\r\n";
        GuestResult r = new GuestResult(1, console, "", Duration.ofSeconds(6));
        assertTrue(r.succeeded());
        assertTrue(r.booted());
        assertEquals(32000, r.markerLong("iops"), "the last value of a key wins");
        assertEquals("124000", r.marker("bw_kib"));
        assertEquals(2, r.resultLines().size());
        assertEquals("31000", r.resultLines().get(0).get("iops"));
    }

    @Test
    void nonZeroStatusAndTheOneByteLimit() {
        assertEquals(3, new GuestResult(7, "BASALT-EXIT rc=3\n", "", Duration.ZERO).status());
        assertEquals(200, new GuestResult(255, "BASALT-EXIT rc=200\n", "", Duration.ZERO).status(),
                "statuses above 127 arrive as 127 through isa-debug-exit; the marker has the full value");
    }

    @Test
    void qemuStartFailureIsNotSuccessEvenThoughItExitsWithOne() {
        GuestResult r = new GuestResult(1, "", "qemu-system-x86_64: -chardev socket: Failed to connect", Duration.ZERO);
        assertEquals(GuestResult.NO_STATUS, r.status());
        assertFalse(r.booted());
        AssertionError e = assertThrows(AssertionError.class, r::assertSuccess);
        assertTrue(e.getMessage().contains("Failed to connect"), e.getMessage());
        assertTrue(assertThrows(AssertionError.class, () -> r.marker("iops")).getMessage().contains("no BASALT-RESULT iops"));
    }

    @Test
    void kernelPanicWithNoRebootExitsZeroWithoutStatus() {
        GuestResult r = new GuestResult(0, "BASALT-BOOT kernel=x\nKernel panic - not syncing\n", "", Duration.ZERO);
        assertEquals(GuestResult.NO_STATUS, r.status());
        assertTrue(r.describe().contains("Kernel panic"));
    }

    @Test
    void exitMarkerThatDisagreesWithTheExitCodeIsNoStatus() {
        assertEquals(GuestResult.NO_STATUS, new GuestResult(1, "BASALT-EXIT rc=4\n", "", Duration.ZERO).status());
    }

    @Test
    void checksOfASharedBootComeBackEachWithItsStatusLinesAndMarkers() {
        String console = SEABIOS + "BASALT-BOOT kernel=6.1 cpus=2\r\nBASALT-START\r\n"
                + "BASALT-CHECK-BEGIN data up=2.50\r\nBASALT-RESULT verify=ok key=a\r\nBASALT-CHECK-END data rc=0 up=4.00\r\n"
                + "BASALT-CHECK-BEGIN queues\r\nfio: verify failed at 4096\r\nBASALT-RESULT mq=2 key=b\r\nBASALT-CHECK-END queues rc=3\r\n"
                + "BASALT-CHECK-BEGIN hang\r\nabout to hang\r\n";
        GuestResult r = new GuestResult(-1, console, "", Duration.ofSeconds(9));
        assertEquals(List.of("data", "queues", "hang"), List.copyOf(r.checks().keySet()));
        GuestCheck data = r.check("data").assertSuccess();
        assertEquals("ok", data.marker("verify"));
        assertEquals(1.5, data.seconds(), 1e-9);
        assertEquals("a", data.marker("key"), "a check's markers are its own");
        assertThrows(AssertionError.class, () -> data.marker("mq"));
        GuestCheck queues = r.check("queues");
        assertEquals(3, queues.status());
        AssertionError failed = assertThrows(AssertionError.class, queues::assertSuccess);
        assertTrue(failed.getMessage().contains("'queues' failed") && failed.getMessage().contains("verify failed at 4096"),
                failed.getMessage());
        assertFalse(failed.getMessage().contains("about to hang"), "a finished check shows its own lines only");
        GuestCheck hang = r.check("hang");
        assertEquals(GuestResult.NO_STATUS, hang.status());
        String unfinished = assertThrows(AssertionError.class, hang::assertSuccess).getMessage();
        assertTrue(unfinished.contains("did not finish") && unfinished.contains("no status from the guest"), unfinished);
        assertFalse(r.check("absent").started());
        assertTrue(assertThrows(AssertionError.class, r.check("absent")::assertSuccess).getMessage().contains("never started"));
        assertEquals("b", r.marker("key"), "the guest's markers still hold every check's (the last value wins)");
    }

    @Test
    void checksScriptRunsEachCheckInItsOwnSubshell() {
        String s = new GuestChecks().prologue("P=1").add("a", "set -e\nfalse").add("b", "exit 3").epilogue("exit 42").script();
        assertTrue(s.startsWith("P=1\n"), s);
        assertTrue(s.contains("(\nset -e\nfalse\n)\nrc=$?; echo \"BASALT-CHECK-END a rc=$rc up="), s);
        assertTrue(s.indexOf("CHECK-END a") < s.indexOf("CHECK-BEGIN b") && s.endsWith("exit 42\n"), s);
        assertThrows(IllegalArgumentException.class, () -> new GuestChecks().add("a", "x").add("a", "y"));
        assertThrows(IllegalArgumentException.class, () -> new GuestChecks().add("a b", "x"));
    }

    @Test
    void commandLineCarriesMemfdDisksAndEscapedPaths() {
        Path dir = Path.of("target", "cmdline,test");
        GuestImage image = new GuestImage("x", Path.of("pom.xml"), Path.of("pom.xml"));
        List<String> c;
        try {
            c = Guest.builder(image).memoryMiB(512).cpus(4).vhostUserBlk(Path.of("/tmp/a,b.sock"), 4)
                    .vhostUserBlk(Path.of("/tmp/c.sock"), 1).userNetwork().build().command(dir);
        } catch (IllegalStateException noQemu) {
            return; // the command names the QEMU binary; without it GuestToolsTest reports what is missing
        }
        String line = String.join(" ", c);
        assertTrue(line.contains("memory-backend-memfd,id=mem,size=512M,share=on"), line);
        assertTrue(line.contains("-numa node,memdev=mem"), line);
        assertTrue(line.contains("path=/tmp/a,,b.sock"), line);
        assertTrue(line.contains("vhost-user-blk-pci,chardev=vu0,num-queues=4"), line);
        assertTrue(line.contains("vhost-user-blk-pci,chardev=vu1,num-queues=1"), line);
        assertTrue(line.contains("-accel tcg"), line);
        assertTrue(line.contains("isa-debug-exit,iobase=0xf4,iosize=0x04"), line);
        assertTrue(line.contains("-nic user,model=virtio-net-pci"), line);
        assertTrue(line.contains("cmdline,,test/test.sh"), line);
    }

    @Test
    void hostForwardsGoOnTheUserNetworkAndListenOnLoopbackOnly() {
        GuestImage image = new GuestImage("x", Path.of("pom.xml"), Path.of("pom.xml"));
        List<String> c;
        try {
            c = Guest.builder(image).hostForward(40001, 4420).hostForward(40002, 5001).build().command(Path.of("target"));
        } catch (IllegalStateException noQemu) {
            return; // the command names the QEMU binary; without it GuestToolsTest reports what is missing
        }
        assertTrue(c.contains("user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:40001-:4420,hostfwd=tcp:127.0.0.1:40002-:5001"),
                String.join(" ", c));
        assertEquals(1, c.stream().filter("-nic"::equals).count(), "one user network carries both forwards");
        assertThrows(IllegalArgumentException.class, () -> Guest.builder(image).hostForward(0, 4420));
    }
}
