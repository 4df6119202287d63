package io.basalt.nvmeof.tcp;

import io.basalt.nvmeof.ByteSink;
import io.basalt.nvmeof.QueueHandler;
import io.basalt.nvmeof.tcp.DataBufferPool.DataBuffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;

/**
 * The NVMe/TCP transport of one queue pair, controller side (NVMe/TCP transport specification 1.0): received
 * bytes in ({@link #onBytes}, in any fragmentation), {@link QueueHandler#execute} calls out; the handler's
 * answers in, PDUs out through a {@link ByteSink}. It does no I/O itself. Reactor thread only.
 *
 * <p>Receiving is one state machine over the byte stream:
 * <pre>
 *   HEADER (common header 8 bytes, checked; then the rest of the header and its digest, checked)
 *     -> PAD (PDO beyond the header) -> DATA (into the command's buffer) -> DATA_DIGEST -> HEADER ...
 *   any fatal error -> CLOSED (C2HTermReq sent, then the connection closed; every later byte ignored)
 * </pre>
 * The first PDU must be ICReq; after ICResp the host sends CapsuleCmd and H2CData PDUs (and H2CTermReq to
 * leave). Commands and their data transfers live in a {@link CommandTable}. Input from the host never throws:
 * a broken PDU ends the connection with the fatal error status the specification names; a data digest error
 * fails only its command.
 *
 * <p>The handler may answer (or close) from inside {@code execute}; the transport moves its receive state on
 * before calling it. {@link QueueHandler#disconnected} is called once, possibly from inside a handler call
 * that closed the connection.
 */
public final class TcpQueuePair implements QueueHandler.Responses, ByteSink.Sent {
    private static final int RX_HEADER = 0;
    private static final int RX_PAD = 1;
    private static final int RX_DATA = 2;
    private static final int RX_DATA_DIGEST = 3;
    private static final int RX_CLOSED = 4;
    private static final int RX_HEADER_BYTES_MAX = 256;

    private static final long TOKEN_IC_RESP = 3L << CommandTable.TOKEN_KIND_SHIFT;
    private static final long TOKEN_TERM_REQ = 4L << CommandTable.TOKEN_KIND_SHIFT;

    private final QueueHandler handler;
    private final TcpConfig config;
    private final PduWriter writer;
    private final TxQueue tx;
    private final DataBufferPool pool;
    private final CommandTable commands;

    private final MemorySegment header;
    private final ByteBuffer headerBytes;
    private final MemorySegment headerSqe;
    private final PduFlyweight commonHeader = new PduFlyweight();
    private final IcReqPdu icReq = new IcReqPdu();
    private final DataPdu dataPdu = new DataPdu();

    private boolean connected;
    private boolean headerDigest;
    private boolean dataDigest;

    private int rxState = RX_HEADER;
    private int headerFilled;
    private int headerNeeded = PduFlyweight.COMMON_HEADER_BYTES;
    private boolean commonHeaderChecked;
    private int pduType;
    private int pduHlen;
    private boolean pduHeaderDigest;
    private long pduDataBytes;
    private long padRemaining;
    private int dataSlot;
    private boolean dataInCapsule;
    private DataBuffer dataBuffer;
    private long dataStartBytes;
    private long dataPositionBytes;
    private long dataRemaining;
    private int digestReceived;
    private int digestFilled;

    private String closeReason;
    private int lastFatalErrorStatus;
    private long pdusReceived;

    public TcpQueuePair(QueueHandler handler, ByteSink sink, TcpConfig config) {
        this.handler = handler;
        this.config = config;
        int slots = 2 * config.commandsMax();
        this.writer = new PduWriter(slots, config.c2hPdusMax());
        this.tx = new TxQueue(sink, this, slots * (3 * config.c2hPdusMax() + 2) + 2);
        this.pool = new DataBufferPool(config.dataBytesMax(), config.bufferBytesMax());
        this.commands = new CommandTable(config, handler, this, writer, tx, pool, slots);
        this.header = Arena.ofAuto().allocate(RX_HEADER_BYTES_MAX, 64);
        this.headerBytes = header.asByteBuffer();
        this.headerSqe = header.asSlice(CapsuleCmdPdu.SQE_OFFSET, Sqe.BYTES);
    }

    /** Bytes received from the host, in order. Only {@code bytes} is read; nothing of it is kept after return. */
    public void onBytes(MemorySegment bytes) {
        onBytes(bytes, bytes.byteSize());
    }

    /**
     * The first {@code lengthBytes} bytes of {@code buffer} were received: the socket side passes its whole receive
     * buffer and a length, so that no slice object is made per receive.
     */
    public void onBytes(MemorySegment buffer, long lengthBytes) {
        MemorySegment bytes = buffer;
        long position = 0;
        long size = lengthBytes;
        while (position < size && rxState != RX_CLOSED) {
            long available = size - position;
            position += switch (rxState) {
                case RX_HEADER -> takeHeader(bytes, position, available);
                case RX_PAD -> takePad(available);
                case RX_DATA -> takeData(bytes, position, available);
                case RX_DATA_DIGEST -> takeDataDigest(bytes, position, available);
                default -> throw new IllegalStateException("receive state " + rxState);
            };
        }
    }

    /** The connection ended (the peer closed it, or the socket failed): the handler is told, buffers return. */
    public void connectionClosed() {
        tx.close();
        shutdown("connection closed");
    }

    private long takeHeader(MemorySegment bytes, long position, long available) {
        int take = (int) Math.min(headerNeeded - headerFilled, available);
        MemorySegment.copy(bytes, position, header, headerFilled, take);
        headerFilled += take;
        if (headerFilled == headerNeeded) {
            if (!commonHeaderChecked) {
                commonHeaderChecked = true;
                checkCommonHeader();
            } else {
                headerComplete();
            }
        }
        return take;
    }

    /** The 8-byte common header: the type, hlen, flags and plen must fit this point of the connection. */
    private void checkCommonHeader() {
        commonHeader.wrap(header);
        pduType = commonHeader.type();
        int expectedHlen = switch (pduType) {
            case PduFlyweight.TYPE_IC_REQ -> IcReqPdu.BYTES;
            case PduFlyweight.TYPE_H2C_TERM_REQ -> TermReqPdu.BYTES;
            case PduFlyweight.TYPE_CAPSULE_CMD -> CapsuleCmdPdu.BYTES;
            case PduFlyweight.TYPE_H2C_DATA -> DataPdu.BYTES;
            default -> -1;
        };
        if (expectedHlen < 0) {
            fatal(TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.TYPE_OFFSET);
        } else if (connected == (pduType == PduFlyweight.TYPE_IC_REQ)) {
            fatal(TermReqPdu.FES_PDU_SEQUENCE_ERROR, PduFlyweight.TYPE_OFFSET);  // ICReq first, and only once
        } else if (pduType == PduFlyweight.TYPE_H2C_TERM_REQ) {
            tx.close();
            shutdown("the host terminated the connection (H2CTermReq)");
        } else if (commonHeader.hlen() != expectedHlen) {
            fatal(TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.HLEN_OFFSET);
        } else {
            checkLengths(expectedHlen);
        }
    }

    private void checkLengths(int hlen) {
        boolean digestable = pduType == PduFlyweight.TYPE_CAPSULE_CMD || pduType == PduFlyweight.TYPE_H2C_DATA;
        int flags = commonHeader.flags();
        long plen = commonHeader.plen();
        pduHlen = hlen;
        pduHeaderDigest = digestable && headerDigest;
        long headerEnd = hlen + (pduHeaderDigest ? PduFlyweight.DIGEST_BYTES : 0);
        if (digestable && ((flags & PduFlyweight.FLAG_HDGST) != 0) != headerDigest) {
            fatal(TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.FLAGS_OFFSET);
        } else if (pduType == PduFlyweight.TYPE_IC_REQ ? plen != IcReqPdu.BYTES : plen < headerEnd) {
            fatal(TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.PLEN_OFFSET);
        } else if (plen == headerEnd) {
            pduDataBytes = 0;
            padRemaining = 0;
            if (pduType == PduFlyweight.TYPE_H2C_DATA) {
                fatal(TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.PLEN_OFFSET);  // H2CData without data
            } else {
                headerNeeded = (int) headerEnd;
            }
        } else {
            checkDataLayout(flags, plen, headerEnd);
        }
    }

    /** A PDU with data: PDO inside the PDU and after the header, the data digest flag as negotiated, the size. */
    private void checkDataLayout(int flags, long plen, long headerEnd) {
        int pdo = commonHeader.pdo();
        long digestBytes = dataDigest ? PduFlyweight.DIGEST_BYTES : 0;
        long limit = pduType == PduFlyweight.TYPE_CAPSULE_CMD ? commands.inCapsuleBytesMax() : config.maxH2cDataBytes();
        if (((flags & PduFlyweight.FLAG_DDGST) != 0) != dataDigest) {
            fatal(TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.FLAGS_OFFSET);
        } else if (pdo < headerEnd || pdo + digestBytes >= plen) {
            fatal(TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.PDO_OFFSET);
        } else if (plen - pdo - digestBytes > limit) {
            fatal(TermReqPdu.FES_DATA_TRANSFER_LIMIT_EXCEEDED, PduFlyweight.PLEN_OFFSET);
        } else {
            pduDataBytes = plen - pdo - digestBytes;
            padRemaining = pdo - headerEnd;
            headerNeeded = (int) headerEnd;
        }
    }

    /** The whole header (and its digest) is in. */
    private void headerComplete() {
        if (pduHeaderDigest) {
            int expected = writer.crc32c(headerBytes, 0, pduHlen);
            if (header.get(PduFlyweight.U32, pduHlen) != expected) {
                fatal(TermReqPdu.FES_HEADER_DIGEST_ERROR, 0);
                return;
            }
        }
        pdusReceived++;
        switch (pduType) {
            case PduFlyweight.TYPE_IC_REQ -> icReqReceived();
            case PduFlyweight.TYPE_CAPSULE_CMD -> capsuleReceived();
            case PduFlyweight.TYPE_H2C_DATA -> h2cDataReceived();
            default -> throw new IllegalStateException("PDU type " + pduType + " passed the header checks");
        }
    }

    /** ICReq (3.6.2.2): PFV 0; the digests the host asks for are turned on; HPDA shapes our C2HData. */
    private void icReqReceived() {
        icReq.wrap(header);
        if (icReq.pfv() != IcReqPdu.PFV_1_0) {
            fatal(TermReqPdu.FES_UNSUPPORTED_PARAMETER, IcReqPdu.PFV_OFFSET);
            return;
        }
        if (icReq.hpda() > IcReqPdu.HPDA_MAX) {
            fatal(TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, IcReqPdu.HPDA_OFFSET);
            return;
        }
        int digest = icReq.digest() & (IcReqPdu.DIGEST_HEADER | IcReqPdu.DIGEST_DATA);
        headerDigest = (digest & IcReqPdu.DIGEST_HEADER) != 0;
        dataDigest = (digest & IcReqPdu.DIGEST_DATA) != 0;
        writer.negotiate(headerDigest, dataDigest, icReq.hpda());
        connected = true;
        nextPdu();
        tx.send(writer.icResp(digest, config.maxH2cDataBytes()), TOKEN_IC_RESP);
    }

    private void capsuleReceived() {
        int slot = commands.admit(headerSqe);
        if (slot < 0) {
            fatalFault(slot);
        } else if (pduDataBytes == 0) {
            nextPdu();
            commands.capsuleReceived(slot, 0, true);
        } else {
            startData(slot, true, commands.inCapsuleBuffer(slot, pduDataBytes), 0);
        }
    }

    private void h2cDataReceived() {
        dataPdu.wrap(header);
        int ttag = dataPdu.ttag();
        int fault = commands.checkH2cData(ttag, dataPdu.cccid(), dataPdu.dataOffset(), dataPdu.dataLength(),
                dataPdu.flags(), pduDataBytes);
        if (fault != 0) {
            fatalFault(fault);
        } else {
            startData(ttag, false, commands.buffer(ttag), dataPdu.dataOffset());
        }
    }

    private void startData(int slot, boolean inCapsule, DataBuffer buffer, long offsetBytes) {
        dataSlot = slot;
        dataInCapsule = inCapsule;
        dataBuffer = buffer;
        dataStartBytes = offsetBytes;
        dataPositionBytes = offsetBytes;
        dataRemaining = pduDataBytes;
        rxState = padRemaining > 0 ? RX_PAD : RX_DATA;
    }

    private long takePad(long available) {
        long take = Math.min(padRemaining, available);
        padRemaining -= take;
        if (padRemaining == 0) rxState = RX_DATA;
        return take;
    }

    private long takeData(MemorySegment bytes, long position, long available) {
        long take = Math.min(dataRemaining, available);
        MemorySegment.copy(bytes, position, dataBuffer.segment, dataPositionBytes, take);
        dataPositionBytes += take;
        dataRemaining -= take;
        if (dataRemaining == 0) {
            if (dataDigest) {
                rxState = RX_DATA_DIGEST;
                digestReceived = 0;
                digestFilled = 0;
            } else {
                dataComplete(true);
            }
        }
        return take;
    }

    private long takeDataDigest(MemorySegment bytes, long position, long available) {
        int take = (int) Math.min(PduFlyweight.DIGEST_BYTES - digestFilled, available);
        for (int i = 0; i < take; i++) {
            int b = Byte.toUnsignedInt(bytes.get(ValueLayout.JAVA_BYTE, position + i));
            digestReceived |= b << (8 * digestFilled++);  // little-endian on the wire
        }
        if (digestFilled == PduFlyweight.DIGEST_BYTES) {
            dataComplete(digestReceived == writer.crc32c(dataBuffer.byteBuffer, dataStartBytes, pduDataBytes));
        }
        return take;
    }

    /** A PDU's data is in. The receive state moves on first: the handler may answer, or close, from inside. */
    private void dataComplete(boolean digestOk) {
        int slot = dataSlot;
        long bytes = pduDataBytes;
        boolean inCapsule = dataInCapsule;
        nextPdu();
        if (inCapsule) {
            commands.capsuleReceived(slot, bytes, digestOk);
        } else {
            commands.h2cDataReceived(slot, bytes, digestOk);
        }
    }

    private void nextPdu() {
        if (rxState == RX_CLOSED) return;
        rxState = RX_HEADER;
        headerFilled = 0;
        headerNeeded = PduFlyweight.COMMON_HEADER_BYTES;
        commonHeaderChecked = false;
        dataBuffer = null;
    }

    private void fatalFault(int fault) {
        int code = -fault;
        fatal(code >>> 16, code & 0xffff);
    }

    /**
     * A fatal transport error (3.5.3): a C2HTermReq with the status, the offending field's offset and the header
     * as received so far, then the connection closes once it is sent.
     */
    private void fatal(int fes, int fei) {
        if (rxState == RX_CLOSED) return;
        lastFatalErrorStatus = fes;
        MemorySegment offending = header.asSlice(0, headerFilled);
        tx.send(writer.termReq(fes, fei, offending), TOKEN_TERM_REQ);
        tx.closeWhenDrained();
        shutdown("fatal transport error, FES " + fes + " FEI " + fei);
    }

    private void shutdown(String reason) {
        if (rxState == RX_CLOSED) return;
        rxState = RX_CLOSED;
        closeReason = reason;
        dataBuffer = null;
        commands.closeAll();
        handler.disconnected();
    }

    @Override
    public void complete(long tag, long dataBytes, int dw0, int dw1, int status) {
        commands.complete(tag, dataBytes, dw0, dw1, status);
    }

    @Override
    public void close(String reason) {
        if (rxState == RX_CLOSED) return;
        tx.closeWhenDrained();
        shutdown("closed by the controller: " + reason);
    }

    /** From the sink (through {@link TxQueue}): a PDU left, or the connection is failing. */
    @Override
    public void sent(long token, int status) {
        if (status < 0) {
            tx.close();
            shutdown("send failed: " + status);
            return;
        }
        long kind = token >>> CommandTable.TOKEN_KIND_SHIFT;
        if (kind == CommandTable.KIND_COMPLETION || kind == CommandTable.KIND_R2T) commands.sent(token);
    }

    /** Whether the host's ICReq arrived and was answered (the connection is initialised). */
    public boolean initialized() {
        return connected;
    }

    public boolean isClosed() {
        return rxState == RX_CLOSED;
    }

    /** Why the connection closed, or null while it is open. */
    public String closeReason() {
        return closeReason;
    }

    /** The FES of the last C2HTermReq sent, 0 if none. */
    public int lastFatalErrorStatus() {
        return lastFatalErrorStatus;
    }

    public boolean headerDigest() {
        return headerDigest;
    }

    public boolean dataDigest() {
        return dataDigest;
    }

    public long pdusReceived() {
        return pdusReceived;
    }

    public long commandsExecuted() {
        return commands.commandsExecuted();
    }

    public long dataDigestErrors() {
        return commands.dataDigestErrors();
    }

    /** Commands received and not yet answered. */
    public int commandsActive() {
        return commands.active();
    }

    /** Data buffers taken from the pool and not given back (0 once a closed queue pair is settled). */
    public int buffersInUse() {
        return pool.inUse();
    }

    long bufferAllocations() {
        return pool.allocations();
    }
}
