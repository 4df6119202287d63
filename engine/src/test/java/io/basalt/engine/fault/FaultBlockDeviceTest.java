package io.basalt.engine.fault;

import io.basalt.engine.fixtures.ReactorFixture;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.conformance.ConformanceHarness;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;

import static io.basalt.engine.conformance.ConformanceHarness.blockMatches;
import static io.basalt.engine.conformance.ConformanceHarness.fill;
import static io.basalt.engine.conformance.ConformanceHarness.firstMismatch;
import static org.junit.jupiter.api.Assertions.*;

class FaultBlockDeviceTest {
    private static final int BLOCK_BYTES = 4096;
    private static final long OLD = 0xA11CEL;
    private static final long NEW = 0xB0BL;

    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.handDriven("fault-test");
    private Reactor reactor;

    @BeforeEach
    void startReactor() {
        reactor = fixture.reactor();
    }

    private FaultBlockDevice device(FaultConfig config) {
        return new FaultBlockDevice("f", new MemoryBlockDevice("m", 16 << 20, BLOCK_BYTES), config);
    }

    /** Statuses of a seeded mix of reads, writes and flushes; any exception out of doWork fails the test. */
    private List<Integer> mixedRun(long seed, int[] errorsByKind) {
        List<Integer> statuses = new ArrayList<>();
        try (FaultBlockDevice dev = device(FaultConfig.none(seed).withErrorRates(0.05, 0.1, 0.2))) {
            BlockChannel ch = dev.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, ch);
            SplittableRandom ops = new SplittableRandom(1234); // the same requests for every seed
            MemorySegment buf = fixture.buffer(4);
            for (int i = 0; i < 3000; i++) {
                int kind = ops.nextInt(3);
                long lba = ops.nextLong(dev.geometry().blockCount() - 4);
                int status = switch (kind) {
                    case 0 -> io.read(lba, 4, buf);
                    case 1 -> io.write(lba, 4, buf);
                    default -> io.flush();
                };
                assertTrue(status == Status.OK || status == Status.IO_ERROR, "status " + Status.name(status));
                if (status == Status.IO_ERROR) errorsByKind[kind]++;
                statuses.add(status);
            }
            assertEquals(errorsByKind[0], dev.counter(FaultBlockDevice.READ_ERRORS));
            assertEquals(errorsByKind[1], dev.counter(FaultBlockDevice.WRITE_ERRORS));
            assertEquals(errorsByKind[2], dev.counter(FaultBlockDevice.FLUSH_ERRORS));
            ch.close();
        }
        return statuses;
    }

    @Test
    void seededErrorRatesSurfaceAsIoErrorStatusesReproducibly() {
        int[] first = new int[3];
        int[] again = new int[3];
        int[] other = new int[3];
        List<Integer> a = mixedRun(99, first);
        List<Integer> b = mixedRun(99, again);
        List<Integer> c = mixedRun(100, other);
        assertEquals(a, b, "same seed, same statuses in the same order");
        assertArrayEquals(first, again);
        assertNotEquals(a, c, "another seed, other faults");
        // ~1000 requests of each kind: rates 5%, 10%, 20% give errors well inside these bounds.
        assertTrue(first[0] > 10 && first[0] < 120, "read errors " + first[0]);
        assertTrue(first[1] > 40 && first[1] < 180, "write errors " + first[1]);
        assertTrue(first[2] > 120 && first[2] < 300, "flush errors " + first[2]);
    }

    @Test
    void deviceDiesAfterFailAfterIosAndCanBeReinserted() {
        try (FaultBlockDevice dev = device(FaultConfig.none(1).withFailAfterIos(10))) {
            BlockChannel ch = dev.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, ch);
            MemorySegment buf = fixture.buffer(1);
            for (int i = 0; i < 10; i++) assertEquals(Status.OK, io.write(i, 1, buf), "request " + i);
            assertEquals(Status.DEVICE_GONE, io.read(0, 1, buf));
            assertEquals(Status.DEVICE_GONE, io.write(0, 1, buf));
            assertEquals(Status.DEVICE_GONE, io.flush());
            assertEquals(Status.DEVICE_GONE, io.discard(0, 1));
            assertTrue(dev.failed());
            assertEquals(4, dev.counter(FaultBlockDevice.GONE_ANSWERS));
            dev.setFailed(false);
            assertEquals(Status.DEVICE_GONE, io.read(0, 1, buf), "the limit still holds: past it, the drive dies again");
            ch.close();
        }
    }

    @Test
    void setFailedPullsTheDrive() {
        try (FaultBlockDevice dev = device(FaultConfig.none(1))) {
            BlockChannel ch = dev.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, ch);
            MemorySegment buf = fixture.buffer(1);
            assertEquals(Status.OK, io.write(0, 1, buf));
            dev.setFailed(true);
            assertEquals(Status.DEVICE_GONE, io.read(0, 1, buf));
            assertEquals(Status.DEVICE_GONE, io.writeZeroes(0, 1));
            dev.setFailed(false);
            assertEquals(Status.OK, io.read(0, 1, buf));
            ch.close();
        }
    }

    @Test
    void powerCutLosesWhatWasNotFlushed() {
        try (FaultBlockDevice dev = device(FaultConfig.none(5).withPowerCut(false))) {
            BlockChannel ch = dev.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, ch);
            MemorySegment a = fixture.buffer(8), b = fixture.buffer(8), in = fixture.buffer(8);
            fill(a, 0, BLOCK_BYTES, OLD);
            fill(b, 0, BLOCK_BYTES, NEW);
            assertEquals(Status.OK, io.write(0, 8, a));
            assertEquals(Status.OK, io.flush());
            assertEquals(Status.OK, io.write(0, 8, b));
            assertEquals(Status.OK, io.read(0, 8, in));
            assertEquals(-1, firstMismatch(in, 0, BLOCK_BYTES, NEW), "before the cut, reads see the cache");
            dev.powerCut();
            assertEquals(Status.OK, io.read(0, 8, in));
            assertEquals(-1, firstMismatch(in, 0, BLOCK_BYTES, OLD), "after the cut, the flushed data");
            assertEquals(8, dev.counter(FaultBlockDevice.BLOCKS_LOST));
            ch.close();
        }
    }

    @Test
    void aFuaWriteSurvivesAPowerCutThatLosesThePlainWritesAroundIt() {
        try (FaultBlockDevice dev = device(FaultConfig.none(5).withPowerCut(false))) {
            BlockChannel ch = dev.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, ch);
            MemorySegment a = fixture.buffer(8), b = fixture.buffer(8), in = fixture.buffer(8);
            fill(a, 0, BLOCK_BYTES, OLD);
            assertEquals(Status.OK, io.write(0, 8, a));
            assertEquals(Status.OK, io.flush());
            MemorySegment c = fixture.buffer(8);
            fill(c, 16, BLOCK_BYTES, NEW);
            assertEquals(Status.OK, io.write(16, 8, c), "plain write before it, never flushed");
            fill(b, 0, BLOCK_BYTES, NEW);
            io.basalt.engine.IoVector vector = new io.basalt.engine.IoVector(1);
            vector.add(b);
            assertEquals(Status.OK, io.writev(0, 8, vector, BlockChannel.WRITE_FUA), "FUA write over the flushed data");
            fill(a, 8, BLOCK_BYTES, NEW);
            assertEquals(Status.OK, io.write(8, 8, a), "plain write after it, never flushed");
            dev.powerCut();
            assertEquals(Status.OK, io.read(0, 8, in));
            assertEquals(-1, firstMismatch(in, 0, BLOCK_BYTES, NEW), "the FUA write is on the medium");
            assertEquals(16, dev.counter(FaultBlockDevice.BLOCKS_LOST), "a FUA write makes only its own blocks durable");
            ch.close();
        }
    }

    @Test
    void flushLatencyHoldsFlushesAndFuaWritesOnly() {
        FaultConfig config = FaultConfig.none(3).withFlushLatencyNs(2_000_000);
        assertTrue(config.hasLatency());
        try (FaultBlockDevice dev = device(config)) {
            BlockChannel ch = dev.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, ch);
            MemorySegment a = fixture.buffer(1);
            assertEquals(Status.OK, io.write(0, 1, a));
            assertEquals(0, dev.counter(FaultBlockDevice.DELAYED_COMPLETIONS), "a plain write is not held");
            assertEquals(Status.OK, io.flush());
            io.basalt.engine.IoVector vector = new io.basalt.engine.IoVector(1);
            vector.add(a);
            assertEquals(Status.OK, io.writev(0, 1, vector, BlockChannel.WRITE_FUA));
            assertEquals(2, dev.counter(FaultBlockDevice.DELAYED_COMPLETIONS), "the flush and the FUA write are held");
            ch.close();
        }
    }

    @Test
    void flushMakesEverythingBeforeItDurable() {
        try (FaultBlockDevice dev = device(FaultConfig.none(6).withPowerCut(true))) {
            BlockChannel ch = dev.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, ch);
            MemorySegment buf = fixture.buffer(3), in = fixture.buffer(3);
            SplittableRandom random = new SplittableRandom(6);
            long[] lbas = random.longs(0, 1000).distinct().limit(300).map(l -> l * 3).toArray();
            for (long lba : lbas) {
                fill(buf, lba, BLOCK_BYTES, NEW);
                assertEquals(Status.OK, io.write(lba, 3, buf));
            }
            assertEquals(Status.OK, io.writeZeroes(4000, 4));
            assertEquals(Status.OK, io.flush());
            dev.powerCut(); // torn mode: nothing unflushed is left, so nothing may change
            for (long lba : lbas) {
                assertEquals(Status.OK, io.read(lba, 3, in));
                assertEquals(-1, firstMismatch(in, lba, BLOCK_BYTES, NEW), "flushed write at " + lba);
            }
            MemorySegment zeroes = fixture.buffer(4);
            assertEquals(Status.OK, io.read(4000, 4, zeroes));
            for (int i = 0; i < 4; i++) assertTrue(ConformanceHarness.blockIsZero(zeroes, i, BLOCK_BYTES));
            assertEquals(0, dev.counter(FaultBlockDevice.BLOCKS_LOST));
            assertEquals(0, dev.cache().unflushed().size());
            ch.close();
        }
    }

    /** Writes OLD, flushes, writes NEW without flushing, cuts; returns the blocks that kept NEW. */
    private BitSet tornRun(long seed, int blocks) {
        BitSet kept = new BitSet();
        try (FaultBlockDevice dev = device(FaultConfig.none(seed).withPowerCut(true))) {
            BlockChannel ch = dev.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, ch);
            MemorySegment old = fixture.buffer(blocks), fresh = fixture.buffer(8), in = fixture.buffer(blocks);
            fill(old, 0, BLOCK_BYTES, OLD);
            assertEquals(Status.OK, io.write(0, blocks, old));
            assertEquals(Status.OK, io.flush());
            for (int lba = 0; lba < blocks; lba += 8) { // several multi-block writes, none flushed
                fill(fresh, lba, BLOCK_BYTES, NEW);
                assertEquals(Status.OK, io.write(lba, 8, fresh));
            }
            reactor.post(dev::powerCut); // through the reactor's command queue
            reactor.doWork();
            assertEquals(1, dev.counter(FaultBlockDevice.POWER_CUTS));
            assertEquals(Status.OK, io.read(0, blocks, in));
            for (int i = 0; i < blocks; i++) {
                boolean isNew = blockMatches(in, i, i, BLOCK_BYTES, NEW);
                assertTrue(isNew || blockMatches(in, i, i, BLOCK_BYTES, OLD), "block " + i + " is old or new, never a third value");
                if (isNew) kept.set(i);
            }
            assertEquals(kept.cardinality(), dev.counter(FaultBlockDevice.BLOCKS_KEPT_TORN));
            // Survivors are durable: a second cut keeps them, and a flush writes them down.
            dev.powerCut();
            assertEquals(Status.OK, io.flush());
            assertEquals(Status.OK, io.read(0, blocks, in));
            for (int i = 0; i < blocks; i++) assertEquals(kept.get(i), blockMatches(in, i, i, BLOCK_BYTES, NEW), "block " + i + " after a second cut");
            ch.close();
        }
        return kept;
    }

    @Test
    void tornPowerCutKeepsASeededSubsetOfBlocks() {
        BitSet a = tornRun(11, 64);
        BitSet b = tornRun(11, 64);
        BitSet c = tornRun(12, 64);
        assertEquals(a, b, "same seed, same surviving blocks");
        assertNotEquals(a, c, "another seed, another subset");
        assertTrue(a.cardinality() > 0 && a.cardinality() < 64, "a partial subset survived: " + a);
    }

    @Test
    void injectedWriteErrorsWithTornWritesLeaveOldOrNewBlocks() {
        try (FaultBlockDevice dev = device(FaultConfig.none(21).withErrorRates(0, 1, 0).withTornWrites(true))) {
            BlockChannel ch = dev.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, ch);
            MemorySegment in = fixture.buffer(16), fresh = fixture.buffer(16);
            // The inner device starts zeroed: "old" is zeroes.
            int partial = 0;
            for (int round = 0; round < 20; round++) {
                long lba = round * 16L;
                fill(fresh, lba, BLOCK_BYTES, NEW);
                assertEquals(Status.IO_ERROR, io.write(lba, 16, fresh));
                assertEquals(Status.OK, readInner(dev, lba, in), "read of the inner device");
                int newBlocks = 0;
                for (int i = 0; i < 16; i++) {
                    boolean isNew = blockMatches(in, i, lba + i, BLOCK_BYTES, NEW);
                    assertTrue(isNew || ConformanceHarness.blockIsZero(in, i, BLOCK_BYTES), "block " + i);
                    if (isNew) {
                        assertEquals(i, newBlocks, "a torn write leaves a prefix");
                        newBlocks++;
                    }
                }
                if (newBlocks > 0) partial++;
            }
            assertTrue(partial > 0, "some failed writes left a prefix");
            assertEquals(partial, dev.counter(FaultBlockDevice.TORN_WRITES));
            assertEquals(20, dev.counter(FaultBlockDevice.WRITE_ERRORS));
            ch.close();
        }
    }

    private int readInner(FaultBlockDevice dev, long lba, MemorySegment in) {
        BlockChannel inner = dev.inner().openChannel(reactor);
        try {
            return new ConformanceHarness(reactor, inner).read(lba, 16, in);
        } finally {
            inner.close();
        }
    }

    @Test
    void latencyHoldsCompletionsUntilTheDeadline() {
        try (FaultBlockDevice dev = device(FaultConfig.none(3).withLatencyNs(2_000_000, 2_000_000))) {
            BlockChannel ch = dev.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, ch);
            MemorySegment buf = fixture.buffer(1);
            long start = System.nanoTime();
            assertEquals(Status.OK, io.write(0, 1, buf));
            assertTrue(System.nanoTime() - start >= 2_000_000, "completion held at least 2 ms");
            assertEquals(1, dev.counter(FaultBlockDevice.DELAYED_COMPLETIONS));
            ch.close();
        }
    }

    @Test
    void specFormParsesFaultOptions() {
        try (BlockDevice d = DeviceSpec.open("x", "fault:memory:8M,fault_seed=9,block=512,fault_read_error=0.25,"
                + "fault_write_error=0.5,fault_flush_error=1,fault_latency_us=10-20,fault_fail_after=100,fault_power_cut=1,fault_torn=1")) {
            FaultBlockDevice f = assertInstanceOf(FaultBlockDevice.class, d);
            assertEquals(new FaultConfig(9, 0.25, 0.5, 1.0, 10_000, 20_000, 100, true, true), f.config());
            assertEquals(512, d.geometry().logicalBlockBytes());
            assertTrue(d.describe().contains("memory"), d.describe());
        }
        try (BlockDevice d = DeviceSpec.open("y", "fault:null:1G,fault_latency_us=5")) {
            assertEquals(5_000, ((FaultBlockDevice) d).config().latencyNsMax());
            assertFalse(d.geometry().persistent());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.open("z", "fault:memory:8M,fault_bogus=1"));
        assertTrue(e.getMessage().contains("fault_bogus"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.open("z", "fault:memory:8M,fault_read_error=2"));
        assertTrue(e.getMessage().contains("fault_read_error"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.open("z", "fault:memory:8M,fault_latency_us=9-3"));
        assertTrue(e.getMessage().contains("latency"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.open("z", "fault:8M"));
        assertTrue(e.getMessage().contains("inner"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.open("z", "fault:memory:8M,bogus=1"));
        assertTrue(e.getMessage().contains("bogus"), e.getMessage());
    }
}
