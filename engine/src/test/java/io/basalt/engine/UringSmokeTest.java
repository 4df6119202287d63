package io.basalt.engine;

import io.basalt.engine.backend.UringBlockDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class UringSmokeTest {
    @TempDir Path dir;

    @Test
    void writeThenReadBackThroughTheRing() {
        Reactor reactor = new Reactor(ReactorConfig.defaults("smoke"));
        reactor.initOnCurrentThread();
        try (BlockDevice dev = DeviceSpec.open("d", "uring:" + dir.resolve("f") + ",size=16M")) {
            BlockChannel ch = dev.openChannel(reactor);
            BufferPool pool = reactor.bufferPool();
            int b = pool.acquire();
            MemorySegment buf = pool.buffer(b).asSlice(0, 8192);
            for (int i = 0; i < 8192; i++) buf.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) i);
            int[] status = {-1};
            assertTrue(ch.write(10, 2, buf, 7, (tag, st) -> { assertEquals(7, tag); status[0] = st; }));
            while (status[0] < 0) reactor.doWork();
            assertEquals(Status.OK, status[0]);
            buf.fill((byte) 0);
            status[0] = -1;
            assertTrue(ch.read(10, 2, buf, 8, (tag, st) -> status[0] = st));
            while (status[0] < 0) reactor.doWork();
            assertEquals(Status.OK, status[0]);
            for (int i = 0; i < 8192; i++) assertEquals((byte) i, buf.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i));
            status[0] = -1;
            assertTrue(ch.read(4095, 2, buf, 9, (tag, st) -> status[0] = st));
            while (status[0] < 0) reactor.doWork();
            assertEquals(Status.OUT_OF_RANGE, status[0]);
            status[0] = -1;
            assertTrue(ch.flush(1, (tag, st) -> status[0] = st));
            while (status[0] < 0) reactor.doWork();
            assertEquals(Status.OK, status[0]);
            System.out.println("ring mode " + reactor.ringMode() + " fixedbufs=" + reactor.fixedBuffersRegistered() + " files=" + reactor.fixedFilesRegistered());
            ch.close();
        } finally {
            reactor.close();
        }
    }
}
