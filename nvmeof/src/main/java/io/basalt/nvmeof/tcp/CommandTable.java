package io.basalt.nvmeof.tcp;

import io.basalt.nvmeof.QueueHandler;
import io.basalt.nvmeof.tcp.DataBufferPool.DataBuffer;
import io.basalt.shims.Check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The commands of one queue pair, each in a slot whose number is also its R2T transfer tag. A slot walks
 * <pre>
 *   FREE -> CAPSULE_DATA (in-capsule data arriving) -----------------------------+
 *   FREE -> WAITING_BUFFER -> H2C_DATA (R2T out, H2CData arriving; more R2Ts) ----+-> EXECUTING -> RESPONDING -> FREE
 *                          \------------------------------------------------------/
 * </pre>
 * (a command failed by the transport skips EXECUTING). RESPONDING lasts until the sink has reported every
 * PDU of the answer sent, since those PDUs live in the slot's memory. The host may reuse a CID as soon as it
 * sees the answer, so CIDs and the in-flight bound count commands up to their completion, and there are
 * twice as many slots as commands allowed in flight. Reactor thread only.
 */
final class CommandTable {
    static final int FREE = 0;
    static final int CAPSULE_DATA = 1;
    static final int WAITING_BUFFER = 2;
    static final int H2C_DATA = 3;
    static final int EXECUTING = 4;
    static final int QUEUEING_RESPONSE = 5;
    static final int RESPONDING = 6;

    /** NVMe generic command status values (base 2.0, 4.6.1.2.1), in the form Responses.complete takes. */
    static final int STATUS_DNR = 1 << 14;
    static final int STATUS_INVALID_FIELD = 0x02 | STATUS_DNR;
    static final int STATUS_SGL_DATA_LENGTH_INVALID = 0x0f | STATUS_DNR;
    static final int STATUS_SGL_DESCRIPTOR_TYPE_INVALID = 0x11 | STATUS_DNR;
    static final int STATUS_SGL_OFFSET_INVALID = 0x16 | STATUS_DNR;
    /** A data digest error fails its command with this, as SPDK's target does; the host may retry it. */
    static final int STATUS_TRANSIENT_TRANSPORT_ERROR = 0x22;

    static final long TOKEN_KIND_SHIFT = 32;
    static final long KIND_COMPLETION = 1;
    static final long KIND_R2T = 2;
    static final int SLOT_MASK = 0xffff;

    private final TcpConfig config;
    private final QueueHandler handler;
    private final QueueHandler.Responses responses;
    private final PduWriter writer;
    private final TxQueue tx;
    private final DataBufferPool pool;
    private final int slots;

    private final int[] state;
    private final int[] cid;
    private final int[] generation;
    private final int[] direction;
    private final int[] pendingSends;
    private final int[] failStatus;
    private final long[] lengthBytes;
    private final long[] receivedBytes;
    private final long[] r2tEndBytes;
    private final boolean[] r2tInFlight;
    private final boolean[] r2tDeferred;
    private final DataBuffer[] buffer;
    private final MemorySegment[] sqe;
    private final int[] freeSlots;
    private int freeCount;
    private final int[] waiters;
    private int waitHead;
    private int waitCount;
    private boolean servingWaiters;
    private final long[] cidBusy = new long[65536 / 64];

    private int active;
    private int activeMax;
    private boolean connectSeen;
    private int sqid;
    private int sqSize = 1;
    private int sqHead;
    private boolean closed;
    private long commandsExecuted;
    private long dataDigestErrors;

    CommandTable(TcpConfig config, QueueHandler handler, QueueHandler.Responses responses, PduWriter writer,
                 TxQueue tx, DataBufferPool pool, int slots) {
        this.config = config;
        this.handler = handler;
        this.responses = responses;
        this.writer = writer;
        this.tx = tx;
        this.pool = pool;
        this.slots = slots;
        this.activeMax = config.commandsMax();
        state = new int[slots];
        cid = new int[slots];
        generation = new int[slots];
        direction = new int[slots];
        pendingSends = new int[slots];
        failStatus = new int[slots];
        lengthBytes = new long[slots];
        receivedBytes = new long[slots];
        r2tEndBytes = new long[slots];
        r2tInFlight = new boolean[slots];
        r2tDeferred = new boolean[slots];
        buffer = new DataBuffer[slots];
        sqe = new MemorySegment[slots];
        MemorySegment sqeArea = Arena.ofAuto().allocate((long) slots * Sqe.BYTES, 64);
        freeSlots = new int[slots];
        waiters = new int[slots];
        for (int s = 0; s < slots; s++) {
            sqe[s] = sqeArea.asSlice((long) s * Sqe.BYTES, Sqe.BYTES);
            freeSlots[s] = slots - 1 - s;  // slot 0 is taken first
        }
        freeCount = slots;
    }

    /** A fault for {@link TcpQueuePair}: the fatal error status and information of a C2HTermReq, negative. */
    static int fault(int fes, int fei) {
        return -((fes << 16) | fei);
    }

    /**
     * Takes a slot for the command whose SQE is {@code rxSqe} (copied: the receive buffer is reused).
     *
     * @return the slot, or a {@link #fault} when the host broke the in-flight bound or reused a busy CID
     */
    int admit(MemorySegment rxSqe) {
        int commandId = Sqe.cid(rxSqe);
        int cidField = CapsuleCmdPdu.SQE_OFFSET + Sqe.CID_OFFSET;
        if (active >= activeMax || freeCount == 0) return fault(TermReqPdu.FES_PDU_SEQUENCE_ERROR, cidField);
        if (cidBusy(commandId)) return fault(TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, cidField);
        int slot = freeSlots[--freeCount];
        Check.that(state[slot] == FREE, "a free slot is FREE", slot);
        MemorySegment.copy(rxSqe, 0, sqe[slot], 0, Sqe.BYTES);
        cid[slot] = commandId;
        generation[slot] = (generation[slot] + 1) & 0xffff;
        direction[slot] = Sqe.direction(rxSqe);
        lengthBytes[slot] = Sqe.sglLength(rxSqe);
        receivedBytes[slot] = 0;
        failStatus[slot] = 0;
        state[slot] = CAPSULE_DATA;
        cidBusy[commandId >>> 6] |= 1L << commandId;
        active++;
        if (Sqe.isConnect(rxSqe)) {
            connectSeen = true;
            sqid = Sqe.connectQid(rxSqe);
            sqSize = Sqe.connectSqSize(rxSqe) + 1;
            activeMax = Math.min(config.commandsMax(), sqSize);
        }
        sqHead = (sqHead + 1) % sqSize;
        return slot;
    }

    private boolean cidBusy(int commandId) {
        return (cidBusy[commandId >>> 6] & (1L << commandId)) != 0;
    }

    /** The in-capsule data limit of this queue: 8 KiB on the admin queue (or before Connect), else the I/O one. */
    int inCapsuleBytesMax() {
        boolean admin = !connectSeen || sqid == 0;
        return admin ? Math.max(TcpConfig.ADMIN_IN_CAPSULE_BYTES, config.ioInCapsuleBytesMax())
                : config.ioInCapsuleBytesMax();
    }

    /** The buffer in-capsule data of {@code bytes} lands in. */
    DataBuffer inCapsuleBuffer(int slot, long bytes) {
        Check.that(state[slot] == CAPSULE_DATA && buffer[slot] == null, "in-capsule buffer for a new command", slot);
        buffer[slot] = pool.acquire(bytes, true);
        return buffer[slot];
    }

    /** The capsule (and its in-capsule data, if any) is in: check the SGL, then execute, wait, or fail. */
    void capsuleReceived(int slot, long inCapsuleBytes, boolean digestOk) {
        Check.that(state[slot] == CAPSULE_DATA, "capsule received in CAPSULE_DATA", slot);
        if (inCapsuleBytes > 0) {
            inCapsuleDataReceived(slot, inCapsuleBytes, digestOk);
            return;
        }
        int dir = direction[slot];
        long length = lengthBytes[slot];
        int sglType = Sqe.sglType(sqe[slot]);
        if (dir == Sqe.DIRECTION_NONE || length == 0) {
            execute(slot, MemorySegment.NULL);
        } else if (dir == Sqe.DIRECTION_BIDIRECTIONAL) {
            finish(slot, 0, 0, 0, STATUS_INVALID_FIELD);
        } else if (sglType == Sqe.SGL_IN_CAPSULE) {
            finish(slot, 0, 0, 0, STATUS_SGL_DATA_LENGTH_INVALID);  // describes in-capsule data the capsule lacks
        } else if (sglType != Sqe.SGL_TRANSPORT_DATA_BLOCK) {
            finish(slot, 0, 0, 0, STATUS_SGL_DESCRIPTOR_TYPE_INVALID);
        } else if (length > config.dataBytesMax()) {
            finish(slot, 0, 0, 0, STATUS_SGL_DATA_LENGTH_INVALID);
        } else {
            state[slot] = WAITING_BUFFER;
            waiters[(waitHead + waitCount) % slots] = slot;
            waitCount++;
            serveWaiters();
        }
    }

    private void inCapsuleDataReceived(int slot, long inCapsuleBytes, boolean digestOk) {
        int sglType = Sqe.sglType(sqe[slot]);
        long length = lengthBytes[slot];
        if (!digestOk) {
            dataDigestErrors++;
            finish(slot, 0, 0, 0, STATUS_TRANSIENT_TRANSPORT_ERROR);
        } else if (direction[slot] != Sqe.DIRECTION_HOST_TO_CONTROLLER) {
            finish(slot, 0, 0, 0, STATUS_INVALID_FIELD);  // in-capsule data only for host-to-controller data
        } else if (sglType != Sqe.SGL_IN_CAPSULE) {
            finish(slot, 0, 0, 0, STATUS_SGL_DESCRIPTOR_TYPE_INVALID);
        } else if (Sqe.sglAddress(sqe[slot]) != 0) {
            finish(slot, 0, 0, 0, STATUS_SGL_OFFSET_INVALID);  // the controller reports ICDOFF 0
        } else if (length > inCapsuleBytes) {
            finish(slot, 0, 0, 0, STATUS_SGL_DATA_LENGTH_INVALID);
        } else {
            execute(slot, length == 0 ? MemorySegment.NULL : buffer[slot].view(length));
        }
    }

    /**
     * Checks an H2CData header against the command its TTAG names (NVMe/TCP 1.0, 3.6.2.8).
     *
     * @return 0, or a {@link #fault}
     */
    int checkH2cData(int ttag, int cccid, long offsetBytes, long dataLength, int flags, long pduDataBytes) {
        if (ttag >= slots || state[ttag] != H2C_DATA) {
            return fault(TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, DataPdu.TTAG_OFFSET);
        }
        if (cccid != cid[ttag]) return fault(TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, DataPdu.CCCID_OFFSET);
        if (dataLength != pduDataBytes) return fault(TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, DataPdu.DATAL_OFFSET);
        long end = offsetBytes + dataLength;
        if (end > lengthBytes[ttag]) return fault(TermReqPdu.FES_DATA_TRANSFER_OUT_OF_RANGE, DataPdu.DATAO_OFFSET);
        if (offsetBytes != receivedBytes[ttag]) return fault(TermReqPdu.FES_PDU_SEQUENCE_ERROR, DataPdu.DATAO_OFFSET);
        if (end > r2tEndBytes[ttag]) return fault(TermReqPdu.FES_DATA_TRANSFER_OUT_OF_RANGE, DataPdu.DATAL_OFFSET);
        boolean last = (flags & PduFlyweight.FLAG_DATA_LAST) != 0;
        if (last != (end == r2tEndBytes[ttag])) return fault(TermReqPdu.FES_PDU_SEQUENCE_ERROR, PduFlyweight.FLAGS_OFFSET);
        return 0;
    }

    DataBuffer buffer(int slot) {
        return buffer[slot];
    }

    /** One H2CData PDU's data is in: a bad digest fails the command at the end of this R2T. */
    void h2cDataReceived(int slot, long bytes, boolean digestOk) {
        Check.that(state[slot] == H2C_DATA, "H2CData for a slot in H2C_DATA", slot);
        receivedBytes[slot] += bytes;
        if (!digestOk && failStatus[slot] == 0) {
            dataDigestErrors++;
            failStatus[slot] = STATUS_TRANSIENT_TRANSPORT_ERROR;
        }
        if (receivedBytes[slot] != r2tEndBytes[slot]) return;
        if (failStatus[slot] != 0) {
            finish(slot, 0, 0, 0, failStatus[slot]);  // no further R2T: the host sends nothing more for it
        } else if (receivedBytes[slot] == lengthBytes[slot]) {
            execute(slot, buffer[slot].view(lengthBytes[slot]));
        } else {
            issueR2t(slot);
        }
    }

    private void serveWaiters() {
        if (servingWaiters) return;
        servingWaiters = true;
        try {
            while (waitCount > 0 && !closed) {
                int slot = waiters[waitHead];
                DataBuffer granted = pool.acquire(lengthBytes[slot], false);
                if (granted == null) break;
                waitHead = (waitHead + 1) % slots;
                waitCount--;
                buffer[slot] = granted;
                if (direction[slot] == Sqe.DIRECTION_HOST_TO_CONTROLLER) {
                    state[slot] = H2C_DATA;
                    issueR2t(slot);
                } else {
                    execute(slot, granted.view(lengthBytes[slot]));
                }
            }
        } finally {
            servingWaiters = false;
        }
    }

    /** Asks for the next at most MAXH2CDATA bytes; waits while the previous R2T is still the sink's. */
    private void issueR2t(int slot) {
        if (r2tInFlight[slot]) {
            r2tDeferred[slot] = true;
            return;
        }
        long offset = receivedBytes[slot];
        long length = Math.min(config.maxH2cDataBytes(), lengthBytes[slot] - offset);
        r2tEndBytes[slot] = offset + length;
        r2tInFlight[slot] = true;
        pendingSends[slot]++;
        tx.send(writer.r2t(slot, cid[slot], slot, offset, length), token(KIND_R2T, slot));
    }

    private void execute(int slot, MemorySegment data) {
        state[slot] = EXECUTING;
        commandsExecuted++;
        handler.execute(sqe[slot], data, ((long) generation[slot] << 16) | slot, responses);
    }

    /** The handler's answer (QueueHandler.Responses.complete). */
    void complete(long tag, long dataBytes, int dw0, int dw1, int status) {
        if (closed) return;
        int slot = (int) (tag & SLOT_MASK);
        Check.that(slot < slots && state[slot] == EXECUTING && generation[slot] == (int) ((tag >>> 16) & 0xffff),
                "complete() names a command being executed, once", tag);
        Check.that(dataBytes >= 0 && (dataBytes == 0 || direction[slot] != Sqe.DIRECTION_CONTROLLER_TO_HOST
                || dataBytes <= lengthBytes[slot]), "dataBytes within the command's buffer", dataBytes);
        finish(slot, direction[slot] == Sqe.DIRECTION_CONTROLLER_TO_HOST ? dataBytes : 0, dw0, dw1, status);
    }

    /** Queues the answer: C2HData PDUs for {@code dataBytes}, then the response capsule unless SUCCESS stood in. */
    private void finish(int slot, long dataBytes, int dw0, int dw1, int status) {
        cidBusy[cid[slot] >>> 6] &= ~(1L << cid[slot]);
        active--;
        state[slot] = QUEUEING_RESPONSE;
        tx.beginBatch();  // the answer's PDUs go out back to back
        try {
            boolean success = false;
            if (dataBytes > 0) {
                success = status == 0 && handler.sqFlowControlDisabled();
                sendC2hData(slot, dataBytes, success);
            } else if (buffer[slot] != null) {
                pool.release(buffer[slot]);  // host-to-controller data: no PDU refers to it
                buffer[slot] = null;
            }
            if (!success) {
                pendingSends[slot]++;
                tx.send(writer.response(slot, cid[slot], dw0, dw1, sqHead, sqid, status), token(KIND_COMPLETION, slot));
            }
            state[slot] = RESPONDING;
        } finally {
            tx.endBatch();
        }
        if (closed) return;  // a send failed: closeAll() has taken every slot back
        releaseIfDone(slot);
        serveWaiters();
    }

    private void sendC2hData(int slot, long dataBytes, boolean success) {
        DataBuffer data = buffer[slot];
        int chunkBytes = config.c2hDataBytes();
        int pdus = (int) ((dataBytes + chunkBytes - 1) / chunkBytes);
        long token = token(KIND_COMPLETION, slot);
        for (int i = 0; i < pdus; i++) {
            long offset = (long) i * chunkBytes;
            long length = Math.min(chunkBytes, dataBytes - offset);
            boolean last = i == pdus - 1;
            int flags = last ? PduFlyweight.FLAG_DATA_LAST | (success ? PduFlyweight.FLAG_DATA_SUCCESS : 0) : 0;
            pendingSends[slot] += writer.dataDigest() ? 3 : 2;
            tx.send(writer.c2hHeader(slot, i, cid[slot], offset, length, flags), token);
            tx.send(data.chunk(offset, length, chunkBytes), token);
            if (writer.dataDigest()) tx.send(writer.c2hDigest(slot, i, data.byteBuffer, offset, length), token);
        }
    }

    private static long token(long kind, int slot) {
        return (kind << TOKEN_KIND_SHIFT) | slot;
    }

    /** A PDU of a slot left (status >= 0 only: a failed send closes the connection instead). */
    void sent(long token) {
        if (closed) return;
        int slot = (int) (token & SLOT_MASK);
        long kind = token >>> TOKEN_KIND_SHIFT;
        Check.that(slot < slots && pendingSends[slot] > 0, "sent() for a PDU in flight", token);
        pendingSends[slot]--;
        if (kind == KIND_R2T) {
            r2tInFlight[slot] = false;
            if (r2tDeferred[slot] && state[slot] == H2C_DATA) {
                r2tDeferred[slot] = false;
                issueR2t(slot);
            }
        }
        releaseIfDone(slot);
    }

    private void releaseIfDone(int slot) {
        if (closed || state[slot] != RESPONDING || pendingSends[slot] != 0) return;
        if (buffer[slot] != null) {
            pool.release(buffer[slot]);
            buffer[slot] = null;
        }
        state[slot] = FREE;
        r2tInFlight[slot] = false;
        r2tDeferred[slot] = false;
        freeSlots[freeCount++] = slot;
        serveWaiters();
    }

    /** The connection is gone: every slot is freed and its buffer goes back (the handler keeps what it holds). */
    void closeAll() {
        closed = true;
        for (int slot = 0; slot < slots; slot++) {
            if (buffer[slot] != null) pool.release(buffer[slot]);
            buffer[slot] = null;
            state[slot] = FREE;
            pendingSends[slot] = 0;
        }
        waitCount = 0;
        active = 0;
    }

    int active() {
        return active;
    }

    long commandsExecuted() {
        return commandsExecuted;
    }

    long dataDigestErrors() {
        return dataDigestErrors;
    }

    int slotState(int slot) {
        return state[slot];
    }
}
