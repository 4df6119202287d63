package io.basalt.engine.stats;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each kind of request through a wrapped device moves exactly its counters, driven by hand on one reactor. */
class StatBlockDeviceTest {
    private final Arena arena = Arena.ofShared();
    private final List<Integer> statuses = new ArrayList<>();
    private final IoCompletion completion = (tag, status) -> statuses.add(status);
    private Reactor reactor;
    private StatBlockDevice device;
    private BlockChannel channel;
    private int blockBytes;

    @BeforeEach
    void open() {
        reactor = new Reactor(ReactorConfig.defaults("stat"));
        reactor.initOnCurrentThread();
        device = new StatBlockDevice(DeviceSpec.open("m0", "memory:4M"), true);
        channel = device.openChannel(reactor);
        blockBytes = device.geometry().logicalBlockBytes();
    }

    @AfterEach
    void close() {
        channel.close();
        device.close();
        reactor.close();
        arena.close();
    }

    private MemorySegment buffer(int blocks) {
        return arena.allocate((long) blocks * blockBytes, 4096);
    }

    private void completeAll(int expected) {
        for (int i = 0; i < 1000 && statuses.size() < expected; i++) reactor.doWork();
        assertEquals(expected, statuses.size(), "completions");
    }

    /** The snapshot's counters minus {@code before}, by name. */
    private static long[] delta(StatBlockDevice.Snapshot before, StatBlockDevice.Snapshot after) {
        long[] d = new long[IoStats.COUNTER_COUNT];
        for (int i = 0; i < d.length; i++) d[i] = after.counter(i) - before.counter(i);
        return d;
    }

    private static long[] expect(long... indexValuePairs) {
        long[] e = new long[IoStats.COUNTER_COUNT];
        for (int i = 0; i < indexValuePairs.length; i += 2) e[(int) indexValuePairs[i]] = indexValuePairs[i + 1];
        return e;
    }

    /** Time counters are real durations: compared for "moved", then left out of the exact comparison. */
    private static long[] withoutTimes(long[] d) {
        long[] copy = d.clone();
        copy[IoStats.IO_TIME_NS] = 0;
        copy[IoStats.LATENCY_SUM_NS] = 0;
        return copy;
    }

    private static long histogramCount(StatBlockDevice.Snapshot s) {
        long n = 0;
        for (long c : s.latencyBuckets()) n += c;
        return n;
    }

    @Test
    void aReadCountsOneReadItsBytesAndOneLatencySample() {
        StatBlockDevice.Snapshot before = device.snapshot();
        assertTrue(channel.read(8, 8, buffer(8), 1, completion));
        assertEquals(1, device.snapshot().counter(IoStats.IN_FLIGHT), "in flight until the completion");
        completeAll(1);
        StatBlockDevice.Snapshot after = device.snapshot();
        long[] d = delta(before, after);
        assertArrayEquals(expect(IoStats.READ_IOS, 1, IoStats.READ_BYTES, 8 * blockBytes), withoutTimes(d));
        assertTrue(d[IoStats.IO_TIME_NS] > 0 && d[IoStats.LATENCY_SUM_NS] == d[IoStats.IO_TIME_NS]);
        assertEquals(1, histogramCount(after) - histogramCount(before));
        assertEquals(Status.OK, statuses.getFirst());
    }

    @Test
    void vectoredWritesCountAsWritesWithTheirBytes() {
        IoVector v = new IoVector(2).clear();
        v.add(buffer(2));
        v.add(buffer(1));
        StatBlockDevice.Snapshot before = device.snapshot();
        assertTrue(channel.writev(0, 3, v, 1, completion));
        assertTrue(channel.write(100, 4, buffer(4), 2, completion));
        completeAll(2);
        assertArrayEquals(expect(IoStats.WRITE_IOS, 2, IoStats.WRITE_BYTES, 7 * blockBytes), withoutTimes(delta(before, device.snapshot())));
        assertEquals(2, histogramCount(device.snapshot()));
    }

    @Test
    void flushDiscardAndWriteZeroesCountApartFromTransfersAndOutOfTheHistogram() {
        StatBlockDevice.Snapshot before = device.snapshot();
        assertTrue(channel.flush(1, completion));
        assertTrue(channel.discard(0, 8, 2, completion));
        assertTrue(channel.writeZeroes(8, 8, 3, completion));
        completeAll(3);
        StatBlockDevice.Snapshot after = device.snapshot();
        assertArrayEquals(expect(IoStats.FLUSH_IOS, 1, IoStats.TRIM_IOS, 2), withoutTimes(delta(before, after)));
        assertEquals(0, histogramCount(after), "the histogram holds reads and writes only");
        assertEquals(0, after.counter(IoStats.LATENCY_SUM_NS));
    }

    @Test
    void aFailedRequestCountsAnErrorAndNoTransfer() {
        long blocks = device.geometry().blockCount();
        StatBlockDevice.Snapshot before = device.snapshot();
        assertTrue(channel.read(blocks, 1, buffer(1), 1, completion));
        completeAll(1);
        assertEquals(Status.OUT_OF_RANGE, statuses.getFirst());
        assertArrayEquals(expect(IoStats.ERRORS, 1), withoutTimes(delta(before, device.snapshot())));
    }

    @Test
    void aFullChannelRefusesAndCountsTheRefusal() {
        MemorySegment b = buffer(1);
        int accepted = 0;
        while (channel.read(0, 1, b, accepted, completion)) accepted++;
        assertEquals(channel.queueDepthMax(), accepted);
        StatBlockDevice.Snapshot full = device.snapshot();
        assertEquals(accepted, full.counter(IoStats.IN_FLIGHT));
        assertEquals(1, full.counter(IoStats.BUSY_REFUSALS));
        completeAll(accepted);
        StatBlockDevice.Snapshot done = device.snapshot();
        assertEquals(0, done.counter(IoStats.IN_FLIGHT));
        assertEquals(accepted, done.counter(IoStats.READ_IOS));
    }

    @Test
    void aChannelOpenedAgainOnTheSameReactorKeepsCountingInTheSameTotals() {
        assertTrue(channel.read(0, 1, buffer(1), 1, completion));
        completeAll(1);
        channel.close();
        channel = device.openChannel(reactor);
        assertTrue(channel.read(0, 1, buffer(1), 2, completion));
        completeAll(2);
        assertEquals(2, device.snapshot().counter(IoStats.READ_IOS));
    }

    @Test
    void theWrapperLooksLikeTheDeviceItWraps() {
        assertEquals("m0", device.name());
        assertEquals(device.inner().geometry(), device.geometry());
        assertEquals(device.inner().describe(), device.describe());
        StatBlockDevice notOwning = new StatBlockDevice(device.inner(), false);
        notOwning.close();
        assertTrue(channel.read(0, 1, buffer(1), 1, completion), "closing a wrapper that does not own the device leaves it open");
        completeAll(1);
        assertEquals(Status.OK, statuses.getFirst());
    }

    @Test
    void reactorTimeIsBusyOnlyInCyclesThatDidWork() {
        reactor.doWork();
        long busy = reactor.busyNs();
        for (int i = 0; i < 100; i++) reactor.doWork(); // nothing to do
        assertEquals(busy, reactor.busyNs(), "idle cycles add no busy time");
        assertTrue(reactor.idleNs() > 0, "they add idle time");
        assertTrue(channel.read(0, 1, buffer(1), 1, completion));
        completeAll(1);
        assertTrue(reactor.busyNs() > busy, "the cycle that delivered the completion was busy");
        assertFalse(statuses.isEmpty());
    }
}
