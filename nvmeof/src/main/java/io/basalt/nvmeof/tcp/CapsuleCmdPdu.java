package io.basalt.nvmeof.tcp;

import java.lang.foreign.MemorySegment;

/**
 * CapsuleCmd: a command capsule (NVMe/TCP 1.0, 3.6.2.6; struct nvme_tcp_cmd_pdu). hlen = 72: the common header
 * and the 64-byte submission queue entry; in-capsule data (if any) starts at PDO.
 * <pre>
 *  0      8                                72
 *  | CH   | SQE (64 bytes, see {@link Sqe}) |
 * </pre>
 */
public final class CapsuleCmdPdu extends PduFlyweight {
    public static final int SQE_OFFSET = 8;
    public static final int BYTES = SQE_OFFSET + Sqe.BYTES;

    /** The SQE inside the wrapped header (a slice: allocates; tests and cold paths only). */
    public MemorySegment sqe() {
        return segment.asSlice(SQE_OFFSET, Sqe.BYTES);
    }
}
