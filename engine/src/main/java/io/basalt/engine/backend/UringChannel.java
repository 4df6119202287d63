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
import io.basalt.shims.IoUringAbi;
import io.basalt.shims.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A uring device's channel on one reactor. Each request takes a slot; its SQE carries the slot's identifier;
 * the reactor hands the CQE back through {@link #onRingCompletion}. A short read or write (legal for files)
 * is resubmitted for the rest, so callers only ever see whole transfers or an error status.
 */
final class UringChannel implements BlockChannel, Reactor.RingSink, IoCompletion {
    private static final byte OP_NONE = -1;

    private final UringBlockDevice device;
    private final Geometry geometry;
    private final int blockBytes;
    private final Reactor reactor;
    private final int sink;
    private final int fileSlot;
    private final int fdForSqe;
    private final byte sqeFlags;
    private final RequestSlots slots;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment iovecs;      // SEGMENTS_MAX struct iovec per slot
    private final byte[] opcodes;
    private final long[] offsets;            // file offset of what is left to transfer
    private final long[] addresses;          // buffer address (or iovec array address) of what is left
    private final int[] lengths;             // bytes left (or iovec count for vectored ops)
    private final long[] vectorBytes;        // bytes left for vectored ops
    private final int[] rwFlags;             // sqe.rw_flags of a transfer (RWF_DSYNC for a FUA write), kept for a resubmitted rest
    private final short[] bufIndexes;
    private boolean closed;
    private boolean released;

    UringChannel(UringBlockDevice device, Reactor reactor, int queueDepthMax) {
        this.device = device;
        this.geometry = device.geometry();
        this.blockBytes = geometry.logicalBlockBytes();
        this.reactor = reactor;
        this.slots = new RequestSlots(queueDepthMax);
        this.iovecs = arena.allocate((long) queueDepthMax * UringBlockDevice.SEGMENTS_MAX * IoUringAbi.IOVEC_SIZE, 8);
        this.opcodes = new byte[queueDepthMax];
        this.offsets = new long[queueDepthMax];
        this.addresses = new long[queueDepthMax];
        this.lengths = new int[queueDepthMax];
        this.vectorBytes = new long[queueDepthMax];
        this.rwFlags = new int[queueDepthMax];
        this.bufIndexes = new short[queueDepthMax];
        this.sink = reactor.addSink(this);
        this.fileSlot = reactor.registerFile(device.fd());
        this.fdForSqe = fileSlot >= 0 ? fileSlot : device.fd();
        this.sqeFlags = fileSlot >= 0 ? IoUringAbi.IOSQE_FIXED_FILE : 0;
    }

    @Override public BlockDevice device() { return device; }
    @Override public int inFlight() { return slots.inUse(); }
    @Override public int queueDepthMax() { return slots.capacity(); }

    // ------------------------------------------------------------------ submission

    @Override
    public boolean read(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
        int status = gone() ? Status.DEVICE_GONE : Requests.check(geometry, lba, blockCount, buffer);
        if (status != Status.OK) return reject(status, tag, completion);
        return submitOne(IoUringAbi.IORING_OP_READ, IoUringAbi.IORING_OP_READ_FIXED, lba, buffer, tag, completion);
    }

    @Override
    public boolean write(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
        int status = gone() ? Status.DEVICE_GONE : device.readOnly() ? Status.READ_ONLY
                : Requests.check(geometry, lba, blockCount, buffer);
        if (status != Status.OK) return reject(status, tag, completion);
        return submitOne(IoUringAbi.IORING_OP_WRITE, IoUringAbi.IORING_OP_WRITE_FIXED, lba, buffer, tag, completion);
    }

    private boolean submitOne(byte op, byte fixedOp, long lba, MemorySegment buffer, long tag, IoCompletion completion) {
        int slot = slots.acquire(completion, tag);
        if (slot < 0) return false;
        int bufIndex = reactor.fixedBufferIndex(buffer.address(), buffer.byteSize());
        opcodes[slot] = bufIndex >= 0 ? fixedOp : op;
        bufIndexes[slot] = (short) Math.max(bufIndex, 0);
        offsets[slot] = lba * blockBytes;
        rwFlags[slot] = 0;
        addresses[slot] = buffer.address();
        lengths[slot] = (int) buffer.byteSize();
        return issue(slot);
    }

    @Override
    public boolean readv(long lba, int blockCount, IoVector buffers, long tag, IoCompletion completion) {
        int status = gone() ? Status.DEVICE_GONE : Requests.check(geometry, lba, blockCount, buffers);
        if (status != Status.OK) return reject(status, tag, completion);
        return submitVector(IoUringAbi.IORING_OP_READV, lba, buffers, 0, tag, completion);
    }

    @Override
    public boolean writev(long lba, int blockCount, IoVector buffers, int flags, long tag, IoCompletion completion) {
        int status = gone() ? Status.DEVICE_GONE : device.readOnly() ? Status.READ_ONLY
                : Requests.check(geometry, lba, blockCount, buffers, flags);
        if (status != Status.OK) return reject(status, tag, completion);
        // FUA as RWF_DSYNC: an O_DIRECT block device gets REQ_FUA (dropped by the block layer when the queue is
        // write-through); a file gets its range and the metadata to read it back synced (generic_write_sync).
        int rw = (flags & WRITE_FUA) != 0 ? IoUringAbi.RWF_DSYNC : 0;
        return submitVector(IoUringAbi.IORING_OP_WRITEV, lba, buffers, rw, tag, completion);
    }

    private boolean submitVector(byte op, long lba, IoVector buffers, int rw, long tag, IoCompletion completion) {
        int slot = slots.acquire(completion, tag);
        if (slot < 0) return false;
        long iov = (long) slot * UringBlockDevice.SEGMENTS_MAX * IoUringAbi.IOVEC_SIZE;
        for (int i = 0; i < buffers.count(); i++) {
            MemorySegment s = buffers.segment(i);
            iovecs.set(JAVA_LONG, iov + (long) i * IoUringAbi.IOVEC_SIZE + IoUringAbi.IOVEC_BASE_OFFSET, s.address());
            iovecs.set(JAVA_LONG, iov + (long) i * IoUringAbi.IOVEC_SIZE + IoUringAbi.IOVEC_LEN_OFFSET, s.byteSize());
        }
        opcodes[slot] = op;
        bufIndexes[slot] = 0;
        rwFlags[slot] = rw;
        offsets[slot] = lba * blockBytes;
        addresses[slot] = iovecs.address() + iov;
        lengths[slot] = buffers.count();
        vectorBytes[slot] = buffers.totalBytes();
        return issue(slot);
    }

    @Override
    public boolean flush(long tag, IoCompletion completion) {
        if (gone()) return reject(Status.DEVICE_GONE, tag, completion);
        if (device.flushIsNoOp()) return reject(Status.OK, tag, completion); // answered next cycle, no fsync
        return submitControl(IoUringAbi.IORING_OP_FSYNC, 0, 0, 0, IoUringAbi.IORING_FSYNC_DATASYNC, tag, completion);
    }

    @Override
    public boolean discard(long lba, long blockCount, long tag, IoCompletion completion) {
        return fallocate(lba, blockCount, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, tag, completion);
    }

    @Override
    public boolean writeZeroes(long lba, long blockCount, long tag, IoCompletion completion) {
        return fallocate(lba, blockCount, Libc.FALLOC_FL_ZERO_RANGE | Libc.FALLOC_FL_KEEP_SIZE, tag, completion);
    }

    /** io_uring FALLOCATE: sqe.off is the offset, sqe.addr the length and sqe.len the mode (io_uring/sync.c). */
    private boolean fallocate(long lba, long blockCount, int mode, long tag, IoCompletion completion) {
        int status = gone() ? Status.DEVICE_GONE : device.readOnly() ? Status.READ_ONLY
                : Requests.checkRange(geometry, lba, blockCount);
        if (status != Status.OK) return reject(status, tag, completion);
        return submitControl(IoUringAbi.IORING_OP_FALLOCATE, lba * blockBytes, blockCount * blockBytes, mode, 0, tag, completion);
    }

    private boolean submitControl(byte op, long offset, long address, int length, int opFlags, long tag, IoCompletion completion) {
        int slot = slots.acquire(completion, tag);
        if (slot < 0) return false;
        opcodes[slot] = op;
        offsets[slot] = offset;
        addresses[slot] = address;
        lengths[slot] = length;
        bufIndexes[slot] = (short) opFlags; // control ops carry their op flags here
        if (!reactor.prepare(sink, op, sqeFlags, fdForSqe, offset, address, length, opFlags, slots.id(slot), (short) 0)) {
            slots.release(slot);
            return false;
        }
        return true;
    }

    private boolean issue(int slot) {
        byte op = opcodes[slot];
        boolean fixed = op == IoUringAbi.IORING_OP_READ_FIXED || op == IoUringAbi.IORING_OP_WRITE_FIXED;
        if (!reactor.prepare(sink, op, sqeFlags, fdForSqe, offsets[slot], addresses[slot], lengths[slot], rwFlags[slot],
                slots.id(slot), fixed ? bufIndexes[slot] : 0)) {
            slots.release(slot);
            return false;
        }
        return true;
    }

    /** Answers a request on the next cycle without the ring: refused, or a FLUSH with nothing to do. */
    private boolean reject(int status, long tag, IoCompletion completion) {
        if (reactor.deferredSpace() == 0) return false;
        int slot = slots.acquire(completion, tag);
        if (slot < 0) return false;
        opcodes[slot] = OP_NONE;
        reactor.completeLater(this, slot, status);
        return true;
    }

    private boolean gone() {
        return closed || device.closed();
    }

    // ------------------------------------------------------------------ completion

    @Override
    public void complete(long slot, int status) {
        finish((int) slot, status);
    }

    private void finish(int slot, int status) {
        slots.finish(slot, status);
        if (closed && slots.inUse() == 0) release();
    }

    @Override
    public void onRingCompletion(long userData48, int result, int flags) {
        int slot = slots.slotOf(userData48);
        if (result < 0) {
            finish(slot, Status.fromErrno(result));
            return;
        }
        byte op = opcodes[slot];
        switch (op) {
            case IoUringAbi.IORING_OP_READ, IoUringAbi.IORING_OP_WRITE, IoUringAbi.IORING_OP_READ_FIXED,
                 IoUringAbi.IORING_OP_WRITE_FIXED -> onTransfer(slot, result);
            case IoUringAbi.IORING_OP_READV, IoUringAbi.IORING_OP_WRITEV -> onVectorTransfer(slot, result);
            default -> finish(slot, Status.OK);
        }
    }

    private void onTransfer(int slot, int transferredBytes) {
        if (transferredBytes == lengths[slot]) {
            finish(slot, Status.OK);
            return;
        }
        if (transferredBytes == 0) { // end of file under a checked range: the file shrank
            finish(slot, Status.IO_ERROR);
            return;
        }
        offsets[slot] += transferredBytes;
        addresses[slot] += transferredBytes;
        lengths[slot] -= transferredBytes;
        if (!issue(slot)) finish(slot, Status.IO_ERROR);
    }

    private void onVectorTransfer(int slot, int transferredBytes) {
        if (transferredBytes == vectorBytes[slot]) {
            finish(slot, Status.OK);
            return;
        }
        if (transferredBytes == 0) {
            finish(slot, Status.IO_ERROR);
            return;
        }
        // Skip the iovecs (and the part of one) that were transferred, in place.
        long iov = addresses[slot] - iovecs.address();
        long left = transferredBytes;
        int count = lengths[slot];
        while (left > 0) {
            long len = iovecs.get(JAVA_LONG, iov + IoUringAbi.IOVEC_LEN_OFFSET);
            if (left < len) {
                iovecs.set(JAVA_LONG, iov + IoUringAbi.IOVEC_BASE_OFFSET, iovecs.get(JAVA_LONG, iov) + left);
                iovecs.set(JAVA_LONG, iov + IoUringAbi.IOVEC_LEN_OFFSET, len - left);
                break;
            }
            left -= len;
            iov += IoUringAbi.IOVEC_SIZE;
            count--;
        }
        offsets[slot] += transferredBytes;
        addresses[slot] = iovecs.address() + iov;
        lengths[slot] = count;
        vectorBytes[slot] -= transferredBytes;
        if (!issue(slot)) finish(slot, Status.IO_ERROR);
    }

    /** Closes the channel: new requests get DEVICE_GONE; requests in flight still complete. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (slots.inUse() == 0) release();
    }

    /** Gives the sink and file slot back; only once nothing is in flight. Called on the owner thread. */
    private void release() {
        if (released) return;
        released = true;
        reactor.removeSink(sink);
        if (fileSlot >= 0) reactor.unregisterFile(fileSlot);
        arena.close();
    }
}
