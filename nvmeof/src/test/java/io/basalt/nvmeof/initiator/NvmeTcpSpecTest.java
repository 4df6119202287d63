package io.basalt.nvmeof.initiator;

import io.basalt.engine.DeviceSpec;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NvmeTcpSpecTest {
    @Test
    void parsesHostPortNqnAndOptions() {
        NvmeTcpSpec s = NvmeTcpSpec.parse("//[::1]:4420/nqn.2026-01.io.basalt:v0?nsid=3&queues=2", Map.of());
        assertEquals("::1", s.host());
        assertEquals(4420, s.port());
        assertEquals("nqn.2026-01.io.basalt:v0", s.subsystemNqn());
        assertEquals(3, s.nsid());
        assertEquals(2, s.queues());
        assertTrue(s.hostNqn().startsWith("nqn.2014-08.org.nvmexpress:uuid:"));
    }

    @Test
    void faultOptionsHaveDefaultsAndAreChecked() {
        NvmeTcpSpec d = NvmeTcpSpec.parse("//h:4420/nqn.x?nsid=1", Map.of());
        assertEquals(NvmeTcpSpec.TIMEOUT_MS_DEFAULT, d.timeoutMs());
        assertEquals(NvmeTcpSpec.RECONNECT_MAX_MS_DEFAULT, d.reconnectMaxMs());
        NvmeTcpSpec s = NvmeTcpSpec.parse("//h:4420/nqn.x?nsid=1&timeout_ms=300&reconnect_max_ms=0", Map.of());
        assertEquals(300, s.timeoutMs());
        assertEquals(0, s.reconnectMaxMs());
        var e = assertThrows(IllegalArgumentException.class,
                () -> NvmeTcpSpec.parse("//h:4420/nqn.x?nsid=1&timeout_ms=0", Map.of()));
        assertTrue(e.getMessage().contains("timeout_ms"), e.getMessage());
    }

    @Test
    void digestOptionTakesHdDdBothOrNone() {
        NvmeTcpSpec none = NvmeTcpSpec.parse("//h:4420/nqn.x?nsid=1", Map.of());
        assertEquals(0, none.digests());
        NvmeTcpSpec hd = NvmeTcpSpec.parse("//h:4420/nqn.x?nsid=1&digest=hd", Map.of());
        assertTrue(hd.headerDigest() && !hd.dataDigest());
        NvmeTcpSpec dd = NvmeTcpSpec.parse("//h:4420/nqn.x?nsid=1&digest=dd", Map.of());
        assertTrue(!dd.headerDigest() && dd.dataDigest());
        NvmeTcpSpec both = NvmeTcpSpec.parse("//h:4420/nqn.x?nsid=1&digest=dd,hd", Map.of());
        assertTrue(both.headerDigest() && both.dataDigest());
        // DeviceSpec splits options at ',': in a URL spec a piece without '=' stays with the value before it
        DeviceSpec url = DeviceSpec.parse("nvme-tcp://h:4420/nqn.x?nsid=1&digest=hd,dd");
        assertEquals("//h:4420/nqn.x?nsid=1&digest=hd,dd", url.target());
        DeviceSpec middle = DeviceSpec.parse("nvme-tcp://h:4420/nqn.x?digest=hd,dd&nsid=1");
        assertEquals("//h:4420/nqn.x?digest=hd,dd&nsid=1", middle.target());
        assertTrue(middle.options().isEmpty());
        DeviceSpec option = DeviceSpec.parse("nvme-tcp://h:4420/nqn.x?nsid=1,digest=hd,dd,queues=2");
        assertEquals("hd,dd", option.options().get("digest"));
        assertEquals("2", option.options().get("queues"));
        NvmeTcpSpec fromOption = NvmeTcpSpec.parse(option.target(), option.options());
        assertTrue(fromOption.headerDigest() && fromOption.dataDigest());
    }

    @Test
    void unknownDigestIsRefusedNamingTheKnownOnes() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> NvmeTcpSpec.parse("//h:4420/nqn.x?nsid=1&digest=hd,crc", Map.of()));
        assertTrue(e.getMessage().contains("digest 'crc'"), e.getMessage());
        assertTrue(e.getMessage().contains("hd") && e.getMessage().contains("dd"), e.getMessage());
        var empty = assertThrows(IllegalArgumentException.class,
                () -> NvmeTcpSpec.parse("//h:4420/nqn.x?nsid=1&digest=", Map.of()));
        assertTrue(empty.getMessage().contains("digest ''"), empty.getMessage());
    }

    @Test
    void nonUrlSpecsStillRefuseAnOptionWithoutValue() {
        var e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.parse("memory:1G,block"));
        assertTrue(e.getMessage().contains("must be key=value"), e.getMessage());
    }

    @Test
    void missingNsidIsRefusedWithAClearMessage() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> DeviceSpec.open("r", "nvme-tcp://127.0.0.1:4420/nqn.2026-01.io.basalt:v0"));
        assertTrue(e.getMessage().contains("nsid"), e.getMessage());
    }

    @Test
    void badPortIsRefusedWithAClearMessage() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> DeviceSpec.open("r", "nvme-tcp://127.0.0.1:99999/nqn.x?nsid=1"));
        assertTrue(e.getMessage().contains("port"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class,
                () -> DeviceSpec.open("r", "nvme-tcp://127.0.0.1:http/nqn.x?nsid=1"));
        assertTrue(e2.getMessage().contains("port"), e2.getMessage());
    }

    @Test
    void unreachableTargetNamesHostPortAndNqn() {
        try (LoopbackTarget t = new LoopbackTarget(1 << 20, 512)) {
            int closedPort = t.port;
            t.close();
            var e = assertThrows(IllegalArgumentException.class,
                    () -> DeviceSpec.open("r", "nvme-tcp://127.0.0.1:" + closedPort + "/nqn.x?nsid=1"));
            assertTrue(e.getMessage().contains("127.0.0.1:" + closedPort + "/nqn.x"), e.getMessage());
        }
    }
}
