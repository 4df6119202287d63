package io.basalt.engine;

import io.basalt.engine.conformance.ConformanceHarness;
import io.basalt.engine.conformance.TestFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Opening devices from bad specs and bad files fails with an IllegalArgumentException that says why. */
class BackendBadInputTest {
    private Path folder;

    @BeforeEach
    void makeFolder() {
        folder = TestFiles.directIoFolder("bad-input");
    }

    @AfterEach
    void removeFolder() throws Exception {
        TestFiles.deleteTree(folder);
    }

    private static String refused(String spec) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.open("bad", spec));
        assertNotNull(e.getMessage());
        return e.getMessage();
    }

    @Test
    void missingFileIsNamed() {
        Path missing = folder.resolve("no-such-disk");
        String message = refused("uring:" + missing);
        assertTrue(message.contains(missing.toString()), message);
        assertTrue(message.contains("ENOENT") || message.toLowerCase().contains("no such"), message);
        assertFalse(Files.exists(missing), "nothing created without a size");
    }

    @Test
    void fileOfAWrongSizeIsRefusedClearly() throws Exception {
        Path odd = folder.resolve("odd");
        Files.write(odd, new byte[1000]);
        String message = refused("uring:" + odd);
        assertTrue(message.contains(odd.toString()) && message.contains("1000") && message.contains("size"), message);
        assertTrue(refused("uring:" + odd + ",direct=0").contains("1000"));
        Path empty = folder.resolve("empty");
        Files.createFile(empty);
        assertTrue(refused("uring:" + empty).contains("size"));
    }

    @Test
    void directoryIsRefused() {
        String message = refused("uring:" + folder + ",direct=0");
        assertTrue(message.contains(folder.toString()), message);
        refused("uring:" + folder); // O_DIRECT on a directory: refused too, whatever the errno
    }

    @Test
    void badSpecStringsAreRefused() {
        assertTrue(refused("floppy:1M").contains("floppy"));
        assertTrue(refused("memory").contains("KIND:TARGET"));
        assertTrue(refused("memory:").contains("no target"));
        assertTrue(refused("memory:lots").contains("lots"));
        assertTrue(refused("memory:12Q").contains("12q") || refused("memory:12Q").contains("12Q"));
        assertTrue(refused("memory:-5").contains("-5"));
        assertTrue(refused("memory:1G,colour=blue").contains("colour"));
        assertTrue(refused("null:1G,block").contains("key=value"));
        assertTrue(refused("uring:" + folder.resolve("x") + ",direct=maybe").contains("direct"));
        assertTrue(refused("uring:" + folder.resolve("x") + ",size=big").contains("big"));
        assertTrue(refused("fault:memory:1G,fault_seed=abc").contains("fault_seed"));
        assertTrue(refused("memory:1G,block=1000").contains("power of two"));
        assertTrue(refused("memory:0").contains("positive multiple"));
        assertTrue(refused("memory:1000").contains("positive multiple"));
        assertTrue(refused("null:6000").contains("positive multiple"));
    }

    @Test
    void doubleCloseOfDevicesAndChannelsIsHarmless() {
        Reactor reactor = new Reactor(ReactorConfig.defaults("bad-input"));
        reactor.initOnCurrentThread();
        try {
            for (String spec : new String[] {"memory:1M", "null:1M", "uring:" + folder.resolve("d") + ",size=1M",
                    "fault:memory:1M,fault_power_cut=1,fault_latency_us=1"}) {
                BlockDevice device = DeviceSpec.open("d", spec);
                BlockChannel channel = device.openChannel(reactor);
                channel.close();
                channel.close();
                device.close();
                device.close();
                assertThrows(IllegalStateException.class, () -> device.openChannel(reactor), "open a channel on a closed " + spec);
            }
        } finally {
            reactor.close();
        }
    }

    /**
     * A file that shrinks under an open uring device (someone truncated the image): a read past the new end gets
     * 0 bytes from the kernel, one across it a short transfer and then 0. Both end as IO_ERROR for that request, never
     * as a success with stale or zeroed data, and the device keeps serving the part that is still there.
     */
    @Test
    void aFileThatShrinksUnderTheDeviceFailsReadsPastItsNewEndWithIoError() throws Exception {
        Path file = folder.resolve("shrinking");
        Reactor reactor = new Reactor(ReactorConfig.defaults("shrink"));
        reactor.initOnCurrentThread();
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined();
             BlockDevice device = DeviceSpec.open("s", "uring:" + file + ",size=16M,direct=0")) {
            BlockChannel channel = device.openChannel(reactor);
            ConformanceHarness h = new ConformanceHarness(reactor, channel);
            java.lang.foreign.MemorySegment buffer = arena.allocate(8 * 4096, 4096);
            ConformanceHarness.fill(buffer, 2040, 4096, 5);
            assertEquals(Status.OK, h.write(2040, 8, buffer));
            try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
                raf.setLength(2044L * 4096); // cut in the middle of the 8 blocks just written
            }
            assertEquals(Status.IO_ERROR, h.read(3000, 1, buffer.asSlice(0, 4096)), "wholly past the new end");
            assertEquals(Status.IO_ERROR, h.read(2040, 8, buffer), "across the new end: short, then nothing");
            IoVector vector = new IoVector(2);
            vector.add(buffer.asSlice(0, 4 * 4096));
            vector.add(buffer.asSlice(4 * 4096, 4 * 4096));
            assertEquals(Status.IO_ERROR, h.readv(2040, 8, vector), "vectored, across the new end");
            java.lang.foreign.MemorySegment head = arena.allocate(4 * 4096, 4096);
            assertEquals(Status.OK, h.read(2040, 4, head), "what is left still reads");
            assertEquals(-1, ConformanceHarness.firstMismatch(head, 2040, 4096, 5));
            channel.close();
        } finally {
            reactor.close();
        }
    }
}
