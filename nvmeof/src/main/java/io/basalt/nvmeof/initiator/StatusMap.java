package io.basalt.nvmeof.initiator;

import io.basalt.engine.Status;
import io.basalt.nvmeof.nvme.NvmeStatus;

/** NVMe completion status to the engine's Status (the reverse of the target's StatusMapping). */
final class StatusMap {
    private StatusMap() {}

    /** Not an NVMe status: the queue's connection ended with the command in flight. */
    static final int TRANSPORT_GONE = -1;

    static int toStatus(int nvmeStatus) {
        if (nvmeStatus == TRANSPORT_GONE) return Status.DEVICE_GONE;
        int code = nvmeStatus & 0x7FF; // SCT and SC, without More and DNR
        return switch (code) {
            case NvmeStatus.SUCCESS -> Status.OK;
            case NvmeStatus.LBA_RANGE, NvmeStatus.CAP_EXCEEDED -> Status.OUT_OF_RANGE;
            case NvmeStatus.NS_WRITE_PROTECTED -> Status.READ_ONLY;
            case NvmeStatus.INVALID_OPCODE -> Status.UNSUPPORTED;
            case NvmeStatus.INVALID_FIELD, NvmeStatus.SGL_INVALID_DATA -> Status.INVALID;
            case NvmeStatus.INVALID_NS, NvmeStatus.NS_NOT_READY -> Status.DEVICE_GONE;
            default -> Status.IO_ERROR;
        };
    }
}
