package io.basalt.nvmeof.target;

import io.basalt.nvmeof.nvme.Fabrics;
import io.basalt.nvmeof.nvme.NvmeStatus;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Registers;
import io.basalt.nvmeof.nvme.Sqe;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Fabrics commands (NVMe over Fabrics 1.1 section 3.3): Connect on a new queue, Property Get/Set on the admin
 * queue. Refusals follow drivers/nvme/target/fabrics-cmd.c: the status and, for invalid parameters, the
 * IATTR/IPO location in dword 0.
 */
final class FabricsCommands {
    private FabricsCommands() {}

    /** The Connect parameters, read once. */
    private record Connect(int qid, int sqsize, boolean disableSqFlowControl, long katoMs, byte[] hostId, int cntlid,
                           String subsystemNqn, String hostNqn) {}

    static void connect(QueuePair q, MemorySegment sqe, MemorySegment data, long tag) {
        if (data.byteSize() < Fabrics.CONNECT_DATA_BYTES) {
            refuse(q, null, tag, sqe, NvmeStatus.SGL_INVALID_DATA | NvmeStatus.DNR, 0);
            return;
        }
        if (Sqe.u16(sqe, Fabrics.CONNECT_RECFMT_OFFSET) != 0) {
            refuse(q, null, tag, sqe, NvmeStatus.CONNECT_FORMAT | NvmeStatus.DNR, 0);
            return;
        }
        byte[] hostId = new byte[Fabrics.HOSTID_BYTES];
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, Fabrics.DATA_HOSTID_OFFSET, hostId, 0, hostId.length);
        Connect c = new Connect(Sqe.u16(sqe, Fabrics.CONNECT_QID_OFFSET), Sqe.u16(sqe, Fabrics.CONNECT_SQSIZE_OFFSET),
                (Sqe.u8(sqe, Fabrics.CONNECT_CATTR_OFFSET) & Fabrics.CATTR_DISABLE_SQ_FLOW_CONTROL) != 0,
                Integer.toUnsignedLong(Sqe.u32(sqe, Fabrics.CONNECT_KATO_OFFSET)), hostId,
                Sqe.u16(data, Fabrics.DATA_CNTLID_OFFSET), Fabrics.nqn(data, Fabrics.DATA_SUBNQN_OFFSET),
                Fabrics.nqn(data, Fabrics.DATA_HOSTNQN_OFFSET));
        Subsystem s = q.target().subsystem(c.subsystemNqn());
        Listener via = q.listener();
        if (s == null || (via != null && via.discoveryOnly() && !s.isDiscovery())) {
            refuse(q, null, tag, sqe, NvmeStatus.CONNECT_INVALID_PARAM | NvmeStatus.DNR,
                    Fabrics.invalidDataField(Fabrics.DATA_SUBNQN_OFFSET));
        } else if (!s.hostAllowed(c.hostNqn())) {
            refuse(q, s, tag, sqe, NvmeStatus.CONNECT_INVALID_HOST | NvmeStatus.DNR,
                    Fabrics.invalidDataField(Fabrics.DATA_HOSTNQN_OFFSET));
        } else if (c.sqsize() == 0) {
            refuse(q, s, tag, sqe, NvmeStatus.CONNECT_INVALID_PARAM | NvmeStatus.DNR,
                    Fabrics.invalidSqeField(Fabrics.CONNECT_SQSIZE_OFFSET));
        } else if (c.qid() == 0) {
            connectAdmin(q, s, c, sqe, tag);
        } else {
            connectIo(q, s, c, sqe, tag);
        }
    }

    private static void connectAdmin(QueuePair q, Subsystem s, Connect c, MemorySegment sqe, long tag) {
        if (c.cntlid() != Fabrics.CNTLID_DYNAMIC) {
            refuse(q, s, tag, sqe, NvmeStatus.CONNECT_INVALID_PARAM | NvmeStatus.DNR,
                    Fabrics.invalidDataField(Fabrics.DATA_CNTLID_OFFSET));
            return;
        }
        int cntlid = q.target().allocateCntlid();
        if (cntlid < 0) {
            refuse(q, s, tag, sqe, NvmeStatus.CONNECT_CTRL_BUSY | NvmeStatus.DNR, 0);
            return;
        }
        Controller controller = new Controller(q.target(), s, cntlid, c.hostNqn(), c.hostId(), q, c.katoMs());
        s.addController(controller);
        q.becomeAdmin(controller, c.disableSqFlowControl());
        q.complete(tag, 0, cntlid, 0, NvmeStatus.SUCCESS, sqe);
    }

    private static void connectIo(QueuePair q, Subsystem s, Connect c, MemorySegment sqe, long tag) {
        TargetConfig config = q.target().config();
        Controller controller = s.controller(c.cntlid());
        if (controller == null || !controller.hostNqn().equals(c.hostNqn())) {
            refuse(q, s, tag, sqe, NvmeStatus.CONNECT_INVALID_PARAM | NvmeStatus.DNR,
                    Fabrics.invalidDataField(Fabrics.DATA_CNTLID_OFFSET));
        } else if (s.isDiscovery() || c.qid() > config.ioQueuesMax()) {
            refuse(q, s, tag, sqe, NvmeStatus.CONNECT_INVALID_PARAM | NvmeStatus.DNR,
                    Fabrics.invalidSqeField(Fabrics.CONNECT_QID_OFFSET));
        } else if (c.sqsize() + 1 > config.ioQueueEntriesMax()) {
            refuse(q, s, tag, sqe, NvmeStatus.CONNECT_INVALID_PARAM | NvmeStatus.DNR,
                    Fabrics.invalidSqeField(Fabrics.CONNECT_SQSIZE_OFFSET));
        } else if (!controller.attach(c.qid(), q)) {
            // A second Connect for a qid the controller has (nvmet_install_queue: command sequence error).
            refuse(q, s, tag, sqe, NvmeStatus.CMD_SEQ_ERROR | NvmeStatus.DNR, 0);
        } else {
            q.becomeIo(controller, c.qid(), c.sqsize() + 1, c.disableSqFlowControl());
            q.complete(tag, 0, controller.cntlid(), 0, NvmeStatus.SUCCESS, sqe);
        }
    }

    private static void refuse(QueuePair q, Subsystem s, long tag, MemorySegment sqe, int status, int dw0) {
        if (s != null) s.refusedConnect();
        else q.target().refusedConnect();
        q.complete(tag, 0, dw0, 0, status, sqe);
    }

    /** A fabrics command on a connected queue: Property Get/Set on the admin queue, nothing else. */
    static void execute(QueuePair q, MemorySegment sqe, long tag) {
        int fctype = Sqe.u8(sqe, Fabrics.FCTYPE_OFFSET);
        if (q.state() != QueuePair.State.ADMIN) {
            q.fail(tag, sqe, (fctype == Opcodes.FCTYPE_CONNECT ? NvmeStatus.CONNECT_CTRL_BUSY : NvmeStatus.INVALID_OPCODE) | NvmeStatus.DNR);
            return;
        }
        switch (fctype) {
            case Opcodes.FCTYPE_PROPERTY_GET -> propertyGet(q, sqe, tag);
            case Opcodes.FCTYPE_PROPERTY_SET -> propertySet(q, sqe, tag);
            case Opcodes.FCTYPE_CONNECT -> q.fail(tag, sqe, NvmeStatus.CONNECT_CTRL_BUSY | NvmeStatus.DNR);
            default -> q.fail(tag, sqe, NvmeStatus.INVALID_OPCODE | NvmeStatus.DNR);
        }
    }

    private static void propertyGet(QueuePair q, MemorySegment sqe, long tag) {
        Controller c = q.controller();
        boolean eightBytes = (Sqe.u8(sqe, Fabrics.PROPERTY_ATTRIB_OFFSET) & Fabrics.PROPERTY_ATTRIB_SIZE_MASK) == Fabrics.PROPERTY_SIZE_8;
        int offset = Sqe.u32(sqe, Fabrics.PROPERTY_OFFSET_OFFSET);
        long value;
        if (eightBytes && offset == Registers.CAP) value = c.cap();
        else if (!eightBytes && offset == Registers.VS) value = Registers.VERSION_1_3;
        else if (!eightBytes && offset == Registers.CC) value = c.cc();
        else if (!eightBytes && offset == Registers.CSTS) value = c.csts();
        else {
            q.fail(tag, sqe, NvmeStatus.INVALID_FIELD | NvmeStatus.DNR);
            return;
        }
        q.complete(tag, 0, (int) value, (int) (value >>> 32), NvmeStatus.SUCCESS, sqe);
    }

    private static void propertySet(QueuePair q, MemorySegment sqe, long tag) {
        boolean eightBytes = (Sqe.u8(sqe, Fabrics.PROPERTY_ATTRIB_OFFSET) & Fabrics.PROPERTY_ATTRIB_SIZE_MASK) == Fabrics.PROPERTY_SIZE_8;
        int offset = Sqe.u32(sqe, Fabrics.PROPERTY_OFFSET_OFFSET);
        if (eightBytes || offset != Registers.CC) {
            q.fail(tag, sqe, NvmeStatus.INVALID_FIELD | NvmeStatus.DNR);
            return;
        }
        q.controller().writeCc((int) Sqe.u64(sqe, Fabrics.PROPERTY_VALUE_OFFSET));
        q.complete(tag, 0, 0, 0, NvmeStatus.SUCCESS, sqe);
    }
}
