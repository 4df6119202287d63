package io.basalt.vhost.frontend;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import io.basalt.engine.conformance.ConformanceHarness;
import io.basalt.shims.Libc;
import io.basalt.shims.UnixSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A back-end that dies or talks garbage: requests in flight complete with an error status, opens fail with a
 * message naming the problem, nothing hangs.
 */
class FrontendBadPeerTest {
    private static final int IN_FLIGHT = 8;

    @Test
    @EnabledIf(value = "io.basalt.vhost.frontend.QsdServer#available", disabledReason = "skipped: qemu-storage-daemon not installed")
    void backendKilledMidRequestFailsInFlightRequestsWithDeviceGone() throws Exception {
        // null-co with 5 s of latency: the requests are surely in the back-end's hands when it is killed.
        try (QsdServer qsd = new QsdServer("driver=null-co,size=67108864,read-zeroes=on,latency-ns=5000000000", 1);
             Arena arena = Arena.ofConfined()) {
            Reactor reactor = new Reactor(ReactorConfig.defaults("fe"));
            reactor.initOnCurrentThread();
            BlockDevice device = DeviceSpec.open("qsd", "vhost-user:" + qsd.socketPath);
            BlockChannel channel = device.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            MemorySegment buffer = arena.allocate(4096L * IN_FLIGHT, 4096);
            int block = device.geometry().logicalBlockBytes();
            for (int i = 0; i < IN_FLIGHT; i++) assertTrue(io.submitRead(i, i, 1, buffer.asSlice(4096L * i, block)));
            for (int i = 0; i < 100; i++) reactor.doWork(); // kicks sent
            assertEquals(IN_FLIGHT, channel.inFlight(), "nothing completes within the back-end's latency; tag 0: "
                    + (io.done(0) ? Status.name(io.await(0)) : "pending"));
            qsd.kill();
            for (int i = 0; i < IN_FLIGHT; i++) assertEquals(Status.DEVICE_GONE, io.await(i), "request " + i + " after the back-end died");
            assertEquals(0, channel.inFlight());
            assertEquals(Status.DEVICE_GONE, io.read(0, 1, buffer.asSlice(0, block)), "a request after the back-end died");
            assertTrue(device.describe().contains("gone"), device.describe());
            channel.close();
            device.close();
            reactor.close();
        }
    }

    @Test
    void garbageReplyFailsTheOpenWithAMessage() throws Exception {
        try (FakeBackend fake = new FakeBackend(true)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.open("x", "vhost-user:" + fake.path));
            assertTrue(e.getMessage().contains("garbage reply to GET_FEATURES"), e.getMessage());
        }
    }

    @Test
    void backendClosingDuringNegotiationFailsTheOpenWithAMessage() throws Exception {
        try (FakeBackend fake = new FakeBackend(false)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.open("x", "vhost-user:" + fake.path));
            assertTrue(e.getMessage().contains("closed the connection"), e.getMessage());
        }
    }

    @Test
    void missingSocketFailsTheOpenWithAMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.open("x", "vhost-user:/nonexistent/blk.sock"));
        assertTrue(e.getMessage().contains("cannot connect"), e.getMessage());
    }

    @Test
    void unknownKindListsTheRegisteredOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.open("x", "tape:/dev/st0"));
        assertTrue(e.getMessage().contains("vhost-user"), e.getMessage());
        assertTrue(DeviceSpec.knownKinds().contains("vhost-user"));
    }

    /** Accepts one connection and answers the first message with garbage, or closes without a word. */
    private static final class FakeBackend implements AutoCloseable {
        final Path dir = Files.createTempDirectory("basalt-fake");
        final String path = dir.resolve("fake.sock").toString();
        final int listenFd = UnixSocket.listen(path, 1);
        final Thread thread;

        FakeBackend(boolean garbage) throws Exception {
            assertTrue(listenFd >= 0, "listen " + path);
            thread = Thread.ofPlatform().daemon(true).start(() -> {
                int fd = UnixSocket.accept(listenFd);
                if (fd < 0) return;
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment buf = a.allocate(64);
                    Libc.read(fd, buf, 12);
                    if (garbage) {
                        buf.fill((byte) 0x5A);
                        Libc.write(fd, buf, 64);
                    }
                } finally {
                    Libc.close(fd);
                }
            });
        }

        @Override
        public void close() throws Exception {
            UnixSocket.shutdown(listenFd);
            Libc.close(listenFd);
            thread.join(5000);
            Files.deleteIfExists(Path.of(path));
            Files.deleteIfExists(dir);
        }
    }
}
