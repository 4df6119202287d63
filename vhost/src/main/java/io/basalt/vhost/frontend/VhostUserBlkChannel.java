package io.basalt.vhost.frontend;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.Requests;
import io.basalt.engine.Status;
import io.basalt.shims.Errno;
import io.basalt.shims.IoUringAbi;
import io.basalt.shims.Libc;
import io.basalt.vhost.blk.VirtioBlk;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * One reactor's channel to a vhost-user-blk drive: it owns one ring. A request takes a slot, its data is copied
 * into the slot's bounce area in the shared memory (writes) or out of it on completion (reads), and its
 * descriptors (header, data, status) go on the ring; kicks are batched to one per reactor cycle and sent only
 * when the device wants them. Completions are found by polling the used ring every cycle; while requests are in
 * flight an 8-byte read of the call eventfd stays armed in the reactor's ring, so a sleeping reactor wakes when
 * the device signals. No allocation after construction.
 */
final class VhostUserBlkChannel implements BlockChannel, Reactor.Poller, Reactor.RingSink {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final MemorySegment ONE = Arena.global().allocateFrom(ValueLayout.JAVA_LONG, 1L);
    /** Status byte before the device writes it: a device that completes without writing leaves a non-status. */
    private static final byte STATUS_UNSET = (byte) 0xFF;
    private static final int OP_READ = 0, OP_WRITE = 1, OP_WRITE_FUA = 2, OP_FLUSH = 3, OP_DISCARD = 4, OP_WRITE_ZEROES = 5;

    private final VhostUserBlkDevice device;
    private final Reactor reactor;
    private final FrontendQueue queue;
    private final DriverRing ring;
    private final Geometry geometry;
    private final int blockBytes;
    private final long sectorsPerBlock;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment callBuffer;
    private final int sinkIndex;

    private final boolean[] inFlightSlot;
    private final long[] tags;
    private final IoCompletion[] completions;
    private final int[] ops;
    private final int[] bytes;
    private final MemorySegment[][] buffers;
    private final int[] bufferCounts;
    private final int[] freeSlots;
    private int freeCount;
    private int inFlight;
    private boolean kickPending, callArmed, callBroken, closed, detached, failed;

    VhostUserBlkChannel(VhostUserBlkDevice device, Reactor reactor, FrontendQueue queue) {
        this.device = device;
        this.reactor = reactor;
        this.queue = queue;
        this.ring = queue.ring;
        this.geometry = device.geometry();
        this.blockBytes = geometry.logicalBlockBytes();
        this.sectorsPerBlock = blockBytes / BackendConfig.SECTOR_BYTES;
        int slots = queue.slots;
        this.inFlightSlot = new boolean[slots];
        this.tags = new long[slots];
        this.completions = new IoCompletion[slots];
        this.ops = new int[slots];
        this.bytes = new int[slots];
        this.buffers = new MemorySegment[slots][];
        for (int s = 0; s < slots; s++) buffers[s] = new MemorySegment[geometry.maxSegments()];
        this.bufferCounts = new int[slots];
        this.freeSlots = new int[slots];
        for (int s = 0; s < slots; s++) freeSlots[freeCount++] = slots - 1 - s;
        this.callBuffer = arena.allocate(8, 8);
        this.sinkIndex = reactor.addSink(this);
        reactor.addPoller(this);
    }

    @Override public BlockDevice device() { return device; }
    @Override public int inFlight() { return inFlight; }
    @Override public int queueDepthMax() { return queue.slots; }

    // ------------------------------------------------------------------ submission

    @Override
    public boolean read(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
        int status = checkBuffer(lba, blockCount, buffer, false);
        if (status != Status.OK) return refuse(tag, completion, status);
        int slot = takeSlot(tag, completion, OP_READ, blockCount);
        if (slot < 0) return false;
        buffers[slot][0] = buffer;
        bufferCounts[slot] = 1;
        post(slot, VirtioBlk.T_IN, lba);
        return true;
    }

    @Override
    public boolean write(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
        int status = checkBuffer(lba, blockCount, buffer, true);
        if (status != Status.OK) return refuse(tag, completion, status);
        int slot = takeSlot(tag, completion, OP_WRITE, blockCount);
        if (slot < 0) return false;
        MemorySegment.copy(buffer, 0, queue.bounce[slot], 0, buffer.byteSize());
        post(slot, VirtioBlk.T_OUT, lba);
        return true;
    }

    @Override
    public boolean readv(long lba, int blockCount, IoVector vector, long tag, IoCompletion completion) {
        int status = checkVector(lba, blockCount, vector, false);
        if (status != Status.OK) return refuse(tag, completion, status);
        int slot = takeSlot(tag, completion, OP_READ, blockCount);
        if (slot < 0) return false;
        for (int i = 0; i < vector.count(); i++) buffers[slot][i] = vector.segment(i);
        bufferCounts[slot] = vector.count();
        post(slot, VirtioBlk.T_IN, lba);
        return true;
    }

    @Override
    public boolean writev(long lba, int blockCount, IoVector vector, int flags, long tag, IoCompletion completion) {
        if ((flags & ~WRITE_FLAGS_KNOWN) != 0) return refuse(tag, completion, Status.INVALID);
        int status = checkVector(lba, blockCount, vector, true);
        if (status != Status.OK) return refuse(tag, completion, status);
        // virtio-blk has no FUA bit: a FUA write is the write, then a FLUSH from the same slot (stronger, as allowed).
        boolean fua = (flags & WRITE_FUA) != 0 && device.config().flush();
        int slot = takeSlot(tag, completion, fua ? OP_WRITE_FUA : OP_WRITE, blockCount);
        if (slot < 0) return false;
        long at = 0;
        for (int i = 0; i < vector.count(); i++) {
            MemorySegment s = vector.segment(i);
            MemorySegment.copy(s, 0, queue.bounce[slot], at, s.byteSize());
            at += s.byteSize();
        }
        post(slot, VirtioBlk.T_OUT, lba);
        return true;
    }

    @Override
    public boolean flush(long tag, IoCompletion completion) {
        if (closed || device.gone() || failed) return refuse(tag, completion, Status.DEVICE_GONE);
        // Without VIRTIO_BLK_F_FLUSH the device is write-through (virtio 5.2.6.2): nothing to do.
        if (!device.config().flush()) return refuse(tag, completion, Status.OK);
        int slot = takeSlot(tag, completion, OP_FLUSH, 0);
        if (slot < 0) return false;
        post(slot, VirtioBlk.T_FLUSH, 0);
        return true;
    }

    @Override
    public boolean discard(long lba, long blockCount, long tag, IoCompletion completion) {
        return range(OP_DISCARD, lba, blockCount, tag, completion);
    }

    @Override
    public boolean writeZeroes(long lba, long blockCount, long tag, IoCompletion completion) {
        return range(OP_WRITE_ZEROES, lba, blockCount, tag, completion);
    }

    private boolean range(int op, long lba, long blockCount, long tag, IoCompletion completion) {
        boolean discard = op == OP_DISCARD;
        int status = checkCommon(lba, blockCount, true);
        if (status == Status.OK && !(discard ? geometry.capabilities().discard() : geometry.capabilities().writeZeroes())) status = Status.UNSUPPORTED;
        long sectorsMax = discard ? device.config().discardSectorsMax() : device.config().writeZeroesSectorsMax();
        if (status == Status.OK && blockCount * sectorsPerBlock > sectorsMax) status = Status.INVALID; // one range per request
        if (status != Status.OK) return refuse(tag, completion, status);
        int slot = takeSlot(tag, completion, op, 0);
        if (slot < 0) return false;
        MemorySegment meta = queue.meta[slot];
        meta.set(U64, FrontendQueue.RANGE_OFFSET + VirtioBlk.DiscardSegment.SECTOR_OFFSET, lba * sectorsPerBlock);
        meta.set(U32, FrontendQueue.RANGE_OFFSET + VirtioBlk.DiscardSegment.NUM_SECTORS_OFFSET, (int) (blockCount * sectorsPerBlock));
        meta.set(U32, FrontendQueue.RANGE_OFFSET + VirtioBlk.DiscardSegment.FLAGS_OFFSET,
                !discard && geometry.capabilities().writeZeroesUnmaps() ? VirtioBlk.DiscardSegment.FLAG_UNMAP : 0);
        post(slot, discard ? VirtioBlk.T_DISCARD : VirtioBlk.T_WRITE_ZEROES, 0);
        return true;
    }

    // ------------------------------------------------------------------ checks

    private int checkCommon(long lba, long blockCount, boolean writes) {
        if (closed || device.gone() || failed) return Status.DEVICE_GONE;
        int range = geometry.checkRange(lba, blockCount);
        if (range != Status.OK) return range;
        if (writes && device.config().readOnly()) return Status.READ_ONLY;
        return Status.OK;
    }

    /** Gone or read-only first, then the checks every backend makes (engine's {@link Requests}). */
    private int checkBuffer(long lba, int blockCount, MemorySegment buffer, boolean writes) {
        int status = checkCommon(lba, blockCount, writes);
        return status != Status.OK ? status : Requests.check(geometry, lba, blockCount, buffer);
    }

    private int checkVector(long lba, int blockCount, IoVector vector, boolean writes) {
        int status = checkCommon(lba, blockCount, writes);
        return status != Status.OK ? status : Requests.check(geometry, lba, blockCount, vector);
    }

    /** Completes a request on the next cycle without touching the ring; false (busy) when the deferred queue is full. */
    private boolean refuse(long tag, IoCompletion completion, int status) {
        if (reactor.deferredSpace() == 0) return false;
        reactor.completeLater(completion, tag, status);
        return true;
    }

    // ------------------------------------------------------------------ the ring

    private int takeSlot(long tag, IoCompletion completion, int op, int blockCount) {
        if (freeCount == 0) return -1;
        int slot = freeSlots[--freeCount];
        inFlightSlot[slot] = true;
        tags[slot] = tag;
        completions[slot] = completion;
        ops[slot] = op;
        bytes[slot] = blockCount * blockBytes;
        inFlight++;
        return slot;
    }

    /** Writes the header and the descriptors of the slot's request, and makes it available. */
    private void post(int slot, int type, long lba) {
        MemorySegment meta = queue.meta[slot];
        VirtioBlk.RequestHeader.type(meta, type);
        VirtioBlk.RequestHeader.reserved(meta, 0);
        VirtioBlk.RequestHeader.sector(meta, lba * sectorsPerBlock);
        meta.set(ValueLayout.JAVA_BYTE, FrontendQueue.STATUS_OFFSET, STATUS_UNSET);
        long metaGpa = queue.metaGpa[slot];
        ring.begin(slot);
        ring.add(slot, metaGpa + FrontendQueue.HEADER_OFFSET, VirtioBlk.RequestHeader.SIZE, false);
        if (type == VirtioBlk.T_DISCARD || type == VirtioBlk.T_WRITE_ZEROES) {
            ring.add(slot, metaGpa + FrontendQueue.RANGE_OFFSET, VirtioBlk.DiscardSegment.SIZE, false);
        } else if (type != VirtioBlk.T_FLUSH) {
            int chunk = device.chunkBytes();
            long gpa = queue.bounceGpa[slot];
            for (int at = 0; at < bytes[slot]; at += chunk) ring.add(slot, gpa + at, Math.min(chunk, bytes[slot] - at), type == VirtioBlk.T_IN);
        }
        ring.add(slot, metaGpa + FrontendQueue.STATUS_OFFSET, 1, true);
        ring.publish(slot);
        kickPending = true;
    }

    // ------------------------------------------------------------------ the reactor's side

    @Override
    public int poll(long nowNs) {
        if (detached) return 0;
        int work = 0;
        if (!failed && device.gone()) work += failAll(Status.DEVICE_GONE);
        if (!failed) {
            work += reap();
            // A completion may have closed this channel, and its detach may have unmapped the rings (the device closed
            // meanwhile on another thread): touch nothing of them after that.
            if (detached) return work;
            if (kickPending) {
                kickPending = false;
                if (ring.kickNeeded()) Libc.write(queue.kickFd, ONE, 8);
            }
        }
        if (!callArmed && !callBroken && !closed && inFlight > 0) armCall();
        if (closed && inFlight == 0 && !callArmed) detach();
        return work;
    }

    private int reap() {
        int n = 0;
        while (inFlight > 0) {
            int slot = ring.takeUsed(inFlightSlot);
            if (slot == DriverRing.GARBAGE) return n + failAll(Status.IO_ERROR);
            if (slot == DriverRing.NONE) {
                if (inFlight == 0 || !ring.armInterrupt()) break;
                continue;
            }
            n++;
            completeSlot(slot);
            if (detached) break; // see poll: the ring may be gone
        }
        return n;
    }

    private void completeSlot(int slot) {
        int deviceStatus = queue.meta[slot].get(ValueLayout.JAVA_BYTE, FrontendQueue.STATUS_OFFSET) & 0xFF;
        int status = switch (deviceStatus) {
            case VirtioBlk.S_OK -> Status.OK;
            case VirtioBlk.S_UNSUPP -> Status.UNSUPPORTED;
            default -> Status.IO_ERROR; // S_IOERR, or a status the device never wrote
        };
        int op = ops[slot];
        if (status == Status.OK && op == OP_WRITE_FUA) {
            ops[slot] = OP_FLUSH;
            post(slot, VirtioBlk.T_FLUSH, 0);
            return;
        }
        if (status == Status.OK && op == OP_READ) copyOut(slot);
        finish(slot, status);
    }

    private void copyOut(int slot) {
        long at = 0;
        MemorySegment[] segs = buffers[slot];
        for (int i = 0; i < bufferCounts[slot]; i++) {
            MemorySegment s = segs[i];
            MemorySegment.copy(queue.bounce[slot], at, s, 0, s.byteSize());
            at += s.byteSize();
        }
    }

    /** Frees the slot, then calls the completion (which may submit again and take the slot). */
    private void finish(int slot, int status) {
        long tag = tags[slot];
        IoCompletion completion = completions[slot];
        completions[slot] = null;
        MemorySegment[] segs = buffers[slot];
        for (int i = 0; i < bufferCounts[slot]; i++) segs[i] = null;
        bufferCounts[slot] = 0;
        inFlightSlot[slot] = false;
        freeSlots[freeCount++] = slot;
        inFlight--;
        completion.complete(tag, status);
    }

    /**
     * The ring can no longer be trusted (the back-end is gone, or it broke the ring): every request in flight
     * completes with {@code status} and the channel takes no more (DEVICE_GONE from now on).
     */
    private int failAll(int status) {
        failed = true;
        kickPending = false;
        int n = 0;
        for (int slot = 0; slot < inFlightSlot.length; slot++) {
            if (inFlightSlot[slot]) {
                n++;
                finish(slot, status);
            }
        }
        return n;
    }

    private void armCall() {
        callArmed = reactor.prepare(sinkIndex, IoUringAbi.IORING_OP_READ, (byte) 0, queue.callFd, 0, callBuffer.address(), 8, 0, 0, (short) 0);
    }

    @Override
    public void onRingCompletion(long userData48, int result, int flags) {
        callArmed = false;
        if (result < 0 && result != -Errno.EINTR && result != -Errno.EAGAIN) callBroken = true; // fall back to polling
    }

    @Override
    public boolean needsPolling() {
        return !detached && (kickPending || closed || (inFlight > 0 && !callArmed));
    }

    // ------------------------------------------------------------------ closing

    /** Requests in flight still complete; the ring is handed back once they have and the call read is done. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (callArmed) Libc.write(queue.callFd, ONE, 8); // completes our own armed read
        if (inFlight == 0 && !callArmed) detach();
    }

    private void detach() {
        if (detached) return;
        detached = true;
        reactor.removePoller(this);
        reactor.removeSink(sinkIndex);
        arena.close();
        device.release(queue);
    }
}
