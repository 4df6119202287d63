package io.basalt.nvmeof.target;

import io.basalt.engine.Status;
import io.basalt.nvmeof.nvme.NvmeStatus;
import io.basalt.nvmeof.nvme.Opcodes;

/** Block device statuses as NVMe completion statuses (after nvmet's blk_to_nvme_status). */
final class StatusMapping {
    private StatusMapping() {}

    static int nvmeStatus(int engineStatus, int opcode) {
        return switch (engineStatus) {
            case Status.OK -> NvmeStatus.SUCCESS;
            case Status.IO_ERROR -> switch (opcode) {
                case Opcodes.IO_READ -> NvmeStatus.UNRECOVERED_READ_ERROR;
                case Opcodes.IO_WRITE, Opcodes.IO_WRITE_ZEROES -> NvmeStatus.WRITE_FAULT;
                default -> NvmeStatus.INTERNAL;
            };
            case Status.OUT_OF_RANGE -> NvmeStatus.LBA_RANGE | NvmeStatus.DNR;
            case Status.MISALIGNED, Status.INVALID -> NvmeStatus.INVALID_FIELD | NvmeStatus.DNR;
            // Deallocation is a hint: a device that cannot do it has done enough (as nvmet ignores EOPNOTSUPP).
            case Status.UNSUPPORTED -> opcode == Opcodes.IO_DATASET_MANAGEMENT ? NvmeStatus.SUCCESS : NvmeStatus.INVALID_OPCODE | NvmeStatus.DNR;
            case Status.NO_SPACE -> NvmeStatus.CAP_EXCEEDED | NvmeStatus.DNR;
            case Status.READ_ONLY -> NvmeStatus.NS_WRITE_PROTECTED | NvmeStatus.DNR;
            default -> NvmeStatus.INTERNAL; // DEVICE_GONE and anything new: the host may retry elsewhere
        };
    }
}
