package io.basalt.nvmeof.tcp;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The fields of a 64-byte submission queue entry the transport reads (NVMe base 2.0, 4.2 "Submission Queue
 * Entry"; NVMe over Fabrics 1.1, 2.1 "Fabrics command" and 3.3 "Connect"; struct nvme_command in Linux
 * include/linux/nvme.h). Little-endian. Static accessors over a segment that starts at the SQE.
 * <pre>
 *  0      1      2      4              24                 32        36      39     40 .. 64
 *  | OPC  | FLAGS| CID  | NSID/FCTYPE  | SGL1 address     | length  | rsvd  | type | command dwords 10..15
 * </pre>
 * For a Fabrics Connect: RECFMT at 40, QID at 42, SQSIZE (0's based) at 44, CATTR at 46, KATO at 48.
 */
public final class Sqe {
    public static final int BYTES = 64;
    public static final int OPCODE_OFFSET = 0;
    public static final int FLAGS_OFFSET = 1;
    public static final int CID_OFFSET = 2;
    /** Fabrics commands put their type where other commands have the namespace id. */
    public static final int FCTYPE_OFFSET = 4;
    public static final int SGL_ADDRESS_OFFSET = 24;
    public static final int SGL_LENGTH_OFFSET = 32;
    public static final int SGL_TYPE_OFFSET = 39;
    public static final int CONNECT_QID_OFFSET = 42;
    public static final int CONNECT_SQSIZE_OFFSET = 44;
    public static final int CONNECT_CATTR_OFFSET = 46;

    /** The Fabrics command opcode (nvme_fabrics_command); its type is in FCTYPE. */
    public static final int OPCODE_FABRICS = 0x7f;
    public static final int FCTYPE_CONNECT = 0x01;

    /**
     * SGL descriptor identifiers (base 2.0, 4.1.8, table "SGL Descriptor Type" and "Sub Type"): an SGL Data
     * Block with the Offset subtype addresses in-capsule data (Linux: NVME_SGL_FMT_DATA_DESC << 4 |
     * NVME_SGL_FMT_OFFSET); a Transport SGL Data Block with the transport-specific subtype A means the data
     * moves by R2T/H2CData or C2HData (NVME_TRANSPORT_SGL_DATA_DESC << 4 | NVME_SGL_FMT_TRANSPORT_A).
     */
    public static final int SGL_IN_CAPSULE = 0x01;
    public static final int SGL_TRANSPORT_DATA_BLOCK = 0x5a;

    /** Data transfer direction: bits 1:0 of the opcode (of FCTYPE for Fabrics commands). */
    public static final int DIRECTION_NONE = 0b00;
    public static final int DIRECTION_HOST_TO_CONTROLLER = 0b01;
    public static final int DIRECTION_CONTROLLER_TO_HOST = 0b10;
    public static final int DIRECTION_BIDIRECTIONAL = 0b11;

    private Sqe() {}

    public static int opcode(MemorySegment sqe) {
        return Byte.toUnsignedInt(sqe.get(ValueLayout.JAVA_BYTE, OPCODE_OFFSET));
    }

    public static int cid(MemorySegment sqe) {
        return Short.toUnsignedInt(sqe.get(PduFlyweight.U16, CID_OFFSET));
    }

    public static int fctype(MemorySegment sqe) {
        return Byte.toUnsignedInt(sqe.get(ValueLayout.JAVA_BYTE, FCTYPE_OFFSET));
    }

    public static long sglAddress(MemorySegment sqe) {
        return sqe.get(PduFlyweight.U64, SGL_ADDRESS_OFFSET);
    }

    public static long sglLength(MemorySegment sqe) {
        return Integer.toUnsignedLong(sqe.get(PduFlyweight.U32, SGL_LENGTH_OFFSET));
    }

    public static int sglType(MemorySegment sqe) {
        return Byte.toUnsignedInt(sqe.get(ValueLayout.JAVA_BYTE, SGL_TYPE_OFFSET));
    }

    public static boolean isConnect(MemorySegment sqe) {
        return opcode(sqe) == OPCODE_FABRICS && fctype(sqe) == FCTYPE_CONNECT;
    }

    public static int connectQid(MemorySegment sqe) {
        return Short.toUnsignedInt(sqe.get(PduFlyweight.U16, CONNECT_QID_OFFSET));
    }

    public static int connectSqSize(MemorySegment sqe) {
        return Short.toUnsignedInt(sqe.get(PduFlyweight.U16, CONNECT_SQSIZE_OFFSET));
    }

    /** The command's data transfer direction: from FCTYPE for a Fabrics command, else from the opcode. */
    public static int direction(MemorySegment sqe) {
        int opcode = opcode(sqe);
        return (opcode == OPCODE_FABRICS ? fctype(sqe) : opcode) & 0b11;
    }
}
