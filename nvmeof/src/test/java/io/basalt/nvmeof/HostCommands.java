package io.basalt.nvmeof;

import io.basalt.nvmeof.nvme.Fabrics;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Registers;
import io.basalt.nvmeof.nvme.Sqe;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Submission queue entries as Linux's nvme core and nvme-fabrics build them (command id and SGL are filled by
 * {@link WireHost}), and the Connect data.
 */
final class HostCommands {
    static final String HOST_NQN = "nqn.2014-08.org.nvmexpress:uuid:0c0ffee0-1111-2222-3333-444455556666";
    /** NVME_AQ_DEPTH - 1: the admin queue's SQSIZE Linux asks for. */
    static final int ADMIN_SQSIZE = 31;
    static final int LINUX_KATO_MS = 5000;
    /** Dataset Management attribute: deallocate (AD, CDW11 bit 2). */
    static final int DSM_DEALLOCATE = 1 << 2;
    static final int DSM_RANGE_BYTES = 16;

    private HostCommands() {}

    static ByteBuffer sqe(int opcode, int nsid) {
        ByteBuffer b = ByteBuffer.allocate(Sqe.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(Sqe.OPCODE_OFFSET, (byte) opcode).putInt(Sqe.NSID_OFFSET, nsid);
        return b;
    }

    static byte[] connect(int qid, int sqsize, long katoMs) {
        ByteBuffer b = sqe(Opcodes.FABRICS, 0);
        b.put(Fabrics.FCTYPE_OFFSET, (byte) Opcodes.FCTYPE_CONNECT).putShort(Fabrics.CONNECT_QID_OFFSET, (short) qid)
                .putShort(Fabrics.CONNECT_SQSIZE_OFFSET, (short) sqsize).putInt(Fabrics.CONNECT_KATO_OFFSET, (int) katoMs);
        return b.array();
    }

    static byte[] connectData(int cntlid, String subsystemNqn, String hostNqn) {
        ByteBuffer b = ByteBuffer.allocate(Fabrics.CONNECT_DATA_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < Fabrics.HOSTID_BYTES; i++) b.put(Fabrics.DATA_HOSTID_OFFSET + i, (byte) (0x40 + i));
        b.putShort(Fabrics.DATA_CNTLID_OFFSET, (short) cntlid);
        b.put(Fabrics.DATA_SUBNQN_OFFSET, subsystemNqn.getBytes(StandardCharsets.US_ASCII));
        b.put(Fabrics.DATA_HOSTNQN_OFFSET, hostNqn.getBytes(StandardCharsets.US_ASCII));
        return b.array();
    }

    static byte[] propertyGet(int offset, boolean eightBytes) {
        ByteBuffer b = sqe(Opcodes.FABRICS, 0);
        b.put(Fabrics.FCTYPE_OFFSET, (byte) Opcodes.FCTYPE_PROPERTY_GET)
                .put(Fabrics.PROPERTY_ATTRIB_OFFSET, (byte) (eightBytes ? Fabrics.PROPERTY_SIZE_8 : 0))
                .putInt(Fabrics.PROPERTY_OFFSET_OFFSET, offset);
        return b.array();
    }

    static byte[] propertySet(int offset, int value) {
        ByteBuffer b = sqe(Opcodes.FABRICS, 0);
        b.put(Fabrics.FCTYPE_OFFSET, (byte) Opcodes.FCTYPE_PROPERTY_SET).putInt(Fabrics.PROPERTY_OFFSET_OFFSET, offset)
                .putLong(Fabrics.PROPERTY_VALUE_OFFSET, value);
        return b.array();
    }

    /** CC as nvme_enable_ctrl writes it: NVM command set, 4 KiB pages, 64/16-byte entries, EN. */
    static int ccEnable() {
        return (Registers.IOSQES << Registers.CC_IOSQES_SHIFT) | (Registers.IOCQES << Registers.CC_IOCQES_SHIFT) | Registers.CC_ENABLE;
    }

    static byte[] identify(int cns, int nsid) {
        ByteBuffer b = sqe(Opcodes.ADMIN_IDENTIFY, nsid);
        b.putInt(Sqe.CDW10_OFFSET, cns);
        return b.array();
    }

    static byte[] getLogPage(int lid, int bytes) {
        ByteBuffer b = sqe(Opcodes.ADMIN_GET_LOG_PAGE, 0);
        int numd = bytes / 4 - 1;
        b.putInt(Sqe.CDW10_OFFSET, lid | ((numd & 0xFFFF) << 16)).putInt(Sqe.CDW11_OFFSET, numd >>> 16);
        return b.array();
    }

    static byte[] setFeatures(int fid, int value) {
        ByteBuffer b = sqe(Opcodes.ADMIN_SET_FEATURES, 0);
        b.putInt(Sqe.CDW10_OFFSET, fid).putInt(Sqe.CDW11_OFFSET, value);
        return b.array();
    }

    static byte[] keepAlive() {
        return sqe(Opcodes.ADMIN_KEEP_ALIVE, 0).array();
    }

    /** Read, Write or Write Zeroes of {@code blocks} from {@code lba} (NLB is 0's based). */
    static byte[] io(int opcode, int nsid, long lba, int blocks) {
        ByteBuffer b = sqe(opcode, nsid);
        b.putLong(Sqe.CDW10_OFFSET, lba).putInt(Sqe.CDW12_OFFSET, blocks - 1);
        return b.array();
    }

    static byte[] flush(int nsid) {
        return sqe(Opcodes.IO_FLUSH, nsid).array();
    }

    /** Dataset Management deallocating the given ranges: {sqe, range list}. */
    static byte[][] deallocate(int nsid, long lba, int blocks) {
        ByteBuffer b = sqe(Opcodes.IO_DATASET_MANAGEMENT, nsid);
        b.putInt(Sqe.CDW10_OFFSET, 0).putInt(Sqe.CDW11_OFFSET, DSM_DEALLOCATE);
        ByteBuffer range = ByteBuffer.allocate(DSM_RANGE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        range.putInt(4, blocks).putLong(8, lba);
        return new byte[][] {b.array(), range.array()};
    }
}
