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
import io.basalt.shims.Check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One I/O queue of an {@link NvmeTcpDevice} on its own connection, owned by one reactor. A command takes a slot
 * (its index is the CID); writes up to the in-capsule size go in the capsule, larger ones wait for R2T and go as
 * H2CData; reads come back as C2HData ({@link PduReader}). The connection closing, or a command older than
 * timeout_ms (checked in {@link #poll}), fails every command in flight with DEVICE_GONE and tells the device, which
 * reconnects; meanwhile every new request fails at once with DEVICE_GONE. Once the device has a new controller, the
 * channel's poll connects its qid again (blocking, on its reactor, as open does). Buffers are sent where they are (no copy);
 * the only allocation per request is a slice per H2CData PDU for writes past the in-capsule size.
 */
final class NvmeTcpChannel implements BlockChannel, TcpConnection.Receiver, Reactor.Poller {
    static final int SEGMENTS_MAX = 64;
    private static final int H2C_HEADERS_PER_SLOT = 8;
    private static final int RECV_BUFFER_BYTES = 64 * 1024;
    private static final int RECV_BUFFERS = 64;
    private static final int SEND_QUEUE_ENTRIES = 1024;
    private static final int H2C_HEADER_STRIDE = 32;
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
    private long maxH2cBytes;
    private TcpContext context;
    private TcpConnection connection;
    private PduReader reader;
    private boolean connectionOpen;
    private long generation;
    private long nextTimeoutCheckNs;
    final Slots slots;
    private final MemorySegment capsules;
    private final MemorySegment h2cHeaders;
    private final TcpConnection.SendDone sendDone = this::onSent;
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
        this.slots = new Slots(depth, SEGMENTS_MAX);
        Arena arena = Arena.ofAuto();
        this.capsules = arena.allocate((long) depth * CapsuleCmdPdu.BYTES, 64);
        this.h2cHeaders = arena.allocate((long) depth * H2C_HEADERS_PER_SLOT * H2C_HEADER_STRIDE, 64);
    }

    /** Moves a connected queue's fd onto this reactor: a fresh context, reader and connection. */
    private void attach(SyncQueue queue, long queueGeneration) {
        this.maxH2cBytes = Math.max(4096, queue.maxH2cDataBytes());
        this.context = TcpContext.open(reactor, TcpConfig.defaults().withRecvBuffers(RECV_BUFFER_BYTES, RECV_BUFFERS)
                .withSendQueue(SEND_QUEUE_ENTRIES, TcpConfig.IOV_MAX / 2));
        this.reader = new PduReader(this);
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

    @Override
    public boolean discard(long lba, long blockCount, long tag, IoCompletion completion) {
        int range = device.geometry().checkRange(lba, blockCount);
        return reject(range != Status.OK ? range : Status.UNSUPPORTED, tag, completion); // DSM: a later slice
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

    private boolean submit(int opcode, long lba, int blockCount, MemorySegment buffer, IoVector vector, int flags,
                           long tag, IoCompletion completion) {
        if (unusable()) return reject(Status.DEVICE_GONE, tag, completion);
        int check = validate(opcode, lba, blockCount, buffer, vector, flags);
        if (check != Status.OK) return reject(check, tag, completion);
        int slot = slots.take();
        if (slot < 0) return false;
        boolean moves = opcode == Opcodes.IO_READ || opcode == Opcodes.IO_WRITE;
        long bytes = moves ? (long) blockCount * blockBytes : 0;
        slots.fill(slot, opcode, tag, completion, buffer, vector, bytes, reactor.nowNs() + timeoutNs);
        boolean inCapsule = opcode == Opcodes.IO_WRITE && bytes <= inCapsuleBytes;
        MemorySegment capsule = capsules.asSlice((long) slot * CapsuleCmdPdu.BYTES, CapsuleCmdPdu.BYTES);
        int s = HostPdus.capsule(capsule, opcode, slot, nsid, bytes, inCapsule);
        if (opcode != Opcodes.IO_FLUSH) {
            Sqe.putU64(capsule, s + Sqe.CDW10_OFFSET, lba);
            int cdw12 = (blockCount - 1) | ((flags & WRITE_FUA) != 0 ? FUA_BIT : 0);
            Sqe.putU32(capsule, s + Sqe.CDW12_OFFSET, cdw12);
        }
        inFlight++;
        boolean ok = connection.send(capsule, slot, sendDone);
        if (ok && inCapsule) ok = sendData(slot, 0, bytes);
        if (!ok) tearDown(); // send queue full or closing: the queue is unusable, fail everything
        return true;
    }

    /** Closed, torn down, or its queue belongs to a controller that is gone: requests fail with DEVICE_GONE. */
    private boolean unusable() {
        return closed || gone || !device.isConnected() || device.generation() != generation;
    }

    /** CDW12 bit 30: Force Unit Access (NVM command set 1.0, figure 63). */
    private static final int FUA_BIT = 1 << 30;

    private int validate(int opcode, long lba, int blockCount, MemorySegment buffer, IoVector vector, int flags) {
        if (opcode == Opcodes.IO_FLUSH) return Status.OK;
        if ((flags & ~WRITE_FLAGS_KNOWN) != 0) return Status.INVALID;
        if (opcode == Opcodes.IO_WRITE_ZEROES) return device.geometry().checkRange(lba, blockCount);
        // The same checks, in the same order, as every other backend (the conformance suite's expectations).
        return buffer != null ? Requests.check(device.geometry(), lba, blockCount, buffer)
                : Requests.check(device.geometry(), lba, blockCount, vector);
    }

    /** Queues bytes [offset, offset + length) of a slot's buffers; false when the connection refused one. */
    private boolean sendData(int slot, long offsetBytes, long lengthBytes) {
        int n = slots.segmentCount(slot);
        long base = 0;
        for (int i = 0; i < n && lengthBytes > 0; i++) {
            MemorySegment seg = slots.segment(slot, i);
            long size = seg.byteSize();
            if (offsetBytes < base + size) {
                long from = offsetBytes - base;
                long take = Math.min(size - from, lengthBytes);
                MemorySegment part = from == 0 && take == size ? seg : seg.asSlice(from, take);
                if (!connection.send(part, slot, sendDone)) return false;
                offsetBytes += take;
                lengthBytes -= take;
            }
            base += size;
        }
        return true;
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
            MemorySegment header = h2cHeaders.asSlice(((long) cid * H2C_HEADERS_PER_SLOT + pdu) * H2C_HEADER_STRIDE,
                    io.basalt.nvmeof.tcp.DataPdu.BYTES);
            HostPdus.h2cData(header, cid, ttag, offsetBytes, take, take == lengthBytes);
            if (!connection.send(header, cid, sendDone) || !sendData(cid, offsetBytes, take)) {
                tearDown();
                return;
            }
            offsetBytes += take;
            lengthBytes -= take;
            pdu++;
        }
    }

    /** A command's end: its NVMe status mapped to the engine's. */
    void complete(int cid, int nvmeStatus) {
        if (!slots.busy(cid)) {
            protocolError("completion for CID " + cid + " not in flight");
            return;
        }
        IoCompletion completion = slots.completion(cid);
        long tag = slots.tag(cid);
        slots.release(cid);
        inFlight--;
        completion.complete(tag, StatusMap.toStatus(nvmeStatus));
    }

    void protocolError(String why) {
        System.err.println("nvme-tcp " + device.where() + " qid " + qid + ": " + why + "; closing the queue");
        tearDown();
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
                device.countTimeout();
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
