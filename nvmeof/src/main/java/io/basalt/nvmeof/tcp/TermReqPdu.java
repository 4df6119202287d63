package io.basalt.nvmeof.tcp;

/**
 * H2CTermReq / C2HTermReq (NVMe/TCP 1.0, 3.6.2.4 and 3.6.2.5). hlen = 24; the PDU data after the header is a
 * copy of the header of the PDU in error, at most {@link #ERROR_DATA_BYTES_MAX} bytes. Never digested.
 * <pre>
 *  0      8      10           14                    24
 *  | CH   | FES  | FEI (u32)  | reserved (10 bytes) |
 * </pre>
 * FEI sits at byte 10 as the specification's figure and SPDK's spdk_nvme_tcp_term_req_hdr place it. Linux's
 * struct nvme_tcp_term_pdu declares it as a naturally aligned __le32, which gcc puts at 12; the Linux host
 * reads only FES (nvme_tcp_handle_c2h_term), so the specification's place is used (TcpLayoutTest shows both).
 */
public final class TermReqPdu extends PduFlyweight {
    public static final int FES_OFFSET = 8;
    public static final int FEI_OFFSET = 10;
    public static final int RESERVED_OFFSET = 14;
    public static final int BYTES = 24;
    /** The most bytes of the offending PDU header a termination request carries (3.6.2.5). */
    public static final int ERROR_DATA_BYTES_MAX = 152;

    /** Fatal error status values (3.6.2.5, enum nvme_tcp_fatal_error_status). */
    public static final int FES_INVALID_PDU_HEADER_FIELD = 0x01;
    public static final int FES_PDU_SEQUENCE_ERROR = 0x02;
    public static final int FES_HEADER_DIGEST_ERROR = 0x03;
    public static final int FES_DATA_TRANSFER_OUT_OF_RANGE = 0x04;
    public static final int FES_DATA_TRANSFER_LIMIT_EXCEEDED = 0x05;
    public static final int FES_UNSUPPORTED_PARAMETER = 0x06;

    public int fes() {
        return u16(FES_OFFSET);
    }

    public long fei() {
        return u32(FEI_OFFSET);
    }

    public void fes(int value) {
        u16(FES_OFFSET, value);
    }

    public void fei(long value) {
        u32(FEI_OFFSET, value);
    }
}
