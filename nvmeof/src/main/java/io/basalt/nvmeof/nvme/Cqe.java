package io.basalt.nvmeof.nvme;

import java.lang.foreign.MemorySegment;

/**
 * Flyweight over a 16-byte completion queue entry (NVMe base 2.0, figure 89 "Common Completion Queue Entry";
 * Linux {@code struct nvme_completion}), little endian.
 * <pre>
 *  0: dw0 (command specific)   4: dw1 (command specific)
 *  8: SQ head (u16)  10: SQ id (u16)  12: command id (u16)  14: status (u16: phase in bit 0, status field above)
 * </pre>
 * The status field as {@link NvmeStatus} holds it (SCT in bits 10:8, SC in 7:0, More 13, DNR 14) is the CQE's
 * status word shifted right by one, as Linux's NVME_SC_* constants are.
 */
public final class Cqe {
    private Cqe() {}

    public static final int SIZE = 16;
    public static final int DW0_OFFSET = 0;
    public static final int DW1_OFFSET = 4;
    public static final int SQ_HEAD_OFFSET = 8;
    public static final int SQ_ID_OFFSET = 10;
    public static final int COMMAND_ID_OFFSET = 12;
    public static final int STATUS_OFFSET = 14;

    /** SQ head reported when the queue was connected with SQ flow control disabled. */
    public static final int SQ_HEAD_FLOW_CONTROL_DISABLED = 0xFFFF;

    public static void write(MemorySegment cqe, int dw0, int dw1, int sqHead, int sqId, int commandId, int status, boolean phase) {
        Sqe.putU32(cqe, DW0_OFFSET, dw0);
        Sqe.putU32(cqe, DW1_OFFSET, dw1);
        Sqe.putU16(cqe, SQ_HEAD_OFFSET, sqHead);
        Sqe.putU16(cqe, SQ_ID_OFFSET, sqId);
        Sqe.putU16(cqe, COMMAND_ID_OFFSET, commandId);
        Sqe.putU16(cqe, STATUS_OFFSET, (status << 1) | (phase ? 1 : 0));
    }

    public static int dw0(MemorySegment cqe) { return Sqe.u32(cqe, DW0_OFFSET); }
    public static int dw1(MemorySegment cqe) { return Sqe.u32(cqe, DW1_OFFSET); }
    public static int sqHead(MemorySegment cqe) { return Sqe.u16(cqe, SQ_HEAD_OFFSET); }
    public static int sqId(MemorySegment cqe) { return Sqe.u16(cqe, SQ_ID_OFFSET); }
    public static int commandId(MemorySegment cqe) { return Sqe.u16(cqe, COMMAND_ID_OFFSET); }

    /** The status field without the phase bit. */
    public static int status(MemorySegment cqe) { return Sqe.u16(cqe, STATUS_OFFSET) >>> 1; }
}
