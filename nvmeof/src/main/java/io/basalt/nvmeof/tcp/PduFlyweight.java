package io.basalt.nvmeof.tcp;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The 8-byte common header every NVMe/TCP PDU begins with (NVMe/TCP transport specification 1.0, 3.6.1,
 * "PDU Common Header"; struct nvme_tcp_hdr in Linux include/linux/nvme-tcp.h). All fields little-endian.
 * <pre>
 *  0        1        2        3        4                                   8
 *  +--------+--------+--------+--------+-----------------------------------+
 *  | type   | flags  | hlen   | pdo    | plen (u32: whole PDU on the wire) |
 *  +--------+--------+--------+--------+-----------------------------------+
 * </pre>
 * A subclass adds the fields of one PDU type. A flyweight owns no memory: {@link #wrap} points it at a header
 * (offset 0 of the segment); it is reused for every PDU, so reading one allocates nothing.
 */
public class PduFlyweight {
    public static final int TYPE_OFFSET = 0;
    public static final int FLAGS_OFFSET = 1;
    public static final int HLEN_OFFSET = 2;
    public static final int PDO_OFFSET = 3;
    public static final int PLEN_OFFSET = 4;
    public static final int COMMON_HEADER_BYTES = 8;

    /** PDU types (3.6.1, enum nvme_tcp_pdu_type). */
    public static final int TYPE_IC_REQ = 0x00;
    public static final int TYPE_IC_RESP = 0x01;
    public static final int TYPE_H2C_TERM_REQ = 0x02;
    public static final int TYPE_C2H_TERM_REQ = 0x03;
    public static final int TYPE_CAPSULE_CMD = 0x04;
    public static final int TYPE_CAPSULE_RESP = 0x05;
    public static final int TYPE_H2C_DATA = 0x06;
    public static final int TYPE_C2H_DATA = 0x07;
    public static final int TYPE_R2T = 0x09;

    /** Common header flags (enum nvme_tcp_pdu_flags). */
    public static final int FLAG_HDGST = 1 << 0;
    public static final int FLAG_DDGST = 1 << 1;
    public static final int FLAG_DATA_LAST = 1 << 2;
    public static final int FLAG_DATA_SUCCESS = 1 << 3;

    /** Header and data digests are CRC32C, 4 bytes, little-endian (NVME_TCP_DIGEST_LENGTH). */
    public static final int DIGEST_BYTES = 4;

    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    protected MemorySegment segment = MemorySegment.NULL;

    /** Points this flyweight at the header that starts at offset 0 of {@code header}. */
    public PduFlyweight wrap(MemorySegment header) {
        this.segment = header;
        return this;
    }

    public MemorySegment segment() {
        return segment;
    }

    public int type() {
        return u8(TYPE_OFFSET);
    }

    public int flags() {
        return u8(FLAGS_OFFSET);
    }

    public int hlen() {
        return u8(HLEN_OFFSET);
    }

    public int pdo() {
        return u8(PDO_OFFSET);
    }

    /** PDU length as an unsigned 32-bit value. */
    public long plen() {
        return Integer.toUnsignedLong(segment.get(U32, PLEN_OFFSET));
    }

    /** Writes the common header. */
    public void header(int type, int flags, int hlen, int pdo, long plen) {
        segment.set(ValueLayout.JAVA_BYTE, TYPE_OFFSET, (byte) type);
        segment.set(ValueLayout.JAVA_BYTE, FLAGS_OFFSET, (byte) flags);
        segment.set(ValueLayout.JAVA_BYTE, HLEN_OFFSET, (byte) hlen);
        segment.set(ValueLayout.JAVA_BYTE, PDO_OFFSET, (byte) pdo);
        segment.set(U32, PLEN_OFFSET, (int) plen);
    }

    public void flags(int flags) {
        segment.set(ValueLayout.JAVA_BYTE, FLAGS_OFFSET, (byte) flags);
    }

    protected final int u8(long offset) {
        return Byte.toUnsignedInt(segment.get(ValueLayout.JAVA_BYTE, offset));
    }

    protected final int u16(long offset) {
        return Short.toUnsignedInt(segment.get(U16, offset));
    }

    protected final long u32(long offset) {
        return Integer.toUnsignedLong(segment.get(U32, offset));
    }

    protected final void u8(long offset, int value) {
        segment.set(ValueLayout.JAVA_BYTE, offset, (byte) value);
    }

    protected final void u16(long offset, int value) {
        segment.set(U16, offset, (short) value);
    }

    protected final void u32(long offset, long value) {
        segment.set(U32, offset, (int) value);
    }
}
