package io.basalt.nvmeof.target;

import io.basalt.engine.Capabilities;
import io.basalt.engine.Geometry;
import io.basalt.engine.Status;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.fixtures.ReactorFixture;
import io.basalt.nvmeof.nvme.Fabrics;
import io.basalt.nvmeof.nvme.IdentifyController;
import io.basalt.nvmeof.nvme.IdentifyNamespace;
import io.basalt.nvmeof.nvme.LogPages;
import io.basalt.nvmeof.nvme.NamespaceDescriptors;
import io.basalt.nvmeof.nvme.NvmeStatus;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Registers;
import io.basalt.nvmeof.nvme.Sqe;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The controller driven through whole sequences as Linux's nvme-fabrics host sends them. */
class ControllerTest {
    static final String NQN = "nqn.2026-01.io.basalt:vol0";
    static final int BLOCK_BYTES = 512;
    static final long BLOCKS = 16384;
    /** Small, so that a 16-block command is cut into pieces. */
    static final int DEVICE_MAX_TRANSFER_BLOCKS = 8;

    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.handDriven("nvmf-ctrl");

    Target target;
    Subsystem subsystem;
    MemoryBlockDevice memory;
    TestDevice device;
    NamespaceIds ids = NamespaceIds.random();

    @BeforeEach
    void setUp() {
        target = new Target(TargetConfig.defaults());
        subsystem = target.addSubsystem(NQN, "BASALT0001", "Basalt volume");
        subsystem.allowHost(TestHost.HOST_NQN);
        memory = new MemoryBlockDevice("m0", BLOCKS * BLOCK_BYTES, BLOCK_BYTES);
        device = new TestDevice(memory, new Geometry(BLOCK_BYTES, BLOCKS, 8, DEVICE_MAX_TRANSFER_BLOCKS, 256, true,
                Capabilities.zeroingDiscard()));
        subsystem.addNamespace(1, device, ids);
    }

    @AfterEach
    void tearDown() {
        memory.close();
    }

    TestHost host() {
        return new TestHost(target, fixture.reactor(), fixture.arena(), "10.0.0.1:4420");
    }

    @Test
    void linuxAdminSequence() {
        TestHost admin = host();
        FakeResponses.Completion connect = admin.connect(0, 31, Fabrics.CNTLID_DYNAMIC, NQN, TestHost.HOST_NQN, TestHost.LINUX_KATO_MS, 0);
        assertEquals(NvmeStatus.SUCCESS, connect.status());
        int cntlid = connect.dw0() & 0xFFFF;
        assertTrue(cntlid >= 1 && cntlid <= 0xFFEF, "cntlid " + cntlid);
        assertFalse(admin.queue.sqFlowControlDisabled());

        FakeResponses.Completion cap = admin.propertyGet(Registers.CAP, true);
        long capValue = Integer.toUnsignedLong(cap.dw0()) | ((long) cap.dw1() << 32);
        assertTrue((capValue & 0xFFFF) >= 127, "MQES");
        assertTrue((capValue & Registers.CAP_CQR) != 0, "CQR");
        assertTrue(((capValue >>> Registers.CAP_TO_SHIFT) & 0xFF) > 0, "TO");
        assertTrue((capValue & Registers.CAP_CSS_NVM) != 0, "CSS NVM");
        assertEquals(Registers.VERSION_1_3, admin.propertyGet(Registers.VS, false).dw0());
        assertEquals(0, admin.propertyGet(Registers.CSTS, false).dw0(), "not ready before CC.EN");
        MemorySegment out = admin.buffer(4096);
        assertEquals(NvmeStatus.CMD_SEQ_ERROR | NvmeStatus.DNR, admin.identify(Opcodes.CNS_CONTROLLER, 0, out).status(),
                "admin commands wait for CC.EN");
        admin.enable();

        FakeResponses.Completion id = admin.identify(Opcodes.CNS_CONTROLLER, 0, out);
        assertEquals(NvmeStatus.SUCCESS, id.status());
        assertEquals(4096, id.dataBytes());
        assertEquals(cntlid, Sqe.u16(out, IdentifyController.CNTLID_OFFSET), "CNTLID equals what Connect returned");
        assertEquals("BASALT0001", IdentifyController.text(out, IdentifyController.SN_OFFSET, IdentifyController.SN_BYTES));
        assertEquals("Basalt volume", IdentifyController.text(out, IdentifyController.MN_OFFSET, IdentifyController.MN_BYTES));
        assertEquals(NQN, IdentifyController.text(out, IdentifyController.SUBNQN_OFFSET, IdentifyController.SUBNQN_BYTES));
        assertEquals(Registers.VERSION_1_3, Sqe.u32(out, IdentifyController.VER_OFFSET));
        assertNotEquals(0, Sqe.u16(out, IdentifyController.KAS_OFFSET), "KAS");
        assertTrue(Sqe.u32(out, IdentifyController.IOCCSZ_OFFSET) >= 4, "IOCCSZ");
        assertTrue(Sqe.u32(out, IdentifyController.IORCSZ_OFFSET) >= 1, "IORCSZ");
        assertEquals(0, Sqe.u16(out, IdentifyController.ICDOFF_OFFSET));
        assertEquals(IdentifyController.CNTRLTYPE_IO, Sqe.u8(out, IdentifyController.CNTRLTYPE_OFFSET));
        assertEquals(TargetConfig.NAMESPACES_MAX, Sqe.u32(out, IdentifyController.NN_OFFSET));
        int oncs = Sqe.u16(out, IdentifyController.ONCS_OFFSET);
        assertEquals(IdentifyController.ONCS_DSM | IdentifyController.ONCS_WRITE_ZEROES, oncs);
        assertEquals(IdentifyController.VWC_PRESENT, Sqe.u8(out, IdentifyController.VWC_OFFSET));
        assertEquals(0x100001, Sqe.u32(out, IdentifyController.SGLS_OFFSET), "SGLS as nvmet for TCP");
        assertEquals(5, Sqe.u8(out, IdentifyController.MDTS_OFFSET), "128 KiB in 4 KiB pages");
        assertEquals(128, Sqe.u16(out, IdentifyController.MAXCMD_OFFSET));
        assertEquals(IdentifyController.OAES_NAMESPACE_ATTRIBUTE, Sqe.u32(out, IdentifyController.OAES_OFFSET));

        // nvme_init_non_mdts_limits: the NVM command set controller structure.
        MemorySegment cs = admin.sqe(Opcodes.ADMIN_IDENTIFY, 0);
        Sqe.putU32(cs, Sqe.CDW10_OFFSET, Opcodes.CNS_CS_CONTROLLER);
        assertEquals(NvmeStatus.SUCCESS, admin.run(cs, admin.buffer(4096)).status());

        FakeResponses.Completion queues = admin.setFeature(Opcodes.FEATURE_NUMBER_OF_QUEUES, (1 << 16) | 1);
        assertEquals(NvmeStatus.SUCCESS, queues.status());
        assertEquals(15 | (15 << 16), queues.dw0(), "16 I/O queues granted, 0-based");
        assertEquals(NvmeStatus.SUCCESS, admin.setFeature(Opcodes.FEATURE_ASYNC_EVENT_CONFIG, IdentifyController.OAES_NAMESPACE_ATTRIBUTE).status());
        long aer = admin.submit(admin.sqe(Opcodes.ADMIN_ASYNC_EVENT_REQUEST, 0), MemorySegment.NULL);
        assertEquals(NvmeStatus.SUCCESS, admin.run(admin.sqe(Opcodes.ADMIN_KEEP_ALIVE, 0)).status());
        assertFalse(admin.responses.completions.containsKey(aer), "the AER is held");

        scanNamespaces(admin);

        TestHost io = host();
        FakeResponses.Completion ioConnect = io.connect(1, 127, cntlid, NQN, TestHost.HOST_NQN, 0, Fabrics.CATTR_DISABLE_SQ_FLOW_CONTROL);
        assertEquals(NvmeStatus.SUCCESS, ioConnect.status());
        assertEquals(cntlid, ioConnect.dw0() & 0xFFFF);
        assertTrue(io.queue.sqFlowControlDisabled(), "CATTR bit 2 reported");
        Controller controller = subsystem.controllers().getFirst();
        assertEquals(2, controller.queueCount());
        assertEquals(0, admin.responses.duplicateCompletions + io.responses.duplicateCompletions);
    }

    /** nvme_scan_ns_list, then for the nsid: descriptors and Identify Namespace. */
    private void scanNamespaces(TestHost admin) {
        MemorySegment out = admin.buffer(4096);
        assertEquals(NvmeStatus.SUCCESS, admin.identify(Opcodes.CNS_ACTIVE_NAMESPACES, 0, out).status());
        assertEquals(1, Sqe.u32(out, 0));
        assertEquals(0, Sqe.u32(out, 4));

        assertEquals(NvmeStatus.SUCCESS, admin.identify(Opcodes.CNS_NAMESPACE_DESCRIPTORS, 1, out).status());
        assertEquals(NamespaceDescriptors.NIDT_NGUID, Sqe.u8(out, 0));
        assertEquals(16, Sqe.u8(out, 1));
        assertArrayEquals(ids.nguid(), out.asSlice(4, 16).toArray(ValueLayout.JAVA_BYTE));
        assertEquals(NamespaceDescriptors.NIDT_UUID, Sqe.u8(out, 20));
        assertArrayEquals(ids.uuidBytes(), out.asSlice(24, 16).toArray(ValueLayout.JAVA_BYTE));
        assertEquals(NamespaceDescriptors.NIDT_CSI, Sqe.u8(out, 40));
        assertEquals(0, Sqe.u8(out, 45), "list ends");

        assertEquals(NvmeStatus.SUCCESS, admin.identify(Opcodes.CNS_NAMESPACE, 1, out).status());
        assertEquals(BLOCKS, Sqe.u64(out, IdentifyNamespace.NSZE_OFFSET));
        assertEquals(BLOCKS, Sqe.u64(out, IdentifyNamespace.NCAP_OFFSET));
        assertEquals(BLOCKS, Sqe.u64(out, IdentifyNamespace.NUSE_OFFSET));
        assertEquals(9, Sqe.u8(out, IdentifyNamespace.LBAF_OFFSET + IdentifyNamespace.LBAF_LBADS_OFFSET), "LBADS of 512 bytes");
        assertEquals(IdentifyNamespace.DLFEAT_READS_ZEROES, Sqe.u8(out, IdentifyNamespace.DLFEAT_OFFSET));
        assertTrue((Sqe.u8(out, IdentifyNamespace.NSFEAT_OFFSET) & IdentifyNamespace.NSFEAT_THIN) != 0);
        assertArrayEquals(ids.nguid(), out.asSlice(IdentifyNamespace.NGUID_OFFSET, 16).toArray(ValueLayout.JAVA_BYTE));

        assertEquals(NvmeStatus.SUCCESS, admin.identify(Opcodes.CNS_NAMESPACE, 7, out).status(), "inactive nsid");
        assertEquals(0, Sqe.u64(out, IdentifyNamespace.NSZE_OFFSET), "inactive nsid reads as zeroes");
        assertEquals(NvmeStatus.INVALID_NS | NvmeStatus.DNR, admin.identify(Opcodes.CNS_NAMESPACE_DESCRIPTORS, 7, out).status());
        assertEquals(NvmeStatus.INVALID_NS | NvmeStatus.DNR, admin.identify(Opcodes.CNS_NAMESPACE, 0, out).status());
    }

    /** Admin and one I/O queue connected and enabled; returns the I/O host. */
    TestHost connectIo(TestHost admin) {
        int cntlid = admin.connectAdminAndEnable(NQN, TestHost.LINUX_KATO_MS);
        TestHost io = host();
        assertEquals(NvmeStatus.SUCCESS, io.connect(1, 127, cntlid, NQN, TestHost.HOST_NQN, 0, 0).status());
        return io;
    }

    @Test
    void writeReadFlushWriteZeroesDeallocate() {
        TestHost io = connectIo(host());
        int blocks = 16; // two pieces of DEVICE_MAX_TRANSFER_BLOCKS
        MemorySegment written = io.buffer((long) blocks * BLOCK_BYTES);
        for (int i = 0; i < written.byteSize(); i++) written.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7 + 3));
        assertEquals(NvmeStatus.SUCCESS, io.run(io.rw(Opcodes.IO_WRITE, 1, 100, blocks), written).status());

        MemorySegment read = io.buffer((long) blocks * BLOCK_BYTES);
        FakeResponses.Completion r = io.run(io.rw(Opcodes.IO_READ, 1, 100, blocks), read);
        assertEquals(NvmeStatus.SUCCESS, r.status());
        assertEquals(written.byteSize(), r.dataBytes());
        assertEquals(-1, written.mismatch(read), "read returns what was written");

        assertEquals(NvmeStatus.SUCCESS, io.run(io.sqe(Opcodes.IO_FLUSH, 1)).status());

        assertEquals(NvmeStatus.SUCCESS, io.run(io.rw(Opcodes.IO_WRITE_ZEROES, 1, 100, 4)).status());
        MemorySegment[] dsm = io.deallocate(1, 108, 4, 200, 0);
        assertEquals(NvmeStatus.SUCCESS, io.run(dsm[0], dsm[1]).status());
        assertEquals(NvmeStatus.SUCCESS, io.run(io.rw(Opcodes.IO_READ, 1, 100, blocks), read).status());
        for (int i = 0; i < read.byteSize(); i++) {
            boolean zeroed = i < 4 * BLOCK_BYTES || (i >= 8 * BLOCK_BYTES && i < 12 * BLOCK_BYTES);
            byte expected = zeroed ? 0 : written.get(ValueLayout.JAVA_BYTE, i);
            assertEquals(expected, read.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
        }
        Counters counters = subsystem.counters();
        assertEquals(2, counters.readCommands());
        assertEquals(1, counters.writeCommands());
        assertEquals(2L * blocks * BLOCK_BYTES, counters.readBytes());
        assertEquals(0, counters.errors());
    }

    @Test
    void busyChannelRetriesWithoutLoss() {
        TestHost io = connectIo(host());
        device.refuseEveryOther = true;
        int commands = 40;
        long[] tags = new long[commands];
        MemorySegment[] buffers = new MemorySegment[commands];
        for (int c = 0; c < commands; c++) {
            buffers[c] = io.buffer(BLOCK_BYTES * 16L);
            buffers[c].fill((byte) c);
            tags[c] = io.submit(io.rw(Opcodes.IO_WRITE, 1, c * 16L, 16), buffers[c]);
        }
        for (long tag : tags) assertEquals(NvmeStatus.SUCCESS, io.await(tag).status());
        assertTrue(device.refusals > 0, "the channel refused some submissions");
        assertTrue(subsystem.counters().busyRetries() > 0);
        device.refuseEveryOther = false;
        for (int c = 0; c < commands; c++) {
            MemorySegment read = io.buffer(BLOCK_BYTES * 16L);
            assertEquals(NvmeStatus.SUCCESS, io.run(io.rw(Opcodes.IO_READ, 1, c * 16L, 16), read).status());
            assertEquals(-1, read.mismatch(buffers[c]), "command " + c + " landed");
        }
        assertEquals(0, io.responses.duplicateCompletions);
    }

    @Test
    void badNamespaceRangeAndLength() {
        TestHost io = connectIo(host());
        MemorySegment buffer = io.buffer(BLOCK_BYTES * 8L);
        assertEquals(NvmeStatus.INVALID_NS | NvmeStatus.DNR, io.run(io.rw(Opcodes.IO_READ, 2, 0, 8), buffer).status());
        assertEquals(NvmeStatus.INVALID_NS | NvmeStatus.DNR, io.run(io.rw(Opcodes.IO_READ, 0, 0, 8), buffer).status());
        assertEquals(NvmeStatus.LBA_RANGE | NvmeStatus.DNR, io.run(io.rw(Opcodes.IO_READ, 1, BLOCKS - 4, 8), buffer).status());
        assertEquals(NvmeStatus.LBA_RANGE | NvmeStatus.DNR, io.run(io.rw(Opcodes.IO_WRITE_ZEROES, 1, BLOCKS, 1)).status());
        assertEquals(NvmeStatus.SGL_INVALID_DATA | NvmeStatus.DNR, io.run(io.rw(Opcodes.IO_WRITE, 1, 0, 4), buffer).status(),
                "data length differs from NLB x block size");
        MemorySegment[] dsm = io.deallocate(1, BLOCKS - 1, 2);
        assertEquals(NvmeStatus.LBA_RANGE | NvmeStatus.DNR, io.run(dsm[0], dsm[1]).status());
        assertEquals(NvmeStatus.INVALID_OPCODE | NvmeStatus.DNR, io.run(io.sqe(0x05, 1)).status(), "Compare is not supported");
        assertEquals(7, subsystem.counters().errors());
        assertEquals(7, subsystem.controllers().getFirst().errors().count(), "each error is in the error log");
    }

    @Test
    void deviceErrorsMapToMediaStatus() {
        TestHost admin = host();
        TestHost io = connectIo(admin);
        MemorySegment buffer = io.buffer(BLOCK_BYTES * 8L);
        device.failStatus = Status.IO_ERROR;
        assertEquals(NvmeStatus.UNRECOVERED_READ_ERROR, io.run(io.rw(Opcodes.IO_READ, 1, 0, 8), buffer).status());
        assertEquals(NvmeStatus.WRITE_FAULT, io.run(io.rw(Opcodes.IO_WRITE, 1, 0, 8), buffer).status());
        assertEquals(NvmeStatus.INTERNAL, io.run(io.sqe(Opcodes.IO_FLUSH, 1)).status());
        device.failStatus = Status.NO_SPACE;
        assertEquals(NvmeStatus.CAP_EXCEEDED | NvmeStatus.DNR, io.run(io.rw(Opcodes.IO_WRITE, 1, 0, 8), buffer).status());

        MemorySegment log = admin.buffer(64 * 4);
        assertEquals(NvmeStatus.SUCCESS, admin.getLogPage(Opcodes.LOG_ERROR, 0, 0, log, false).status());
        assertEquals(4, Sqe.u64(log, LogPages.ERROR_COUNT_OFFSET), "newest first");
        assertEquals(1, Sqe.u16(log, LogPages.ERROR_SQID_OFFSET));
        assertEquals((NvmeStatus.CAP_EXCEEDED | NvmeStatus.DNR) << 1, Sqe.u16(log, LogPages.ERROR_STATUS_OFFSET));
        assertEquals(1, Sqe.u32(log, LogPages.ERROR_NSID_OFFSET));
        assertEquals(3, Sqe.u64(log, 64 + LogPages.ERROR_COUNT_OFFSET));
    }

    @Test
    void smartLogCountsData() {
        TestHost admin = host();
        TestHost io = connectIo(admin);
        MemorySegment buffer = io.buffer(BLOCK_BYTES * 8L);
        assertEquals(NvmeStatus.SUCCESS, io.run(io.rw(Opcodes.IO_WRITE, 1, 0, 8), buffer).status());
        MemorySegment smart = admin.buffer(LogPages.SMART_BYTES);
        assertEquals(NvmeStatus.SUCCESS, admin.getLogPage(Opcodes.LOG_SMART, 0xFFFF_FFFF, 0, smart, false).status());
        assertEquals(1, Sqe.u64(smart, LogPages.SMART_DATA_UNITS_WRITTEN_OFFSET), "4 KiB rounds up to one unit");
        assertEquals(1, Sqe.u64(smart, LogPages.SMART_HOST_WRITES_OFFSET));
        assertEquals(100, Sqe.u8(smart, LogPages.SMART_AVAILABLE_SPARE_OFFSET));
        assertEquals(NvmeStatus.INVALID_LOG_PAGE | NvmeStatus.DNR,
                admin.getLogPage(Opcodes.LOG_DISCOVERY, 0, 0, admin.buffer(1024), false).status(), "no discovery log on an I/O controller");
    }
}
