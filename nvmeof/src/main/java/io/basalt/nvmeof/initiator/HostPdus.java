package io.basalt.nvmeof.initiator;

import io.basalt.nvmeof.nvme.Sqe;
import io.basalt.nvmeof.tcp.CapsuleCmdPdu;
import io.basalt.nvmeof.tcp.DataPdu;
import io.basalt.nvmeof.tcp.IcReqPdu;
import io.basalt.nvmeof.tcp.PduFlyweight;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The host's side of the PDUs (NVMe/TCP 1.0, 3.6.2; struct nvme_tcp_cmd_pdu, nvme_tcp_data_pdu in Linux
 * include/linux/nvme-tcp.h): ICReq, a CapsuleCmd header and an H2CData header. Written in place into caller-owned
 * memory, so building one allocates nothing.
 *
 * <p>Digests (3.6.1, negotiated in ICReq/ICResp; {@code digests} is ICReq's DGST bits): with the header digest a
 * PDU's header is followed by HDGST, CRC32C of its hlen bytes, little-endian, so data starts at PDO = hlen + 4 (the
 * controller's CPDA is 0: 4-byte alignment, which hlen + 4 already has); with the data digest the data is followed
 * by DDGST, CRC32C of the data alone. The common header's HDGSTF and DDGSTF flags say each is there (DDGSTF only
 * on a PDU that carries data), and PLEN counts both. The header digest is written by {@link #sealHeader} once the
 * whole header is filled in.
 * <pre>
 *   CapsuleCmd:  | CH+SQE (72) | HDGST (4)? | in-capsule data (PDO = 72 or 76) | DDGST (4)? |
 *   H2CData:     | CH+fields (24) | HDGST (4)? | data (PDO = 24 or 28) | DDGST (4)? |
 * </pre>
 */
final class HostPdus {
    private HostPdus() {}

    /** SQE flags PSDT = 01: the data pointer is an SGL (Linux NVME_CMD_SGL_METABUF), as every fabric requires. */
    static final int SQE_FLAGS_SGL = 1 << 6;
    static final int SGL_ADDRESS_OFFSET = 24;
    static final int SGL_LENGTH_OFFSET = 32;
    static final int SGL_TYPE_OFFSET = 39;
    static final int SGL_IN_CAPSULE = io.basalt.nvmeof.tcp.Sqe.SGL_IN_CAPSULE;
    static final int SGL_TRANSPORT = io.basalt.nvmeof.tcp.Sqe.SGL_TRANSPORT_DATA_BLOCK;

    static void icReq(MemorySegment pdu, int digests) {
        pdu.asSlice(0, IcReqPdu.BYTES).fill((byte) 0);
        IcReqPdu ic = new IcReqPdu();
        ic.wrap(pdu);
        ic.header(PduFlyweight.TYPE_IC_REQ, 0, IcReqPdu.BYTES, 0, IcReqPdu.BYTES);
        ic.pfv(IcReqPdu.PFV_1_0);
        ic.hpda(0);
        ic.digest(digests);
        ic.maxR2t(0); // 0's based: one R2T outstanding per command
    }

    /**
     * Starts a CapsuleCmd: the common header for {@code inCapsuleBytes} of data after the SQE, the SQE zeroed but
     * for opcode, flags, CID, NSID and an SGL for {@code dataBytes} (in the capsule or moved by the transport).
     * Returns the SQE's offset in {@code pdu} so the caller fills the command dwords.
     */
    static int capsule(MemorySegment pdu, int opcode, int cid, int nsid, long dataBytes, boolean inCapsule, int digests) {
        long inCapsuleBytes = inCapsule ? dataBytes : 0;
        int headerBytes = CapsuleCmdPdu.BYTES + headerDigestBytes(digests);
        int pdo = inCapsuleBytes > 0 ? headerBytes : 0;
        long plen = headerBytes + inCapsuleBytes + (inCapsuleBytes > 0 ? dataDigestBytes(digests) : 0);
        pdu.asSlice(0, CapsuleCmdPdu.BYTES).fill((byte) 0);
        pdu.set(ValueLayout.JAVA_BYTE, PduFlyweight.TYPE_OFFSET, (byte) PduFlyweight.TYPE_CAPSULE_CMD);
        pdu.set(ValueLayout.JAVA_BYTE, PduFlyweight.FLAGS_OFFSET, (byte) flags(digests, inCapsuleBytes > 0));
        pdu.set(ValueLayout.JAVA_BYTE, PduFlyweight.HLEN_OFFSET, (byte) CapsuleCmdPdu.BYTES);
        pdu.set(ValueLayout.JAVA_BYTE, PduFlyweight.PDO_OFFSET, (byte) pdo);
        Sqe.putU32(pdu, PduFlyweight.PLEN_OFFSET, (int) plen);
        int s = CapsuleCmdPdu.SQE_OFFSET;
        Sqe.putU8(pdu, s + Sqe.OPCODE_OFFSET, opcode);
        Sqe.putU8(pdu, s + Sqe.FLAGS_OFFSET, SQE_FLAGS_SGL);
        Sqe.putU16(pdu, s + Sqe.COMMAND_ID_OFFSET, cid);
        Sqe.putU32(pdu, s + Sqe.NSID_OFFSET, nsid);
        if (dataBytes > 0) {
            Sqe.putU32(pdu, s + SGL_LENGTH_OFFSET, (int) dataBytes);
            Sqe.putU8(pdu, s + SGL_TYPE_OFFSET, inCapsule ? SGL_IN_CAPSULE : SGL_TRANSPORT);
        }
        return s;
    }

    /** An H2CData header (hlen 24) for {@code lengthBytes} at {@code offsetBytes} of a command's data. */
    static void h2cData(MemorySegment pdu, int cid, int ttag, long offsetBytes, long lengthBytes, boolean last, int digests) {
        int pdo = DataPdu.BYTES + headerDigestBytes(digests);
        int flags = flags(digests, true) | (last ? PduFlyweight.FLAG_DATA_LAST : 0);
        pdu.set(ValueLayout.JAVA_BYTE, PduFlyweight.TYPE_OFFSET, (byte) PduFlyweight.TYPE_H2C_DATA);
        pdu.set(ValueLayout.JAVA_BYTE, PduFlyweight.FLAGS_OFFSET, (byte) flags);
        pdu.set(ValueLayout.JAVA_BYTE, PduFlyweight.HLEN_OFFSET, (byte) DataPdu.BYTES);
        pdu.set(ValueLayout.JAVA_BYTE, PduFlyweight.PDO_OFFSET, (byte) pdo);
        Sqe.putU32(pdu, PduFlyweight.PLEN_OFFSET, (int) (pdo + lengthBytes + dataDigestBytes(digests)));
        Sqe.putU16(pdu, DataPdu.CCCID_OFFSET, cid);
        Sqe.putU16(pdu, DataPdu.TTAG_OFFSET, ttag);
        Sqe.putU32(pdu, DataPdu.DATAO_OFFSET, (int) offsetBytes);
        Sqe.putU32(pdu, DataPdu.DATAL_OFFSET, (int) lengthBytes);
        Sqe.putU32(pdu, DataPdu.RESERVED_OFFSET, 0);
    }

    /** With the header digest on, writes HDGST (CRC32C of the first {@code hlen} bytes) right after them. */
    static void sealHeader(MemorySegment pdu, int hlen, int digests, SegmentCrc32c crc) {
        if ((digests & IcReqPdu.DIGEST_HEADER) == 0) return;
        Sqe.putU32(pdu, hlen, crc.of(pdu, 0, hlen));
    }

    static int headerDigestBytes(int digests) {
        return (digests & IcReqPdu.DIGEST_HEADER) != 0 ? PduFlyweight.DIGEST_BYTES : 0;
    }

    static int dataDigestBytes(int digests) {
        return (digests & IcReqPdu.DIGEST_DATA) != 0 ? PduFlyweight.DIGEST_BYTES : 0;
    }

    /** HDGSTF when the header digest is on; DDGSTF when the data digest is on and the PDU carries data. */
    private static int flags(int digests, boolean hasData) {
        int flags = (digests & IcReqPdu.DIGEST_HEADER) != 0 ? PduFlyweight.FLAG_HDGST : 0;
        if (hasData && (digests & IcReqPdu.DIGEST_DATA) != 0) flags |= PduFlyweight.FLAG_DDGST;
        return flags;
    }
}
