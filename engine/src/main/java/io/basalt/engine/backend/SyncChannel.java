package io.basalt.engine.backend;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.RequestSlots;
import io.basalt.engine.Requests;
import io.basalt.engine.Status;

import java.lang.foreign.MemorySegment;

/** A channel over a {@link SyncBackend}: does the work at submission, delivers the completion next cycle. */
final class SyncChannel implements BlockChannel, IoCompletion {
    private final BlockDevice device;
    private final Geometry geometry;
    private final SyncBackend backend;
    private final Reactor reactor;
    private final RequestSlots slots;
    private final boolean readOnly;
    private boolean closed;

    SyncChannel(BlockDevice device, SyncBackend backend, Reactor reactor, int queueDepthMax, boolean readOnly) {
        this.device = device;
        this.geometry = device.geometry();
        this.backend = backend;
        this.reactor = reactor;
        this.slots = new RequestSlots(queueDepthMax);
        this.readOnly = readOnly;
    }

    @Override public BlockDevice device() { return device; }
    @Override public int inFlight() { return slots.inUse(); }
    @Override public int queueDepthMax() { return slots.capacity(); }

    /** Takes a slot and schedules the completion; false (nothing happened) when there is no room. */
    private boolean finishLater(int status, long tag, IoCompletion completion) {
        if (reactor.deferredSpace() == 0) return false;
        int slot = slots.acquire(completion, tag);
        if (slot < 0) return false;
        reactor.completeLater(this, slot, status);
        return true;
    }

    private boolean hasRoom() {
        return slots.inUse() < slots.capacity() && reactor.deferredSpace() > 0;
    }

    @Override
    public void complete(long slot, int status) {
        slots.finish((int) slot, status);
    }

    @Override
    public boolean read(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = closed ? Status.DEVICE_GONE : Requests.check(geometry, lba, blockCount, buffer);
        if (status == Status.OK) status = backend.read(lba * geometry.logicalBlockBytes(), buffer);
        return finishLater(status, tag, completion);
    }

    @Override
    public boolean write(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = closed ? Status.DEVICE_GONE : readOnly ? Status.READ_ONLY : Requests.check(geometry, lba, blockCount, buffer);
        if (status == Status.OK) status = backend.write(lba * geometry.logicalBlockBytes(), buffer);
        return finishLater(status, tag, completion);
    }

    @Override
    public boolean readv(long lba, int blockCount, IoVector buffers, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = closed ? Status.DEVICE_GONE : Requests.check(geometry, lba, blockCount, buffers);
        long offset = lba * geometry.logicalBlockBytes();
        for (int i = 0; status == Status.OK && i < buffers.count(); i++) {
            MemorySegment s = buffers.segment(i);
            status = backend.read(offset, s);
            offset += s.byteSize();
        }
        return finishLater(status, tag, completion);
    }

    @Override
    public boolean writev(long lba, int blockCount, IoVector buffers, int flags, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = closed ? Status.DEVICE_GONE : readOnly ? Status.READ_ONLY : Requests.check(geometry, lba, blockCount, buffers, flags);
        long offset = lba * geometry.logicalBlockBytes();
        for (int i = 0; status == Status.OK && i < buffers.count(); i++) {
            MemorySegment s = buffers.segment(i);
            status = backend.write(offset, s);
            offset += s.byteSize();
        }
        if (status == Status.OK && (flags & WRITE_FUA) != 0) status = backend.flush(); // the backend has no FUA of its own
        return finishLater(status, tag, completion);
    }

    @Override
    public boolean flush(long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        return finishLater(closed ? Status.DEVICE_GONE : backend.flush(), tag, completion);
    }

    @Override
    public boolean discard(long lba, long blockCount, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = closed ? Status.DEVICE_GONE : readOnly ? Status.READ_ONLY : Requests.checkRange(geometry, lba, blockCount);
        int bs = geometry.logicalBlockBytes();
        if (status == Status.OK) status = backend.discard(lba * bs, blockCount * bs);
        return finishLater(status, tag, completion);
    }

    @Override
    public boolean writeZeroes(long lba, long blockCount, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = closed ? Status.DEVICE_GONE : readOnly ? Status.READ_ONLY : Requests.checkRange(geometry, lba, blockCount);
        int bs = geometry.logicalBlockBytes();
        if (status == Status.OK) status = backend.writeZeroes(lba * bs, blockCount * bs);
        return finishLater(status, tag, completion);
    }

    @Override
    public void close() {
        closed = true;
    }
}
