package io.basalt.vhost;

import java.time.Duration;
import io.basalt.engine.fixtures.Await;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.shims.Libc;
import io.basalt.vhost.blk.BlkConfigSpace;
import io.basalt.vhost.protocol.VhostUser;
import io.basalt.vhost.protocol.VhostUserMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The vhost-user session against a front-end played by the test: negotiation, data, bad input, fuzzing. */
class VhostSessionTest {
    @TempDir Path dir;
    private Reactor reactor;
    private BlockDevice device;
    private VhostBlkExport export;
    private String socketPath;

    @BeforeEach
    void start() {
        reactor = Reactor.start(ReactorConfig.defaults("vhost-test"));
        device = DeviceSpec.open("mem", "memory:64M");
        socketPath = dir.resolve("blk.sock").toString();
        export = new VhostBlkExport(new VhostBlkExportConfig("t", socketPath, 2, false, 0600, -1, -1, "basalt-t"), device, List.of(reactor));
        export.start();
    }

    @AfterEach
    void stop() {
        export.close();
        reactor.close();
        device.close();
    }

    @Test
    void socketIsCreatedOwnerOnly() throws IOException {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of(socketPath))));
    }

    @Test
    void negotiationAndConfigSpace() {
        try (TestFrontEnd fe = new TestFrontEnd(socketPath)) {
            long features = fe.getU64(VhostUser.GET_FEATURES);
            assertTrue((features & (1L << 32)) != 0, "VERSION_1 offered");
            assertTrue((features & (1L << VhostUser.F_PROTOCOL_FEATURES)) != 0, "protocol features offered");
            long protocol = fe.getU64(VhostUser.GET_PROTOCOL_FEATURES);
            assertTrue((protocol & (1L << VhostUser.PROTOCOL_F_INFLIGHT_SHMFD)) != 0);
            fe.setU64(VhostUser.SET_PROTOCOL_FEATURES, protocol);
            assertEquals(2, fe.getU64(VhostUser.GET_QUEUE_NUM));
            fe.message.request(VhostUser.GET_CONFIG, VhostUser.VERSION, VhostUserMessage.CONFIG_PAYLOAD_OFFSET + BlkConfigSpace.SIZE)
                    .putU32(VhostUserMessage.CONFIG_OFFSET_OFFSET, 0).putU32(VhostUserMessage.CONFIG_SIZE_OFFSET, BlkConfigSpace.SIZE);
            assertTrue(fe.send(null, 0) && fe.receive());
            MemorySegment config = fe.message.payloadSlice(VhostUserMessage.CONFIG_PAYLOAD_OFFSET, BlkConfigSpace.SIZE);
            assertEquals((64L << 20) / 512, config.get(TestFrontEnd.U64, BlkConfigSpace.CAPACITY_OFFSET), "capacity in 512-byte sectors");
            assertEquals(4096, config.get(TestFrontEnd.U32, BlkConfigSpace.BLK_SIZE_OFFSET));
            assertEquals(2, Short.toUnsignedInt(config.get(TestFrontEnd.U16, BlkConfigSpace.NUM_QUEUES_OFFSET)));
            // REPLY_ACK: a need_reply on a message without its own reply is acknowledged with 0.
            assertTrue(fe.send(VhostUser.SET_OWNER, VhostUser.VERSION | VhostUser.FLAG_NEED_REPLY, 0) && fe.receive());
            assertEquals(0, fe.message.u64(0));
            // SET_CONFIG is refused (nothing writable), with an error the front-end can see.
            fe.message.request(VhostUser.SET_CONFIG, VhostUser.VERSION | VhostUser.FLAG_NEED_REPLY, VhostUserMessage.CONFIG_PAYLOAD_OFFSET + 1)
                    .putU32(VhostUserMessage.CONFIG_OFFSET_OFFSET, BlkConfigSpace.WCE_OFFSET).putU32(VhostUserMessage.CONFIG_SIZE_OFFSET, 1);
            assertTrue(fe.send(null, 0) && fe.receive());
            assertNotEquals(0, fe.message.u64(0));
            // Out-of-range GET_CONFIG gets the empty reply the spec prescribes, and the session goes on.
            fe.message.request(VhostUser.GET_CONFIG, VhostUser.VERSION, VhostUserMessage.CONFIG_PAYLOAD_OFFSET + 8)
                    .putU32(VhostUserMessage.CONFIG_OFFSET_OFFSET, 4000).putU32(VhostUserMessage.CONFIG_SIZE_OFFSET, 8);
            assertTrue(fe.send(null, 0) && fe.receive());
            assertEquals(0, fe.message.size());
            assertEquals(2, fe.getU64(VhostUser.GET_QUEUE_NUM));
        }
    }

    @Test
    void writeFlushReadThroughARing() {
        try (TestFrontEnd fe = new TestFrontEnd(socketPath)) {
            fe.negotiate();
            fe.setMemTable();
            TestFrontEnd.Ring ring = fe.setUpRing(0, 64);
            long data = ring.dataGpa;
            MemorySegment buffer = fe.at(data, 8192);
            for (int i = 0; i < 8192; i++) buffer.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7 + 3));
            int w = ring.request(1 /* OUT */, 16, data, 8192, false);
            ring.kick();
            assertTrue(ring.awaitUsed(1, 5000), "write completed");
            assertEquals(0, ring.status(w), "used " + ring.usedEntry(0) + " head " + w);
            int f = ring.request(4 /* FLUSH */, 0, data, 0, false);
            ring.kick();
            assertTrue(ring.awaitUsed(1, 5000));
            assertEquals(0, ring.status(f));
            long back = data + 16384;
            int r = ring.request(0 /* IN */, 16, back, 8192, true);
            ring.kick();
            assertTrue(ring.awaitUsed(1, 5000), "read completed");
            assertEquals(0, ring.status(r));
            assertEquals(-1, buffer.mismatch(fe.at(back, 8192)), "read back what was written");
            // A sector not aligned to the 4 KiB block fails that request only.
            int bad = ring.request(0, 3, back, 4096, true);
            ring.kick();
            assertTrue(ring.awaitUsed(1, 5000));
            assertEquals(1 /* IOERR */, ring.status(bad));
            // GET_VRING_BASE stops the ring and reports how far it got.
            fe.message.request(VhostUser.GET_VRING_BASE, VhostUser.VERSION, VhostUserMessage.STATE_SIZE).putU32(0, 0);
            assertTrue(fe.send(null, 0) && fe.receive());
            assertEquals(4, fe.message.u32(VhostUserMessage.STATE_NUM_OFFSET));
            ring.close();
        }
    }

    /** vhost_list's in_flight: a write held by a slow device shows as 1 while held and 0 once it completes. */
    @Test
    void statusCountsTheRequestsTheRingsHold() {
        export.close();
        device.close();
        device = DeviceSpec.open("slow", "fault:memory:64M,fault_latency_us=400000");
        export = new VhostBlkExport(new VhostBlkExportConfig("t", socketPath, 2, false, 0600, -1, -1, "basalt-t"), device, List.of(reactor));
        export.start();
        try (TestFrontEnd fe = new TestFrontEnd(socketPath)) {
            fe.negotiate();
            fe.setMemTable();
            TestFrontEnd.Ring ring = fe.setUpRing(0, 64);
            assertEquals(0, export.status().get("in_flight"));
            int w = ring.request(1 /* OUT */, 0, ring.dataGpa, 4096, false);
            ring.kick();
            Await.until(() -> Integer.valueOf(1).equals(export.status().get("in_flight")), Duration.ofSeconds(5), "the held write counted");
            assertTrue(ring.awaitUsed(1, 5000), "write completed");
            assertEquals(0, ring.status(w));
            Await.until(() -> Integer.valueOf(0).equals(export.status().get("in_flight")), Duration.ofSeconds(5), "nothing held after it");
            ring.close();
        }
    }

    @Test
    void ringPackedIsOffered() {
        try (TestFrontEnd fe = new TestFrontEnd(socketPath)) {
            long offered = fe.getU64(VhostUser.GET_FEATURES);
            assertNotEquals(0, offered & (1L << io.basalt.vhost.virtio.VirtioFeatures.RING_PACKED));
        }
    }

    /**
     * A packed ring with an inflight buffer through two sessions, as QEMU reconnects: GET_INFLIGHT_FD sizes the packed
     * layout, the first session moves the ring to position 1 of the second lap, the front-end goes away and comes
     * back with the same guest memory and buffer but the vring base of the ring's first start (QEMU's after a
     * back-end crash): the new session resumes where the buffer says, so the next requests are found and complete.
     */
    @Test
    void packedRingResumesFromTheInflightBufferNotTheStaleBase() {
        try (TestFrontEnd fe = new TestFrontEnd(socketPath)) {
            fe.negotiate(true);
            long[] inflight = fe.getInflightFd(1, 8);
            assertEquals(io.basalt.vhost.blk.PackedInflightRegion.totalBytes(1, 8), inflight[1], "packed layout: 32 + 32 x 8, rounded to 64");
            fe.setInflightFd((int) inflight[0], inflight[1], 1, 8);
            fe.setMemTable();
            TestFrontEnd.PackedRing ring = fe.setUpPackedRing(0, 8, 0x8000);
            long data = ring.dataGpa;
            for (int i = 0; i < 3; i++) { // 3 requests x 3 slots: position 1, wrap counter 0
                int w = ring.request(1 /* OUT */, 8L * i, data, 4096, false);
                ring.kick();
                assertEquals(w, ring.awaitUsed(5000));
            }
            fe.reconnect(socketPath, this::awaitNoSession);
            fe.negotiate(true);
            fe.setInflightFd((int) inflight[0], inflight[1], 1, 8);
            fe.setMemTable();
            fe.describePackedRing(ring, 0x8000);
            for (int i = 0; i < 4; i++) {
                int w = ring.request(1 /* OUT */, 8L * i, data, 4096, false);
                ring.kick();
                assertEquals(w, ring.awaitUsed(5000), "request " + i + " after the reconnect: " + ring.dump());
                assertEquals(0, ring.status(w));
            }
            ring.close();
            Libc.close((int) inflight[0]);
        }
    }

    /**
     * A packed ring (virtio 2.8) through a running session: reactor thread, kick eventfd, EVENT_IDX, a ring of 8
     * started at 6 | wrap so the first request already crosses the ring's end and every lap is exercised.
     */
    @Test
    void packedRingNegotiatedThroughTheSession() {
        try (TestFrontEnd fe = new TestFrontEnd(socketPath)) {
            long offered = fe.getU64(VhostUser.GET_FEATURES);
            assertTrue((offered & (1L << io.basalt.vhost.virtio.VirtioFeatures.RING_PACKED)) != 0, "RING_PACKED offered");
            fe.negotiate(true);
            fe.setMemTable();
            // Ring of 8 from position 6, wrap counter 1: the first request already crosses the ring's end.
            TestFrontEnd.PackedRing ring = fe.setUpPackedRing(0, 8, 6 | 0x8000);
            long data = ring.dataGpa;
            MemorySegment buffer = fe.at(data, 8192);
            for (int i = 0; i < 8192; i++) buffer.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 13 + 5));
            long back = data + 16384;
            for (int round = 0; round < 5; round++) {
                int w = ring.request(1 /* OUT */, 16 + 16L * round, data, 8192, false);
                ring.kick();
                String before = ring.dump();
                assertEquals(w, ring.awaitUsed(5000), "write " + round + " completed " + before + " / " + ring.dump());
                assertEquals(0, ring.status(w));
                fe.at(back, 8192).fill((byte) 0);
                int r = ring.request(0 /* IN */, 16 + 16L * round, back, 8192, true);
                ring.kick();
                assertEquals(r, ring.awaitUsed(5000), "read " + round + " completed");
                assertEquals(0, ring.status(r));
                assertEquals(-1, buffer.mismatch(fe.at(back, 8192)), "read back what was written");
            }
            int f = ring.request(4 /* FLUSH */, 0, data, 0, false);
            ring.kick();
            assertEquals(f, ring.awaitUsed(5000));
            // 10 requests x 3 slots + 2 = 32 slots from 6 on a ring of 8: position 6, wrap flipped 4 times.
            fe.message.request(VhostUser.GET_VRING_BASE, VhostUser.VERSION, VhostUserMessage.STATE_SIZE).putU32(0, 0);
            assertTrue(fe.send(null, 0) && fe.receive());
            assertEquals(6 | 0x8000, fe.message.u32(VhostUserMessage.STATE_NUM_OFFSET), "position | avail wrap counter << 15");
            ring.close();
        }
    }

    @Test
    void malformedMessageClosesThatSessionOnlyAndTheNextOneWorks() {
        try (TestFrontEnd fe = new TestFrontEnd(socketPath)) {
            fe.message.request(VhostUser.GET_FEATURES, VhostUser.VERSION, 0);
            fe.message.buffer().set(TestFrontEnd.U32, VhostUserMessage.SIZE_OFFSET, 1 << 20); // a 1 MiB payload
            fe.sendRaw(VhostUserMessage.HEADER_SIZE, null, 0);
            assertTrue(fe.closedByBackEnd(5000), "oversized payload closes the session");
        }
        awaitNoSession();
        try (TestFrontEnd fe = new TestFrontEnd(socketPath)) {
            assertTrue(fe.getU64(VhostUser.GET_FEATURES) != 0, "a new front-end is served");
            fe.message.request(VhostUser.SET_VRING_NUM, VhostUser.VERSION, VhostUserMessage.STATE_SIZE).putU32(0, 7).putU32(4, 64);
            fe.send(null, 0);
            assertTrue(fe.closedByBackEnd(5000), "queue index beyond num_queues closes the session");
        }
        awaitNoSession();
        try (TestFrontEnd fe = new TestFrontEnd(socketPath)) {
            fe.message.request(VhostUser.SET_MEM_TABLE, VhostUser.VERSION, 8 + 32).putU32(0, 1);
            fe.send(null, 0); // a region but no fd
            assertTrue(fe.closedByBackEnd(5000), "SET_MEM_TABLE without its fd closes the session");
        }
        assertTrue(export.counters().protocolErrors.sum() >= 3);
    }

    @Test
    void aSecondFrontEndIsRefusedWhileOneIsConnected() {
        try (TestFrontEnd first = new TestFrontEnd(socketPath)) {
            assertTrue(first.getU64(VhostUser.GET_FEATURES) != 0);
            try (TestFrontEnd second = new TestFrontEnd(socketPath)) {
                assertTrue(second.closedByBackEnd(5000), "second connection closed");
            }
            assertTrue(first.getU64(VhostUser.GET_QUEUE_NUM) == 2, "the first one is still served");
        }
    }

    private void awaitNoSession() {
        Await.until(() -> !export.connected(), Duration.ofSeconds(5), "session ended");
    }

    /**
     * A front-end that connects while the previous session is still tearing down is refused, as a second QEMU
     * would be; QEMU's reconnect=1 retries, and so does this.
     */
    private boolean servedAfterRetries() {
        for (int attempt = 0; attempt < 5; attempt++) {
            awaitNoSession();
            try (TestFrontEnd fe = new TestFrontEnd(socketPath)) {
                if (fe.send(VhostUser.GET_QUEUE_NUM, VhostUser.VERSION, 0) && fe.receive() && fe.message.u64(0) == 2) return true;
            }
            TestFrontEnd.sleep(50);
        }
        return false;
    }

    private static int openFds() {
        String[] fds = new java.io.File("/proc/self/fd").list();
        return fds == null ? -1 : fds.length;
    }

    /**
     * Garbage from a front-end: random request numbers, flags, sizes and payloads, some with eventfds
     * attached. Whatever happens to each session, the export keeps accepting and answering, and no fd leaks.
     */
    @Test
    void fuzzedMessagesNeverTakeTheExportDown() {
        int fdsBefore = openFds();
        SplittableRandom random = new SplittableRandom(20261121);
        int messages = Integer.getInteger("basalt.fuzz.messages", 100_000);
        int sent = 0, sessions = 0;
        while (sent < messages) {
            awaitNoSession();
            sessions++;
            try (TestFrontEnd fe = new TestFrontEnd(socketPath)) {
                boolean alive = true;
                while (alive && sent < messages) {
                    alive = sendGarbage(fe, random);
                    sent++;
                }
            }
        }
        assertTrue(servedAfterRetries(), "still serving after " + sent + " garbage messages in " + sessions + " sessions");
        awaitNoSession();
        assertEquals(fdsBefore, openFds(), "no fd leaked");
        System.out.println("fuzz: " + sent + " messages, " + sessions + " sessions, protocol errors " + export.counters().protocolErrors.sum());
    }

    /** One random message; false when the back-end dropped the session (expected for most garbage). */
    private static boolean sendGarbage(TestFrontEnd fe, SplittableRandom random) {
        int request = random.nextInt(10) == 0 ? random.nextInt() : random.nextInt(45);
        int flags = random.nextInt(8) == 0 ? random.nextInt() : VhostUser.VERSION | (random.nextBoolean() ? VhostUser.FLAG_NEED_REPLY : 0);
        int size = random.nextInt(4) == 0 ? random.nextInt(64) : random.nextInt(4) * 8;
        // Avoid requests that would legitimately make the back-end wait for guest memory we never provide.
        fe.message.request(request, flags, Math.min(size, VhostUserMessage.PAYLOAD_MAX));
        MemorySegment payload = fe.message.buffer().asSlice(VhostUserMessage.HEADER_SIZE, Math.min(size, VhostUserMessage.PAYLOAD_MAX));
        for (long i = 0; i < payload.byteSize(); i++) payload.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
        long bytes = fe.message.totalBytes();
        if (random.nextInt(16) == 0) fe.message.buffer().set(TestFrontEnd.U32, VhostUserMessage.SIZE_OFFSET, random.nextInt());
        int fdCount = random.nextInt(6) == 0 ? 1 + random.nextInt(3) : 0;
        int[] fds = new int[fdCount];
        for (int i = 0; i < fdCount; i++) fds[i] = Libc.eventfd(0, Libc.EFD_CLOEXEC);
        boolean sent = fe.sendRaw(bytes, fds, fdCount);
        for (int fd : fds) Libc.close(fd);
        if (!sent) return false;
        // Drain any reply so the socket never fills; a closed connection ends this session.
        while (Libc.poll(fe.socket, Libc.POLLIN, 0) > 0) {
            if (!fe.receive()) return false;
            fe.closeReceivedFds(); // GET_INFLIGHT_FD answers with a memfd: ours to close
        }
        return true;
    }
}
