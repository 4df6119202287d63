package io.basalt.engine.fault;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.RequestSlots;
import io.basalt.engine.Requests;
import io.basalt.engine.Status;
import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/**
 * A {@link FaultBlockDevice}'s channel on one reactor: each request takes a slot whose identifier is the
 * tag of the inner request, so the inner completion comes back here ({@link #complete}) without allocating.
 * Injected statuses go through the reactor's deferred completions; latency holds a finished request in the
 * slot until the reactor clock passes its deadline ({@link #poll}).
 */
final class FaultChannel implements BlockChannel, IoCompletion, Reactor.Poller {
    /** A slot's request; a FLUSH and a FUA write take the configured flush latency. */
    private static final byte OP_READ = 1, OP_WRITE = 2, OP_FLUSH = 3, OP_OTHER = 4, OP_FUA_WRITE = 5;
    /** Most blocks one DISCARD / WRITE_ZEROES may put in the power-cut cache. */
    static final long CACHED_RANGE_BLOCKS_MAX = 1 << 18;

    private final FaultBlockDevice device;
    private final FaultConfig config;
    private final BlockChannel inner;
    private final Reactor reactor;
    private final Geometry geometry;
    private final int blockBytes;
    private final RequestSlots slots;
    private final SplittableRandom random;
    private final byte[] ops;
    private final long[] lbas;
    private final int[] blockCounts;
    private final boolean[] failRegardless;  // per slot: a torn write, IO_ERROR whatever the inner status
    private final long[] deadlinesNs;       // per slot: when a held completion is due
    private final int[] heldStatuses;       // per slot
    private final int[] held;               // slots whose completion is held, unordered
    private int heldCount;
    private final IoVector tornVector;
    // Power-cut mode only: the read buffers to overlay with the cache at completion.
    private final MemorySegment[][] readTargets;
    private final int[] readTargetCounts;
    private final PowerCutFlusher flusher;
    private int readsInFlight;
    private final boolean pollerAdded;
    private boolean closed;
    private boolean released;

    FaultChannel(FaultBlockDevice device, BlockChannel inner, Reactor reactor, SplittableRandom random) {
        this.device = device;
        this.config = device.config();
        this.inner = inner;
        this.reactor = reactor;
        this.geometry = device.geometry();
        this.blockBytes = geometry.logicalBlockBytes();
        int depth = inner.queueDepthMax();
        this.slots = new RequestSlots(depth);
        this.random = random;
        this.ops = new byte[depth];
        this.lbas = new long[depth];
        this.blockCounts = new int[depth];
        this.failRegardless = new boolean[depth];
        this.deadlinesNs = new long[depth];
        this.heldStatuses = new int[depth];
        this.held = new int[depth];
        this.tornVector = new IoVector(geometry.maxSegments());
        boolean powerCut = config.powerCut();
        this.readTargets = powerCut ? new MemorySegment[depth][geometry.maxSegments()] : null;
        this.readTargetCounts = powerCut ? new int[depth] : null;
        this.flusher = powerCut ? new PowerCutFlusher(this, device, inner, depth) : null;
        this.pollerAdded = powerCut || config.hasLatency();
        if (pollerAdded) reactor.addPoller(this);
    }

    @Override public BlockDevice device() { return device; }
    @Override public int inFlight() { return slots.inUse(); }
    @Override public int queueDepthMax() { return slots.capacity(); }

    // ------------------------------------------------------------------ submission

    @Override
    public boolean read(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = gate(Requests.check(geometry, lba, blockCount, buffer), config.readErrorRate(), FaultBlockDevice.READ_ERRORS);
        int slot = slots.acquire(completion, tag);
        start(slot, OP_OTHER, lba, blockCount);
        if (status != Status.OK) return finishLater(slot, status);
        if (readTargets != null) {
            readTargets[slot][0] = buffer;
            readTargetCounts[slot] = 1;
        }
        return readForwarded(slot, inner.read(lba, blockCount, buffer, slots.id(slot), this));
    }

    @Override
    public boolean readv(long lba, int blockCount, IoVector buffers, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = gate(Requests.check(geometry, lba, blockCount, buffers), config.readErrorRate(), FaultBlockDevice.READ_ERRORS);
        int slot = slots.acquire(completion, tag);
        start(slot, OP_OTHER, lba, blockCount);
        if (status != Status.OK) return finishLater(slot, status);
        if (readTargets != null) {
            for (int i = 0; i < buffers.count(); i++) readTargets[slot][i] = buffers.segment(i);
            readTargetCounts[slot] = buffers.count();
        }
        return readForwarded(slot, inner.readv(lba, blockCount, buffers, slots.id(slot), this));
    }

    @Override
    public boolean write(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = gate(Requests.check(geometry, lba, blockCount, buffer), config.writeErrorRate(), FaultBlockDevice.WRITE_ERRORS);
        int slot = slots.acquire(completion, tag);
        start(slot, OP_WRITE, lba, blockCount);
        if (status == Status.IO_ERROR) return tornWrite(slot, lba, blockCount, singleVector(buffer));
        if (status != Status.OK) return finishLater(slot, status);
        if (flusher != null) {
            for (int i = 0; i < blockCount; i++) device.cache().put(lba + i, buffer, (long) i * blockBytes);
            return finishLater(slot, Status.OK);
        }
        return forwarded(slot, inner.write(lba, blockCount, buffer, slots.id(slot), this));
    }

    @Override
    public boolean writev(long lba, int blockCount, IoVector buffers, int flags, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = gate(Requests.check(geometry, lba, blockCount, buffers, flags), config.writeErrorRate(), FaultBlockDevice.WRITE_ERRORS);
        int slot = slots.acquire(completion, tag);
        boolean fua = (flags & WRITE_FUA) != 0;
        start(slot, fua ? OP_FUA_WRITE : OP_WRITE, lba, blockCount);
        if (status == Status.IO_ERROR) return tornWrite(slot, lba, blockCount, buffers);
        if (status != Status.OK) return finishLater(slot, status);
        if (flusher != null) {
            device.cache().put(lba, blockCount, buffers);
            if (!fua) return finishLater(slot, Status.OK);
            flusher.enqueueRange(slot, lba, blockCount); // completes once its own blocks are written down
            return true;
        }
        return forwarded(slot, inner.writev(lba, blockCount, buffers, flags, slots.id(slot), this));
    }

    @Override
    public boolean flush(long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = gate(Status.OK, config.flushErrorRate(), FaultBlockDevice.FLUSH_ERRORS);
        int slot = slots.acquire(completion, tag);
        start(slot, OP_FLUSH, 0, 0);
        if (status != Status.OK) return finishLater(slot, status);
        if (flusher != null) {
            flusher.enqueue(slot);
            return true;
        }
        return forwarded(slot, inner.flush(slots.id(slot), this));
    }

    @Override
    public boolean discard(long lba, long blockCount, long tag, IoCompletion completion) {
        return zeroRange(true, lba, blockCount, tag, completion);
    }

    @Override
    public boolean writeZeroes(long lba, long blockCount, long tag, IoCompletion completion) {
        return zeroRange(false, lba, blockCount, tag, completion);
    }

    /** DISCARD and WRITE_ZEROES take one path: gated as writes, cached as zero blocks in power-cut mode. */
    private boolean zeroRange(boolean discard, long lba, long blockCount, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = gate(Requests.checkRange(geometry, lba, blockCount), config.writeErrorRate(), FaultBlockDevice.WRITE_ERRORS);
        int slot = slots.acquire(completion, tag);
        start(slot, OP_OTHER, lba, 0);
        if (status != Status.OK) return finishLater(slot, status);
        if (flusher != null) return finishLater(slot, cacheZeroes(lba, blockCount));
        long id = slots.id(slot);
        return forwarded(slot, discard ? inner.discard(lba, blockCount, id, this) : inner.writeZeroes(lba, blockCount, id, this));
    }

    /** In power-cut mode DISCARD and WRITE_ZEROES are cached writes of zero blocks, bounded in size. */
    private int cacheZeroes(long lba, long blockCount) {
        if (blockCount > CACHED_RANGE_BLOCKS_MAX) return Status.UNSUPPORTED;
        device.cache().putZeroes(lba, blockCount);
        return Status.OK;
    }

    /** Room for a slot and, whatever happens, a deferred completion. */
    private boolean hasRoom() {
        return slots.inUse() < slots.capacity() && reactor.deferredSpace() > 0;
    }

    /**
     * The status a request gets before the inner device: DEVICE_GONE for a closed channel or a dead drive,
     * the request check's verdict, then the fail-after count, then an injected error at {@code rate}.
     */
    private int gate(int checked, double rate, int counter) {
        if (closed || device.gone()) return gone();
        if (checked != Status.OK) return checked;
        if (!device.admit()) return gone();
        if (rate > 0 && random.nextDouble() < rate) {
            device.count(counter);
            return Status.IO_ERROR;
        }
        return Status.OK;
    }

    private int gone() {
        device.count(FaultBlockDevice.GONE_ANSWERS);
        return Status.DEVICE_GONE;
    }

    private void start(int slot, byte op, long lba, int blockCount) {
        ops[slot] = op;
        lbas[slot] = lba;
        blockCounts[slot] = blockCount;
        failRegardless[slot] = false;
    }

    private boolean forwarded(int slot, boolean accepted) {
        if (accepted) return true;
        if (readTargets != null) {
            for (int i = 0; i < readTargetCounts[slot]; i++) readTargets[slot][i] = null;
            readTargetCounts[slot] = 0;
        }
        slots.release(slot);
        device.unadmit();
        return false;
    }

    /** As {@link #forwarded}; in power-cut mode the read's completion overlays the cache. */
    private boolean readForwarded(int slot, boolean accepted) {
        if (!forwarded(slot, accepted)) return false;
        if (readTargets != null) {
            ops[slot] = OP_READ;
            readsInFlight++;
        }
        return true;
    }

    /**
     * An injected write error. Without torn writes nothing is written; with them a seeded prefix of the
     * blocks (possibly none) is written first, as a drive losing a multi-block write part way. The request
     * completes with IO_ERROR either way. Allocates (slices): a fault path, not the pass-through one.
     */
    private boolean tornWrite(int slot, long lba, int blockCount, IoVector buffers) {
        int prefixBlocks = config.tornWrites() ? random.nextInt(blockCount) : 0;
        if (prefixBlocks == 0) return finishLater(slot, Status.IO_ERROR);
        device.count(FaultBlockDevice.TORN_WRITES);
        IoVector prefix = prefixOf(buffers, (long) prefixBlocks * blockBytes);
        ops[slot] = OP_OTHER;
        failRegardless[slot] = true;
        if (flusher != null) {
            device.cache().put(lba, prefixBlocks, prefix);
            return finishLater(slot, Status.IO_ERROR);
        }
        return forwarded(slot, inner.writev(lba, prefixBlocks, prefix, slots.id(slot), this));
    }

    /** The first {@code bytes} of {@code buffers} (copied into this channel's own vector when needed). */
    private IoVector prefixOf(IoVector buffers, long bytes) {
        MemorySegment[] parts = new MemorySegment[buffers.count()];
        int n = 0;
        long left = bytes;
        for (int i = 0; i < buffers.count() && left > 0; i++) {
            MemorySegment s = buffers.segment(i);
            parts[n++] = s.byteSize() <= left ? s : s.asSlice(0, left);
            left -= parts[n - 1].byteSize();
        }
        tornVector.clear();
        for (int i = 0; i < n; i++) tornVector.add(parts[i]);
        return tornVector;
    }

    private IoVector singleVector(MemorySegment buffer) {
        tornVector.clear().add(buffer);
        return tornVector;
    }

    private boolean finishLater(int slot, int status) {
        Check.that(slot >= 0, "a slot was free (hasRoom checked)");
        reactor.completeLater(this, slots.id(slot), status);
        return true;
    }

    // ------------------------------------------------------------------ completion

    /** Inner completions and deferred ones land here, tagged with the slot's identifier. */
    @Override
    public void complete(long id, int status) {
        int slot = slots.slotOf(id);
        if (ops[slot] == OP_READ && readTargets != null) onCachedRead(slot, status);
        if (failRegardless[slot]) status = Status.IO_ERROR;
        deliver(slot, status);
    }

    private void onCachedRead(int slot, int status) {
        readsInFlight--;
        if (status == Status.OK) device.cache().overlay(lbas[slot], blockCounts[slot], readTargets[slot], readTargetCounts[slot]);
        for (int i = 0; i < readTargetCounts[slot]; i++) readTargets[slot][i] = null;
        readTargetCounts[slot] = 0;
        ops[slot] = OP_OTHER; // a read rejected before the inner device never counted as in flight
        if (readsInFlight == 0 && flusher.idle()) device.cache().evictClean();
    }

    /** Completes now, or holds the completion until a seeded deadline when latency is configured. */
    void deliver(int slot, int status) {
        if (!config.hasLatency() || released) { // a released channel has no poller: answer at once
            finish(slot, status);
            return;
        }
        long delayNs = config.latencyNsMin() == config.latencyNsMax() ? config.latencyNsMin()
                : random.nextLong(config.latencyNsMin(), config.latencyNsMax() + 1);
        if (ops[slot] == OP_FLUSH || ops[slot] == OP_FUA_WRITE) delayNs += config.flushLatencyNs(); // a FUA write costs a flush
        if (delayNs == 0) {
            finish(slot, status);
            return;
        }
        deadlinesNs[slot] = reactor.nowNs() + delayNs;
        heldStatuses[slot] = status;
        held[heldCount++] = slot;
        device.count(FaultBlockDevice.DELAYED_COMPLETIONS);
    }

    private void finish(int slot, int status) {
        slots.finish(slot, status);
        if (closed && slots.inUse() == 0) release();
    }

    @Override
    public int poll(long nowNs) {
        int work = 0;
        for (int i = 0; i < heldCount; ) {
            int slot = held[i];
            if (deadlinesNs[slot] - nowNs > 0) {
                i++;
                continue;
            }
            held[i] = held[--heldCount];
            work++;
            finish(slot, heldStatuses[slot]);
        }
        if (flusher != null) work += flusher.pump();
        return work;
    }

    @Override
    public boolean needsPolling() {
        return heldCount > 0 || (flusher != null && flusher.stalled());
    }

    /** Reads issued to the inner device that may still need the cache overlay. */
    int readsInFlight() {
        return readsInFlight;
    }

    long slotId(int slot) {
        return slots.id(slot);
    }

    // ------------------------------------------------------------------ close

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        device.channelClosed();
        if (slots.inUse() == 0) release();
    }

    private void release() {
        if (released) return;
        released = true;
        inner.close();
        if (pollerAdded) reactor.removePoller(this);
    }
}
