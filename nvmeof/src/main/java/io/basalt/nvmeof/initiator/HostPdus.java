package io.basalt.nvmeof.initiator;

import io.basalt.nvmeof.nvme.Sqe;
import io.basalt.nvmeof.tcp.CapsuleCmdPdu;
import io.basalt.nvmeof.tcp.DataPdu;
import io.basalt.nvmeof.tcp.IcReqPdu;
import io.basalt.nvmeof.tcp.PduFlyweight;

import java.lang.foreign.MemorySegment;

/**
 * The host's side of the PDUs (NVMe/TCP 1.0, 3.6.2; struct nvme_tcp_cmd_pdu, nvme_tcp_data_pdu in Linux
 * include/linux/nvme-tcp.h): ICReq, a CapsuleCmd header (data, if in the capsule, follows at PDO = 72) and an
 * H2CData header. Written in place into caller-owned memory, so building one allocates nothing. No digests.
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

    static void icReq(MemorySegment pdu) {
        pdu.asSlice(0, IcReqPdu.BYTES).fill((byte) 0);
        IcReqPdu ic = new IcReqPdu();
        ic.wrap(pdu);
        ic.header(PduFlyweight.TYPE_IC_REQ, 0, IcReqPdu.BYTES, 0, IcReqPdu.BYTES);
        ic.pfv(IcReqPdu.PFV_1_0);
        ic.hpda(0);
        ic.digest(0);
        ic.maxR2t(0); // 0's based: one R2T outstanding per command
    }

    /**
     * Starts a CapsuleCmd: the common header for {@code inCapsuleBytes} of data after the SQE, the SQE zeroed but
     * for opcode, flags, CID, NSID and an SGL for {@code dataBytes} (in the capsule or moved by the transport).
     * Returns the SQE's offset in {@code pdu} so the caller fills the command dwords.
     */
    static int capsule(MemorySegment pdu, int opcode, int cid, int nsid, long dataBytes, boolean inCapsule) {
        long inCapsuleBytes = inCapsule ? dataBytes : 0;
        int pdo = inCapsuleBytes > 0 ? CapsuleCmdPdu.BYTES : 0;
        pdu.asSlice(0, CapsuleCmdPdu.BYTES).fill((byte) 0);
        pdu.set(java.lang.foreign.ValueLayout.JAVA_BYTE, PduFlyweight.TYPE_OFFSET, (byte) PduFlyweight.TYPE_CAPSULE_CMD);
        pdu.set(java.lang.foreign.ValueLayout.JAVA_BYTE, PduFlyweight.HLEN_OFFSET, (byte) CapsuleCmdPdu.BYTES);
        pdu.set(java.lang.foreign.ValueLayout.JAVA_BYTE, PduFlyweight.PDO_OFFSET, (byte) pdo);
        Sqe.putU32(pdu, PduFlyweight.PLEN_OFFSET, (int) (CapsuleCmdPdu.BYTES + inCapsuleBytes));
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

    /** An H2CData header (hlen 24, PDO 24, no digests) for {@code lengthBytes} at {@code offsetBytes} of a command's data. */
    static void h2cData(MemorySegment pdu, int cid, int ttag, long offsetBytes, long lengthBytes, boolean last) {
        pdu.set(java.lang.foreign.ValueLayout.JAVA_BYTE, PduFlyweight.TYPE_OFFSET, (byte) PduFlyweight.TYPE_H2C_DATA);
        pdu.set(java.lang.foreign.ValueLayout.JAVA_BYTE, PduFlyweight.FLAGS_OFFSET, (byte) (last ? PduFlyweight.FLAG_DATA_LAST : 0));
        pdu.set(java.lang.foreign.ValueLayout.JAVA_BYTE, PduFlyweight.HLEN_OFFSET, (byte) DataPdu.BYTES);
        pdu.set(java.lang.foreign.ValueLayout.JAVA_BYTE, PduFlyweight.PDO_OFFSET, (byte) DataPdu.BYTES);
        Sqe.putU32(pdu, PduFlyweight.PLEN_OFFSET, (int) (DataPdu.BYTES + lengthBytes));
        Sqe.putU16(pdu, DataPdu.CCCID_OFFSET, cid);
        Sqe.putU16(pdu, DataPdu.TTAG_OFFSET, ttag);
        Sqe.putU32(pdu, DataPdu.DATAO_OFFSET, (int) offsetBytes);
        Sqe.putU32(pdu, DataPdu.DATAL_OFFSET, (int) lengthBytes);
        Sqe.putU32(pdu, DataPdu.RESERVED_OFFSET, 0);
    }
}
