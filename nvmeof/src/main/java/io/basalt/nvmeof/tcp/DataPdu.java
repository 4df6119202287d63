package io.basalt.nvmeof.tcp;

/**
 * H2CData and C2HData, which share one layout (NVMe/TCP 1.0, 3.6.2.8 and 3.6.2.9; struct nvme_tcp_data_pdu).
 * hlen = 24; the data starts at PDO.
 * <pre>
 *  0      8      10     12      16      20                 24
 *  | CH   | CCCID| TTAG | DATAO | DATAL | reserved (4)     |
 * </pre>
 * CCCID: the command's CID. TTAG: the R2T's transfer tag (H2CData only). DATAO: offset of this PDU's data in
 * the command's data. DATAL: its length. Flags: LAST_PDU ends an R2T's (or the command's) data; SUCCESS
 * (C2HData only, with LAST_PDU) stands for a successful response capsule.
 */
public final class DataPdu extends PduFlyweight {
    public static final int CCCID_OFFSET = 8;
    public static final int TTAG_OFFSET = 10;
    public static final int DATAO_OFFSET = 12;
    public static final int DATAL_OFFSET = 16;
    public static final int RESERVED_OFFSET = 20;
    public static final int BYTES = 24;

    public int cccid() {
        return u16(CCCID_OFFSET);
    }

    public int ttag() {
        return u16(TTAG_OFFSET);
    }

    public long dataOffset() {
        return u32(DATAO_OFFSET);
    }

    public long dataLength() {
        return u32(DATAL_OFFSET);
    }

    public void fields(int cccid, int ttag, long dataOffset, long dataLength) {
        u16(CCCID_OFFSET, cccid);
        u16(TTAG_OFFSET, ttag);
        u32(DATAO_OFFSET, dataOffset);
        u32(DATAL_OFFSET, dataLength);
        u32(RESERVED_OFFSET, 0);
    }
}
