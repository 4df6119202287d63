package io.basalt.engine;

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
}
