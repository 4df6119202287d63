package io.basalt.nvmeof.target;

import io.basalt.engine.Reactor;
import io.basalt.nvmeof.QueueHandler;
import io.basalt.nvmeof.nvme.Fabrics;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Registers;
import io.basalt.nvmeof.nvme.Sqe;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A host in tests: builds commands the way Linux's nvme-fabrics and nvme-tcp send them and drives one queue of a
 * target on a hand-driven reactor, turning it until each command is answered.
 */
final class TestHost {
    static final String HOST_NQN = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555";
    static final int LINUX_KATO_MS = 5000;
    private static final long ANSWER_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);

    final Reactor reactor;
    final Arena arena;
    final QueueHandler queue;
    final FakeResponses responses = new FakeResponses();
    private long nextTag = 1;
    private int nextCommandId = 1;

    TestHost(Target target, Reactor reactor, Arena arena, String listener) {
        this.reactor = reactor;
        this.arena = arena;
        this.queue = target.newQueue(reactor, "10.0.0.9:50000", listener);
    }

    MemorySegment sqe(int opcode, int nsid) {
        MemorySegment sqe = arena.allocate(Sqe.SIZE, 8);
        Sqe.putU8(sqe, Sqe.OPCODE_OFFSET, opcode);
        Sqe.putU16(sqe, Sqe.COMMAND_ID_OFFSET, nextCommandId++);
        Sqe.putU32(sqe, Sqe.NSID_OFFSET, nsid);
        return sqe;
    }

    MemorySegment buffer(long bytes) {
        return arena.allocate(Math.max(bytes, 1), 4096);
    }

    /** Submits a command and returns its tag without waiting. */
    long submit(MemorySegment sqe, MemorySegment data) {
        long tag = nextTag++;
        queue.execute(sqe, data, tag, responses);
        return tag;
    }

    FakeResponses.Completion await(long tag) {
        long deadline = System.nanoTime() + ANSWER_TIMEOUT_NS;
        while (!responses.completions.containsKey(tag)) {
            if (System.nanoTime() > deadline) fail("command " + tag + " not answered");
            reactor.doWork();
        }
        return responses.completions.get(tag);
    }

    FakeResponses.Completion run(MemorySegment sqe, MemorySegment data) {
        return await(submit(sqe, data));
    }

    FakeResponses.Completion run(MemorySegment sqe) {
        return run(sqe, MemorySegment.NULL);
    }

    // ------------------------------------------------------------------ fabrics

    FakeResponses.Completion connect(int qid, int sqsize, int cntlid, String subsystemNqn, String hostNqn, long katoMs, int cattr) {
        MemorySegment sqe = sqe(Opcodes.FABRICS, 0);
        Sqe.putU8(sqe, Fabrics.FCTYPE_OFFSET, Opcodes.FCTYPE_CONNECT);
        Sqe.putU16(sqe, Fabrics.CONNECT_QID_OFFSET, qid);
        Sqe.putU16(sqe, Fabrics.CONNECT_SQSIZE_OFFSET, sqsize);
        Sqe.putU8(sqe, Fabrics.CONNECT_CATTR_OFFSET, cattr);
        Sqe.putU32(sqe, Fabrics.CONNECT_KATO_OFFSET, (int) katoMs);
        MemorySegment data = buffer(Fabrics.CONNECT_DATA_BYTES);
        data.asSlice(0, Fabrics.HOSTID_BYTES).fill((byte) 0x5A);
        Sqe.putU16(data, Fabrics.DATA_CNTLID_OFFSET, cntlid);
        Fabrics.putNqn(data, Fabrics.DATA_SUBNQN_OFFSET, subsystemNqn);
        Fabrics.putNqn(data, Fabrics.DATA_HOSTNQN_OFFSET, hostNqn);
        return run(sqe, data);
    }

    FakeResponses.Completion propertyGet(int offset, boolean eightBytes) {
        MemorySegment sqe = sqe(Opcodes.FABRICS, 0);
        Sqe.putU8(sqe, Fabrics.FCTYPE_OFFSET, Opcodes.FCTYPE_PROPERTY_GET);
        Sqe.putU8(sqe, Fabrics.PROPERTY_ATTRIB_OFFSET, eightBytes ? Fabrics.PROPERTY_SIZE_8 : 0);
        Sqe.putU32(sqe, Fabrics.PROPERTY_OFFSET_OFFSET, offset);
        return run(sqe);
    }

    FakeResponses.Completion propertySet(int offset, long value) {
        MemorySegment sqe = sqe(Opcodes.FABRICS, 0);
        Sqe.putU8(sqe, Fabrics.FCTYPE_OFFSET, Opcodes.FCTYPE_PROPERTY_SET);
        Sqe.putU32(sqe, Fabrics.PROPERTY_OFFSET_OFFSET, offset);
        Sqe.putU64(sqe, Fabrics.PROPERTY_VALUE_OFFSET, value);
        return run(sqe);
    }

    /** What nvme_enable_ctrl writes: NVM command set, 4 KiB pages, 64/16-byte entries, then EN. */
    void enable() {
        int cc = (Registers.IOSQES << Registers.CC_IOSQES_SHIFT) | (Registers.IOCQES << Registers.CC_IOCQES_SHIFT);
        assertEquals(0, propertySet(Registers.CC, cc).status());
        assertEquals(0, propertySet(Registers.CC, cc | Registers.CC_ENABLE).status());
        assertTrue((propertyGet(Registers.CSTS, false).dw0() & Registers.CSTS_RDY) != 0, "CSTS.RDY after CC.EN");
    }

    /** Admin Connect (sqsize 31, as NVME_AQ_DEPTH) and enable; returns the cntlid. */
    int connectAdminAndEnable(String subsystemNqn, long katoMs) {
        FakeResponses.Completion c = connect(0, 31, Fabrics.CNTLID_DYNAMIC, subsystemNqn, HOST_NQN, katoMs, 0);
        assertEquals(0, c.status(), "admin connect status");
        enable();
        return c.dw0() & 0xFFFF;
    }

    // ------------------------------------------------------------------ admin

    FakeResponses.Completion identify(int cns, int nsid, MemorySegment out) {
        MemorySegment sqe = sqe(Opcodes.ADMIN_IDENTIFY, nsid);
        Sqe.putU32(sqe, Sqe.CDW10_OFFSET, cns);
        return run(sqe, out);
    }

    FakeResponses.Completion getLogPage(int lid, int nsid, long offsetBytes, MemorySegment out, boolean retain) {
        MemorySegment sqe = sqe(Opcodes.ADMIN_GET_LOG_PAGE, nsid);
        long numd = out.byteSize() / 4 - 1;
        Sqe.putU32(sqe, Sqe.CDW10_OFFSET, lid | (retain ? 1 << 15 : 0) | (int) ((numd & 0xFFFF) << 16));
        Sqe.putU32(sqe, Sqe.CDW11_OFFSET, (int) (numd >>> 16));
        Sqe.putU32(sqe, Sqe.CDW12_OFFSET, (int) offsetBytes);
        Sqe.putU32(sqe, Sqe.CDW13_OFFSET, (int) (offsetBytes >>> 32));
        return run(sqe, out);
    }

    FakeResponses.Completion setFeature(int fid, int value) {
        MemorySegment sqe = sqe(Opcodes.ADMIN_SET_FEATURES, 0);
        Sqe.putU32(sqe, Sqe.CDW10_OFFSET, fid);
        Sqe.putU32(sqe, Sqe.CDW11_OFFSET, value);
        return run(sqe);
    }

    // ------------------------------------------------------------------ I/O

    MemorySegment rw(int opcode, int nsid, long lba, int blocks) {
        MemorySegment sqe = sqe(opcode, nsid);
        Sqe.putU64(sqe, Sqe.CDW10_OFFSET, lba);
        Sqe.putU32(sqe, Sqe.CDW12_OFFSET, blocks - 1);
        return sqe;
    }

    /** A Dataset Management command deallocating the given (lba, blocks) ranges; returns [sqe, data]. */
    MemorySegment[] deallocate(int nsid, long... lbaBlocksPairs) {
        int ranges = lbaBlocksPairs.length / 2;
        MemorySegment sqe = sqe(Opcodes.IO_DATASET_MANAGEMENT, nsid);
        Sqe.putU32(sqe, Sqe.CDW10_OFFSET, ranges - 1);
        Sqe.putU32(sqe, Sqe.CDW11_OFFSET, 1 << 2);
        MemorySegment data = buffer(4096);
        for (int i = 0; i < ranges; i++) {
            Sqe.putU32(data, i * 16L + 4, (int) lbaBlocksPairs[2 * i + 1]);
            Sqe.putU64(data, i * 16L + 8, lbaBlocksPairs[2 * i]);
        }
        return new MemorySegment[] {sqe, data.asSlice(0, ranges * 16L)};
    }
}
