package io.basalt.nvmeof.tcp;

/**
 * ICResp, the controller's answer to ICReq (NVMe/TCP 1.0, 3.6.2.3; struct nvme_tcp_icresp_pdu). hlen = plen = 128.
 * <pre>
 *  0      8      10     11      12           16                      128
 *  | CH   | PFV  | CPDA | DGST  | MAXH2CDATA | reserved (112 bytes)  |
 * </pre>
 * CPDA: the alignment the controller wants in PDUs it receives (0: none). MAXH2CDATA: the most data bytes one
 * H2CData PDU may carry; a multiple of 4, at least 4096 (the Linux host refuses anything else).
 */
public final class IcRespPdu extends PduFlyweight {
    public static final int PFV_OFFSET = 8;
    public static final int CPDA_OFFSET = 10;
    public static final int DIGEST_OFFSET = 11;
    public static final int MAXH2CDATA_OFFSET = 12;
    public static final int RESERVED_OFFSET = 16;
    public static final int BYTES = 128;
    public static final int MAXH2CDATA_MIN = 4096;

    public int pfv() {
        return u16(PFV_OFFSET);
    }

    public int cpda() {
        return u8(CPDA_OFFSET);
    }

    public int digest() {
        return u8(DIGEST_OFFSET);
    }

    public long maxH2cData() {
        return u32(MAXH2CDATA_OFFSET);
    }

    public void pfv(int value) {
        u16(PFV_OFFSET, value);
    }

    public void cpda(int value) {
        u8(CPDA_OFFSET, value);
    }

    public void digest(int value) {
        u8(DIGEST_OFFSET, value);
    }

    public void maxH2cData(long value) {
        u32(MAXH2CDATA_OFFSET, value);
    }
}
