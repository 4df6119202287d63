package io.basalt.nvmeof.tcp;

/**
 * R2T, ready to transfer (NVMe/TCP 1.0, 3.6.2.10; struct nvme_tcp_r2t_pdu). hlen = 24, no data.
 * <pre>
 *  0      8      10     12     16     20            24
 *  | CH   | CCCID| TTAG | R2TO | R2TL | reserved (4)|
 * </pre>
 * The host answers with H2CData PDUs for bytes [R2TO, R2TO + R2TL) of the command's data, each carrying TTAG.
 */
public final class R2tPdu extends PduFlyweight {
    public static final int CCCID_OFFSET = 8;
    public static final int TTAG_OFFSET = 10;
    public static final int R2TO_OFFSET = 12;
    public static final int R2TL_OFFSET = 16;
    public static final int RESERVED_OFFSET = 20;
    public static final int BYTES = 24;

    public int cccid() {
        return u16(CCCID_OFFSET);
    }

    public int ttag() {
        return u16(TTAG_OFFSET);
    }

    public long r2tOffset() {
        return u32(R2TO_OFFSET);
    }

    public long r2tLength() {
        return u32(R2TL_OFFSET);
    }

    public void fields(int cccid, int ttag, long r2tOffset, long r2tLength) {
        u16(CCCID_OFFSET, cccid);
        u16(TTAG_OFFSET, ttag);
        u32(R2TO_OFFSET, r2tOffset);
        u32(R2TL_OFFSET, r2tLength);
        u32(RESERVED_OFFSET, 0);
    }
}
