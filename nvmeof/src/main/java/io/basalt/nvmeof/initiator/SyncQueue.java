package io.basalt.nvmeof.initiator;

import io.basalt.nvmeof.nvme.Fabrics;
import io.basalt.nvmeof.nvme.NvmeStatus;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Sqe;
import io.basalt.nvmeof.tcp.CapsuleCmdPdu;
import io.basalt.nvmeof.tcp.CapsuleRespPdu;
import io.basalt.nvmeof.tcp.DataPdu;
import io.basalt.nvmeof.tcp.IcReqPdu;
import io.basalt.nvmeof.tcp.IcRespPdu;
import io.basalt.nvmeof.tcp.PduFlyweight;
import io.basalt.shims.Errno;
import io.basalt.shims.Libc;
import io.basalt.shims.TcpSocket;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One queue's connection driven with blocking read/write, for the control path: the admin queue for its whole
 * life (Property Get/Set, Identify, Set Features, Keep Alive) and each I/O queue until its Fabrics Connect is done,
 * when the fd moves to a reactor. One command at a time; callers serialize (synchronized). Digests as the spec asks
 * ({@link HostPdus}): a header digest error ends the queue, as on an I/O queue; a data digest error fails the
 * command (here: throws, which ends the queue too, since the caller cannot use a half-read Identify page).
 */
final class SyncQueue implements AutoCloseable {
    /** How long one PDU may take to arrive before the queue is given up (milliseconds). */
    static final int RESPONSE_TIMEOUT_MS = 10_000;
    private static final int PDU_AREA_BYTES = 8192;
    private static final int HEADER_MAX_BYTES = 128;

    private final String where;
    private final int fd;
    private final int digests;
    private final InitiatorCounters counters;
    private final SegmentCrc32c crc = new SegmentCrc32c();
    private final Arena arena = Arena.ofShared();
    private final MemorySegment out = arena.allocate(PDU_AREA_BYTES, 64);
    private final MemorySegment in = arena.allocate(HEADER_MAX_BYTES, 64);
    private final MemorySegment scratch = arena.allocate(PDU_AREA_BYTES, 64);
    private int nextCid;
    private long lastDw0;
    private long maxH2cDataBytes;
    private boolean fdHandedOff;
    private boolean closed;

    private SyncQueue(String where, int fd, int digests, InitiatorCounters counters) {
        this.where = where;
        this.fd = fd;
        this.digests = digests;
        this.counters = counters;
    }

    /** Connects and exchanges ICReq/ICResp; digest errors count in {@code counters} (the calling thread's). */
    /**
     * A target host that is gone answers no SYN, and a plain blocking connect would wait out the kernel's retries
     * (about two minutes) on the control thread or, for an I/O queue, on a reactor. A live listener answers within an
     * RTT; 3 s covers a lost SYN resent after the 1 s initial RTO.
     */
    static final int CONNECT_TIMEOUT_MS = 3000;

    static SyncQueue connect(NvmeTcpSpec spec, InitiatorCounters counters) {
        int fd = TcpSocket.connect(spec.host(), spec.port(), CONNECT_TIMEOUT_MS);
        if (fd < 0) throw new IllegalArgumentException("nvme-tcp " + spec.where() + ": cannot connect: " + Errno.name(fd));
        SyncQueue q = new SyncQueue(spec.where(), fd, spec.digests(), counters);
        try {
            q.initialize();
            return q;
        } catch (RuntimeException e) {
            q.close();
            throw e;
        }
    }

    private void initialize() {
        HostPdus.icReq(out, digests);
        writeFully(out, IcReqPdu.BYTES);
        readFully(in, 0, IcRespPdu.BYTES > HEADER_MAX_BYTES ? HEADER_MAX_BYTES : IcRespPdu.BYTES);
        IcRespPdu resp = new IcRespPdu();
        resp.wrap(in);
        if (resp.type() != PduFlyweight.TYPE_IC_RESP) throw fail("expected ICResp, got PDU type " + resp.type());
        int granted = resp.digest() & (IcReqPdu.DIGEST_HEADER | IcReqPdu.DIGEST_DATA);
        checkDigest(granted, IcReqPdu.DIGEST_HEADER, "header digest (digest=hd)");
        checkDigest(granted, IcReqPdu.DIGEST_DATA, "data digest (digest=dd)");
        if (resp.cpda() != 0) {
            throw fail("the target asks for CPDA " + resp.cpda() + " (data aligned to " + (resp.cpda() + 1) * 4
                    + " bytes), which this initiator does not do (as Linux's host)");
        }
        maxH2cDataBytes = resp.maxH2cData();
    }

    /** ICResp must grant exactly the digests ICReq asked for (Linux's host refuses a mismatch either way). */
    private void checkDigest(int granted, int bit, String what) {
        if ((digests & bit) != 0 && (granted & bit) == 0) throw fail("the target refused the " + what + " asked for");
        if ((digests & bit) == 0 && (granted & bit) != 0) throw fail("the target turned on the " + what + ", not asked for");
    }

    long maxH2cDataBytes() { return maxH2cDataBytes; }
    long lastDw0() { return lastDw0; }
    String where() { return where; }

    /** Fabrics Connect for {@code qid}: returns the controller id the target gave (dw0 bits 15:0). */
    synchronized int fabricsConnect(int qid, int sqsize0, int katoMs, int cntlid, String subNqn, String hostNqn,
                                    MemorySegment hostId) {
        MemorySegment data = scratch.asSlice(0, Fabrics.CONNECT_DATA_BYTES);
        data.fill((byte) 0);
        MemorySegment.copy(hostId, 0, data, Fabrics.DATA_HOSTID_OFFSET, Fabrics.HOSTID_BYTES);
        Sqe.putU16(data, Fabrics.DATA_CNTLID_OFFSET, cntlid);
        Fabrics.putNqn(data, Fabrics.DATA_SUBNQN_OFFSET, subNqn);
        Fabrics.putNqn(data, Fabrics.DATA_HOSTNQN_OFFSET, hostNqn);
        int s = HostPdus.capsule(out, Opcodes.FABRICS, cid(), 0, Fabrics.CONNECT_DATA_BYTES, true, digests);
        Sqe.putU8(out, s + Fabrics.FCTYPE_OFFSET, Opcodes.FCTYPE_CONNECT);
        Sqe.putU16(out, s + Fabrics.CONNECT_QID_OFFSET, qid);
        Sqe.putU16(out, s + Fabrics.CONNECT_SQSIZE_OFFSET, sqsize0);
        Sqe.putU32(out, s + Fabrics.CONNECT_KATO_OFFSET, katoMs);
        int pdo = CapsuleCmdPdu.BYTES + HostPdus.headerDigestBytes(digests);
        MemorySegment.copy(data, 0, out, pdo, Fabrics.CONNECT_DATA_BYTES);
        int end = pdo + Fabrics.CONNECT_DATA_BYTES;
        if (HostPdus.dataDigestBytes(digests) > 0) {
            Sqe.putU32(out, end, crc.of(out, pdo, Fabrics.CONNECT_DATA_BYTES));
            end += PduFlyweight.DIGEST_BYTES;
        }
        int status = exchange(end, null);
        if (status != NvmeStatus.SUCCESS) {
            throw new ConnectRefused("nvme-tcp " + where + ": Fabrics Connect (qid " + qid + ", host " + hostNqn + ") refused: "
                    + NvmeStatus.describe(status), status);
        }
        return (int) (lastDw0 & 0xFFFF);
    }

    synchronized long propertyGet(int offset, boolean eightBytes) {
        int s = HostPdus.capsule(out, Opcodes.FABRICS, cid(), 0, 0, false, digests);
        Sqe.putU8(out, s + Fabrics.FCTYPE_OFFSET, Opcodes.FCTYPE_PROPERTY_GET);
        Sqe.putU8(out, s + Fabrics.PROPERTY_ATTRIB_OFFSET, eightBytes ? Fabrics.PROPERTY_SIZE_8 : 0);
        Sqe.putU32(out, s + Fabrics.PROPERTY_OFFSET_OFFSET, offset);
        int status = exchange(CapsuleCmdPdu.BYTES + HostPdus.headerDigestBytes(digests), null);
        if (status != NvmeStatus.SUCCESS) throw fail("Property Get 0x" + Integer.toHexString(offset) + ": " + NvmeStatus.describe(status));
        return lastDw0 | (lastDw1 << 32);
    }

    synchronized void propertySet(int offset, long value) {
        int s = HostPdus.capsule(out, Opcodes.FABRICS, cid(), 0, 0, false, digests);
        Sqe.putU8(out, s + Fabrics.FCTYPE_OFFSET, Opcodes.FCTYPE_PROPERTY_SET);
        Sqe.putU32(out, s + Fabrics.PROPERTY_OFFSET_OFFSET, offset);
        Sqe.putU64(out, s + Fabrics.PROPERTY_VALUE_OFFSET, value);
        int status = exchange(CapsuleCmdPdu.BYTES + HostPdus.headerDigestBytes(digests), null);
        if (status != NvmeStatus.SUCCESS) throw fail("Property Set 0x" + Integer.toHexString(offset) + ": " + NvmeStatus.describe(status));
    }

    /** An admin command with no data or with {@code dataIn} read back; returns its NVMe status. */
    synchronized int admin(int opcode, int nsid, int cdw10, int cdw11, MemorySegment dataIn) {
        long bytes = dataIn == null ? 0 : dataIn.byteSize();
        int s = HostPdus.capsule(out, opcode, cid(), nsid, bytes, false, digests);
        Sqe.putU32(out, s + Sqe.CDW10_OFFSET, cdw10);
        Sqe.putU32(out, s + Sqe.CDW11_OFFSET, cdw11);
        return exchange(CapsuleCmdPdu.BYTES + HostPdus.headerDigestBytes(digests), dataIn);
    }

    private long lastDw1;

    private int cid() {
        nextCid = (nextCid + 1) & 0xFFFF;
        return nextCid;
    }

    /** Sends the capsule in {@code out} (its header digest added here) and reads PDUs until its response (C2HData into dataIn). */
    private int exchange(int capsuleBytes, MemorySegment dataIn) {
        HostPdus.sealHeader(out, CapsuleCmdPdu.BYTES, digests, crc);
        writeFully(out, capsuleBytes);
        int hd = HostPdus.headerDigestBytes(digests);
        while (true) {
            readFully(in, 0, PduFlyweight.COMMON_HEADER_BYTES);
            int type = Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, PduFlyweight.TYPE_OFFSET));
            int flags = Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, PduFlyweight.FLAGS_OFFSET));
            int hlen = Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, PduFlyweight.HLEN_OFFSET));
            int pdo = Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, PduFlyweight.PDO_OFFSET));
            long plen = Integer.toUnsignedLong(Sqe.u32(in, PduFlyweight.PLEN_OFFSET));
            if (hlen + hd > HEADER_MAX_BYTES || hlen < PduFlyweight.COMMON_HEADER_BYTES) throw fail("PDU with hlen " + hlen);
            readFully(in, PduFlyweight.COMMON_HEADER_BYTES, hlen + hd - PduFlyweight.COMMON_HEADER_BYTES);
            checkHeaderDigest(type, flags, hlen);
            if (type == PduFlyweight.TYPE_CAPSULE_RESP) {
                skip(plen - hlen - hd);
                lastDw0 = Integer.toUnsignedLong(Sqe.u32(in, CapsuleRespPdu.DW0_OFFSET));
                lastDw1 = Integer.toUnsignedLong(Sqe.u32(in, CapsuleRespPdu.DW1_OFFSET));
                return Sqe.u16(in, CapsuleRespPdu.STATUS_OFFSET) >>> 1;
            }
            if (type != PduFlyweight.TYPE_C2H_DATA || dataIn == null) throw fail("unexpected PDU type " + type);
            readData(dataIn, hlen + hd, pdo, plen);
            if ((flags & PduFlyweight.FLAG_DATA_SUCCESS) != 0) {
                lastDw0 = 0;
                lastDw1 = 0;
                return NvmeStatus.SUCCESS;
            }
        }
    }

    /** With the header digest on: the PDU must carry it (HDGSTF) and it must match; a mismatch ends the queue. */
    private void checkHeaderDigest(int type, int flags, int hlen) {
        if ((digests & IcReqPdu.DIGEST_HEADER) == 0 || type == PduFlyweight.TYPE_C2H_TERM_REQ) return;
        if ((flags & PduFlyweight.FLAG_HDGST) == 0) throw fail("PDU type " + type + " without its header digest (HDGSTF clear)");
        if (Sqe.u32(in, hlen) != crc.of(in, 0, hlen)) {
            counters.increment(InitiatorCounters.HEADER_DIGEST_ERRORS);
            throw fail("header digest error on a PDU of type " + type + "; closing the queue");
        }
    }

    /** A C2HData's data (after the header and its digest, at PDO) into dataIn, its data digest checked. */
    private void readData(MemorySegment dataIn, int headerEnd, int pdo, long plen) {
        long offset = Integer.toUnsignedLong(Sqe.u32(in, DataPdu.DATAO_OFFSET));
        long length = Integer.toUnsignedLong(Sqe.u32(in, DataPdu.DATAL_OFFSET));
        if (offset + length > dataIn.byteSize()) throw fail("C2HData beyond the command's data");
        int dd = length > 0 ? HostPdus.dataDigestBytes(digests) : 0;
        skip(Math.max(0, pdo - headerEnd));
        readFully(dataIn, offset, length);
        skip(plen - Math.max(pdo, headerEnd) - length - dd);
        if (dd > 0) {
            readFully(in, 0, PduFlyweight.DIGEST_BYTES);
            if (Sqe.u32(in, 0) != crc.of(dataIn, offset, length)) {
                counters.increment(InitiatorCounters.DATA_DIGEST_ERRORS);
                throw fail("data digest error in C2HData; the command fails and the queue closes");
            }
        }
    }

    private void skip(long bytes) {
        while (bytes > 0) {
            int n = (int) Math.min(bytes, scratch.byteSize());
            readFully(scratch, 0, n);
            bytes -= n;
        }
    }

    private void writeFully(MemorySegment from, long bytes) {
        long done = 0;
        while (done < bytes) {
            long n = Libc.write(fd, from.asSlice(done), bytes - done);
            if (n == -Errno.EINTR) continue;
            if (n < 0) throw fail("send failed: " + Errno.name((int) n));
            done += n;
        }
    }

    private void readFully(MemorySegment into, long offset, long bytes) {
        long done = 0;
        while (done < bytes) {
            int ready = Libc.poll(fd, Libc.POLLIN, RESPONSE_TIMEOUT_MS);
            if (ready == -Errno.EINTR) continue;
            if (ready == 0) throw fail("no answer within " + RESPONSE_TIMEOUT_MS + " ms");
            long n = Libc.read(fd, into.asSlice(offset + done), bytes - done);
            if (n == -Errno.EINTR) continue;
            if (n == 0) throw fail("the target closed the connection");
            if (n < 0) throw fail("receive failed: " + Errno.name((int) n));
            done += n;
        }
    }

    /** Fabrics Connect answered with an error status (kept, so a caller can tell a busy qid from a refusal). */
    static final class ConnectRefused extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        final int status;

        ConnectRefused(String message, int status) {
            super(message);
            this.status = status;
        }

        /** The target still holds the qid for this controller (nvmet and Basalt: Command Sequence Error). */
        boolean qidStillAttached() {
            return NvmeStatus.statusCodeType(status) == 0 && NvmeStatus.statusCode(status) == NvmeStatus.CMD_SEQ_ERROR;
        }
    }

    IllegalArgumentException fail(String why) {
        return new IllegalArgumentException("nvme-tcp " + where + ": " + why);
    }

    /** Gives the connected fd to a reactor: close() then frees only the buffers. */
    int handOff() {
        fdHandedOff = true;
        return fd;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (!fdHandedOff) {
            fdHandedOff = true;
            Libc.close(fd);
        }
        arena.close();
    }
}
