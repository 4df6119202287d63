package io.basalt.engine.conformance;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Capabilities;
import io.basalt.engine.Geometry;
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
import java.util.SplittableRandom;

import static io.basalt.engine.conformance.ConformanceHarness.blockIsZero;
import static io.basalt.engine.conformance.ConformanceHarness.blockMatches;
import static io.basalt.engine.conformance.ConformanceHarness.fill;
import static io.basalt.engine.conformance.ConformanceHarness.firstMismatch;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The one suite every {@link BlockDevice} passes: backends, wrappers and (through the engine test-jar) RAID
 * volumes. A subclass says how to make a fresh device; the suite opens one channel on a reactor it drives by
 * hand on the test thread, and checks data, statuses and the completion contract (one completion per
 * accepted request, never inside the submitting call, statuses instead of exceptions).
 *
 * <p>A device whose {@link Geometry#persistent()} is false (the null device) keeps nothing, and its reads
 * leave buffers untouched by design: on it the data-checking cases assert statuses only.
 *
 * <p>Every random choice is seeded ({@link #SEED}), so a failure reproduces.
 */
public abstract class BlockDeviceConformance {
    public static final long SEED = 0x5EED_BA5A17L;
    /** Largest single transfer the suite tries: bounded for speed. */
    protected static final long TRANSFER_BYTES_TESTED_MAX = 8L << 20;

    protected Reactor reactor;
    protected BlockDevice device;
    protected BlockChannel channel;
    protected Geometry geometry;
    protected int blockBytes;
    protected ConformanceHarness io;
    protected Arena arena;

    /**
     * A fresh device for one test. Called on the test thread, which already owns {@link #reactor} (so a
     * volume may open channels on its members here). The suite closes it.
     */
    protected abstract BlockDevice createDevice() throws Exception;

    /** Clean-up after the device is closed (delete files, say). */
    protected void afterDeviceClosed() throws Exception {}

    protected ReactorConfig reactorConfig() {
        return ReactorConfig.defaults("conformance");
    }

    @BeforeEach
    void openDevice() throws Exception {
        reactor = new Reactor(reactorConfig());
        reactor.initOnCurrentThread();
        arena = Arena.ofShared();
        device = createDevice();
        geometry = device.geometry();
        blockBytes = geometry.logicalBlockBytes();
        channel = device.openChannel(reactor);
        io = new ConformanceHarness(reactor, channel);
    }

    @AfterEach
    void closeDevice() throws Exception {
        try {
            io.drain();
            assertEquals(0, io.completionsInsideSubmit(), "completions delivered inside a submitting call");
            assertEquals(0, io.unexpectedCompletions(), "completions for requests not in flight (duplicates)");
        } finally {
            channel.close();
            device.close();
            reactor.close();
            arena.close();
            afterDeviceClosed();
        }
    }

    protected boolean persistent() {
        return geometry.persistent();
    }

    protected MemorySegment buffer(long blockCount) {
        return arena.allocate(blockCount * blockBytes, Math.max(blockBytes, 4096));
    }

    /** Writes the pattern of {@code seed} to [lba, lba + blockCount), reads it back and compares. */
    protected void roundTrip(long lba, int blockCount, long seed) {
        MemorySegment out = buffer(blockCount);
        fill(out, lba, blockBytes, seed);
        assertEquals(Status.OK, io.write(lba, blockCount, out), "write at " + lba + " x" + blockCount);
        MemorySegment in = buffer(blockCount);
        assertEquals(Status.OK, io.read(lba, blockCount, in), "read at " + lba + " x" + blockCount);
        if (!persistent()) return; // the null device: status only, its reads leave the buffer as it was
        assertEquals(-1, firstMismatch(in, lba, blockBytes, seed), "first block differing after a round trip at " + lba + " x" + blockCount);
    }

    // ------------------------------------------------------------------ data

    @Test
    void roundTripAtBlockZero() {
        roundTrip(0, 1, SEED);
    }

    @Test
    void roundTripAtTheLastBlock() {
        roundTrip(geometry.blockCount() - 1, 1, SEED + 1);
    }

    @Test
    void roundTripsAcrossTransferSizes() {
        int limit = (int) Math.min(Math.min(geometry.maxTransferBlocks(), geometry.blockCount()),
                TRANSFER_BYTES_TESTED_MAX / blockBytes);
        SplittableRandom random = new SplittableRandom(SEED);
        int[] sizes = {1, 2, 3, 5, 8, 13, 16, 31, 64, 127, 256, limit - 1, limit};
        for (int size : sizes) {
            if (size < 1 || size > limit) continue;
            long lba = random.nextLong(geometry.blockCount() - size + 1);
            roundTrip(lba, size, SEED + size);
        }
    }

    @Test
    void vectoredWriteThenVectoredReadWithOtherSegments() {
        int[] writeBlocks = {1, 3, 2, 5};
        int[] readBlocks = {4, 1, 6};
        int total = 11;
        assumeTrue(geometry.maxSegments() >= 4 && geometry.maxTransferBlocks() >= total, "device takes 4 segments of 11 blocks");
        long lba = Math.min(1000, geometry.blockCount() - total);
        MemorySegment whole = buffer(total);
        fill(whole, lba, blockBytes, SEED + 7);
        IoVector vector = new IoVector(8);
        long offset = 0;
        for (int blocks : writeBlocks) {
            MemorySegment s = buffer(blocks);
            MemorySegment.copy(whole, offset, s, 0, s.byteSize());
            vector.add(s);
            offset += s.byteSize();
        }
        assertEquals(Status.OK, io.writev(lba, total, vector));
        vector.clear();
        MemorySegment[] parts = new MemorySegment[readBlocks.length];
        for (int i = 0; i < readBlocks.length; i++) vector.add(parts[i] = buffer(readBlocks[i]));
        assertEquals(Status.OK, io.readv(lba, total, vector));
        MemorySegment plain = buffer(total);
        assertEquals(Status.OK, io.read(lba, total, plain));
        if (!persistent()) return; // the null device: status only
        long base = lba;
        for (int i = 0; i < parts.length; i++) {
            assertEquals(-1, firstMismatch(parts[i], base, blockBytes, SEED + 7), "readv segment " + i);
            base += readBlocks[i];
        }
        assertEquals(-1, firstMismatch(plain, lba, blockBytes, SEED + 7), "plain read after writev");
    }

    @Test
    void fuaWriteReadsBackAndMixesWithPlainWrites() {
        assumeTrue(geometry.maxSegments() >= 2 && geometry.maxTransferBlocks() >= 5, "device takes 2 segments of 5 blocks");
        long lba = Math.min(2000, geometry.blockCount() - 5);
        MemorySegment first = buffer(2), second = buffer(3), in = buffer(5);
        fill(first, lba, blockBytes, SEED + 11);
        fill(second, lba + 2, blockBytes, SEED + 11);
        IoVector vector = new IoVector(2);
        vector.add(first);
        vector.add(second);
        assertEquals(Status.OK, io.writev(lba, 5, vector, BlockChannel.WRITE_FUA), "FUA write");
        assertEquals(Status.OK, io.read(lba, 5, in));
        if (persistent()) assertEquals(-1, firstMismatch(in, lba, blockBytes, SEED + 11), "read after a FUA write");
        roundTrip(lba + 1, 2, SEED + 12); // a plain write over part of it, then FUA again over the whole
        vector.clear().add(first);
        vector.add(second);
        assertEquals(Status.OK, io.writev(lba, 5, vector, BlockChannel.WRITE_FUA), "FUA write over a plain one");
        assertEquals(Status.OK, io.read(lba, 5, in));
        if (persistent()) assertEquals(-1, firstMismatch(in, lba, blockBytes, SEED + 11), "the later FUA write wins");
    }

    @Test
    void unknownWriteFlagsAreInvalid() {
        MemorySegment out = buffer(1);
        IoVector vector = new IoVector(1);
        vector.add(out);
        assertEquals(Status.INVALID, io.writev(0, 1, vector, 1 << 7), "a write flag the API does not define");
        assertEquals(Status.INVALID, io.writev(0, 1, vector, BlockChannel.WRITE_FUA | 1 << 7));
    }

    @Test
    void flushCompletesOk() {
        assertEquals(Status.OK, io.flush());
        roundTrip(5, 2, SEED + 3);
        assertEquals(Status.OK, io.flush());
    }

    @Test
    void writeZeroesReadsBackZeroes() {
        assumeTrue(geometry.capabilities().writeZeroes(), "device advertises WRITE_ZEROES (else see advertisedCapabilitiesAreWhatTheDeviceDoes)");
        int total = 8;
        long lba = 64;
        MemorySegment out = buffer(total);
        fill(out, lba, blockBytes, SEED + 11);
        assertEquals(Status.OK, io.write(lba, total, out));
        assertEquals(Status.OK, io.writeZeroes(lba + 2, 4));
        MemorySegment in = buffer(total);
        assertEquals(Status.OK, io.read(lba, total, in));
        if (!persistent()) return; // the null device: status only
        for (int i = 0; i < total; i++) {
            if (i >= 2 && i < 6) assertTrue(blockIsZero(in, i, blockBytes), "block " + i + " zeroed");
            else assertTrue(blockMatches(in, i, lba + i, blockBytes, SEED + 11), "block " + i + " kept");
        }
    }

    @Test
    void discardReadsBackZeroesOrOldData() {
        int total = 8;
        long lba = 128;
        MemorySegment out = buffer(total);
        fill(out, lba, blockBytes, SEED + 13);
        assertEquals(Status.OK, io.write(lba, total, out));
        int status = io.discard(lba + 1, 6);
        assertTrue(status == Status.OK || status == Status.UNSUPPORTED, "discard: " + Status.name(status));
        MemorySegment in = buffer(total);
        assertEquals(Status.OK, io.read(lba, total, in));
        if (!persistent()) return; // the null device: status only
        for (int i = 0; i < total; i++) {
            boolean old = blockMatches(in, i, lba + i, blockBytes, SEED + 13);
            if (i >= 1 && i < 7) assertTrue(old || blockIsZero(in, i, blockBytes), "discarded block " + i + ": zeroes or old data");
            else assertTrue(old, "block " + i + " outside the discard kept");
        }
    }

    /**
     * What the geometry advertises is what the device does (an exporter offers DISCARD and WRITE_ZEROES to guests
     * from it): an advertised operation completes OK, one not advertised answers UNSUPPORTED, and a discard said to
     * read back zeroes does so over the whole granules it covers (blocks outside them keep their data or read zero).
     */
    @Test
    void advertisedCapabilitiesAreWhatTheDeviceDoes() {
        Capabilities c = geometry.capabilities();
        long granule = c.discardGranularityBlocks();
        long start = (256 + granule - 1) / granule * granule; // a granule boundary, past the other cases' blocks
        int total = (int) (granule + 2);
        long lba = start - 1;
        assumeTrue(lba + total <= geometry.blockCount() && (long) total * blockBytes <= TRANSFER_BYTES_TESTED_MAX,
                "device too small for one discard granule past block 256");
        MemorySegment out = buffer(total);
        fill(out, lba, blockBytes, SEED + 17);
        assertEquals(Status.OK, io.write(lba, total, out));
        assertEquals(c.discard() ? Status.OK : Status.UNSUPPORTED, io.discard(lba, total), "discard, advertised: " + c.discard());
        MemorySegment in = buffer(total);
        assertEquals(Status.OK, io.read(lba, total, in));
        if (persistent()) {
            for (int i = 0; i < total; i++) {
                boolean inGranule = i >= 1 && i <= granule;
                if (c.discardReadsZeroes() && inGranule) assertTrue(blockIsZero(in, i, blockBytes), "discarded block " + i + " reads zeroes");
                else assertTrue(blockMatches(in, i, lba + i, blockBytes, SEED + 17) || blockIsZero(in, i, blockBytes), "block " + i);
            }
        }
        assertEquals(c.writeZeroes() ? Status.OK : Status.UNSUPPORTED, io.writeZeroes(lba, 1), "write-zeroes, advertised: " + c.writeZeroes());
    }

    // ------------------------------------------------------------------ bad requests

    @Test
    void outOfRangeRequestsAreRefusedWithAStatus() {
        long end = geometry.blockCount();
        MemorySegment one = buffer(1);
        MemorySegment two = buffer(2);
        MemorySegment none = one.asSlice(0, 0);
        assertEquals(Status.OUT_OF_RANGE, io.read(end, 1, one), "read beyond the end");
        assertEquals(Status.OUT_OF_RANGE, io.write(end, 1, one), "write beyond the end");
        assertEquals(Status.OUT_OF_RANGE, io.read(end - 1, 2, two), "read straddling the end");
        assertEquals(Status.OUT_OF_RANGE, io.write(end - 1, 2, two), "write straddling the end");
        assertEquals(Status.OUT_OF_RANGE, io.read(-1, 1, one), "read at a negative LBA");
        assertEquals(Status.OUT_OF_RANGE, io.write(-1, 1, one), "write at a negative LBA");
        assertEquals(Status.OUT_OF_RANGE, io.read(Long.MAX_VALUE, 1, one), "read at the largest LBA");
        assertEquals(Status.OUT_OF_RANGE, io.read(0, 0, none), "read of zero blocks");
        assertEquals(Status.OUT_OF_RANGE, io.write(0, 0, none), "write of zero blocks");
        assertEquals(Status.OUT_OF_RANGE, io.read(0, -1, one), "read of a negative count");
        IoVector vector = new IoVector(2);
        vector.add(two);
        assertEquals(Status.OUT_OF_RANGE, io.readv(end - 1, 2, vector), "readv straddling the end");
        assertEquals(Status.OUT_OF_RANGE, io.writev(end - 1, 2, vector), "writev straddling the end");
        assertEquals(Status.OUT_OF_RANGE, io.discard(end - 1, 2), "discard straddling the end");
        assertEquals(Status.OUT_OF_RANGE, io.writeZeroes(end, 1), "write-zeroes beyond the end");
        assertEquals(Status.OUT_OF_RANGE, io.discard(-1, 1), "discard at a negative LBA");
        assertEquals(Status.OUT_OF_RANGE, io.writeZeroes(0, 0), "write-zeroes of zero blocks");
        assertEquals(Status.OUT_OF_RANGE, io.writeZeroes(1, Long.MAX_VALUE), "write-zeroes overflowing the range");
    }

    @Test
    void misalignedBuffersAreRefusedWithAStatus() {
        MemorySegment two = buffer(2);
        MemorySegment shifted = two.asSlice(1, blockBytes);
        assertEquals(Status.MISALIGNED, io.read(0, 1, shifted), "read into an unaligned address");
        assertEquals(Status.MISALIGNED, io.write(0, 1, shifted), "write from an unaligned address");
        assertEquals(Status.MISALIGNED, io.read(0, 1, two), "read with a buffer of 2 blocks for 1");
        assertEquals(Status.MISALIGNED, io.write(0, 2, two.asSlice(0, blockBytes)), "write with a buffer of 1 block for 2");
        MemorySegment heap = MemorySegment.ofArray(new byte[blockBytes]);
        assertEquals(Status.MISALIGNED, io.write(0, 1, heap), "write from a heap segment");
        IoVector vector = new IoVector(2);
        vector.add(two.asSlice(0, blockBytes / 2));
        vector.add(two.asSlice(blockBytes, blockBytes / 2));
        assertEquals(Status.MISALIGNED, io.readv(0, 1, vector), "readv with half-block segments");
        vector.clear();
        vector.add(two);
        assertEquals(Status.MISALIGNED, io.writev(0, 1, vector), "writev with a total of 2 blocks for 1");
    }

    @Test
    void overMaxTransferIsInvalid() {
        int tooMany = geometry.maxTransferBlocks() + 1;
        assumeTrue(geometry.blockCount() >= tooMany && (long) tooMany * blockBytes <= (64L << 20), "device larger than its max transfer");
        MemorySegment big = buffer(tooMany);
        assertEquals(Status.INVALID, io.read(0, tooMany, big), "read over maxTransferBlocks");
        assertEquals(Status.INVALID, io.write(0, tooMany, big), "write over maxTransferBlocks");
        IoVector tooManySegments = new IoVector(geometry.maxSegments() + 1);
        MemorySegment blocks = buffer(geometry.maxSegments() + 1);
        for (int i = 0; i <= geometry.maxSegments(); i++) tooManySegments.add(blocks.asSlice((long) i * blockBytes, blockBytes));
        assumeTrue(geometry.maxSegments() + 1 <= geometry.maxTransferBlocks(), "segment limit below the transfer limit");
        assertEquals(Status.INVALID, io.readv(0, geometry.maxSegments() + 1, tooManySegments), "readv over maxSegments");
    }

    // ------------------------------------------------------------------ concurrency and lifecycle

    @Test
    void queueDepth64OfRandomWritesThenReads() {
        int depth = Math.min(64, channel.queueDepthMax());
        int blocksEach = 2;
        SplittableRandom random = new SplittableRandom(SEED + 64);
        long slots = geometry.blockCount() / blocksEach;
        long[] lbas = random.longs(0, slots).distinct().limit(depth).map(s -> s * blocksEach).toArray();
        MemorySegment[] buffers = new MemorySegment[depth];
        for (int i = 0; i < depth; i++) {
            buffers[i] = buffer(blocksEach);
            fill(buffers[i], lbas[i], blockBytes, SEED + 64);
            int tag = i;
            io.submitOrWait(() -> io.submitWrite(tag, lbas[tag], blocksEach, buffers[tag]));
        }
        for (int i = 0; i < depth; i++) assertEquals(Status.OK, io.await(i), "write " + i);
        for (int i = 0; i < depth; i++) {
            buffers[i].fill((byte) 0);
            int tag = i;
            io.submitOrWait(() -> io.submitRead(tag, lbas[tag], blocksEach, buffers[tag]));
        }
        for (int i = 0; i < depth; i++) assertEquals(Status.OK, io.await(i), "read " + i);
        if (!persistent()) return; // the null device: status only
        for (int i = 0; i < depth; i++) assertEquals(-1, firstMismatch(buffers[i], lbas[i], blockBytes, SEED + 64), "data of request " + i);
    }

    @Test
    void requestsAfterChannelCloseGetDeviceGone() {
        MemorySegment one = buffer(1);
        channel.close();
        assertEquals(Status.DEVICE_GONE, io.read(0, 1, one));
        assertEquals(Status.DEVICE_GONE, io.write(0, 1, one));
        assertEquals(Status.DEVICE_GONE, io.flush());
        assertEquals(Status.DEVICE_GONE, io.writeZeroes(0, 1));
    }

    @Test
    void requestsAfterDeviceCloseGetDeviceGone() {
        MemorySegment one = buffer(1);
        assertEquals(Status.OK, io.write(0, 1, one));
        io.drain();
        device.close();
        assertEquals(Status.DEVICE_GONE, io.read(0, 1, one));
        assertEquals(Status.DEVICE_GONE, io.write(0, 1, one));
        assertEquals(Status.DEVICE_GONE, io.flush());
    }

    @Test
    void doubleCloseIsHarmless() {
        channel.close();
        channel.close();
        device.close();
        device.close();
    }

    @Test
    void busyBeyondQueueDepthThenWorksAfterCompletions() {
        int depth = channel.queueDepthMax();
        assertTrue(depth > 0 && depth <= ConformanceHarness.TAGS_MAX - 1, "queue depth " + depth);
        MemorySegment one = buffer(1);
        int accepted = 0;
        while (accepted <= depth && io.submitRead(accepted, 0, 1, one)) accepted++;
        assertTrue(accepted >= 1 && accepted <= depth, "accepted " + accepted + " of queue depth " + depth);
        assertEquals(accepted, channel.inFlight(), "in flight while busy");
        assertFalse(io.submitRead(accepted, 0, 1, one), "still busy: nothing completed yet");
        for (int i = 0; i < accepted; i++) assertEquals(Status.OK, io.await(i));
        assertEquals(0, channel.inFlight());
        assertEquals(Status.OK, io.read(0, 1, one), "works again after the completions");
    }

    /** A completion that resubmits from inside itself: the new completion must still come on a later call. */
    @Test
    void completionsNeverRunInsideTheSubmittingCall() {
        MemorySegment one = buffer(1);
        int chain = 200;
        int[] completed = {0};
        boolean[] submitting = {false};
        int[] inside = {0};
        IoCompletion[] self = new IoCompletion[1];
        self[0] = (tag, status) -> {
            if (submitting[0]) inside[0]++;
            assertEquals(Status.OK, status);
            completed[0]++;
            if (completed[0] < chain) {
                submitting[0] = true;
                boolean ok = tag % 2 == 0 ? channel.read(tag % 16, 1, one, tag + 1, self[0]) : channel.write(tag % 16, 1, one, tag + 1, self[0]);
                submitting[0] = false;
                assertTrue(ok, "resubmission from a completion accepted");
            }
        };
        submitting[0] = true;
        assertTrue(channel.write(0, 1, one, 0, self[0]));
        submitting[0] = false;
        long deadline = System.nanoTime() + ConformanceHarness.AWAIT_TIMEOUT_NS;
        while (completed[0] < chain && System.nanoTime() < deadline) reactor.doWork();
        assertEquals(chain, completed[0]);
        assertEquals(0, inside[0], "completions run inside a submit call");
    }
}
