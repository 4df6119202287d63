package io.basalt.nvmeof.target;

import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.fixtures.Await;
import io.basalt.engine.fixtures.ReactorFixture;
import io.basalt.nvmeof.nvme.DiscoveryLog;
import io.basalt.nvmeof.nvme.Fabrics;
import io.basalt.nvmeof.nvme.IdentifyController;
import io.basalt.nvmeof.nvme.LogPages;
import io.basalt.nvmeof.nvme.NvmeStatus;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Sqe;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Connect refusals, keep-alive expiry, asynchronous events and the discovery log. */
class ConnectAndEventsTest {
    static final String NQN = ControllerTest.NQN;
    static final String OTHER_NQN = "nqn.2026-01.io.basalt:private";

    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.handDriven("nvmf-connect");

    Target target;
    Subsystem subsystem;
    MemoryBlockDevice d1, d2;

    @BeforeEach
    void setUp() {
        target = new Target(TargetConfig.defaults());
        subsystem = target.addSubsystem(NQN, "BASALT0001", "Basalt volume");
        subsystem.allowHost(TestHost.HOST_NQN);
        d1 = new MemoryBlockDevice("d1", 1 << 20, 512);
        d2 = new MemoryBlockDevice("d2", 1 << 20, 4096);
        subsystem.addNamespace(1, d1, NamespaceIds.random());
    }

    @AfterEach
    void tearDown() {
        d1.close();
        d2.close();
    }

    TestHost host(String listener) {
        return new TestHost(target, fixture.reactor(), fixture.arena(), listener);
    }

    TestHost host() {
        return host("10.0.0.1:4420");
    }

    @Test
    void hostNotAllowedIsRefusedWithInvalidHost() {
        target.addSubsystem(OTHER_NQN, "BASALT0002", "Basalt private"); // allow_any_host false, nobody listed
        FakeResponses.Completion c = host().connect(0, 31, Fabrics.CNTLID_DYNAMIC, OTHER_NQN, TestHost.HOST_NQN, 5000, 0);
        assertEquals(0x4184, c.status(), NvmeStatus.describe(c.status()));
        assertEquals(1, NvmeStatus.statusCodeType(c.status()));
        assertEquals((1 << 16) | Fabrics.DATA_HOSTNQN_OFFSET, c.dw0(), "IATTR: connect data, IPO: hostnqn");
        assertEquals(1, target.subsystem(OTHER_NQN).counters().refusedConnects());
        assertTrue(target.subsystem(OTHER_NQN).controllers().isEmpty());
    }

    @Test
    void unknownSubsystemIsInvalidParameter() {
        FakeResponses.Completion c = host().connect(0, 31, Fabrics.CNTLID_DYNAMIC, "nqn.2026-01.io.basalt:none", TestHost.HOST_NQN, 5000, 0);
        assertEquals(NvmeStatus.CONNECT_INVALID_PARAM | NvmeStatus.DNR, c.status());
        assertEquals((1 << 16) | Fabrics.DATA_SUBNQN_OFFSET, c.dw0());
        assertEquals(1, target.refusedConnects());
    }

    @Test
    void commandsBeforeConnectAreRefused() {
        TestHost h = host();
        assertEquals(NvmeStatus.INVALID_OPCODE | NvmeStatus.DNR, h.run(h.sqe(Opcodes.ADMIN_IDENTIFY, 0), h.buffer(4096)).status());
    }

    @Test
    void ioQueueConnectChecksControllerQidAndDuplicates() {
        TestHost admin = host();
        int cntlid = admin.connectAdminAndEnable(NQN, 5000);
        FakeResponses.Completion unknown = host().connect(1, 127, cntlid + 1, NQN, TestHost.HOST_NQN, 0, 0);
        assertEquals(NvmeStatus.CONNECT_INVALID_PARAM | NvmeStatus.DNR, unknown.status());
        assertEquals((1 << 16) | Fabrics.DATA_CNTLID_OFFSET, unknown.dw0());
        FakeResponses.Completion otherHost = host().connect(1, 127, cntlid, NQN, "nqn.2014-08.org.example:other", 0, 0);
        assertEquals(NvmeStatus.CONNECT_INVALID_HOST | NvmeStatus.DNR, otherHost.status(), "not on the allow list");
        FakeResponses.Completion tooBig = host().connect(1, 128, cntlid, NQN, TestHost.HOST_NQN, 0, 0);
        assertEquals(NvmeStatus.CONNECT_INVALID_PARAM | NvmeStatus.DNR, tooBig.status(), "sqsize above MQES");
        assertEquals(Fabrics.CONNECT_SQSIZE_OFFSET, tooBig.dw0());
        FakeResponses.Completion badQid = host().connect(17, 127, cntlid, NQN, TestHost.HOST_NQN, 0, 0);
        assertEquals(Fabrics.CONNECT_QID_OFFSET, badQid.dw0());

        TestHost first = host();
        assertEquals(NvmeStatus.SUCCESS, first.connect(1, 127, cntlid, NQN, TestHost.HOST_NQN, 0, 0).status());
        FakeResponses.Completion duplicate = host().connect(1, 127, cntlid, NQN, TestHost.HOST_NQN, 0, 0);
        assertEquals(NvmeStatus.CMD_SEQ_ERROR | NvmeStatus.DNR, duplicate.status(), "qid 1 twice");
        assertEquals(NvmeStatus.CONNECT_CTRL_BUSY | NvmeStatus.DNR,
                first.connect(2, 127, cntlid, NQN, TestHost.HOST_NQN, 0, 0).status(), "a second Connect on a connected queue");

        first.queue.disconnected();
        assertEquals(NvmeStatus.SUCCESS, host().connect(1, 127, cntlid, NQN, TestHost.HOST_NQN, 0, 0).status(),
                "qid 1 is free again after its connection went");
        assertEquals(5, subsystem.counters().refusedConnects());
    }

    @Test
    void keepAliveExpiryClosesEveryQueue() {
        TestHost admin = host();
        int cntlid = admin.connectAdminAndEnable(NQN, 100);
        TestHost io = host();
        assertEquals(NvmeStatus.SUCCESS, io.connect(1, 127, cntlid, NQN, TestHost.HOST_NQN, 0, 0).status());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((admin.responses.closes.isEmpty() || io.responses.closes.isEmpty()) && System.nanoTime() < deadline) {
            fixture.reactor().doWork();
        }
        assertEquals(1, admin.responses.closes.size(), "admin queue closed once");
        assertTrue(admin.responses.closes.getFirst().contains("keep-alive"), admin.responses.closes.getFirst());
        assertEquals(1, io.responses.closes.size(), "I/O queue closed too");
        admin.queue.disconnected();
        io.queue.disconnected();
        assertTrue(subsystem.controllers().isEmpty(), "the controller is gone with its admin queue");
    }

    @Test
    void zeroKatoNeverExpires() {
        TestHost admin = host();
        admin.connectAdminAndEnable(NQN, 0);
        Controller c = subsystem.controllers().getFirst();
        assertFalse(c.keepAliveExpired(System.nanoTime() + TimeUnit.DAYS.toNanos(1)));
    }

    @Test
    void namespaceAddCompletesTheHeldAsyncEvent() {
        TestHost admin = host();
        TestHost io = host();
        int cntlid = admin.connectAdminAndEnable(NQN, 5000);
        assertEquals(NvmeStatus.SUCCESS, io.connect(1, 127, cntlid, NQN, TestHost.HOST_NQN, 0, 0).status());
        assertEquals(NvmeStatus.SUCCESS, admin.setFeature(Opcodes.FEATURE_ASYNC_EVENT_CONFIG, IdentifyController.OAES_NAMESPACE_ATTRIBUTE).status());
        long aer = admin.submit(admin.sqe(Opcodes.ADMIN_ASYNC_EVENT_REQUEST, 0), MemorySegment.NULL);
        fixture.reactor().doWork();
        assertFalse(admin.responses.completions.containsKey(aer));

        subsystem.addNamespace(2, d2, NamespaceIds.random());
        FakeResponses.Completion event = admin.await(aer);
        assertEquals(NvmeStatus.SUCCESS, event.status());
        assertEquals(0x040002, event.dw0(), "notice, namespace attribute changed, log page 04h");

        MemorySegment log = admin.buffer(LogPages.CHANGED_NAMESPACES_BYTES);
        assertEquals(NvmeStatus.SUCCESS, admin.getLogPage(Opcodes.LOG_CHANGED_NAMESPACES, 0, 0, log, false).status());
        assertEquals(2, Sqe.u32(log, 0));
        assertEquals(0, Sqe.u32(log, 4));
        MemorySegment buffer = io.buffer(4096);
        assertEquals(NvmeStatus.SUCCESS, io.run(io.rw(Opcodes.IO_WRITE, 2, 3, 1), buffer).status(), "the new namespace serves I/O");

        // Removal: an event waits for the next AER; the queue's channel is closed before the future completes.
        CompletableFuture<Void> removed = subsystem.removeNamespace(2);
        Await.until(() -> {
            fixture.reactor().doWork();
            return removed.isDone();
        }, Duration.ofSeconds(10), "namespace removal");
        FakeResponses.Completion next = admin.run(admin.sqe(Opcodes.ADMIN_ASYNC_EVENT_REQUEST, 0));
        assertEquals(0x040002, next.dw0(), "the pending event answers the next AER at once");
        assertEquals(NvmeStatus.INVALID_NS | NvmeStatus.DNR, io.run(io.rw(Opcodes.IO_READ, 2, 3, 1), buffer).status());
    }

    @Test
    void discoveryLogListsReachableSubsystemsOnEveryListener() {
        target.addListener("0.0.0.0:4420", "192.168.7.1:4420", false);
        target.addListener("10.0.0.1:8009", null, true);
        target.addSubsystem(OTHER_NQN, "BASALT0002", "Basalt private"); // this host may not see it
        Subsystem open = target.addSubsystem("nqn.2026-01.io.basalt:open", "BASALT0003", "Basalt open");
        open.allowAnyHost(true);
        long generation = target.discovery().generation();

        TestHost disc = host("10.0.0.1:8009");
        FakeResponses.Completion c = disc.connect(0, 31, Fabrics.CNTLID_DYNAMIC, DiscoveryService.NQN, TestHost.HOST_NQN, 0, 0);
        assertEquals(NvmeStatus.SUCCESS, c.status());
        disc.enable();
        MemorySegment id = disc.buffer(4096);
        assertEquals(NvmeStatus.SUCCESS, disc.identify(Opcodes.CNS_CONTROLLER, 0, id).status());
        assertEquals(IdentifyController.CNTRLTYPE_DISCOVERY, Sqe.u8(id, IdentifyController.CNTRLTYPE_OFFSET));
        assertEquals(DiscoveryService.NQN, IdentifyController.text(id, IdentifyController.SUBNQN_OFFSET, 256));

        MemorySegment header = disc.buffer(DiscoveryLog.HEADER_BYTES);
        assertEquals(NvmeStatus.SUCCESS, disc.getLogPage(Opcodes.LOG_DISCOVERY, 0, 0, header, false).status());
        assertEquals(generation, Sqe.u64(header, DiscoveryLog.GENCTR_OFFSET));
        long records = Sqe.u64(header, DiscoveryLog.NUMREC_OFFSET);
        assertEquals(3, records, "two subsystems on the one NVM listener, and the current discovery subsystem");
        MemorySegment page = disc.buffer(DiscoveryLog.HEADER_BYTES + records * DiscoveryLog.ENTRY_BYTES);
        assertEquals(NvmeStatus.SUCCESS, disc.getLogPage(Opcodes.LOG_DISCOVERY, 0, 0, page, false).status());
        MemorySegment first = page.asSlice(DiscoveryLog.HEADER_BYTES, DiscoveryLog.ENTRY_BYTES);
        assertEquals(DiscoveryLog.TRTYPE_TCP, Sqe.u8(first, DiscoveryLog.TRTYPE_OFFSET));
        assertEquals(DiscoveryLog.ADRFAM_IPV4, Sqe.u8(first, DiscoveryLog.ADRFAM_OFFSET));
        assertEquals(DiscoveryLog.SUBTYPE_NVM, Sqe.u8(first, DiscoveryLog.SUBTYPE_OFFSET));
        assertEquals(Fabrics.CNTLID_DYNAMIC, Sqe.u16(first, DiscoveryLog.CNTLID_OFFSET));
        assertEquals("192.168.7.1", IdentifyController.text(first, DiscoveryLog.TRADDR_OFFSET, 256), "the advertised address");
        assertEquals("4420", IdentifyController.text(first, DiscoveryLog.TRSVCID_OFFSET, 32));
        assertEquals("nqn.2026-01.io.basalt:open", IdentifyController.text(first, DiscoveryLog.SUBNQN_OFFSET, 256));
        MemorySegment second = page.asSlice(DiscoveryLog.HEADER_BYTES + DiscoveryLog.ENTRY_BYTES, DiscoveryLog.ENTRY_BYTES);
        assertEquals(NQN, IdentifyController.text(second, DiscoveryLog.SUBNQN_OFFSET, 256));
        MemorySegment current = page.asSlice(DiscoveryLog.HEADER_BYTES + 2L * DiscoveryLog.ENTRY_BYTES, DiscoveryLog.ENTRY_BYTES);
        assertEquals(DiscoveryLog.SUBTYPE_CURRENT_DISCOVERY, Sqe.u8(current, DiscoveryLog.SUBTYPE_OFFSET));
        assertEquals("8009", IdentifyController.text(current, DiscoveryLog.TRSVCID_OFFSET, 32));

        // The read at an offset (nvme-cli reads the header, then the entries) gives the same bytes.
        MemorySegment tail = disc.buffer(DiscoveryLog.ENTRY_BYTES);
        assertEquals(NvmeStatus.SUCCESS, disc.getLogPage(Opcodes.LOG_DISCOVERY, 0, DiscoveryLog.HEADER_BYTES, tail, false).status());
        assertEquals(-1, tail.mismatch(first));

        // A discovery-only listener serves no NVM subsystem.
        FakeResponses.Completion refused = host("10.0.0.1:8009").connect(0, 31, Fabrics.CNTLID_DYNAMIC, NQN, TestHost.HOST_NQN, 0, 0);
        assertEquals(NvmeStatus.CONNECT_INVALID_PARAM | NvmeStatus.DNR, refused.status());
    }

    @Test
    void discoveryControllerHearsOfLogChanges() {
        target.addListener("10.0.0.1:4420", null, false);
        TestHost disc = host("10.0.0.1:4420");
        disc.connectAdminAndEnable(DiscoveryService.NQN, 0);
        assertEquals(NvmeStatus.SUCCESS, disc.setFeature(Opcodes.FEATURE_ASYNC_EVENT_CONFIG, IdentifyController.OAES_DISCOVERY_LOG_CHANGE).status());
        long aer = disc.submit(disc.sqe(Opcodes.ADMIN_ASYNC_EVENT_REQUEST, 0), MemorySegment.NULL);
        target.addSubsystem("nqn.2026-01.io.basalt:late", "BASALT0004", "Basalt late").allowAnyHost(true);
        assertEquals(0x70F002, disc.await(aer).dw0(), "notice, discovery log changed, log page 70h");
    }
}
