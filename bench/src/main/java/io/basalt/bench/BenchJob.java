package io.basalt.bench;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.BufferPool;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.concurrent.CountDownLatch;

/**
 * One benchmark job, living on one reactor: keeps {@code ioDepth} requests in flight on its own channel and
 * resubmits each slot from its completion, at once (what fio does, and what the platform notes found
 * fastest). Allocation-free while it runs: the job is its own completion, slots are indexes, the latency
 * histogram is preallocated.
 */
final class BenchJob implements IoCompletion {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private final Reactor reactor;
    private final BlockDevice device;
    private final BenchParams params;
    private final boolean sweepOnce;
    private final CountDownLatch done;
    private final int blocksPerIo;
    private final long ioSlots;           // distinct aligned offsets on the device
    private final int readShare;
    private final long[] startNs;
    private final int[] bufferIndexes;
    private final MemorySegment[] buffers;
    final LatencyHistogram histogram = new LatencyHistogram();

    private BlockChannel channel;
    private long rampEndNs, endNs;
    private long random;
    private long refillState = 0x2545F4914F6CDD1DL;
    private long cursor;
    private int outstanding;
    private boolean measuring;
    private boolean stopping;
    private long measureStartNs, lastCompletionNs;
    private long cpuStartNs, cpuEndNs, allocStart, allocEnd;
    long ios, bytes, errors;
    volatile Throwable failure;

    BenchJob(Reactor reactor, BlockDevice device, BenchParams params, int jobIndex, boolean sweepOnce, CountDownLatch done) {
        this.reactor = reactor;
        this.device = device;
        this.params = params;
        this.sweepOnce = sweepOnce;
        this.done = done;
        int blockBytes = device.geometry().logicalBlockBytes();
        Check.that(params.blockBytes() % blockBytes == 0, "bs is a multiple of the device block size " + blockBytes, params.blockBytes());
        this.blocksPerIo = params.blockBytes() / blockBytes;
        this.ioSlots = device.geometry().blockCount() / blocksPerIo;
        Check.that(ioSlots > 0, "device holds at least one I/O of bs", ioSlots);
        this.readShare = params.readShare();
        this.startNs = new long[params.ioDepth()];
        this.bufferIndexes = new int[params.ioDepth()];
        this.buffers = new MemorySegment[params.ioDepth()];
        this.random = params.seed() * 0x9E3779B97F4A7C15L + jobIndex + 1;
        this.cursor = sweepOnce ? 0 : (ioSlots / params.jobs()) * jobIndex;
    }

    /**
     * Runs on the reactor thread: opens the channel and takes the buffers, without I/O. The bench opens every
     * job's channel before any job starts: a RAID5 volume's stripe owners are its channels, one per reactor, and
     * must all exist before the first write.
     */
    void open() {
        try {
            openChannel();
        } catch (Throwable t) {
            failure = t;
        }
    }

    private void openChannel() {
        if (channel != null) return;
        channel = device.openChannel(reactor);
        Check.that(params.ioDepth() <= channel.queueDepthMax(), "iodepth within the channel's queue depth " + channel.queueDepthMax(), params.ioDepth());
        BufferPool pool = reactor.bufferPool();
        for (int i = 0; i < params.ioDepth(); i++) {
            bufferIndexes[i] = pool.acquire();
            Check.that(bufferIndexes[i] >= 0, "buffer pool holds iodepth buffers");
            buffers[i] = pool.buffer(bufferIndexes[i]).asSlice(0, params.blockBytes());
            fill(buffers[i], i);
        }
    }

    /** Runs on the reactor thread: opens the channel unless {@link #open} did, fills the queue. */
    void start() {
        try {
            openChannel();
            long now = System.nanoTime();
            rampEndNs = now + params.rampNs();
            endNs = rampEndNs + params.runtimeNs();
            if (params.rampNs() == 0) beginMeasuring(now);
            for (int slot = 0; slot < params.ioDepth() && !stopping; slot++) {
                outstanding++;
                issue(slot);
            }
        } catch (Throwable t) {
            failure = t;
            done.countDown();
        }
    }

    /** Non-zero, non-repeating data so that no layer can shortcut zero pages or dedupe. */
    private void fill(MemorySegment buffer, int slot) {
        long x = random ^ slot;
        for (long off = 0; off < buffer.byteSize(); off += 8) {
            x ^= x << 13; x ^= x >>> 7; x ^= x << 17;
            buffer.set(ValueLayout.JAVA_LONG_UNALIGNED, off, x);
        }
    }

    /**
     * New random content for every write, as fio's refill_buffers (which {@link FioRunner} sets): a device that
     * compresses (zram) or dedupes must see incompressible, never-repeated data from both engines, or the one
     * whose data compresses worse looks slower. Outside the timed window of the request (before its start time).
     */
    private void refill(MemorySegment buffer) {
        long x = refillState;
        for (long off = 0; off < buffer.byteSize(); off += 8) {
            x ^= x << 13; x ^= x >>> 7; x ^= x << 17;
            buffer.set(ValueLayout.JAVA_LONG_UNALIGNED, off, x);
        }
        refillState = x;
    }

    private long nextLba() {
        long slot;
        if (params.random()) {
            random ^= random << 13; random ^= random >>> 7; random ^= random << 17;
            slot = Long.remainderUnsigned(random, ioSlots);
        } else {
            slot = cursor++;
            if (cursor >= ioSlots) {
                cursor = 0;
                if (sweepOnce) stopping = true;
            }
        }
        return slot * blocksPerIo;
    }

    private boolean nextIsRead() {
        if (readShare == 100) return true;
        if (readShare == 0) return false;
        random ^= random << 13; random ^= random >>> 7; random ^= random << 17;
        return Long.remainderUnsigned(random, 100) < readShare;
    }

    private void issue(int slot) {
        long lba = nextLba();
        boolean read = nextIsRead();
        if (!read) refill(buffers[slot]);
        startNs[slot] = System.nanoTime();
        boolean accepted = read
                ? channel.read(lba, blocksPerIo, buffers[slot], slot, this)
                : channel.write(lba, blocksPerIo, buffers[slot], slot, this);
        Check.that(accepted, "channel accepted a request within its queue depth");
    }

    @Override
    public void complete(long tag, int status) {
        int slot = (int) tag;
        long now = System.nanoTime();
        if (!measuring && now >= rampEndNs) beginMeasuring(now);
        if (status != Status.OK) errors++;
        if (measuring && startNs[slot] >= measureStartNs) {
            histogram.record(now - startNs[slot]);
            ios++;
            bytes += params.blockBytes();
            lastCompletionNs = now;
        }
        if (!stopping && (sweepOnce || now < endNs)) {
            issue(slot);
        } else if (--outstanding == 0) {
            finish();
        }
    }

    private void beginMeasuring(long now) {
        measuring = true;
        measureStartNs = now;
        lastCompletionNs = now;
        cpuStartNs = THREADS.getCurrentThreadCpuTime();
        allocStart = THREADS.getCurrentThreadAllocatedBytes();
    }

    private void finish() {
        allocEnd = THREADS.getCurrentThreadAllocatedBytes();
        cpuEndNs = THREADS.getCurrentThreadCpuTime();
        channel.close();
        BufferPool pool = reactor.bufferPool();
        for (int index : bufferIndexes) pool.release(index);
        done.countDown();
    }

    double measuredSeconds() { return Math.max(1, lastCompletionNs - measureStartNs) / 1e9; }
    double cpuSeconds() { return (cpuEndNs - cpuStartNs) / 1e9; }
    long allocatedBytes() { return allocEnd - allocStart; }
}
