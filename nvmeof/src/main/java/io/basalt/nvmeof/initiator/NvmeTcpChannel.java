package io.basalt.nvmeof.initiator;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.Requests;
import io.basalt.engine.Status;
import io.basalt.engine.net.TcpConfig;
import io.basalt.engine.net.TcpConnection;
import io.basalt.engine.net.TcpContext;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Sqe;
import io.basalt.nvmeof.tcp.CapsuleCmdPdu;
import io.basalt.nvmeof.tcp.DataPdu;
import io.basalt.nvmeof.tcp.PduFlyweight;
import io.basalt.shims.Check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One I/O queue of an {@link NvmeTcpDevice} on its own connection, owned by one reactor. A command takes a slot
 * (its index is the CID); writes up to the in-capsule size go in the capsule, larger ones wait for R2T and go as
 * H2CData (a discard's Dataset Management range too, from the slot's own 16 bytes); reads come back as C2HData ({@link PduReader}). The connection closing, or a command older than
 * timeout_ms (checked in {@link #poll}), fails every command in flight with DEVICE_GONE and tells the device, which
 * reconnects; meanwhile every new request fails at once with DEVICE_GONE. Once the device has a new controller, the
 * channel's poll connects its qid again (blocking, on its reactor, as open does). Buffers are sent where they are (no copy);
 * every PDU header and digest has its place cut once per slot, so a request allocates nothing but, for a write past
 * the in-capsule size, a slice where an H2CData PDU starts or ends inside a caller's segment.
 *
 * <p>Digests ({@code digest=hd,dd}, {@link HostPdus}): HDGST on every CapsuleCmd and H2CData sent, DDGST after their
 * data; received ones are checked by {@link PduReader}. A bad header digest resets the queue (as a protocol error);
 * a bad data digest fails its command with IO_ERROR. Everything is counted in this qid's {@link InitiatorCounters}.
 */
final class NvmeTcpChannel implements BlockChannel, TcpConnection.Receiver, Reactor.Poller {
    static final int SEGMENTS_MAX = 64;
    private static final int H2C_HEADERS_PER_SLOT = 8;
    private static final int RECV_BUFFER_BYTES = 64 * 1024;
    private static final int RECV_BUFFERS = 64;
    private static final int SEND_QUEUE_ENTRIES = 1024;
    private static final int H2C_HEADER_STRIDE = 32;
    /** A CapsuleCmd header and its header digest (72 + 4 bytes), rounded up to 16. */
    private static final int CAPSULE_STRIDE = 80;
    private static final int DIGEST_STRIDE = 8;
    /** One Dataset Management range (NVM command set 1.0 figure 39), its fields, the largest length it holds. */
    private static final int DSM_RANGE_BYTES = 16;
    private static final int DSM_RANGE_ATTRIBUTES_OFFSET = 0;
    private static final int DSM_RANGE_LENGTH_OFFSET = 4;
    private static final int DSM_RANGE_LBA_OFFSET = 8;
    private static final long DSM_RANGE_BLOCKS_MAX = 0xFFFF_FFFFL;
    /** CDW11 bit 2: Attribute - Deallocate (AD). */
    private static final int DSM_DEALLOCATE = 1 << 2;
    /** The timeout scan runs this many times per timeout_ms (so a command fails at most 1/8 late, plus a cycle). */
    private static final int TIMEOUT_CHECKS_PER_PERIOD = 8;

    private final NvmeTcpDevice device;
    private final Reactor reactor;
    private final int qid;
    private final int nsid;
    private final int depth;
    private final int blockBytes;
    private final long inCapsuleBytes;
    private final long timeoutNs;
    private final int digests;
    private final InitiatorCounters counters;
    private final SegmentCrc32c crc = new SegmentCrc32c();
    private long maxH2cBytes;
    private TcpContext context;
    private TcpConnection connection;
    private PduReader reader;
    private boolean connectionOpen;
    private long generation;
    private long nextTimeoutCheckNs;
    final Slots slots;
    /** Per slot: its CapsuleCmd header (and HDGST), its in-capsule data's DDGST. */
    private final MemorySegment[] capsules;
    private final MemorySegment[] capsuleDigests;
    /** Per slot: its Dataset Management range (a discard's 16 bytes of data). */
    private final MemorySegment[] dsmRanges;
    /** Per slot and H2CData PDU of an R2T: its header (and HDGST), its DDGST. */
    private final MemorySegment[] h2cHeaders;
    private final MemorySegment[] h2cDigests;
    private final TcpConnection.SendDone sendDone = this::onSent;
    /** Made once: queues one piece of a slot's buffers (whole, or a slice where a range starts or ends inside it). */
    private final Slots.RangeSink sendPiece = (slot, seg, from, take, rangeOffset) ->
            this.connection.send(from == 0 && take == seg.byteSize() ? seg : seg.asSlice(from, take), slot, sendDone);
    /** Made once: adds one piece of a slot's buffers to the data digest. */
    private final Slots.RangeSink digestPiece = (slot, seg, from, take, rangeOffset) -> {
        this.crc.update(seg, from, take);
        return true;
    };
    private int inFlight;
    private boolean gone;
    private boolean closed;

    private NvmeTcpChannel(NvmeTcpDevice device, Reactor reactor, int qid) {
        this.device = device;
        this.reactor = reactor;
        this.qid = qid;
        this.nsid = device.nsid();
        this.depth = Math.min(device.queueDepth(), 0xFFFF);
        this.blockBytes = device.geometry().logicalBlockBytes();
        this.inCapsuleBytes = device.inCapsuleBytes();
        this.timeoutNs = device.timeoutNs();
        this.digests = device.digests();
        this.counters = device.counters(qid);
        this.slots = new Slots(depth, SEGMENTS_MAX);
        int hd = HostPdus.headerDigestBytes(digests);
        this.capsules = cut(depth, CAPSULE_STRIDE, CapsuleCmdPdu.BYTES + hd);
        this.capsuleDigests = cut(depth, DIGEST_STRIDE, PduFlyweight.DIGEST_BYTES);
        this.dsmRanges = cut(depth, DSM_RANGE_BYTES, DSM_RANGE_BYTES);
        this.h2cHeaders = cut(depth * H2C_HEADERS_PER_SLOT, H2C_HEADER_STRIDE, DataPdu.BYTES + hd);
        this.h2cDigests = cut(depth * H2C_HEADERS_PER_SLOT, DIGEST_STRIDE, PduFlyweight.DIGEST_BYTES);
    }

    /** {@code count} slices of {@code bytes} each, {@code strideBytes} apart in one allocation: cut once, reused. */
    private static MemorySegment[] cut(int count, int strideBytes, int bytes) {
        Check.that(bytes <= strideBytes, "a PDU part fits its stride", bytes);
        MemorySegment area = Arena.ofAuto().allocate((long) count * strideBytes, 64);
        MemorySegment[] slices = new MemorySegment[count];
        for (int i = 0; i < count; i++) slices[i] = area.asSlice((long) i * strideBytes, bytes);
        return slices;
    }

    /** Moves a connected queue's fd onto this reactor: a fresh context, reader and connection. */
    private void attach(SyncQueue queue, long queueGeneration) {
        this.maxH2cBytes = Math.max(4096, queue.maxH2cDataBytes());
        this.context = TcpContext.open(reactor, TcpConfig.defaults().withRecvBuffers(RECV_BUFFER_BYTES, RECV_BUFFERS)
                .withSendQueue(SEND_QUEUE_ENTRIES, TcpConfig.IOV_MAX / 2));
        this.reader = new PduReader(this, digests);
        int fd = queue.handOff();
        queue.close();
        this.connection = TcpConnection.open(context, fd, this);
        Check.that(connection != null, "a fresh TcpContext has room for a connection");
        this.generation = queueGeneration;
        this.connectionOpen = true;
        this.gone = false;
    }

    static NvmeTcpChannel open(NvmeTcpDevice device, Reactor reactor) {
        Check.that(reactor.isOwnerThread(), "openChannel on the reactor's thread");
        int qid = device.takeQid();
        NvmeTcpChannel channel = new NvmeTcpChannel(device, reactor, qid);
        try {
            long queueGeneration = device.generation();
            channel.attach(device.connectIoQueue(qid), queueGeneration);
        } catch (RuntimeException e) {
            device.releaseQid(qid);
            throw e;
        }
        reactor.addPoller(channel);
        return channel;
    }

    @Override public BlockDevice device() { return device; }
    @Override public int inFlight() { return inFlight; }
    @Override public int queueDepthMax() { return depth; }

    @Override
    public boolean read(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
        return submit(Opcodes.IO_READ, lba, blockCount, buffer, null, 0, tag, completion);
    }

    @Override
    public boolean write(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
        return submit(Opcodes.IO_WRITE, lba, blockCount, buffer, null, 0, tag, completion);
    }

    @Override
    public boolean readv(long lba, int blockCount, IoVector buffers, long tag, IoCompletion completion) {
        return submit(Opcodes.IO_READ, lba, blockCount, null, buffers, 0, tag, completion);
    }

    @Override
    public boolean writev(long lba, int blockCount, IoVector buffers, int flags, long tag, IoCompletion completion) {
        return submit(Opcodes.IO_WRITE, lba, blockCount, null, buffers, flags, tag, completion);
    }

    @Override
    public boolean flush(long tag, IoCompletion completion) {
        return submit(Opcodes.IO_FLUSH, 0, 0, null, null, 0, tag, completion);
    }

    /**
     * Dataset Management with the Deallocate attribute and one range, its 16 bytes from the slot's own range buffer
     * (in the capsule, or by R2T when the target takes no in-capsule data). A discard of more than a range's
     * 32-bit length is refused (INVALID) rather than split: no caller sends one (virtio-blk's max_discard_sectors
     * and an NVMe range are 32-bit too).
     */
    @Override
    public boolean discard(long lba, long blockCount, long tag, IoCompletion completion) {
        if (!device.geometry().capabilities().discard()) { // not in the target's ONCS: never sent
            int range = device.geometry().checkRange(lba, blockCount);
            return reject(unusable() ? Status.DEVICE_GONE : range != Status.OK ? range : Status.UNSUPPORTED, tag, completion);
        }
        if (blockCount > 0 && blockCount <= DSM_RANGE_BLOCKS_MAX) {
            return submit(Opcodes.IO_DATASET_MANAGEMENT, lba, blockCount, null, null, 0, tag, completion);
        }
        int range = device.geometry().checkRange(lba, blockCount);
        return reject(range != Status.OK ? range : Status.INVALID, tag, completion);
    }

    @Override
    public boolean writeZeroes(long lba, long blockCount, long tag, IoCompletion completion) {
        if (!device.geometry().capabilities().writeZeroes()) { // not in the target's ONCS: never sent
            int range = device.geometry().checkRange(lba, blockCount);
            return reject(unusable() ? Status.DEVICE_GONE : range != Status.OK ? range : Status.UNSUPPORTED, tag, completion);
        }
        if (blockCount > 0 && blockCount <= 0x10000) {
            return submit(Opcodes.IO_WRITE_ZEROES, lba, (int) blockCount, null, null, 0, tag, completion);
        }
        int range = device.geometry().checkRange(lba, blockCount);
        return reject(range != Status.OK ? range : Status.INVALID, tag, completion);
    }

    private boolean reject(int status, long tag, IoCompletion completion) {
        if (reactor.deferredSpace() == 0) return false;
        reactor.completeLater(completion, tag, status);
        return true;
    }

    private boolean submit(int opcode, long lba, long blockCount, MemorySegment buffer, IoVector vector, int flags,
                           long tag, IoCompletion completion) {
        if (unusable()) {
            if (!closed) counters.increment(InitiatorCounters.REJECTED_WHILE_GONE);
            return reject(Status.DEVICE_GONE, tag, completion);
        }
        int check = validate(opcode, lba, blockCount, buffer, vector, flags);
        if (check != Status.OK) return reject(check, tag, completion);
        int slot = slots.take();
        if (slot < 0) return false;
        boolean dsm = opcode == Opcodes.IO_DATASET_MANAGEMENT;
        long bytes = dsm ? DSM_RANGE_BYTES
                : opcode == Opcodes.IO_READ || opcode == Opcodes.IO_WRITE ? blockCount * blockBytes : 0;
        if (dsm) buffer = range(slot, lba, blockCount);
        slots.fill(slot, opcode, tag, completion, buffer, vector, bytes, reactor.nowNs() + timeoutNs);
        boolean inCapsule = (opcode == Opcodes.IO_WRITE || dsm) && bytes <= inCapsuleBytes;
        MemorySegment capsule = capsules[slot];
        int s = HostPdus.capsule(capsule, opcode, slot, nsid, bytes, inCapsule, digests);
        if (dsm) {
            Sqe.putU32(capsule, s + Sqe.CDW10_OFFSET, 0); // NR, 0's based: one range
            Sqe.putU32(capsule, s + Sqe.CDW11_OFFSET, DSM_DEALLOCATE);
        } else if (opcode != Opcodes.IO_FLUSH) {
            Sqe.putU64(capsule, s + Sqe.CDW10_OFFSET, lba);
            int cdw12 = (int) (blockCount - 1) | ((flags & WRITE_FUA) != 0 ? FUA_BIT : 0);
            Sqe.putU32(capsule, s + Sqe.CDW12_OFFSET, cdw12);
        }
        HostPdus.sealHeader(capsule, CapsuleCmdPdu.BYTES, digests, crc);
        inFlight++;
        counters.increment(InitiatorCounters.COMMANDS_SUBMITTED);
        boolean ok = connection.send(capsule, slot, sendDone);
        if (ok && inCapsule) ok = sendData(slot, 0, bytes) && sendDataDigest(capsuleDigests[slot], slot, 0, bytes);
        if (!ok) tearDown(); // send queue full or closing: the queue is unusable, fail everything
        return true;
    }

    /** Closed, torn down, or its queue belongs to a controller that is gone: requests fail with DEVICE_GONE. */
    private boolean unusable() {
        return closed || gone || !device.isConnected() || device.generation() != generation;
    }

    /** CDW12 bit 30: Force Unit Access (NVM command set 1.0, figure 63). */
    private static final int FUA_BIT = 1 << 30;

    /**
     * The slot's range buffer holding one Dataset Management range (NVM command set 1.0 figure 39: context attributes
     * u32, length in blocks u32, starting LBA u64), the command's data.
     */
    private MemorySegment range(int slot, long lba, long blockCount) {
        MemorySegment range = dsmRanges[slot];
        Sqe.putU32(range, DSM_RANGE_ATTRIBUTES_OFFSET, 0);
        Sqe.putU32(range, DSM_RANGE_LENGTH_OFFSET, (int) blockCount);
        Sqe.putU64(range, DSM_RANGE_LBA_OFFSET, lba);
        return range;
    }

    private int validate(int opcode, long lba, long blockCount, MemorySegment buffer, IoVector vector, int flags) {
        if (opcode == Opcodes.IO_FLUSH) return Status.OK;
        if ((flags & ~WRITE_FLAGS_KNOWN) != 0) return Status.INVALID;
        if (opcode == Opcodes.IO_WRITE_ZEROES || opcode == Opcodes.IO_DATASET_MANAGEMENT) {
            return device.geometry().checkRange(lba, blockCount);
        }
        // The same checks, in the same order, as every other backend (the conformance suite's expectations).
        return buffer != null ? Requests.check(device.geometry(), lba, (int) blockCount, buffer)
                : Requests.check(device.geometry(), lba, (int) blockCount, vector);
    }

    /** Queues bytes [offset, offset + length) of a slot's buffers; false when the connection refused one. */
    private boolean sendData(int slot, long offsetBytes, long lengthBytes) {
        return slots.forEachRange(slot, offsetBytes, lengthBytes, sendPiece);
    }

    /** With the data digest on, queues DDGST of bytes [offset, offset + length) of a slot's buffers (into {@code digest}). */
    private boolean sendDataDigest(MemorySegment digest, int slot, long offsetBytes, long lengthBytes) {
        if (HostPdus.dataDigestBytes(digests) == 0) return true;
        crc.reset();
        slots.forEachRange(slot, offsetBytes, lengthBytes, digestPiece);
        Sqe.putU32(digest, 0, crc.value());
        return connection.send(digest, slot, sendDone);
    }

    /** R2T for a slot: H2CData PDUs of at most MAXH2CDATA bytes each. */
    void onR2t(int cid, int ttag, long offsetBytes, long lengthBytes) {
        if (!slots.busy(cid) || offsetBytes + lengthBytes > slots.bytes(cid)) {
            protocolError("R2T for CID " + cid + " outside its command");
            return;
        }
        int pdu = 0;
        while (lengthBytes > 0) {
            long take = Math.min(lengthBytes, maxH2cBytes);
            if (pdu == H2C_HEADERS_PER_SLOT) {
                protocolError("R2T asks for more H2CData PDUs than a slot holds");
                return;
            }
            int index = cid * H2C_HEADERS_PER_SLOT + pdu;
            MemorySegment header = h2cHeaders[index];
            HostPdus.h2cData(header, cid, ttag, offsetBytes, take, take == lengthBytes, digests);
            HostPdus.sealHeader(header, DataPdu.BYTES, digests, crc);
            if (!connection.send(header, cid, sendDone) || !sendData(cid, offsetBytes, take)
                    || !sendDataDigest(h2cDigests[index], cid, offsetBytes, take)) {
                tearDown();
                return;
            }
            offsetBytes += take;
            lengthBytes -= take;
            pdu++;
        }
    }

    /**
     * A command's end: its NVMe status mapped to the engine's, or IO_ERROR when a data digest of its data was wrong
     * (the data in the caller's buffer is not what the target sent; Linux's host fails it the same way).
     */
    void complete(int cid, int nvmeStatus) {
        if (!slots.busy(cid)) {
            protocolError("completion for CID " + cid + " not in flight");
            return;
        }
        IoCompletion completion = slots.completion(cid);
        long tag = slots.tag(cid);
        int status = slots.dataDigestFailed(cid) ? Status.IO_ERROR : StatusMap.toStatus(nvmeStatus);
        count(cid, nvmeStatus, status);
        slots.release(cid);
        inFlight--;
        completion.complete(tag, status);
    }

    private void count(int cid, int nvmeStatus, int status) {
        counters.increment(InitiatorCounters.COMMANDS_COMPLETED);
        if (status == Status.OK) {
            int opcode = slots.opcode(cid);
            if (opcode == Opcodes.IO_READ) counters.add(InitiatorCounters.READ_BYTES, slots.bytes(cid));
            if (opcode == Opcodes.IO_WRITE) counters.add(InitiatorCounters.WRITTEN_BYTES, slots.bytes(cid));
        } else if (nvmeStatus == StatusMap.TRANSPORT_GONE) {
            counters.increment(InitiatorCounters.TRANSPORT_ERRORS);
        } else if (!slots.dataDigestFailed(cid)) {
            counters.increment(InitiatorCounters.STATUS_ERRORS);
        }
    }

    void protocolError(String why) {
        counters.increment(InitiatorCounters.PROTOCOL_ERRORS);
        System.err.println("nvme-tcp " + device.where() + " qid " + qid + ": " + why + "; closing the queue");
        tearDown();
    }

    /** A received header's digest was wrong: nothing after it can be trusted, the queue resets (as Linux's host). */
    void headerDigestError(String why) {
        counters.increment(InitiatorCounters.HEADER_DIGEST_ERRORS);
        System.err.println("nvme-tcp " + device.where() + " qid " + qid + ": header digest error, " + why
                + "; resetting the queue");
        tearDown();
    }

    /** A C2HData's data digest was wrong: its command will fail with IO_ERROR, the queue goes on. */
    void dataDigestError(int cid) {
        counters.increment(InitiatorCounters.DATA_DIGEST_ERRORS);
        slots.failDataDigest(cid);
    }

    private void onSent(long token, int status) {
        if (status < 0) tearDown();
    }

    /**
     * The queue is unusable: every command in flight completes now with DEVICE_GONE (nothing more from this
     * connection reaches a caller's buffer: onBytes ignores it), the connection closes, and the device resets.
     */
    private void tearDown() {
        if (gone) return;
        gone = true;
        if (!closed) counters.increment(InitiatorCounters.QUEUE_RESETS);
        for (int cid = 0; cid < depth; cid++) {
            if (slots.busy(cid)) complete(cid, StatusMap.TRANSPORT_GONE);
        }
        if (connectionOpen) connection.close(true);
        if (!closed) device.queueLost(generation);
    }

    /** Timeouts, a device reset seen from here, and re-establishing the queue after a reconnect. */
    @Override
    public int poll(long nowNs) {
        if (closed) return 0;
        if (!gone) {
            if (!device.isConnected() || device.generation() != generation) {
                tearDown();
                return 1;
            }
            if (nowNs < nextTimeoutCheckNs || inFlight == 0) return 0;
            nextTimeoutCheckNs = nowNs + Math.max(1, timeoutNs / TIMEOUT_CHECKS_PER_PERIOD);
            return checkTimeouts(nowNs);
        }
        if (connectionOpen || !device.isConnected() || device.generation() == generation) return 0;
        reestablish();
        return 1;
    }

    private int checkTimeouts(long nowNs) {
        for (int cid = 0; cid < depth; cid++) {
            if (slots.busy(cid) && nowNs - slots.deadlineNs(cid) >= 0) {
                counters.increment(InitiatorCounters.TIMEOUTS);
                System.err.println("nvme-tcp " + device.where() + " qid " + qid + ": CID " + cid + " not answered in "
                        + timeoutNs / 1_000_000 + " ms; resetting the queue");
                tearDown();
                return 1;
            }
        }
        return 0;
    }

    /** One attempt per controller generation; a failure resets the device again. */
    private void reestablish() {
        long queueGeneration = device.generation();
        generation = queueGeneration;
        try {
            attach(device.connectIoQueue(qid), queueGeneration);
        } catch (RuntimeException e) {
            System.err.println("nvme-tcp " + device.where() + " qid " + qid + ": reconnecting the I/O queue failed: "
                    + e.getMessage());
            device.queueLost(queueGeneration);
        }
    }

    @Override
    public boolean needsPolling() {
        return false;
    }

    @Override
    public void onBytes(MemorySegment buffer, int lengthBytes) {
        if (!gone) reader.consume(buffer, lengthBytes);
    }

    @Override
    public void onClosed(int status) {
        connectionOpen = false;
        tearDown();
        context.close();
        if (closed) finish();
    }

    private void finish() {
        reactor.removePoller(this);
        device.releaseQid(qid);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (connectionOpen) {
            connection.close(false);
        } else {
            finish();
        }
    }
}
