package io.basalt.engine.fault;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.Geometry;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Status;
import io.basalt.shims.Check;

import java.util.List;

/**
 * FLUSH in power-cut mode, one at a time per device in arrival order (a FUA write too, for its own blocks only:
 * {@link #enqueueRange}): snapshot the unflushed cache blocks,
 * write them to the inner device in runs of contiguous LBAs (vectored, one cached block per segment), then
 * flush the inner device, then complete. A run the inner channel refuses as busy is retried from the
 * reactor's poll. A power cut while a flush is in progress fails that flush with IO_ERROR.
 */
final class PowerCutFlusher {
    private final FaultChannel channel;
    private final FaultBlockDevice device;
    private final BlockChannel inner;
    private final int runBlocksMax;
    private final IoVector vector;
    private final int[] queue;
    /** Per slot: the range a FUA write makes durable (its blocks only); count 0 for a FLUSH (every block). */
    private final long[] rangeLbas, rangeBlockCounts;
    private int queueHead;
    private int queueCount;
    private final IoCompletion writeDone = this::onWrite;
    private final IoCompletion innerFlushDone = this::onInnerFlush;

    private int activeSlot = -1;
    private List<WriteBackCache.Block> snapshot;
    private int cursor;
    private int outstanding;
    private int error;
    private int epoch;
    private boolean innerFlushIssued;
    private boolean stalled;

    PowerCutFlusher(FaultChannel channel, FaultBlockDevice device, BlockChannel inner, int depth) {
        this.channel = channel;
        this.device = device;
        this.inner = inner;
        Geometry g = device.geometry();
        this.runBlocksMax = Math.min(g.maxSegments(), g.maxTransferBlocks());
        this.vector = new IoVector(runBlocksMax);
        this.queue = new int[depth];
        this.rangeLbas = new long[depth];
        this.rangeBlockCounts = new long[depth];
    }

    boolean idle() { return activeSlot < 0; }
    boolean stalled() { return activeSlot >= 0 && stalled; }

    /** Queues the flush in {@code slot}; starts it when no other is in progress. Never completes it here. */
    void enqueue(int slot) {
        enqueueRange(slot, 0, 0);
    }

    /**
     * Queues the FUA write in {@code slot}, already cached: it completes once its blocks [lba, +blockCount) are
     * written down and the inner device flushed; other cached blocks stay volatile (a power cut may still drop them).
     */
    void enqueueRange(int slot, long lba, long blockCount) {
        Check.that(queueCount < queue.length, "flush queue bounded by the slots");
        rangeLbas[slot] = lba;
        rangeBlockCounts[slot] = blockCount;
        queue[(queueHead + queueCount++) % queue.length] = slot;
        if (activeSlot < 0) startNext();
    }

    private void startNext() {
        if (queueCount == 0) return;
        activeSlot = queue[queueHead];
        queueHead = (queueHead + 1) % queue.length;
        queueCount--;
        long range = rangeBlockCounts[activeSlot];
        snapshot = range == 0 ? device.cache().unflushed() : device.cache().unflushed(rangeLbas[activeSlot], range);
        cursor = 0;
        outstanding = 0;
        error = Status.OK;
        epoch = device.powerCutEpoch();
        innerFlushIssued = false;
        stalled = false;
        pump();
    }

    /** Issues what it can; returns the requests issued (work for the reactor's poll). */
    int pump() {
        if (activeSlot < 0) return 0;
        int work = 0;
        while (error == Status.OK && cursor < snapshot.size()) {
            int n = runLength(cursor);
            vector.clear();
            for (int i = 0; i < n; i++) vector.add(snapshot.get(cursor + i).data);
            long tag = ((long) cursor << 32) | n;
            if (!inner.writev(snapshot.get(cursor).lba, n, vector, tag, writeDone)) {
                stalled = true;
                return work;
            }
            cursor += n;
            outstanding++;
            work++;
        }
        stalled = false;
        if (outstanding > 0 || innerFlushIssued) return work;
        if (error != Status.OK) {
            finishActive(error);
            return work + 1;
        }
        if (!inner.flush(0, innerFlushDone)) {
            stalled = true;
            return work;
        }
        innerFlushIssued = true;
        return work + 1;
    }

    private int runLength(int from) {
        long first = snapshot.get(from).lba;
        int n = 1;
        while (from + n < snapshot.size() && n < runBlocksMax && snapshot.get(from + n).lba == first + n) n++;
        return n;
    }

    private void onWrite(long tag, int status) {
        outstanding--;
        int start = (int) (tag >>> 32);
        int n = (int) tag;
        if (status == Status.OK) {
            for (int i = 0; i < n; i++) device.cache().markClean(snapshot.get(start + i));
        } else if (error == Status.OK) {
            error = status;
        }
        pump();
    }

    private void onInnerFlush(long tag, int status) {
        finishActive(device.powerCutEpoch() != epoch ? Status.IO_ERROR : status);
    }

    private void finishActive(int status) {
        int slot = activeSlot;
        activeSlot = -1;
        snapshot = null;
        if (channel.readsInFlight() == 0) device.cache().evictClean();
        channel.deliver(slot, status);
        if (activeSlot < 0) startNext();
    }
}
