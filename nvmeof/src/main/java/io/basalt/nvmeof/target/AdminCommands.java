package io.basalt.nvmeof.target;

import io.basalt.nvmeof.nvme.IdentifyController;
import io.basalt.nvmeof.nvme.IdentifyNamespace;
import io.basalt.nvmeof.nvme.LogPages;
import io.basalt.nvmeof.nvme.NamespaceDescriptors;
import io.basalt.nvmeof.nvme.NvmeStatus;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Sqe;

import java.lang.foreign.MemorySegment;

/**
 * The admin commands of one controller's admin queue (NVMe base 2.0 section 5): Identify, Get Log Page,
 * Set/Get Features, Asynchronous Event Request, Keep Alive, Abort. Data is laid out in a scratch page and copied
 * into the transport's buffer (as much as the command's SGL gave room for). Admin reactor only.
 */
final class AdminCommands {
    private static final int IDENTIFY_BYTES = 4096;
    private static final int SAVE_BIT = 1 << 31;
    private static final int QUEUE_COUNT_INVALID = 0xFFFF;

    private final QueuePair queue;
    private final Controller controller;
    private final MemorySegment scratch = MemorySegment.ofArray(new byte[IDENTIFY_BYTES]);

    AdminCommands(QueuePair queue, Controller controller) {
        this.queue = queue;
        this.controller = controller;
    }

    void execute(MemorySegment sqe, MemorySegment data, long tag) {
        if (!controller.ready()) {
            queue.fail(tag, sqe, NvmeStatus.CMD_SEQ_ERROR | NvmeStatus.DNR); // before CC.EN = 1 and CSTS.RDY
            return;
        }
        switch (Sqe.opcode(sqe)) {
            case Opcodes.ADMIN_IDENTIFY -> identify(sqe, data, tag);
            case Opcodes.ADMIN_GET_LOG_PAGE -> getLogPage(sqe, data, tag);
            case Opcodes.ADMIN_SET_FEATURES -> setFeatures(sqe, tag);
            case Opcodes.ADMIN_GET_FEATURES -> getFeatures(sqe, tag);
            case Opcodes.ADMIN_ASYNC_EVENT_REQUEST -> asyncEventRequest(sqe, tag);
            case Opcodes.ADMIN_KEEP_ALIVE -> queue.complete(tag, 0, 0, 0, NvmeStatus.SUCCESS, sqe);
            // Abort: dword 0 bit 0 set = "not aborted"; the command runs to its end (as nvmet answers).
            case Opcodes.ADMIN_ABORT -> queue.complete(tag, 0, 1, 0, NvmeStatus.SUCCESS, sqe);
            default -> queue.fail(tag, sqe, NvmeStatus.INVALID_OPCODE | NvmeStatus.DNR);
        }
    }

    // ------------------------------------------------------------------ Identify

    private void identify(MemorySegment sqe, MemorySegment data, long tag) {
        int cns = Sqe.cdw(sqe, 10) & 0xFF;
        boolean discovery = controller.subsystem().isDiscovery();
        int status;
        if (cns == Opcodes.CNS_CONTROLLER) {
            IdentifyController.write(scratch, controller.identifyValues());
            status = NvmeStatus.SUCCESS;
        } else if (discovery) {
            status = NvmeStatus.INVALID_FIELD | NvmeStatus.DNR;
        } else {
            status = switch (cns) {
                case Opcodes.CNS_NAMESPACE -> identifyNamespace(Sqe.nsid(sqe));
                case Opcodes.CNS_ACTIVE_NAMESPACES -> activeNamespaces(Sqe.nsid(sqe));
                case Opcodes.CNS_NAMESPACE_DESCRIPTORS -> descriptors(Sqe.nsid(sqe));
                case Opcodes.CNS_CS_CONTROLLER -> csController(Sqe.cdw(sqe, 11) >>> 24);
                default -> NvmeStatus.INVALID_FIELD | NvmeStatus.DNR;
            };
        }
        if (status != NvmeStatus.SUCCESS) {
            queue.fail(tag, sqe, status);
            return;
        }
        queue.complete(tag, copyOut(scratch, 0, IDENTIFY_BYTES, data), 0, 0, NvmeStatus.SUCCESS, sqe);
    }

    private static boolean nsidInRange(int nsid) {
        return nsid >= 1 && nsid <= TargetConfig.NAMESPACES_MAX;
    }

    /** An allocated but inactive nsid reads as zeroes (NVMe base 2.0 section 5.17.2.1), as nvmet answers. */
    private int identifyNamespace(int nsid) {
        if (!nsidInRange(nsid)) return NvmeStatus.INVALID_NS | NvmeStatus.DNR;
        Namespace ns = controller.subsystem().namespace(nsid);
        if (ns == null) scratch.fill((byte) 0);
        else IdentifyNamespace.write(scratch, ns.identifyValues());
        return NvmeStatus.SUCCESS;
    }

    private int activeNamespaces(int afterNsid) {
        if (Integer.compareUnsigned(afterNsid, 0xFFFF_FFFE) >= 0) return NvmeStatus.INVALID_NS | NvmeStatus.DNR;
        scratch.fill((byte) 0);
        int at = 0;
        for (int nsid : controller.subsystem().activeNsids()) {
            if (Integer.compareUnsigned(nsid, afterNsid) <= 0) continue;
            if (at == IDENTIFY_BYTES / Integer.BYTES) break;
            Sqe.putU32(scratch, (long) at++ * Integer.BYTES, nsid);
        }
        return NvmeStatus.SUCCESS;
    }

    private int descriptors(int nsid) {
        Namespace ns = nsidInRange(nsid) ? controller.subsystem().namespace(nsid) : null;
        if (ns == null) return NvmeStatus.INVALID_NS | NvmeStatus.DNR;
        NamespaceDescriptors.write(scratch, ns.ids().eui64(), ns.ids().nguid(), ns.ids().uuidBytes());
        return NvmeStatus.SUCCESS;
    }

    /** I/O command set specific Identify Controller for NVM: all zero, no limits beyond MDTS (as nvmet). */
    private int csController(int csi) {
        if (csi != Opcodes.CSI_NVM) return NvmeStatus.INVALID_FIELD | NvmeStatus.DNR;
        scratch.fill((byte) 0);
        return NvmeStatus.SUCCESS;
    }

    // ------------------------------------------------------------------ Get Log Page

    private void getLogPage(MemorySegment sqe, MemorySegment data, long tag) {
        int cdw10 = Sqe.cdw(sqe, 10);
        int lid = cdw10 & 0xFF;
        boolean retain = (cdw10 & LogPages.RAE_BIT) != 0;
        long lengthBytes = LogPages.lengthBytes(cdw10, Sqe.cdw(sqe, 11));
        long offsetBytes = LogPages.offsetBytes(Sqe.cdw(sqe, 12), Sqe.cdw(sqe, 13));
        MemorySegment page = logPage(lid, retain);
        if (page == null) {
            queue.fail(tag, sqe, NvmeStatus.INVALID_LOG_PAGE | NvmeStatus.DNR);
        } else if (offsetBytes % Integer.BYTES != 0 || offsetBytes > page.byteSize()) {
            queue.fail(tag, sqe, NvmeStatus.INVALID_FIELD | NvmeStatus.DNR);
        } else {
            queue.complete(tag, copyOut(page, offsetBytes, lengthBytes, data), 0, 0, NvmeStatus.SUCCESS, sqe);
        }
    }

    private MemorySegment logPage(int lid, boolean retain) {
        boolean discovery = controller.subsystem().isDiscovery();
        switch (lid) {
            case Opcodes.LOG_ERROR -> {
                MemorySegment page = MemorySegment.ofArray(new byte[controller.errors().capacity() * LogPages.ERROR_ENTRY_BYTES]);
                controller.errors().write(page);
                return page;
            }
            case Opcodes.LOG_DISCOVERY -> {
                if (!discovery) return null;
                controller.discoveryLogRead(retain);
                return controller.target().discovery().page(controller.hostNqn(), queue.listener());
            }
            default -> {
                if (discovery) return null;
                return switch (lid) {
                    case Opcodes.LOG_SMART -> HealthLog.write(controller);
                    case Opcodes.LOG_FIRMWARE_SLOT -> HealthLog.firmwareSlots(controller.target().config().firmware());
                    case Opcodes.LOG_CHANGED_NAMESPACES -> changedNamespaces(retain);
                    default -> null;
                };
            }
        }
    }

    private MemorySegment changedNamespaces(boolean retain) {
        MemorySegment page = MemorySegment.ofArray(new byte[LogPages.CHANGED_NAMESPACES_BYTES]);
        int[] nsids = controller.takeChangedNamespaces(retain);
        for (int i = 0; i < nsids.length; i++) Sqe.putU32(page, (long) i * Integer.BYTES, nsids[i]);
        return page;
    }

    /**
     * Copies {@code [offset, offset + length)} of {@code page} into {@code data} (bytes past the page are zero),
     * cut to the buffer the transport gave; returns the bytes to send.
     */
    private static long copyOut(MemorySegment page, long offsetBytes, long lengthBytes, MemorySegment data) {
        long sendBytes = Math.min(lengthBytes, data.byteSize());
        long fromPage = Math.max(0, Math.min(sendBytes, page.byteSize() - offsetBytes));
        if (fromPage > 0) MemorySegment.copy(page, offsetBytes, data, 0, fromPage);
        if (sendBytes > fromPage) data.asSlice(fromPage, sendBytes - fromPage).fill((byte) 0);
        return sendBytes;
    }

    // ------------------------------------------------------------------ features and events

    private void setFeatures(MemorySegment sqe, long tag) {
        int cdw10 = Sqe.cdw(sqe, 10), cdw11 = Sqe.cdw(sqe, 11);
        if ((cdw10 & SAVE_BIT) != 0) {
            queue.fail(tag, sqe, NvmeStatus.FEATURE_NOT_SAVEABLE | NvmeStatus.DNR);
            return;
        }
        boolean discovery = controller.subsystem().isDiscovery();
        int fid = cdw10 & 0xFF;
        int dw0 = 0;
        if (fid == Opcodes.FEATURE_ASYNC_EVENT_CONFIG) {
            controller.asyncEventConfig(cdw11);
        } else if (fid == Opcodes.FEATURE_KEEP_ALIVE_TIMER) {
            controller.keepAliveTimeoutMs(Integer.toUnsignedLong(cdw11));
        } else if (fid == Opcodes.FEATURE_NUMBER_OF_QUEUES && !discovery) {
            if ((cdw11 & 0xFFFF) == QUEUE_COUNT_INVALID || (cdw11 >>> 16) == QUEUE_COUNT_INVALID) {
                queue.fail(tag, sqe, NvmeStatus.INVALID_FIELD | NvmeStatus.DNR);
                return;
            }
            dw0 = queuesGranted();
        } else if (fid == Opcodes.FEATURE_VOLATILE_WRITE_CACHE && !discovery) {
            controller.volatileWriteCache((cdw11 & 1) != 0);
        } else {
            queue.fail(tag, sqe, NvmeStatus.INVALID_FIELD | NvmeStatus.DNR);
            return;
        }
        queue.complete(tag, 0, dw0, 0, NvmeStatus.SUCCESS, sqe);
    }

    private void getFeatures(MemorySegment sqe, long tag) {
        boolean discovery = controller.subsystem().isDiscovery();
        int fid = Sqe.cdw(sqe, 10) & 0xFF;
        int dw0;
        if (fid == Opcodes.FEATURE_ASYNC_EVENT_CONFIG) dw0 = controller.asyncEventConfig();
        else if (fid == Opcodes.FEATURE_KEEP_ALIVE_TIMER) dw0 = (int) controller.keepAliveTimeoutMs();
        else if (fid == Opcodes.FEATURE_NUMBER_OF_QUEUES && !discovery) dw0 = queuesGranted();
        else if (fid == Opcodes.FEATURE_VOLATILE_WRITE_CACHE && !discovery) dw0 = controller.volatileWriteCache() ? 1 : 0;
        else {
            queue.fail(tag, sqe, NvmeStatus.INVALID_FIELD | NvmeStatus.DNR);
            return;
        }
        queue.complete(tag, 0, dw0, 0, NvmeStatus.SUCCESS, sqe);
    }

    /** Number of Queues: every controller may have ioQueuesMax submission and completion queues (0-based), as nvmet. */
    private int queuesGranted() {
        int max = controller.target().config().ioQueuesMax() - 1;
        return (max << 16) | max;
    }

    private void asyncEventRequest(MemorySegment sqe, long tag) {
        long result = controller.asyncEventRequest(tag);
        if (result == Controller.AER_HELD) return; // answered when an event comes
        if (result == Controller.AER_LIMIT_EXCEEDED) queue.fail(tag, sqe, NvmeStatus.ASYNC_LIMIT | NvmeStatus.DNR);
        else queue.complete(tag, 0, (int) result, 0, NvmeStatus.SUCCESS, sqe);
    }
}
