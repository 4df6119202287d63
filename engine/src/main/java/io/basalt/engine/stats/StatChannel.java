package io.basalt.engine.stats;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.RequestSlots;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;

import java.lang.foreign.MemorySegment;

/**
 * A {@link StatBlockDevice}'s channel on one reactor: a request takes a slot (its start time, kind and size), the
 * slot's identifier is the inner request's tag, and the inner completion comes back here ({@link #complete}), which
 * counts it and hands the caller's tag and status on. Preallocated: nothing is allocated per request.
 */
final class StatChannel implements BlockChannel, IoCompletion {
    private final StatBlockDevice device;
    private final BlockChannel inner;
    private final IoStats stats;
    private final int blockBytes;
    private final RequestSlots slots;
    private final long[] startNs;
    private final byte[] ops;
    private final long[] bytes;
    /** Times come from the reactor's clock of the cycle (one clock read per cycle, not two per request). */
    private final Reactor reactor;

    StatChannel(StatBlockDevice device, BlockChannel inner, IoStats stats, Reactor reactor) {
        this.device = device;
        this.reactor = reactor;
        this.inner = inner;
        this.stats = stats;
        this.blockBytes = device.geometry().logicalBlockBytes();
        int depth = Math.min(inner.queueDepthMax(), RequestSlots.SLOTS_MAX);
        this.slots = new RequestSlots(depth);
        this.startNs = new long[depth];
        this.ops = new byte[depth];
        this.bytes = new long[depth];
    }

    @Override public BlockDevice device() { return device; }
    @Override public int inFlight() { return slots.inUse(); }
    @Override public int queueDepthMax() { return slots.capacity(); }

    @Override
    public boolean read(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
        int slot = begin(IoStats.OP_READ, (long) blockCount * blockBytes, tag, completion);
        return slot >= 0 && accepted(slot, inner.read(lba, blockCount, buffer, slots.id(slot), this));
    }

    @Override
    public boolean write(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
        int slot = begin(IoStats.OP_WRITE, (long) blockCount * blockBytes, tag, completion);
        return slot >= 0 && accepted(slot, inner.write(lba, blockCount, buffer, slots.id(slot), this));
    }

    @Override
    public boolean readv(long lba, int blockCount, IoVector buffers, long tag, IoCompletion completion) {
        int slot = begin(IoStats.OP_READ, (long) blockCount * blockBytes, tag, completion);
        return slot >= 0 && accepted(slot, inner.readv(lba, blockCount, buffers, slots.id(slot), this));
    }

    @Override
    public boolean writev(long lba, int blockCount, IoVector buffers, int flags, long tag, IoCompletion completion) {
        int slot = begin(IoStats.OP_WRITE, (long) blockCount * blockBytes, tag, completion);
        return slot >= 0 && accepted(slot, inner.writev(lba, blockCount, buffers, flags, slots.id(slot), this));
    }

    @Override
    public boolean flush(long tag, IoCompletion completion) {
        int slot = begin(IoStats.OP_FLUSH, 0, tag, completion);
        return slot >= 0 && accepted(slot, inner.flush(slots.id(slot), this));
    }

    @Override
    public boolean discard(long lba, long blockCount, long tag, IoCompletion completion) {
        int slot = begin(IoStats.OP_TRIM, 0, tag, completion);
        return slot >= 0 && accepted(slot, inner.discard(lba, blockCount, slots.id(slot), this));
    }

    @Override
    public boolean writeZeroes(long lba, long blockCount, long tag, IoCompletion completion) {
        int slot = begin(IoStats.OP_TRIM, 0, tag, completion);
        return slot >= 0 && accepted(slot, inner.writeZeroes(lba, blockCount, slots.id(slot), this));
    }

    /** A slot holding the request's kind, size and start time; -1 (counted as a busy refusal) when none is free. */
    private int begin(int op, long byteCount, long tag, IoCompletion completion) {
        int slot = slots.acquire(completion, tag);
        if (slot < 0) {
            stats.refused();
            return -1;
        }
        ops[slot] = (byte) op;
        bytes[slot] = byteCount;
        startNs[slot] = reactor.nowNs();
        return slot;
    }

    private boolean accepted(int slot, boolean accepted) {
        if (!accepted) {
            slots.release(slot);
            stats.refused();
            return false;
        }
        stats.submitted();
        return true;
    }

    /** The inner completion: counted, then the caller's completion runs (it may submit again). */
    @Override
    public void complete(long id, int status) {
        int slot = slots.slotOf(id);
        stats.completed(ops[slot], bytes[slot], reactor.nowNs() - startNs[slot], status == Status.OK);
        slots.finish(slot, status);
    }

    @Override
    public void close() {
        inner.close();
    }
}
