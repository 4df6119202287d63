package io.basalt.nvmeof.tcp;

/**
 * CapsuleResp: a response capsule carrying one completion queue entry (NVMe/TCP 1.0, 3.6.2.7; struct
 * nvme_tcp_rsp_pdu with struct nvme_completion). hlen = 24.
 * <pre>
 *  0      8      12     16     18     20     22       24
 *  | CH   | DW0  | DW1  | SQHD | SQID | CID  | STATUS |
 * </pre>
 * STATUS bit 0 is the phase tag (always 0 over a fabric), bits 15:1 the status field.
 */
public final class CapsuleRespPdu extends PduFlyweight {
    public static final int CQE_OFFSET = 8;
    public static final int DW0_OFFSET = 8;
    public static final int DW1_OFFSET = 12;
    public static final int SQHD_OFFSET = 16;
    public static final int SQID_OFFSET = 18;
    public static final int CID_OFFSET = 20;
    public static final int STATUS_OFFSET = 22;
    public static final int CQE_BYTES = 16;
    public static final int BYTES = CQE_OFFSET + CQE_BYTES;

    public long dw0() {
        return u32(DW0_OFFSET);
    }

    public long dw1() {
        return u32(DW1_OFFSET);
    }

    public int sqhd() {
        return u16(SQHD_OFFSET);
    }

    public int sqid() {
        return u16(SQID_OFFSET);
    }

    public int cid() {
        return u16(CID_OFFSET);
    }

    /** The status field without the phase bit (the form {@code QueueHandler.Responses.complete} takes). */
    public int status() {
        return u16(STATUS_OFFSET) >>> 1;
    }

    public void cqe(int dw0, int dw1, int sqhd, int sqid, int cid, int status) {
        u32(DW0_OFFSET, dw0);
        u32(DW1_OFFSET, dw1);
        u16(SQHD_OFFSET, sqhd);
        u16(SQID_OFFSET, sqid);
        u16(CID_OFFSET, cid);
        u16(STATUS_OFFSET, (status << 1) & 0xfffe);
    }
}
