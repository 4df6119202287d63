package io.basalt.nvmeof.nvme;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * Fabrics commands (NVMe over Fabrics 1.1, section 3): Connect (figure 19, its data figure 20), Property Get
 * (figure 23) and Property Set (figure 25); Linux {@code struct nvmf_connect_command}, {@code nvmf_connect_data},
 * {@code nvmf_property_get_command}, {@code nvmf_property_set_command}. Little endian.
 * <pre>
 * Connect SQE:  4: fctype  24: SGL1  40: recfmt (u16)  42: qid (u16)  44: sqsize (u16, 0-based)  46: cattr
 *               48: kato (u32, milliseconds)
 * Connect data: 0: hostid (16 bytes)  16: cntlid (u16; 0xFFFF = dynamic)  256: subnqn (256)  512: hostnqn (256)
 * Property:     40: attrib (bits 2:0 size: 0 = 4 bytes, 1 = 8 bytes)  44: offset (u32)  48: value (u64, set)
 * </pre>
 */
public final class Fabrics {
    private Fabrics() {}

    public static final int FCTYPE_OFFSET = 4;

    public static final int CONNECT_RECFMT_OFFSET = 40;
    public static final int CONNECT_QID_OFFSET = 42;
    public static final int CONNECT_SQSIZE_OFFSET = 44;
    public static final int CONNECT_CATTR_OFFSET = 46;
    public static final int CONNECT_KATO_OFFSET = 48;
    /** CATTR bit 2: the host asks to disable SQ flow control (Linux NVME_CONNECT_DISABLE_SQFLOW). */
    public static final int CATTR_DISABLE_SQ_FLOW_CONTROL = 1 << 2;

    public static final int CONNECT_DATA_BYTES = 1024;
    public static final int DATA_HOSTID_OFFSET = 0;
    public static final int HOSTID_BYTES = 16;
    public static final int DATA_CNTLID_OFFSET = 16;
    public static final int DATA_SUBNQN_OFFSET = 256;
    public static final int DATA_HOSTNQN_OFFSET = 512;
    public static final int NQN_FIELD_BYTES = 256;
    /** Connect data's cntlid asking the subsystem to pick one (dynamic controller model). */
    public static final int CNTLID_DYNAMIC = 0xFFFF;

    public static final int PROPERTY_ATTRIB_OFFSET = 40;
    public static final int PROPERTY_OFFSET_OFFSET = 44;
    public static final int PROPERTY_VALUE_OFFSET = 48;
    /** Attribute size bits: 0 = 4-byte property, 1 = 8-byte property. */
    public static final int PROPERTY_ATTRIB_SIZE_MASK = 0x7;
    public static final int PROPERTY_SIZE_8 = 1;

    /**
     * Connect's invalid-parameter location in completion dword 0 (figure 21): IATTR bit 16 set means the
     * offset (IPO, bits 15:0) is in the Connect data, clear means in the SQE (Linux IPO_IATTR_CONNECT_DATA/SQE).
     */
    public static int invalidDataField(int dataOffset) {
        return (1 << 16) | dataOffset;
    }

    public static int invalidSqeField(int sqeOffset) {
        return sqeOffset;
    }

    /** An NQN field: ASCII up to the first NUL, at most 256 bytes (255 characters and a NUL as nvmet cuts it). */
    public static String nqn(MemorySegment data, long offset) {
        int length = 0;
        while (length < NQN_FIELD_BYTES - 1 && data.get(ValueLayout.JAVA_BYTE, offset + length) != 0) length++;
        byte[] bytes = new byte[length];
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, offset, bytes, 0, length);
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    /** Writes {@code nqn} NUL-padded into a 256-byte field (for Connect data built by tests or a host). */
    public static void putNqn(MemorySegment data, long offset, String nqn) {
        byte[] bytes = nqn.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length >= NQN_FIELD_BYTES) throw new IllegalArgumentException("NQN longer than 255 bytes: " + nqn);
        data.asSlice(offset, NQN_FIELD_BYTES).fill((byte) 0);
        MemorySegment.copy(bytes, 0, data, ValueLayout.JAVA_BYTE, offset, bytes.length);
    }
}
