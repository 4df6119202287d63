package io.basalt.nvmeof;

import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.fixtures.Await;
import io.basalt.nvmeof.nvme.DiscoveryLog;
import io.basalt.nvmeof.nvme.Fabrics;
import io.basalt.nvmeof.nvme.IdentifyController;
import io.basalt.nvmeof.nvme.IdentifyNamespace;
import io.basalt.nvmeof.nvme.NvmeStatus;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Registers;
import io.basalt.nvmeof.target.DiscoveryService;
import io.basalt.nvmeof.target.NamespaceIds;
import io.basalt.nvmeof.target.Subsystem;
import io.basalt.nvmeof.target.Target;
import io.basalt.nvmeof.target.TargetConfig;
import io.basalt.nvmeof.tcp.TcpConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.basalt.nvmeof.HostCommands.HOST_NQN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole target over real sockets: two started reactors, an {@link NvmeTcpServer} on 127.0.0.1 port 0, a
 * {@link Target} with one subsystem over a memory device, and blocking Java hosts ({@link WireHost}) that speak
 * NVMe/TCP as Linux's initiator does. Hostile peers and shutdown are covered in {@link NvmeTcpServerAbuseTest}.
 */
class NvmeTcpServerTest {
    static final String NQN = "nqn.2026-01.io.basalt:srv0";
    static final int BLOCK_BYTES = 512;
    static final long BLOCKS = 32768;
    static final int REACTORS = 2;
    /** MDTS 1 MiB, as the transport's dataBytesMax: a 256 KiB write is one command with two R2Ts. */
    static final int MAX_TRANSFER_BYTES = 1 << 20;
    static final int IN_CAPSULE_BYTES = 8192;
    static final int IO_SQSIZE = 127;
    static final Duration SETTLE = Duration.ofSeconds(10);

    final List<Reactor> reactors = new ArrayList<>();
    Target target;
    Subsystem subsystem;
    MemoryBlockDevice memory;
    NvmeTcpServer server;
    int port;

    @BeforeEach
    void setUp() {
        for (int i = 0; i < REACTORS; i++) reactors.add(Reactor.start(ReactorConfig.defaults("nvmf-srv-" + i)));
        target = new Target(new TargetConfig(0, "basalt", IN_CAPSULE_BYTES, MAX_TRANSFER_BYTES, 128, 32, 16, 64, 120_000));
        subsystem = target.addSubsystem(NQN, "BASALT0001", "Basalt volume");
        subsystem.allowHost(HOST_NQN);
        memory = new MemoryBlockDevice("m0", BLOCKS * BLOCK_BYTES, BLOCK_BYTES);
        subsystem.addNamespace(1, memory, NamespaceIds.random());
        server = new NvmeTcpServer(reactors, target, io.basalt.engine.net.TcpConfig.defaults(), TcpConfig.DEFAULT);
        server.start();
        port = server.listen("127.0.0.1", 0);
        target.addListener("127.0.0.1:" + port, null, false);
    }

    @AfterEach
    void tearDown() {
        try {
            if (server != null) server.close();
        } finally {
            for (Reactor r : reactors) r.close();
            memory.close();
        }
    }

    // ------------------------------------------------------------------ helpers shared with the abuse tests

    /** Admin Connect with cntlid FFFFh; returns the completion. */
    static WireHost.Completion connectAdmin(WireHost host, String subsystemNqn, String hostNqn) throws IOException {
        return host.write(HostCommands.connect(0, HostCommands.ADMIN_SQSIZE, HostCommands.LINUX_KATO_MS),
                HostCommands.connectData(Fabrics.CNTLID_DYNAMIC, subsystemNqn, hostNqn), IN_CAPSULE_BYTES);
    }

    /** What nvme_enable_ctrl does: CC without EN, then with EN, then CSTS.RDY. */
    static void enable(WireHost admin) throws IOException {
        int cc = HostCommands.ccEnable();
        assertEquals(0, admin.run(HostCommands.propertySet(Registers.CC, cc & ~Registers.CC_ENABLE)).status(), "CC");
        assertEquals(0, admin.run(HostCommands.propertySet(Registers.CC, cc)).status(), "CC.EN");
        WireHost.Completion csts = admin.run(HostCommands.propertyGet(Registers.CSTS, false));
        assertEquals(0, csts.status());
        assertEquals(Registers.CSTS_RDY, csts.dw0() & Registers.CSTS_RDY, "CSTS.RDY");
    }

    /** An admin queue (connected, enabled) and one I/O queue on its controller. */
    static WireHost[] connectController(int port, boolean headerDigest, boolean dataDigest) throws IOException {
        WireHost admin = WireHost.connect(port, headerDigest, dataDigest);
        WireHost.Completion c = connectAdmin(admin, NQN, HOST_NQN);
        assertEquals(0, c.status(), "admin connect");
        int cntlid = c.dw0() & 0xFFFF;
        enable(admin);
        WireHost io = WireHost.connect(port, headerDigest, dataDigest);
        WireHost.Completion ioc = io.write(HostCommands.connect(1, IO_SQSIZE, 0),
                HostCommands.connectData(cntlid, NQN, HOST_NQN), IN_CAPSULE_BYTES);
        assertEquals(0, ioc.status(), "I/O connect");
        assertEquals(1, ioc.sqid(), "SQID of the I/O queue");
        return new WireHost[] {admin, io};
    }

    static void writeAndReadBack(WireHost io, long lba, byte[] data) throws IOException {
        int blocks = data.length / BLOCK_BYTES;
        assertEquals(0, io.write(HostCommands.io(Opcodes.IO_WRITE, 1, lba, blocks), data, IN_CAPSULE_BYTES).status(), "write");
        WireHost.Completion r = io.read(HostCommands.io(Opcodes.IO_READ, 1, lba, blocks), data.length);
        assertEquals(0, r.status(), "read");
        assertArrayEquals(data, r.data(), "read back what was written at " + lba);
    }

    static byte[] pattern(int bytes, int seed) {
        byte[] data = new byte[bytes];
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < bytes; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            data[i] = (byte) x;
        }
        return data;
    }

    static String ascii(byte[] bytes, int offset, int length) {
        return new String(bytes, offset, length, StandardCharsets.US_ASCII).replaceAll("[\\x00 ]+$", "");
    }

    static ByteBuffer le(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    // ------------------------------------------------------------------ tests

    @ParameterizedTest(name = "header digest {0}, data digest {1}")
    @CsvSource({"false,false", "true,true", "true,false", "false,true"})
    void linuxHostSequence(boolean headerDigest, boolean dataDigest) throws IOException {
        try (WireHost admin = WireHost.connect(port, headerDigest, dataDigest)) {
            WireHost.Completion c = connectAdmin(admin, NQN, HOST_NQN);
            assertEquals(NvmeStatus.SUCCESS, c.status(), "admin connect");
            assertEquals(0, c.sqid(), "admin SQID");
            int cntlid = c.dw0() & 0xFFFF;
            assertTrue(cntlid >= 1 && cntlid <= 0xFFEF, "cntlid " + cntlid);

            WireHost.Completion cap = admin.run(HostCommands.propertyGet(Registers.CAP, true));
            assertEquals(0, cap.status());
            long capValue = Integer.toUnsignedLong(cap.dw0()) | ((long) cap.dw1() << 32);
            assertEquals(127, capValue & 0xFFFF, "CAP.MQES");
            assertTrue((capValue & Registers.CAP_CSS_NVM) != 0, "CAP.CSS NVM");
            enable(admin);

            byte[] idctrl = admin.read(HostCommands.identify(Opcodes.CNS_CONTROLLER, 0), IdentifyController.SIZE).data();
            ByteBuffer id = le(idctrl);
            assertEquals(cntlid, id.getShort(IdentifyController.CNTLID_OFFSET) & 0xFFFF, "Identify CNTLID");
            assertEquals(NQN, ascii(idctrl, IdentifyController.SUBNQN_OFFSET, IdentifyController.SUBNQN_BYTES), "SUBNQN");
            assertEquals(TcpConfig.DEFAULT.ioccsz(), id.getInt(IdentifyController.IOCCSZ_OFFSET), "IOCCSZ");
            assertEquals(IdentifyController.CNTRLTYPE_IO, idctrl[IdentifyController.CNTRLTYPE_OFFSET], "I/O controller");

            byte[] idns = admin.read(HostCommands.identify(Opcodes.CNS_NAMESPACE, 1), IdentifyController.SIZE).data();
            assertEquals(BLOCKS, le(idns).getLong(IdentifyNamespace.NSZE_OFFSET), "NSZE");
            assertEquals(9, idns[IdentifyNamespace.LBAF_OFFSET + IdentifyNamespace.LBAF_LBADS_OFFSET], "LBADS: 512-byte blocks");

            WireHost.Completion queues = admin.run(HostCommands.setFeatures(Opcodes.FEATURE_NUMBER_OF_QUEUES, (1 << 16) | 1));
            assertEquals(0, queues.status(), "Set Features number of queues");
            assertTrue((queues.dw0() & 0xFFFF) >= 1 && (queues.dw0() >>> 16) >= 1, "at least 2 queues granted");

            try (WireHost io = WireHost.connect(port, headerDigest, dataDigest)) {
                WireHost.Completion ioc = io.write(HostCommands.connect(1, IO_SQSIZE, 0),
                        HostCommands.connectData(cntlid, NQN, HOST_NQN), IN_CAPSULE_BYTES);
                assertEquals(0, ioc.status(), "I/O connect");
                assertEquals(1, ioc.sqid());
                ioCommands(io);
            }
            assertEquals(0, admin.run(HostCommands.keepAlive()).status(), "Keep Alive");
        }
    }

    private void ioCommands(WireHost io) throws IOException {
        byte[] big = pattern(256 * 1024, 1);
        writeAndReadBack(io, 64, big); // two R2Ts of MAXH2CDATA
        byte[] small = pattern(4096, 2);
        writeAndReadBack(io, 4096, small); // in the capsule
        assertEquals(0, io.run(HostCommands.flush(1)).status(), "Flush");

        assertEquals(0, io.run(HostCommands.io(Opcodes.IO_WRITE_ZEROES, 1, 64, 16)).status(), "Write Zeroes");
        byte[] afterZeroes = io.read(HostCommands.io(Opcodes.IO_READ, 1, 64, 32), 32 * BLOCK_BYTES).data();
        assertArrayEquals(new byte[16 * BLOCK_BYTES], Arrays.copyOfRange(afterZeroes, 0, 16 * BLOCK_BYTES), "zeroed");
        assertArrayEquals(Arrays.copyOfRange(big, 16 * BLOCK_BYTES, 32 * BLOCK_BYTES),
                Arrays.copyOfRange(afterZeroes, 16 * BLOCK_BYTES, 32 * BLOCK_BYTES), "the blocks after stay");

        byte[][] dsm = HostCommands.deallocate(1, 4096, 8);
        assertEquals(0, io.write(dsm[0], dsm[1], IN_CAPSULE_BYTES).status(), "DSM deallocate");
        // The memory device's discard reads back zeroes (Identify says DLFEAT reads zeroes).
        assertArrayEquals(new byte[4096], io.read(HostCommands.io(Opcodes.IO_READ, 1, 4096, 8), 4096).data(), "deallocated");

        WireHost.Completion beyond = io.run(HostCommands.io(Opcodes.IO_WRITE_ZEROES, 1, BLOCKS, 1));
        assertEquals(NvmeStatus.LBA_RANGE | NvmeStatus.DNR, beyond.status(), "LBA out of range");
    }

    @Test
    void discoveryListsTheSubsystemWithTheAdvertisedAddress() throws IOException {
        try (WireHost host = WireHost.connect(port, false, false)) {
            WireHost.Completion c = host.write(HostCommands.connect(0, HostCommands.ADMIN_SQSIZE, 0),
                    HostCommands.connectData(Fabrics.CNTLID_DYNAMIC, DiscoveryService.NQN, HOST_NQN), IN_CAPSULE_BYTES);
            assertEquals(0, c.status(), "discovery connect");
            enable(host);
            byte[] idctrl = host.read(HostCommands.identify(Opcodes.CNS_CONTROLLER, 0), IdentifyController.SIZE).data();
            assertEquals(IdentifyController.CNTRLTYPE_DISCOVERY, idctrl[IdentifyController.CNTRLTYPE_OFFSET]);

            int bytes = DiscoveryLog.HEADER_BYTES + 4 * DiscoveryLog.ENTRY_BYTES;
            WireHost.Completion log = host.read(HostCommands.getLogPage(Opcodes.LOG_DISCOVERY, bytes), bytes);
            assertEquals(0, log.status(), "Get Log Page 70h");
            byte[] page = log.data();
            long records = le(page).getLong(DiscoveryLog.NUMREC_OFFSET);
            assertTrue(records >= 1 && records <= 4, "records " + records);
            boolean found = false;
            for (int i = 0; i < records; i++) {
                int e = DiscoveryLog.HEADER_BYTES + i * DiscoveryLog.ENTRY_BYTES;
                if (!NQN.equals(ascii(page, e + DiscoveryLog.SUBNQN_OFFSET, 256))) continue;
                found = true;
                assertEquals(DiscoveryLog.TRTYPE_TCP, page[e + DiscoveryLog.TRTYPE_OFFSET]);
                assertEquals(DiscoveryLog.ADRFAM_IPV4, page[e + DiscoveryLog.ADRFAM_OFFSET]);
                assertEquals(DiscoveryLog.SUBTYPE_NVM, page[e + DiscoveryLog.SUBTYPE_OFFSET]);
                assertEquals("127.0.0.1", ascii(page, e + DiscoveryLog.TRADDR_OFFSET, DiscoveryLog.TRADDR_BYTES));
                assertEquals(Integer.toString(port), ascii(page, e + DiscoveryLog.TRSVCID_OFFSET, DiscoveryLog.TRSVCID_BYTES));
            }
            assertTrue(found, "the subsystem is listed");
            assertEquals(0, host.run(HostCommands.keepAlive()).status(), "Keep Alive on discovery");
        }
    }

    @Test
    void hostNotAllowedIsRefusedAndOthersAreServed() throws IOException {
        try (WireHost stranger = WireHost.connect(port, false, false)) {
            WireHost.Completion c = connectAdmin(stranger, NQN, "nqn.2014-08.org.nvmexpress:uuid:99999999-0000-0000-0000-000000000000");
            assertEquals(NvmeStatus.CONNECT_INVALID_HOST | NvmeStatus.DNR, c.status(), "Connect Invalid Host");
            assertEquals(1, NvmeStatus.statusCodeType(c.status()), "SCT");
            assertEquals(0x84, NvmeStatus.statusCode(c.status()), "SC");
            assertTrue(NvmeStatus.doNotRetry(c.status()), "DNR");
            assertEquals(Fabrics.invalidDataField(Fabrics.DATA_HOSTNQN_OFFSET), c.dw0(), "IATTR/IPO name hostnqn");
        }
        WireHost[] queues = connectController(port, false, false);
        try (WireHost admin = queues[0]; WireHost io = queues[1]) {
            writeAndReadBack(io, 100, pattern(8192, 3));
            assertEquals(0, admin.run(HostCommands.keepAlive()).status());
        }
        assertEquals(1, subsystem.counters().refusedConnects(), "the refused Connect is counted");
        Await.until(() -> server.counters().get("connections") == 0, SETTLE, () -> "connections closed: " + server.counters());
    }
}
