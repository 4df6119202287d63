package io.basalt.nvmeof.initiator;

import io.basalt.nvmeof.nvme.Sqe;
import io.basalt.nvmeof.tcp.CapsuleRespPdu;
import io.basalt.nvmeof.tcp.DataPdu;
import io.basalt.nvmeof.tcp.PduFlyweight;
import io.basalt.nvmeof.tcp.R2tPdu;
import io.basalt.nvmeof.tcp.TermReqPdu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Splits a queue's received byte stream into PDUs: gathers each header (with its header digest, and for C2HData up
 * to PDO) into its own buffer, copies C2HData payload straight into the command's buffers, and hands responses and
 * R2Ts to the channel.
 * <pre>
 *   HEADER (8 bytes, then the rest: hlen + HDGST, up to PDO for C2HData)
 *     -> C2HData: DATA (into the command's buffers, CRC32C running) -> DDGST (4 bytes, compared) -> SKIP? -> HEADER ...
 *     -> CapsuleResp, R2T: to the channel -> HEADER ...
 * </pre>
 * With the header digest on, a PDU without HDGSTF or with a wrong digest ends the queue (the channel tears it down
 * and the device reconnects: nothing after a broken header can be trusted, as Linux's host does). With the data
 * digest on, a wrong DDGST fails only its command (the channel marks it; it completes with IO_ERROR).
 */
final class PduReader {
    private static final int HEADER_MAX_BYTES = 256;

    private final NvmeTcpChannel channel;
    private final int headerDigestBytes;
    private final int dataDigestBytes;
    private final MemorySegment header = Arena.ofAuto().allocate(HEADER_MAX_BYTES, 64);
    private final SegmentCrc32c crc = new SegmentCrc32c();
    private int headerHave;
    private int headerNeed = PduFlyweight.COMMON_HEADER_BYTES;
    private long dataLeft;
    private long dataOffset;
    /** Where {@link #copyPiece} copies from during one copyData call. */
    private MemorySegment copySource;
    private long copySourceOffset;
    /** Made once: copies one piece of received data into a command's buffer. */
    private final Slots.RangeSink copyPiece = (slot, seg, into, take, rangeOffset) -> {
        MemorySegment.copy(copySource, copySourceOffset + rangeOffset, seg, into, take);
        return true;
    };
    private int dataCid;
    private boolean dataSuccess;
    private int digestLeft;
    private int digestReceived;
    private long skipLeft;

    PduReader(NvmeTcpChannel channel, int digests) {
        this.channel = channel;
        this.headerDigestBytes = HostPdus.headerDigestBytes(digests);
        this.dataDigestBytes = HostPdus.dataDigestBytes(digests);
    }

    void consume(MemorySegment buffer, int lengthBytes) {
        int at = 0;
        while (at < lengthBytes) {
            int n;
            if (dataLeft > 0) {
                n = (int) Math.min(dataLeft, lengthBytes - at);
                if (dataDigestBytes > 0) crc.update(buffer, at, n);
                copyData(buffer, at, n);
                dataLeft -= n;
                if (dataLeft == 0 && digestLeft == 0) endData();
            } else if (digestLeft > 0) {
                n = Math.min(digestLeft, lengthBytes - at);
                for (int i = 0; i < n; i++, digestLeft--) {
                    int b = Byte.toUnsignedInt(buffer.get(ValueLayout.JAVA_BYTE, at + i));
                    digestReceived |= b << (Byte.SIZE * (PduFlyweight.DIGEST_BYTES - digestLeft)); // little-endian
                }
                if (digestLeft == 0) checkDataDigest();
            } else if (skipLeft > 0) {
                n = (int) Math.min(skipLeft, lengthBytes - at);
                skipLeft -= n;
            } else {
                n = Math.min(headerNeed - headerHave, lengthBytes - at);
                MemorySegment.copy(buffer, at, header, headerHave, n);
                headerHave += n;
                if (headerHave == headerNeed && !onHeader()) return;
            }
            at += n;
        }
    }

    /** True to go on reading; false after an error closed the queue. */
    private boolean onHeader() {
        int type = u8(PduFlyweight.TYPE_OFFSET);
        int hlen = u8(PduFlyweight.HLEN_OFFSET);
        int pdo = u8(PduFlyweight.PDO_OFFSET);
        long plen = Integer.toUnsignedLong(Sqe.u32(header, PduFlyweight.PLEN_OFFSET));
        int digestBytes = type == PduFlyweight.TYPE_C2H_TERM_REQ ? 0 : headerDigestBytes; // C2HTermReq: never digested
        if (headerNeed == PduFlyweight.COMMON_HEADER_BYTES) {
            int need = type == PduFlyweight.TYPE_C2H_DATA ? Math.max(hlen + digestBytes, pdo) : hlen + digestBytes;
            if (hlen < PduFlyweight.COMMON_HEADER_BYTES || need > HEADER_MAX_BYTES || plen < need) {
                channel.protocolError("PDU type " + type + " with hlen " + hlen + ", pdo " + pdo + ", plen " + plen);
                return false;
            }
            if (need > headerNeed) {
                headerNeed = need;
                return true;
            }
        }
        headerHave = 0;
        headerNeed = PduFlyweight.COMMON_HEADER_BYTES;
        if (digestBytes > 0 && !headerDigestOk(type, hlen)) return false;
        switch (type) {
            case PduFlyweight.TYPE_CAPSULE_RESP -> {
                skipLeft = plen - hlen - digestBytes;
                channel.complete(Sqe.u16(header, CapsuleRespPdu.CID_OFFSET), Sqe.u16(header, CapsuleRespPdu.STATUS_OFFSET) >>> 1);
            }
            case PduFlyweight.TYPE_R2T -> {
                skipLeft = plen - hlen - digestBytes;
                channel.onR2t(Sqe.u16(header, R2tPdu.CCCID_OFFSET), Sqe.u16(header, R2tPdu.TTAG_OFFSET),
                        Integer.toUnsignedLong(Sqe.u32(header, R2tPdu.R2TO_OFFSET)),
                        Integer.toUnsignedLong(Sqe.u32(header, R2tPdu.R2TL_OFFSET)));
            }
            case PduFlyweight.TYPE_C2H_DATA -> {
                return startData(hlen + digestBytes, pdo, plen);
            }
            case PduFlyweight.TYPE_C2H_TERM_REQ -> {
                channel.protocolError("the target ended the queue (C2HTermReq, fatal error status "
                        + Sqe.u16(header, TermReqPdu.FES_OFFSET) + ")");
                return false;
            }
            default -> {
                channel.protocolError("unexpected PDU type " + type);
                return false;
            }
        }
        return true;
    }

    /** HDGSTF set and HDGST = CRC32C of the hlen header bytes; otherwise the channel resets the queue. */
    private boolean headerDigestOk(int type, int hlen) {
        if ((u8(PduFlyweight.FLAGS_OFFSET) & PduFlyweight.FLAG_HDGST) == 0) {
            channel.protocolError("PDU type " + type + " without its header digest (HDGSTF clear)");
            return false;
        }
        int expected = crc.of(header, 0, hlen);
        int received = Sqe.u32(header, hlen);
        if (received != expected) {
            channel.headerDigestError("PDU type " + type + ": header digest 0x" + Integer.toHexString(received)
                    + ", expected 0x" + Integer.toHexString(expected));
            return false;
        }
        return true;
    }

    private boolean startData(int headerEnd, int pdo, long plen) {
        dataCid = Sqe.u16(header, DataPdu.CCCID_OFFSET);
        dataOffset = Integer.toUnsignedLong(Sqe.u32(header, DataPdu.DATAO_OFFSET));
        dataLeft = Integer.toUnsignedLong(Sqe.u32(header, DataPdu.DATAL_OFFSET));
        int flags = u8(PduFlyweight.FLAGS_OFFSET);
        dataSuccess = (flags & PduFlyweight.FLAG_DATA_SUCCESS) != 0;
        digestLeft = dataLeft > 0 ? dataDigestBytes : 0;
        long start = Math.max(headerEnd, pdo);
        if (!channel.slots.busy(dataCid) || dataOffset + dataLeft > channel.slots.bytes(dataCid)
                || start + dataLeft + digestLeft > plen) {
            channel.protocolError("C2HData for CID " + dataCid + " outside its command");
            return false;
        }
        if (digestLeft > 0 && (flags & PduFlyweight.FLAG_DDGST) == 0) {
            channel.protocolError("C2HData for CID " + dataCid + " without its data digest (DDGSTF clear)");
            return false;
        }
        crc.reset();
        digestReceived = 0;
        // Bytes past the data and its digest: none from a target that follows the specification; skipped, as before.
        skipLeft = plen - start - dataLeft - digestLeft;
        if (dataLeft == 0) endData();
        return true;
    }

    /** The whole DDGST is in: a mismatch fails the command (not the queue), then the PDU ends as usual. */
    private void checkDataDigest() {
        if (digestReceived != crc.value()) channel.dataDigestError(dataCid);
        endData();
    }

    private void endData() {
        if (!dataSuccess) return;
        dataSuccess = false;
        channel.complete(dataCid, 0);
    }

    /** Copies n received bytes into the command's buffers at dataOffset. */
    private void copyData(MemorySegment from, int at, int n) {
        copySource = from;
        copySourceOffset = at;
        channel.slots.forEachRange(dataCid, dataOffset, n, copyPiece);
        copySource = null;
        dataOffset += n;
    }

    private int u8(long offset) {
        return Byte.toUnsignedInt(header.get(ValueLayout.JAVA_BYTE, offset));
    }
}
