package io.basalt.nvmeof.tcp;

/**
 * ICReq, the host's first PDU (NVMe/TCP 1.0, 3.6.2.2; struct nvme_tcp_icreq_pdu). hlen = plen = 128.
 * <pre>
 *  0      8      10     11      12       16                         128
 *  | CH   | PFV  | HPDA | DGST  | MAXR2T | reserved (112 bytes)     |
 * </pre>
 * HPDA: the data alignment the host wants in PDUs it receives, in dwords, 0's based (0..31). DGST: bit 0 header
 * digest, bit 1 data digest. MAXR2T: outstanding R2Ts per command the host accepts, 0's based.
 */
public final class IcReqPdu extends PduFlyweight {
    public static final int PFV_OFFSET = 8;
    public static final int HPDA_OFFSET = 10;
    public static final int DIGEST_OFFSET = 11;
    public static final int MAXR2T_OFFSET = 12;
    public static final int RESERVED_OFFSET = 16;
    public static final int BYTES = 128;

    /** PDU format version 1.0 (enum nvme_tcp_pfv). */
    public static final int PFV_1_0 = 0;
    /** enum nvme_tcp_digest_option. */
    public static final int DIGEST_HEADER = 1 << 0;
    public static final int DIGEST_DATA = 1 << 1;
    /** HPDA is a 5-bit field: 0..31 dwords, 0's based (up to 128-byte alignment). */
    public static final int HPDA_MAX = 31;

    public int pfv() {
        return u16(PFV_OFFSET);
    }

    public int hpda() {
        return u8(HPDA_OFFSET);
    }

    public int digest() {
        return u8(DIGEST_OFFSET);
    }

    public long maxR2t() {
        return u32(MAXR2T_OFFSET);
    }

    public void pfv(int value) {
        u16(PFV_OFFSET, value);
    }

    public void hpda(int value) {
        u8(HPDA_OFFSET, value);
    }

    public void digest(int value) {
        u8(DIGEST_OFFSET, value);
    }

    public void maxR2t(long value) {
        u32(MAXR2T_OFFSET, value);
    }
}
