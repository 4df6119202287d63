package io.basalt.engine.conformance;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.BufferPool;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.engine.fixtures.AllocationWindows;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * House habit 3, measured the same way for every BlockDevice (backends here, volumes through the test-jar):
 * random one-block reads and writes at a queue depth, each completion resubmitting its slot, driven by hand on a
 * reactor the calling thread owns. After two warm-up passes, windows of I/Os are repeated until one allocates
 * exactly 0 bytes on this thread (AllocationWindows); that window is the proof.
 */
public final class AllocationProbe {
    private static final long STUCK_NS = 120_000_000_000L;

    private AllocationProbe() {}

    /**
     * Opens a channel on {@code reactor}, measures, closes the channel. Asserts no I/O error and no busy refusal.
     * Returns the bytes the last window allocated (0 when the proof was found; see AllocationWindows).
     */
    public static long measure(String what, Reactor reactor, BlockDevice device, int queueDepth, int warmUpIos,
                               int measuredIos, int windowsMin) {
        return measure(what, reactor, device, queueDepth, warmUpIos, measuredIos, windowsMin, 1);
    }

    /** As above with I/Os of {@code blocksPerIo} blocks at multiples of that size (say, full raid5 stripes). */
    public static long measure(String what, Reactor reactor, BlockDevice device, int queueDepth, int warmUpIos,
                               int measuredIos, int windowsMin, int blocksPerIo) {
        BlockChannel channel = device.openChannel(reactor);
        BufferPool pool = reactor.bufferPool();
        int blockBytes = device.geometry().logicalBlockBytes() * blocksPerIo;
        MemorySegment[] buffers = new MemorySegment[queueDepth];
        int[] indexes = new int[queueDepth];
        for (int i = 0; i < queueDepth; i++) {
            indexes[i] = pool.acquire();
            buffers[i] = pool.buffer(indexes[i]).asSlice(0, blockBytes);
        }
        Driver driver = new Driver(channel, buffers, blocksPerIo);
        drive(reactor, driver, warmUpIos);
        drive(reactor, driver, warmUpIos); // twice: the second pass runs the code the first one compiled
        AllocationWindows.History history = AllocationWindows.untilZero(what + " over " + measuredIos + " I/Os",
                windowsMin, () -> drive(reactor, driver, measuredIos));
        assertEquals(0, driver.errors, "I/O errors on " + what);
        assertEquals(0, driver.busy, "busy refusals at queue depth " + queueDepth + " on " + what);
        channel.close();
        for (int index : indexes) pool.release(index);
        return history.last();
    }

    private static void drive(Reactor reactor, Driver driver, long ios) {
        long target = driver.completed + ios;
        driver.start(ios);
        long deadline = System.nanoTime() + STUCK_NS;
        while (driver.completed < target) {
            reactor.doWork();
            if (System.nanoTime() - deadline > 0) fail("stuck at " + driver.completed + " of " + target);
        }
    }

    /** Submits random reads and writes of blocksPerIo blocks; its completion resubmits the same slot. Allocates nothing. */
    static final class Driver implements IoCompletion {
        private final BlockChannel channel;
        private final MemorySegment[] buffers;
        private final long ioSlots;
        private final int blocksPerIo;
        private long random = 0x9E3779B97F4A7C15L;
        private long toSubmit;
        long completed, errors, busy;

        Driver(BlockChannel channel, MemorySegment[] buffers, int blocksPerIo) {
            this.channel = channel;
            this.buffers = buffers;
            this.blocksPerIo = blocksPerIo;
            this.ioSlots = channel.device().geometry().blockCount() / blocksPerIo;
        }

        void start(long ios) {
            toSubmit = ios;
            for (int i = 0; i < buffers.length && toSubmit > 0; i++) submit(i);
        }

        private long next() { // xorshift64: no allocation
            random ^= random << 13;
            random ^= random >>> 7;
            random ^= random << 17;
            return random;
        }

        private void submit(int slot) {
            toSubmit--;
            long r = next();
            long lba = (r >>> 1) % ioSlots * blocksPerIo;
            boolean accepted = (r & 1) == 0
                    ? channel.read(lba, blocksPerIo, buffers[slot], slot, this)
                    : channel.write(lba, blocksPerIo, buffers[slot], slot, this);
            if (!accepted) busy++;
        }

        @Override
        public void complete(long tag, int status) {
            completed++;
            if (status != Status.OK) errors++;
            if (toSubmit > 0) submit((int) tag);
        }
    }
}
