package io.basalt.vhost.blk;

import io.basalt.shims.Libc;
import io.basalt.shims.NativeException;
import io.basalt.vhost.virtio.DescriptorChain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static io.basalt.vhost.blk.QueueHarness.fill;
import static org.junit.jupiter.api.Assertions.*;

/**
 * VirtioBlkQueue: the round trips on both ring layouts (one {@link QueueHarness} per ring), then the split ring's
 * request types, bad requests, retries, interrupt suppression, stop and the inflight region (the packed ring's own
 * cases are in PackedVirtioBlkQueueTest).
 */
class VirtioBlkQueueTest {
    @ParameterizedTest(name = "{0} ring, {1} B blocks, {2} x {3} B, indirect {4}")
    @CsvSource({"SPLIT,512,1,512,false", "SPLIT,512,4,4096,false", "SPLIT,4096,1,4096,false", "SPLIT,4096,8,4096,false",
            "SPLIT,4096,3,8192,true", "SPLIT,512,16,512,true",
            "PACKED,512,1,512,false", "PACKED,512,4,4096,false", "PACKED,4096,1,4096,false", "PACKED,4096,8,4096,false",
            "PACKED,4096,3,8192,true", "PACKED,512,16,512,true"})
    void readWriteRoundTrips(QueueHarness.Ring ring, int blockBytes, int segments, int segmentBytes, boolean indirect) {
        try (QueueHarness h = QueueHarness.open(ring, blockBytes)) {
            h.writeThenRead(segments, segmentBytes, indirect, 0);
            h.writeThenRead(segments, segmentBytes, indirect, 8 * 100);
            long sectors = (16 << 20) / 512;
            h.writeThenRead(segments, segmentBytes, indirect, sectors - (long) segments * segmentBytes / 512);
            assertEquals(6, h.queue.counter("requests"));
        }
    }

    /** One data buffer crossing from region A into region B: two mappings, one request. */
    @Test
    void bufferCrossingTwoRegions() {
        try (BlkHarness h = new BlkHarness(4096, false)) {
            long gpa = io.basalt.vhost.GuestDriver.REGION_B - 8192;
            BlkHarness.Request w = h.request(VirtioBlk.T_OUT, 64).data(new long[] {gpa}, new int[] {16384});
            fill(h.guest.at(gpa, 8192), 1);
            fill(h.guest.at(gpa + 8192, 8192), 2);
            w.submit(false, false);
            h.runUntilUsed(1);
            h.guest.takeUsed();
            assertEquals(VirtioBlk.S_OK, w.status());
            long readGpa = io.basalt.vhost.GuestDriver.REGION_C;
            BlkHarness.Request r = h.request(VirtioBlk.T_IN, 64).data(new long[] {readGpa}, new int[] {16384});
            r.submit(true, false);
            h.runUntilUsed(1);
            h.guest.takeUsed();
            assertEquals(VirtioBlk.S_OK, r.status());
            assertEquals(-1, h.guest.at(gpa, 8192).mismatch(h.guest.at(readGpa, 8192)));
            assertEquals(-1, h.guest.at(gpa + 8192, 8192).mismatch(h.guest.at(readGpa + 8192, 8192)));
        }
    }

    private static int simple(BlkHarness h, int type, long sector, int dataBytes, boolean deviceWrites) {
        BlkHarness.Request r = h.request(type, sector);
        if (dataBytes > 0) r.data(1, dataBytes, 4096);
        r.submit(deviceWrites, false);
        h.runUntilUsed(1);
        long[] used = h.guest.takeUsed();
        assertEquals(r.head, used[0]);
        return r.status();
    }

    @Test
    void flushAndGetId() {
        try (BlkHarness h = new BlkHarness(4096, false)) {
            assertEquals(VirtioBlk.S_OK, simple(h, VirtioBlk.T_FLUSH, 0, 0, false));
            BlkHarness.Request r = h.request(VirtioBlk.T_GET_ID, 0).data(1, 20, 8);
            r.submit(true, false);
            h.runUntilUsed(1);
            long[] used = h.guest.takeUsed();
            assertEquals(21, used[1]);
            assertEquals(VirtioBlk.S_OK, r.status());
            byte[] id = r.dataSegment(0).toArray(ValueLayout.JAVA_BYTE);
            assertEquals("basalt-test-serial-0", new String(id, java.nio.charset.StandardCharsets.US_ASCII));
            assertEquals(1, h.queue.counter("flushes"));
            assertEquals(1, h.queue.counter("get_ids"));
        }
    }

    private static BlkHarness.Request ranges(BlkHarness h, int type, long[][] ranges) {
        BlkHarness.Request r = h.request(type, 0).data(1, 16 * ranges.length, 16);
        for (int i = 0; i < ranges.length; i++) {
            VirtioBlk.DiscardSegment.set(r.dataSegment(0).asSlice(16L * i, 16), ranges[i][0], (int) ranges[i][1], (int) ranges[i][2]);
        }
        r.submit(false, false);
        h.runUntilUsed(1);
        h.guest.takeUsed();
        return r;
    }

    @Test
    void discardAndWriteZeroes() {
        try (BlkHarness h = new BlkHarness(4096, false)) {
            BlkHarness.Request w = h.request(VirtioBlk.T_OUT, 0).data(4, 4096, 4096);
            for (int i = 0; i < 4; i++) fill(w.dataSegment(i), 7 + i);
            w.submit(false, false);
            h.runUntilUsed(1);
            h.guest.takeUsed();
            // WRITE_ZEROES with UNMAP over blocks 1 and 3 (two ranges), plain WRITE_ZEROES on 2.
            assertEquals(VirtioBlk.S_OK, ranges(h, VirtioBlk.T_WRITE_ZEROES, new long[][] {{8, 8, 1}, {24, 8, 1}}).status());
            assertEquals(VirtioBlk.S_OK, ranges(h, VirtioBlk.T_WRITE_ZEROES, new long[][] {{16, 8, 0}}).status());
            BlkHarness.Request r = h.request(VirtioBlk.T_IN, 0).data(4, 4096, 4096);
            r.submit(true, false);
            h.runUntilUsed(1);
            h.guest.takeUsed();
            assertEquals(-1, w.dataSegment(0).mismatch(r.dataSegment(0)));
            for (int i = 1; i < 4; i++) {
                assertEquals(0, r.dataSegment(i).get(ValueLayout.JAVA_LONG, 0), "block " + i + " zeroed");
                assertEquals(0, r.dataSegment(i).get(ValueLayout.JAVA_LONG, 4088));
            }
            assertEquals(VirtioBlk.S_OK, ranges(h, VirtioBlk.T_DISCARD, new long[][] {{0, 8, 0}}).status());
            // DISCARD with the UNMAP flag, or an unknown flag: UNSUPP. Misaligned range: IOERR.
            assertEquals(VirtioBlk.S_UNSUPP, ranges(h, VirtioBlk.T_DISCARD, new long[][] {{0, 8, 1}}).status());
            assertEquals(VirtioBlk.S_UNSUPP, ranges(h, VirtioBlk.T_WRITE_ZEROES, new long[][] {{0, 8, 2}}).status());
            assertEquals(VirtioBlk.S_IOERR, ranges(h, VirtioBlk.T_DISCARD, new long[][] {{1, 8, 0}}).status());
            assertEquals(VirtioBlk.S_IOERR, ranges(h, VirtioBlk.T_DISCARD, new long[][] {{0, 9, 0}}).status());
            // More ranges than the queue allows (4): IOERR.
            long[][] five = new long[5][];
            Arrays.fill(five, new long[] {0, 8, 0});
            assertEquals(VirtioBlk.S_IOERR, ranges(h, VirtioBlk.T_DISCARD, five).status());
            assertEquals(2, h.queue.counter("write_zeroes"));
            assertEquals(1, h.queue.counter("discards"));
        }
    }

    @Test
    void readOnlyExport() {
        try (BlkHarness h = new BlkHarness(4096, true)) {
            assertEquals(VirtioBlk.S_IOERR, simple(h, VirtioBlk.T_OUT, 0, 4096, false));
            assertEquals(VirtioBlk.S_IOERR, ranges(h, VirtioBlk.T_DISCARD, new long[][] {{0, 8, 0}}).status());
            assertEquals(VirtioBlk.S_IOERR, ranges(h, VirtioBlk.T_WRITE_ZEROES, new long[][] {{0, 8, 0}}).status());
            assertEquals(VirtioBlk.S_OK, simple(h, VirtioBlk.T_IN, 0, 4096, true));
            assertEquals(VirtioBlk.S_OK, simple(h, VirtioBlk.T_FLUSH, 0, 0, false));
            assertEquals(3, h.queue.counter("read_only_rejects"));
        }
    }

    @Test
    void badRequestsFailWithoutTouchingTheDevice() {
        try (BlkHarness h = new BlkHarness(4096, false)) {
            long sectors = (16 << 20) / 512;
            assertEquals(VirtioBlk.S_IOERR, simple(h, VirtioBlk.T_IN, 1, 4096, true), "sector not on a 4 KiB block");
            assertEquals(VirtioBlk.S_IOERR, simple(h, VirtioBlk.T_OUT, 3, 4096, false));
            assertEquals(VirtioBlk.S_IOERR, simple(h, VirtioBlk.T_IN, 0, 512, true), "length not whole blocks");
            assertEquals(VirtioBlk.S_IOERR, simple(h, VirtioBlk.T_IN, sectors, 4096, true), "beyond capacity");
            assertEquals(VirtioBlk.S_IOERR, simple(h, VirtioBlk.T_OUT, sectors - 8, 8192, false), "crossing the end");
            assertEquals(VirtioBlk.S_IOERR, simple(h, VirtioBlk.T_IN, Long.MAX_VALUE / 256, 4096, true), "sector overflows bytes");
            assertEquals(VirtioBlk.S_IOERR, simple(h, VirtioBlk.T_IN, -8, 4096, true), "sector >= 2^63");
            assertEquals(VirtioBlk.S_UNSUPP, simple(h, 99, 0, 0, false), "unknown type");
            assertEquals(VirtioBlk.S_UNSUPP, simple(h, 2, 0, 0, false), "legacy SCSI");
            assertEquals(7, h.queue.counter("bad_requests"));
            assertEquals(2, h.queue.counter("unsupported"));
            assertEquals(0, h.queue.counter("bytes_read") + h.queue.counter("bytes_written"));
        }
    }

    @Test
    void brokenChainGetsIoErrorWhenItHasAStatusByte() {
        try (BlkHarness h = new BlkHarness(4096, false)) {
            // Data buffer outside guest memory: the walker stops there, but the links still lead to the
            // status byte, which gets IOERR.
            BlkHarness.Request r = h.request(VirtioBlk.T_IN, 0).data(new long[] {1L << 40}, new int[] {4096});
            r.submit(true, false);
            h.runUntilUsed(1);
            long[] used = h.guest.takeUsed();
            assertEquals(r.head, used[0]);
            assertEquals(1, used[1]);
            assertEquals(VirtioBlk.S_IOERR, r.status());
            // readable after writable: header, writable byte, then a readable buffer last: no status byte
            // (the last byte is not device-writable), so len 0 and nothing written.
            long header = h.guest.alloc(16, 16), status = h.guest.alloc(1, 1), data = h.guest.alloc(4096, 4096);
            h.guest.at(header, 16).fill((byte) 0);
            int head = h.guest.chain(new long[] {header, status, data}, new int[] {16, 1, 4096}, new boolean[] {false, true, false});
            h.guest.publish(head);
            h.runUntilUsed(1);
            used = h.guest.takeUsed();
            assertEquals(head, used[0]);
            assertEquals(0, used[1]);
            assertEquals(2, h.queue.counter("broken_chains"));
            assertEquals(1, h.queue.brokenByReason()[DescriptorChain.BUFFER_OUT_OF_MEMORY]);
            assertEquals(1, h.queue.brokenByReason()[DescriptorChain.READABLE_AFTER_WRITABLE]);
        }
    }

    @Test
    void busyChannelIsRetriedInOrder() {
        BlkHarness.RefusingChannel[] refusing = new BlkHarness.RefusingChannel[1];
        try (BlkHarness h = new BlkHarness(4096, false, BlkHarness.FEATURES, -1, -1, null,
                c -> refusing[0] = new BlkHarness.RefusingChannel(c, 5))) {
            BlkHarness.Request a = h.request(VirtioBlk.T_OUT, 0).data(1, 4096, 4096);
            BlkHarness.Request b = h.request(VirtioBlk.T_OUT, 0).data(1, 4096, 4096);
            fill(a.dataSegment(0), 1);
            fill(b.dataSegment(0), 2);
            a.submit(false, false);
            b.submit(false, false);
            h.cycles(3);
            assertTrue(h.queue.needsPolling());
            assertEquals(2, h.queue.inFlight());
            h.runUntilUsed(2);
            assertEquals(a.head, h.guest.takeUsed()[0]);
            assertEquals(b.head, h.guest.takeUsed()[0]);
            assertTrue(h.queue.counter("busy_retries") >= 4);
            // b was submitted after a: block 0 holds b's data.
            BlkHarness.Request r = h.request(VirtioBlk.T_IN, 0).data(1, 4096, 4096);
            r.submit(true, false);
            h.runUntilUsed(1);
            h.guest.takeUsed();
            assertEquals(-1, b.dataSegment(0).mismatch(r.dataSegment(0)));
        }
    }

    private static long readEventfd(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(8, 8);
            long n = Libc.read(fd, v, 8);
            return n == 8 ? v.get(ValueLayout.JAVA_LONG, 0) : 0;
        }
    }

    @Test
    void eventIdxSuppressesInterrupts() {
        int call = (int) NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        try (BlkHarness h = new BlkHarness(4096, false, BlkHarness.FEATURES_EVENT_IDX, call, -1, null, c -> c)) {
            h.guest.setUsedEvent(2); // interrupt once entry 2 is used
            for (int i = 0; i < 4; i++) assertEquals(VirtioBlk.S_OK, simple(h, VirtioBlk.T_FLUSH, 0, 0, false));
            // The first decision always signals; then only the crossing of used_event (idx 2 -> 3).
            assertEquals(2, h.queue.counter("notifications_sent"));
            assertEquals(2, h.queue.counter("notifications_suppressed"));
            assertEquals(2, readEventfd(call));
        } finally {
            Libc.close(call);
        }
    }

    @Test
    void noInterruptFlagSuppressesWithoutEventIdx() {
        int call = (int) NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        try (BlkHarness h = new BlkHarness(4096, false, BlkHarness.FEATURES, call, -1, null, c -> c)) {
            assertEquals(VirtioBlk.S_OK, simple(h, VirtioBlk.T_FLUSH, 0, 0, false));
            h.guest.setAvailFlags(1);
            assertEquals(VirtioBlk.S_OK, simple(h, VirtioBlk.T_FLUSH, 0, 0, false));
            assertEquals(1, h.queue.counter("notifications_sent"));
            assertEquals(1, h.queue.counter("notifications_suppressed"));
            assertEquals(1, readEventfd(call));
        } finally {
            Libc.close(call);
        }
    }

    @Test
    void kickWakesTheQueueAndAvailEventIsSet() {
        int kick = (int) NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        try (BlkHarness h = new BlkHarness(4096, false, BlkHarness.FEATURES_EVENT_IDX, -1, kick, null, c -> c)) {
            h.cycles(3);
            assertFalse(h.queue.needsPolling(), "idle with a kick armed: the reactor may sleep");
            assertEquals(0, h.guest.availEvent());
            BlkHarness.Request r = h.request(VirtioBlk.T_FLUSH, 0);
            r.submit(false, false);
            try (Arena a = Arena.ofConfined()) {
                Libc.write(kick, a.allocateFrom(ValueLayout.JAVA_LONG, 1L), 8);
            }
            h.runUntilUsed(1);
            h.guest.takeUsed();
            h.cycles(3);
            assertEquals(1, h.queue.counter("kicks"));
            assertEquals(0, h.guest.availEvent(), "kicks stay off while the reactor polls (its poll window)");
            assertTrue(h.queue.readyToSleep(), "nothing new: the reactor may sleep");
            assertEquals(1, h.guest.availEvent(), "about to sleep: avail_event asks for a kick at the next entry");
            // stop: the armed kick read is completed by the queue itself, then the callback runs.
            boolean[] drained = {false};
            h.queue.stop(() -> drained[0] = true);
            h.cycles(5);
            assertTrue(drained[0]);
            assertTrue(h.queue.isStopped());
            assertEquals(1, h.queue.lastAvailIdx());
        } finally {
            Libc.close(kick);
        }
    }

    /** Kicks are off through the poll window; a chain the guest published then, without a kick, keeps the reactor awake. */
    @Test
    void aChainPublishedWithKicksOffIsSeenBeforeTheReactorSleeps() {
        int kick = (int) NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        try (BlkHarness h = new BlkHarness(4096, false, BlkHarness.FEATURES_EVENT_IDX, -1, kick, null, c -> c)) {
            h.cycles(3);
            h.request(VirtioBlk.T_FLUSH, 0).submit(false, false);
            h.runUntilUsed(1); // polled: the first chain turns kicks off
            h.guest.takeUsed();
            h.request(VirtioBlk.T_FLUSH, 0).submit(false, false); // no kick: the guest saw avail_event stale
            assertFalse(h.queue.readyToSleep(), "the re-check after turning kicks on finds the chain");
            h.runUntilUsed(1);
            h.guest.takeUsed();
            h.cycles(2);
            assertTrue(h.queue.readyToSleep());
            assertEquals(0, h.queue.counter("kicks"));
            assertEquals(2, h.queue.lastAvailIdx());
        } finally {
            Libc.close(kick);
        }
    }

    @Test
    void stopWaitsForInFlightRequests() {
        try (BlkHarness h = new BlkHarness(4096, false, BlkHarness.FEATURES, -1, -1, null,
                c -> new BlkHarness.RefusingChannel(c, 3))) {
            for (int i = 0; i < 3; i++) h.request(VirtioBlk.T_FLUSH, 0).submit(false, false);
            h.cycles(1);
            boolean[] drained = {false};
            h.queue.stop(() -> drained[0] = true);
            assertFalse(drained[0]);
            h.runUntilUsed(3);
            h.cycles(3);
            assertTrue(drained[0]);
            assertEquals(3, h.queue.lastAvailIdx());
            h.request(VirtioBlk.T_FLUSH, 0).submit(false, false);
            h.cycles(3);
            assertEquals(3, h.guest.newUsed(), "nothing popped after stop");
        }
    }

    @Test
    void inflightRegionTracksRequests() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment shm = arena.allocate(InflightRegion.queueRegionBytes(128), 64);
            InflightRegion inflight = new InflightRegion(shm, 128);
            BlkHarness.RefusingChannel[] refusing = new BlkHarness.RefusingChannel[1];
            try (BlkHarness h = new BlkHarness(4096, false, BlkHarness.FEATURES, -1, -1, inflight,
                    c -> refusing[0] = new BlkHarness.RefusingChannel(c, 0))) {
                assertEquals(VirtioBlk.S_OK, simple(h, VirtioBlk.T_FLUSH, 0, 0, false));
                refusing[0].refusals = Integer.MAX_VALUE; // the next requests stay with us
                BlkHarness.Request a = h.request(VirtioBlk.T_FLUSH, 0).submit(false, false);
                BlkHarness.Request b = h.request(VirtioBlk.T_FLUSH, 0).submit(false, false);
                h.cycles(3);
                assertEquals(1, inflight.usedIdx());
                assertTrue(inflight.isInflight(a.head));
                assertTrue(inflight.isInflight(b.head));
                // A restarted back-end reads the region: both in flight, a first.
                InflightRegion again = new InflightRegion(shm, 128);
                assertArrayEquals(new int[] {a.head, b.head}, again.recover(1));
                refusing[0].refusals = 0;
                h.runUntilUsed(2);
                h.cycles(2);
                assertFalse(inflight.isInflight(a.head));
                assertFalse(inflight.isInflight(b.head));
                assertEquals(3, inflight.usedIdx());
                assertEquals(0, new InflightRegion(shm, 128).recover(3).length);
            }
        }
    }

    @Test
    void inflightRecoverFinishesAnUnrecordedBatch() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment shm = arena.allocate(InflightRegion.queueRegionBytes(8), 64);
            InflightRegion r = new InflightRegion(shm, 8);
            r.markInflight(3);
            r.markInflight(5);
            r.markInflight(1);
            // Crash after used idx became 2 (heads 3 and 5 used) but before the region recorded it.
            r.addToBatch(3);
            r.addToBatch(5);
            assertArrayEquals(new int[] {1}, new InflightRegion(shm, 8).recover(2));
        }
    }
}
