package io.basalt.daemon;

import io.basalt.daemon.json.Json;
import io.basalt.daemon.rpc.RpcClient;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * nvmf_* methods in-process over the real socket: every method's result and refusals, the drive claims, the saved
 * state across a restart, and the TCP side of a listener. Listeners use port 0 (any free port), never fixed ones,
 * except the embedded default's check.
 */
class NvmfRpcTest extends DaemonTestBase {
    private static final int INVALID_PARAMS = -32602;
    private static final String NQN = "nqn.2026-12.io.basalt:t0";
    private static final String NQN2 = "nqn.2026-12.io.basalt:t1";
    private static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:3f1e4d2a-1111-2222-3333-444455556666";
    private static final String NGUID = "0123456789abcdef0123456789abcdef";
    private static final String UUID = "123e4567-e89b-12d3-a456-426614174000";

    private void memoryDrives(String... names) throws IOException {
        for (String n : names) result("drive_create", "{\"name\":\"" + n + "\",\"spec\":\"memory:16M\"}");
    }

    private Map<?, ?> subsystem(String nqn) throws IOException {
        return subsystem(list(), nqn);
    }

    private static Map<?, ?> subsystem(Map<?, ?> list, String nqn) {
        for (Object o : (List<?>) list.get("subsystems")) if (((Map<?, ?>) o).get("nqn").equals(nqn)) return (Map<?, ?>) o;
        return fail("no subsystem " + nqn + " in " + Json.write(list));
    }

    private Map<?, ?> list() throws IOException {
        return assertInstanceOf(Map.class, result("nvmf_list", null));
    }

    private List<?> listeners() throws IOException {
        return (List<?>) list().get("listeners");
    }

    private static int port(Object listener) {
        return (int) (long) (Long) ((Map<?, ?>) listener).get("port");
    }

    private static void assertMentions(String message, String... words) {
        for (String w : words) assertTrue(message.contains(w), () -> "'" + w + "' not in: " + message);
    }

    @Test
    void subsystemCreateListsItWithDefaultsAndDeleteForgetsIt() throws Exception {
        start("[]");
        Map<?, ?> created = assertInstanceOf(Map.class, result("nvmf_subsystem_create", "{\"nqn\":\"" + NQN + "\"}"));
        assertEquals(NQN, created.get("nqn"));
        assertEquals(NvmfMethods.defaultSerial(NQN), created.get("serial"));
        assertEquals(20, ((String) created.get("serial")).length(), "the default serial fills the 20 bytes");
        assertEquals("Basalt", created.get("model"));
        assertEquals(false, created.get("allow_any_host"));
        assertEquals(List.of(), created.get("hosts"));
        assertEquals(List.of(), created.get("namespaces"));
        assertEquals(List.of(), created.get("controllers"));
        assertEquals(0L, ((Map<?, ?>) created.get("counters")).get("commands"));
        assertEquals(created, subsystem(NQN), "the result is the subsystem as nvmf_list shows it");

        Map<?, ?> second = assertInstanceOf(Map.class, result("nvmf_subsystem_create",
                "{\"nqn\":\"" + NQN2 + "\",\"serial\":\"SN-12345678901234567\",\"model\":\"" + "m".repeat(40) + "\",\"allow_any_host\":true}"));
        assertEquals("SN-12345678901234567", second.get("serial"));
        assertEquals("m".repeat(40), second.get("model"));
        assertEquals(true, second.get("allow_any_host"));

        Map<?, ?> all = list();
        assertEquals(List.of("subsystems", "listeners", "connections", "counters"), new ArrayList<>(all.keySet()));
        assertEquals(2, ((List<?>) all.get("subsystems")).size(), "the discovery subsystem is not listed");
        assertEquals(List.of(), all.get("listeners"));
        assertEquals(List.of(), all.get("connections"));
        assertEquals(Map.of("connections", 0L, "accepted", 0L, "refused", 0L, "broken", 0L, "ic_req_timeouts", 0L, "refused_connects", 0L), all.get("counters"),
                "the same keys before the first listener as after");

        assertTrue(((List<?>) result("rpc_methods", null)).containsAll(List.of("nvmf_subsystem_create", "nvmf_subsystem_delete",
                "nvmf_namespace_add", "nvmf_namespace_remove", "nvmf_listener_add", "nvmf_listener_remove", "nvmf_host_allow", "nvmf_host_deny",
                "nvmf_list")));
        daemon.state().settle();
        long writes = daemon.state().writes();
        list();
        daemon.state().settle();
        assertEquals(writes, daemon.state().writes(), "nvmf_list changes nothing: no write of the saved state");
        assertEquals(true, result("nvmf_subsystem_delete", "{\"nqn\":\"" + NQN + "\"}"));
        daemon.state().settle();
        assertTrue(daemon.state().writes() > writes, "a change is saved");
        assertEquals(1, ((List<?>) list().get("subsystems")).size());
        assertMentions(error("nvmf_subsystem_delete", "{\"nqn\":\"" + NQN + "\"}", INVALID_PARAMS), "no subsystem " + NQN);
        result("nvmf_subsystem_create", "{\"nqn\":\"" + NQN + "\"}"); // the name is free again
    }

    /** A namespace shows in stat_get's exports as NQN/nsid, with the drive it serves and its own counters. */
    @Test
    void aNamespaceIsAnExportInStatGet() throws Exception {
        start("[]");
        memoryDrives("s0");
        result("nvmf_subsystem_create", "{\"nqn\":\"nqn.2026-12.io.basalt:s\"}");
        result("nvmf_namespace_add", "{\"nqn\":\"nqn.2026-12.io.basalt:s\",\"drive\":\"s0\"}");
        Map<?, ?> stat = assertInstanceOf(Map.class, result("stat_get", null));
        Map<?, ?> found = null;
        for (Object o : (List<?>) stat.get("exports")) {
            if ("nqn.2026-12.io.basalt:s/1".equals(((Map<?, ?>) o).get("name"))) found = (Map<?, ?>) o;
        }
        assertNotNull(found, "namespace 1 listed among the exports: " + stat.get("exports"));
        assertEquals("s0", found.get("device"));
        result("nvmf_namespace_remove", "{\"nqn\":\"nqn.2026-12.io.basalt:s\",\"nsid\":1}");
        stat = assertInstanceOf(Map.class, result("stat_get", null));
        assertTrue(((List<?>) stat.get("exports")).isEmpty(), "gone with the namespace: " + stat.get("exports"));
    }

    @Test
    void subsystemCreateRefusesBadParams() throws Exception {
        start("[]");
        String create = "nvmf_subsystem_create";
        assertMentions(error(create, "{\"nqn\":\"vol0\"}", INVALID_PARAMS), "param 'nqn'", "must be an NQN");
        assertMentions(error(create, "{\"nqn\":\"nqn.\"}", INVALID_PARAMS), "param 'nqn'", "must be an NQN");
        assertMentions(error(create, "{\"nqn\":\"nqn." + "x".repeat(220) + "\"}", INVALID_PARAMS), "at most 223 bytes");
        assertMentions(error(create, "{\"nqn\":\"nqn." + "é".repeat(110) + "\"}", INVALID_PARAMS), "at most 223 bytes"); // 114 characters, 224 bytes
        result(create, "{\"nqn\":\"nqn." + "x".repeat(219) + "\"}"); // 223 bytes: the limit itself
        assertMentions(error(create, "{\"nqn\":\"nqn.2014-08.org.nvmexpress.discovery\"}", INVALID_PARAMS), "discovery");
        assertMentions(error(create, "{}", INVALID_PARAMS), "nqn");
        assertMentions(error(create, "{\"nqn\":5}", INVALID_PARAMS), "nqn");
        assertMentions(error(create, "{\"nqn\":\"" + NQN + "\",\"serial\":\"" + "s".repeat(21) + "\"}", INVALID_PARAMS),
                "param 'serial'", "1 to 20 printable ASCII");
        assertMentions(error(create, "{\"nqn\":\"" + NQN + "\",\"serial\":\"\"}", INVALID_PARAMS), "param 'serial'");
        assertMentions(error(create, "{\"nqn\":\"" + NQN + "\",\"serial\":\"séria\"}", INVALID_PARAMS), "param 'serial'", "ASCII");
        assertMentions(error(create, "{\"nqn\":\"" + NQN + "\",\"serial\":\"a\\u0001b\"}", INVALID_PARAMS), "param 'serial'");
        assertMentions(error(create, "{\"nqn\":\"" + NQN + "\",\"model\":\"" + "m".repeat(41) + "\"}", INVALID_PARAMS),
                "param 'model'", "1 to 40 printable ASCII");
        assertMentions(error(create, "{\"nqn\":\"" + NQN + "\",\"model\":\"Bäsalt\"}", INVALID_PARAMS), "param 'model'");
        assertMentions(error(create, "{\"nqn\":\"" + NQN + "\",\"allow_any_host\":\"yes\"}", INVALID_PARAMS), "allow_any_host", "true or false");
        assertMentions(error(create, "{\"nqn\":\"" + NQN + "\",\"namespaces\":[]}", INVALID_PARAMS), "namespaces");
        result(create, "{\"nqn\":\"" + NQN + "\"}");
        assertMentions(error(create, "{\"nqn\":\"" + NQN + "\"}", INVALID_PARAMS), "already exists");
        assertMentions(error("nvmf_subsystem_delete", "{\"nqn\":\"" + NQN + "\",\"force\":true}", INVALID_PARAMS), "force");
        assertMentions(error("nvmf_subsystem_delete", "{\"nqn\":\"nqn.2014-08.org.nvmexpress.discovery\"}", INVALID_PARAMS), "no subsystem");
        assertMentions(error("nvmf_list", "{\"nqn\":\"" + NQN + "\"}", INVALID_PARAMS), "nqn");
    }

    @Test
    void namespaceAddGivesTheLowestFreeNsidAndKeepsGivenIdentifiers() throws Exception {
        start("[]");
        memoryDrives("m0", "m1", "m2");
        result("nvmf_subsystem_create", "{\"nqn\":\"" + NQN + "\"}");
        Map<?, ?> ns1 = assertInstanceOf(Map.class, result("nvmf_namespace_add", "{\"nqn\":\"" + NQN + "\",\"drive\":\"m0\"}"));
        assertEquals(List.of("nsid", "drive", "nguid", "uuid", "size_bytes"), new ArrayList<>(ns1.keySet()));
        assertEquals(1L, ns1.get("nsid"));
        assertEquals("m0", ns1.get("drive"));
        assertEquals(16L << 20, ns1.get("size_bytes"));
        assertTrue(((String) ns1.get("nguid")).matches("[0-9a-f]{32}"), ns1.toString());
        assertEquals(ns1.get("uuid"), java.util.UUID.fromString((String) ns1.get("uuid")).toString());

        Map<?, ?> ns7 = assertInstanceOf(Map.class, result("nvmf_namespace_add",
                "{\"nqn\":\"" + NQN + "\",\"drive\":\"m1\",\"nsid\":7,\"nguid\":\"" + NGUID.toUpperCase() + "\",\"uuid\":\"" + UUID + "\"}"));
        assertEquals(7L, ns7.get("nsid"));
        assertEquals(NGUID, ns7.get("nguid"), "lower case, as Identify's hex is shown");
        assertEquals(UUID, ns7.get("uuid"));
        Map<?, ?> ns2 = assertInstanceOf(Map.class, result("nvmf_namespace_add", "{\"nqn\":\"" + NQN + "\",\"drive\":\"m2\"}"));
        assertEquals(2L, ns2.get("nsid"), "the lowest free nsid");
        assertEquals(List.of(ns1, ns2, ns7).size(), ((List<?>) subsystem(NQN).get("namespaces")).size());
        assertTrue(((List<?>) subsystem(NQN).get("namespaces")).containsAll(List.of(ns1, ns2, ns7)));

        assertEquals(true, result("nvmf_namespace_remove", "{\"nqn\":\"" + NQN + "\",\"nsid\":1}"));
        Map<?, ?> again = assertInstanceOf(Map.class, result("nvmf_namespace_add", "{\"nqn\":\"" + NQN + "\",\"drive\":\"m0\"}"));
        assertEquals(1L, again.get("nsid"), "nsid 1 is free again");
        assertNotEquals(ns1.get("nguid"), again.get("nguid"), "a new namespace gets new identifiers");
    }

    @Test
    void namespaceAddAndRemoveRefuseBadParams() throws Exception {
        start("[]");
        memoryDrives("m0", "m1", "m2");
        result("nvmf_subsystem_create", "{\"nqn\":\"" + NQN + "\"}");
        result("nvmf_subsystem_create", "{\"nqn\":\"" + NQN2 + "\"}");
        String add = "nvmf_namespace_add";
        String base = "{\"nqn\":\"" + NQN + "\",\"drive\":\"m0\"";
        for (String nsid : List.of("0", "-1", "-5", "1025", "4294967295", "4294967296", "9223372036854775807")) {
            assertMentions(error(add, base + ",\"nsid\":" + nsid + "}", INVALID_PARAMS), "param 'nsid'", "must be 1 to 1024, was " + nsid);
        }
        assertMentions(error(add, base + ",\"nsid\":\"1\"}", INVALID_PARAMS), "nsid");
        assertMentions(error(add, base + ",\"nsid\":1.5}", INVALID_PARAMS), "nsid");
        assertMentions(error(add, base + ",\"nguid\":\"0123\"}", INVALID_PARAMS), "param 'nguid'", "32 hex digits");
        assertMentions(error(add, base + ",\"nguid\":\"" + "g".repeat(32) + "\"}", INVALID_PARAMS), "param 'nguid'");
        assertMentions(error(add, base + ",\"nguid\":\"" + "0".repeat(32) + "\"}", INVALID_PARAMS), "param 'nguid'", "all zeroes");
        assertMentions(error(add, base + ",\"uuid\":\"not-a-uuid\"}", INVALID_PARAMS), "param 'uuid'", "must be a UUID");
        assertMentions(error(add, base + ",\"uuid\":\"1-2-3-4-5\"}", INVALID_PARAMS), "param 'uuid'", "must be a UUID");
        assertMentions(error(add, base + ",\"uuid\":\"00000000-0000-0000-0000-000000000000\"}", INVALID_PARAMS), "param 'uuid'", "nil");
        assertMentions(error(add, base + ",\"eui64\":\"0011223344556677\"}", INVALID_PARAMS), "eui64");
        assertMentions(error(add, "{\"nqn\":\"" + NQN + "\",\"drive\":\"nope\"}", INVALID_PARAMS), "param 'drive'", "no drive named 'nope'");
        assertMentions(error(add, "{\"nqn\":\"" + NQN + "\"}", INVALID_PARAMS), "drive");
        assertMentions(error(add, "{\"nqn\":\"nqn.2026-12.io.basalt:none\",\"drive\":\"m0\"}", INVALID_PARAMS), "param 'nqn'", "no subsystem");
        assertMentions(error(add, "{\"nqn\":\"nqn.2014-08.org.nvmexpress.discovery\",\"drive\":\"m0\"}", INVALID_PARAMS), "no subsystem");

        result(add, base + ",\"nsid\":1,\"nguid\":\"" + NGUID + "\",\"uuid\":\"" + UUID + "\"}");
        assertMentions(error(add, "{\"nqn\":\"" + NQN + "\",\"drive\":\"m1\",\"nsid\":1}", INVALID_PARAMS), "param 'nsid'", "namespace 1", "exists");
        String otherUuid = "223e4567-e89b-12d3-a456-426614174000";
        assertMentions(error(add, "{\"nqn\":\"" + NQN2 + "\",\"drive\":\"m1\",\"nguid\":\"" + NGUID + "\"}", INVALID_PARAMS),
                "param 'nguid'", "namespace 1 of " + NQN);
        assertMentions(error(add, "{\"nqn\":\"" + NQN2 + "\",\"drive\":\"m1\",\"uuid\":\"" + UUID + "\"}", INVALID_PARAMS),
                "param 'uuid'", "namespace 1 of " + NQN);
        assertMentions(error(add, "{\"nqn\":\"" + NQN2 + "\",\"drive\":\"m1\",\"nguid\":\"" + NGUID + "\",\"uuid\":\"" + otherUuid + "\"}",
                INVALID_PARAMS), "param 'nguid'");
        assertMentions(error(add, "{\"nqn\":\"" + NQN + "\",\"drive\":\"m0\",\"nsid\":2}", INVALID_PARAMS), "param 'drive'", "'m0' is already namespace 1 of " + NQN);
        Map<?, ?> shared = assertInstanceOf(Map.class, result(add, "{\"nqn\":\"" + NQN2 + "\",\"drive\":\"m0\"}"));
        assertEquals(1L, shared.get("nsid"), "another subsystem may export the same drive too (shared claims)");
        List<?> kept = (List<?>) subsystem(NQN).get("namespaces");
        assertEquals(1, kept.size(), "the refused calls left nothing behind");
        assertEquals("m0", ((Map<?, ?>) kept.get(0)).get("drive"));

        String remove = "nvmf_namespace_remove";
        for (String nsid : List.of("0", "-1", "1025", "4294967297")) {
            assertMentions(error(remove, "{\"nqn\":\"" + NQN + "\",\"nsid\":" + nsid + "}", INVALID_PARAMS), "param 'nsid'", "was " + nsid);
        }
        assertMentions(error(remove, "{\"nqn\":\"" + NQN + "\"}", INVALID_PARAMS), "param 'nsid'", "is required");
        assertMentions(error(remove, "{\"nqn\":\"" + NQN + "\",\"nsid\":9}", INVALID_PARAMS), "no namespace 9 in " + NQN);
        assertMentions(error(remove, "{\"nqn\":\"nqn.2026-12.io.basalt:none\",\"nsid\":1}", INVALID_PARAMS), "no subsystem");
        assertMentions(error(remove, "{\"nqn\":\"" + NQN + "\",\"nsid\":1,\"drive\":\"m0\"}", INVALID_PARAMS), "drive");
    }

    @Test
    void aRaidMemberIsRefusedAVhostExportedDriveIsSharedAndDeleteReleasesTheDrives() throws Exception {
        start("[]");
        memoryDrives("m0", "m1", "v0", "x0");
        result("raid_create", "{\"name\":\"r1\",\"level\":1,\"members\":[\"m0\",\"m1\"]}");
        result("nvmf_subsystem_create", "{\"nqn\":\"" + NQN + "\"}");
        assertMentions(error("nvmf_namespace_add", "{\"nqn\":\"" + NQN + "\",\"drive\":\"m0\"}", INVALID_PARAMS),
                "param 'drive'", "'m0' is already used by raid volume 'r1'");
        result("nvmf_namespace_add", "{\"nqn\":\"" + NQN + "\",\"drive\":\"r1\"}"); // the volume itself is fine
        result("vhost_create", "{\"name\":\"ve\",\"drive\":\"v0\"}");
        result("nvmf_namespace_add", "{\"nqn\":\"" + NQN + "\",\"drive\":\"v0\"}");
        result("nvmf_namespace_add", "{\"nqn\":\"" + NQN + "\",\"drive\":\"x0\"}");
        assertMentions(error("drive_delete", "{\"name\":\"x0\"}", INVALID_PARAMS), "nvmf namespace 3 of " + NQN);
        assertMentions(error("drive_delete", "{\"name\":\"v0\"}", INVALID_PARAMS), "nvmf namespace 2 of " + NQN);
        assertMentions(error("raid_create", "{\"name\":\"r2\",\"level\":1,\"members\":[\"x0\",\"v0\"]}", INVALID_PARAMS), "x0");
        assertMentions(error("raid_stop", "{\"name\":\"r1\"}", INVALID_PARAMS), "nvmf namespace 1 of " + NQN);

        result("nvmf_subsystem_delete", "{\"nqn\":\"" + NQN + "\"}");
        result("drive_delete", "{\"name\":\"x0\"}");
        result("raid_stop", "{\"name\":\"r1\"}");
        assertMentions(error("drive_delete", "{\"name\":\"v0\"}", INVALID_PARAMS), "vhost");
        result("vhost_delete", "{\"name\":\"ve\"}");
        result("drive_delete", "{\"name\":\"v0\"}");
    }

    @Test
    void hostAllowAndDenyEditTheSortedList() throws Exception {
        start("[]");
        result("nvmf_subsystem_create", "{\"nqn\":\"" + NQN + "\"}");
        String other = "nqn.2026-12.io.basalt:host-a";
        assertEquals(List.of(HOST), result("nvmf_host_allow", "{\"nqn\":\"" + NQN + "\",\"host\":\"" + HOST + "\"}"));
        assertEquals(List.of(HOST, other), result("nvmf_host_allow", "{\"nqn\":\"" + NQN + "\",\"host\":\"" + other + "\"}"));
        assertEquals(List.of(HOST, other), result("nvmf_host_allow", "{\"nqn\":\"" + NQN + "\",\"host\":\"" + other + "\"}"), "idempotent");
        assertEquals(List.of(HOST, other), subsystem(NQN).get("hosts"));
        assertEquals(List.of(other), result("nvmf_host_deny", "{\"nqn\":\"" + NQN + "\",\"host\":\"" + HOST + "\"}"));
        assertEquals(List.of(other), result("nvmf_host_deny", "{\"nqn\":\"" + NQN + "\",\"host\":\"" + HOST + "\"}"), "denying twice is fine");
        assertEquals(List.of(other), subsystem(NQN).get("hosts"));

        assertMentions(error("nvmf_host_allow", "{\"nqn\":\"" + NQN + "\",\"host\":\"myhost\"}", INVALID_PARAMS), "param 'host'", "must be an NQN");
        assertMentions(error("nvmf_host_allow", "{\"nqn\":\"" + NQN + "\",\"host\":\"nqn." + "h".repeat(220) + "\"}", INVALID_PARAMS), "param 'host'");
        assertMentions(error("nvmf_host_allow", "{\"nqn\":\"" + NQN + "\"}", INVALID_PARAMS), "host");
        assertMentions(error("nvmf_host_deny", "{\"nqn\":\"nqn.2026-12.io.basalt:none\",\"host\":\"" + HOST + "\"}", INVALID_PARAMS), "no subsystem");
        assertMentions(error("nvmf_host_allow", "{\"nqn\":\"nqn.2014-08.org.nvmexpress.discovery\",\"host\":\"" + HOST + "\"}", INVALID_PARAMS),
                "no subsystem");
        assertMentions(error("nvmf_host_allow", "{\"nqn\":\"" + NQN + "\",\"host\":\"" + HOST + "\",\"all\":true}", INVALID_PARAMS), "all");
    }

    @Test
    void listenerAddReturnsWhatNvmfListShowsAndRemoveForgetsIt() throws Exception {
        start("[]");
        Map<?, ?> l = assertInstanceOf(Map.class, result("nvmf_listener_add", "{\"address\":\"127.0.0.1\",\"port\":0}"));
        int port = port(l);
        assertTrue(port > 0, l.toString());
        assertEquals(Map.of("address", "127.0.0.1", "port", (long) port, "advertised", "127.0.0.1:" + port, "discovery_only", false), l);
        Map<?, ?> d = assertInstanceOf(Map.class,
                result("nvmf_listener_add", "{\"address\":\"0.0.0.0\",\"port\":0,\"advertise\":\"10.0.2.2\",\"discovery_only\":true}"));
        int dport = port(d);
        assertEquals(Map.of("address", "0.0.0.0", "port", (long) dport, "advertised", "10.0.2.2:" + dport, "discovery_only", true), d);
        Map<?, ?> v6 = assertInstanceOf(Map.class, result("nvmf_listener_add", "{\"address\":\"::1\",\"port\":0}"));
        assertEquals("[::1]:" + port(v6), v6.get("advertised"));
        assertEquals(List.of(l, d, v6), listeners());
        assertEquals(Map.of("connections", 0L, "accepted", 0L, "refused", 0L, "broken", 0L, "ic_req_timeouts", 0L, "refused_connects", 0L), list().get("counters"));

        assertEquals(true, result("nvmf_listener_remove", "{\"address\":\"0.0.0.0\",\"port\":" + dport + "}"));
        assertEquals(List.of(l, v6), listeners());
        assertMentions(error("nvmf_listener_remove", "{\"address\":\"0.0.0.0\",\"port\":" + dport + "}", INVALID_PARAMS),
                "param 'port'", "no listener on 0.0.0.0:" + dport);
        assertMentions(error("nvmf_listener_remove", "{\"address\":\"127.0.0.2\",\"port\":" + port + "}", INVALID_PARAMS), "no listener on 127.0.0.2");
        assertMentions(error("nvmf_listener_remove", "{\"address\":\"127.0.0.1\",\"port\":0}", INVALID_PARAMS), "param 'port'", "was 0");
        assertMentions(error("nvmf_listener_remove", "{\"address\":\"127.0.0.1\",\"port\":65536}", INVALID_PARAMS), "param 'port'");
        assertMentions(error("nvmf_listener_remove", "{\"address\":\"localhost\",\"port\":" + port + "}", INVALID_PARAMS), "param 'address'");
        assertMentions(error("nvmf_listener_remove", "{\"address\":\"127.0.0.1\",\"port\":" + port + ",\"advertise\":\"1.2.3.4\"}", INVALID_PARAMS),
                "advertise");
        assertEquals(true, result("nvmf_listener_remove", "{\"address\":\"::1\",\"port\":" + port(v6) + "}"));
        assertEquals(true, result("nvmf_listener_remove", "{\"address\":\"127.0.0.1\",\"port\":" + port + "}"));
        assertEquals(List.of(), listeners());
    }

    @Test
    void listenerAddRefusesBadParamsAndTakenPorts() throws Exception {
        start("[]");
        String add = "nvmf_listener_add";
        String wildcard = error(add, "{\"address\":\"0.0.0.0\",\"port\":0}", INVALID_PARAMS);
        assertMentions(wildcard, "param 'advertise'", "is required with address 0.0.0.0", "10.0.2.2");
        assertMentions(error(add, "{\"port\":0}", INVALID_PARAMS), "param 'advertise'", "0.0.0.0", "required");
        assertMentions(error(add, "{\"address\":\"::\",\"port\":0}", INVALID_PARAMS), "param 'advertise'", "is required with address ::");
        assertMentions(error(add, "{\"address\":\"0:0:0:0:0:0:0:0\",\"port\":0}", INVALID_PARAMS), "param 'advertise'", "is required");
        assertMentions(error(add, "{\"address\":\"127.0.0.1\",\"port\":0,\"advertise\":\"0.0.0.0\"}", INVALID_PARAMS),
                "param 'advertise'", "wildcard");
        for (String bad : List.of("localhost", "beef", "10", "1.2.3", "256.1.1.1", "1.2.3.4.5", "127.0.0.1:4420", "[::1]", "fe80::1%eth0", "", "::g")) {
            assertMentions(error(add, "{\"address\":\"" + bad + "\",\"port\":0}", INVALID_PARAMS), "param 'address'", "IPv4", "'" + bad + "'");
        }
        assertMentions(error(add, "{\"address\":\"127.0.0.1\",\"port\":0,\"advertise\":\"host.example\"}", INVALID_PARAMS), "param 'advertise'");
        for (String port : List.of("-1", "65536", "4294967296")) {
            assertMentions(error(add, "{\"address\":\"127.0.0.1\",\"port\":" + port + "}", INVALID_PARAMS), "param 'port'", "was " + port);
        }
        assertMentions(error(add, "{\"address\":\"127.0.0.1\",\"port\":\"4420\"}", INVALID_PARAMS), "port");
        assertMentions(error(add, "{\"address\":\"127.0.0.1\",\"port\":0,\"discovery_only\":1}", INVALID_PARAMS), "discovery_only", "true or false");
        assertMentions(error(add, "{\"address\":\"127.0.0.1\",\"port\":0,\"transport\":\"tcp\"}", INVALID_PARAMS), "transport");
        assertEquals(List.of(), listeners(), "nothing was left half made");

        int port = port(result(add, "{\"address\":\"127.0.0.1\",\"port\":0}"));
        assertMentions(error(add, "{\"address\":\"127.0.0.1\",\"port\":" + port + "}", INVALID_PARAMS), "already listening on 127.0.0.1:" + port);
        assertMentions(error(add, "{\"address\":\"0.0.0.0\",\"port\":" + port + ",\"advertise\":\"10.0.2.2\"}", INVALID_PARAMS),
                "param 'port'", "port " + port + " on 0.0.0.0 is in use by another listener or program", "EADDRINUSE");
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            assertMentions(error(add, "{\"address\":\"127.0.0.1\",\"port\":" + taken.getLocalPort() + "}", INVALID_PARAMS),
                    "param 'port'", "port " + taken.getLocalPort() + " on 127.0.0.1 is in use by another listener or program");
        }
        assertMentions(error(add, "{\"address\":\"192.0.2.1\",\"port\":0}", INVALID_PARAMS), // TEST-NET-1: no machine's own
                "param 'address'", "192.0.2.1 is not an address of this machine");
        assertEquals(1, listeners().size());
    }

    @Test
    void aListenerAcceptsTcpConnectionsUntilRemoved() throws Exception {
        start("[]");
        int port = port(result("nvmf_listener_add", "{\"address\":\"127.0.0.1\",\"port\":0}"));
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            io.basalt.engine.fixtures.Await.untilChecked(() -> ((List<?>) list().get("connections")).size() == 1, java.time.Duration.ofSeconds(30),
                    "the connection never showed in nvmf_list");
            Map<?, ?> c = (Map<?, ?>) ((List<?>) list().get("connections")).get(0);
            assertEquals("127.0.0.1:" + port, c.get("listener"));
            assertTrue(((String) c.get("peer")).endsWith(":" + s.getLocalPort()), c.toString());
            assertEquals(1L, ((Map<?, ?>) list().get("counters")).get("accepted"));
        }
        result("nvmf_listener_remove", "{\"address\":\"127.0.0.1\",\"port\":" + port + "}");
        try (Socket s = new Socket()) {
            assertThrows(ConnectException.class, () -> s.connect(new InetSocketAddress("127.0.0.1", port), 10_000), "nothing listens any more");
        }
        int again = port(result("nvmf_listener_add", "{\"address\":\"127.0.0.1\",\"port\":" + port + "}"));
        assertEquals(port, again, "the port can be listened on again");
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        }
    }

    @Test
    void aRestartReplaysSubsystemsNamespacesWithTheirIdentifiersHostsAndListeners() throws Exception {
        start("[]");
        result("drive_create", "{\"name\":\"u0\",\"spec\":\"uring:" + dir.resolve("u0.img") + ",size=16M,direct=0\"}");
        memoryDrives("m0");
        result("nvmf_subsystem_create", "{\"nqn\":\"" + NQN + "\",\"serial\":\"S1\",\"model\":\"M1\"}");
        result("nvmf_subsystem_create", "{\"nqn\":\"" + NQN2 + "\",\"allow_any_host\":true}");
        result("nvmf_host_allow", "{\"nqn\":\"" + NQN + "\",\"host\":\"" + HOST + "\"}");
        result("nvmf_namespace_add", "{\"nqn\":\"" + NQN + "\",\"drive\":\"u0\",\"nsid\":5}");
        result("nvmf_namespace_add", "{\"nqn\":\"" + NQN + "\",\"drive\":\"m0\"}");
        result("nvmf_namespace_add", "{\"nqn\":\"" + NQN2 + "\",\"drive\":\"u0\",\"nguid\":\"" + NGUID + "\",\"uuid\":\"" + UUID + "\"}");
        int port = port(result("nvmf_listener_add", "{\"address\":\"127.0.0.1\",\"port\":0}"));
        int dport = port(result("nvmf_listener_add", "{\"address\":\"0.0.0.0\",\"port\":0,\"advertise\":\"10.0.2.2\",\"discovery_only\":true}"));
        Map<?, ?> before = list();
        List<?> saved = assertInstanceOf(List.class, result("config_save", null));
        List<String> methods = new ArrayList<>();
        for (Object call : saved) methods.add((String) ((Map<?, ?>) call).get("method"));
        assertEquals(List.of("drive_create", "drive_create", "nvmf_subsystem_create", "nvmf_host_allow", "nvmf_namespace_add", "nvmf_namespace_add",
                "nvmf_subsystem_create", "nvmf_namespace_add", "nvmf_listener_add", "nvmf_listener_add"), methods, Json.write(saved));
        daemon.state().settle();
        down();

        daemon = Daemon.start(new Daemon.Options(dir.resolve("data"), null, 1, "sleep")); // the saved state
        client = RpcClient.connect(daemon.socketPath());
        Map<?, ?> after = list();
        assertEquals(before.get("subsystems"), after.get("subsystems"), "same subsystems, hosts, nsids, NGUIDs and UUIDs");
        assertEquals(before.get("listeners"), after.get("listeners"), "same addresses, ports, advertised addresses");
        assertEquals(List.of(5L, 1L), ((List<?>) subsystem(after, NQN).get("namespaces")).stream().map(n -> ((Map<?, ?>) n).get("nsid")).toList());
        assertEquals(saved, result("config_save", null), "replayed, it saves the same calls");
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        }
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", dport), 10_000);
        }
    }

    @Test
    void theEmbeddedDefaultExportsVol0OnLoopback4420WithDiscoveryOn8009_skippedWhenAPortIsTaken() throws Exception {
        for (int port : new int[] {NvmfMethods.DEFAULT_PORT, NvmfMethods.DISCOVERY_PORT}) {
            try (ServerSocket probe = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
                probe.setReuseAddress(true);
            } catch (IOException e) {
                Assumptions.abort("port " + port + " is taken on this machine: " + e);
            }
        }
        down();
        Files.createDirectories(dir.resolve("data"));
        daemon = Daemon.start(new Daemon.Options(dir.resolve("data"), null, 1, "sleep")); // no saved state: the embedded default
        client = RpcClient.connect(daemon.socketPath());
        Map<?, ?> vol0 = subsystem(ConfigReplay.DEFAULT_NQN);
        assertEquals(true, vol0.get("allow_any_host"));
        List<?> namespaces = (List<?>) vol0.get("namespaces");
        assertEquals(1, namespaces.size());
        assertEquals("vol0", ((Map<?, ?>) namespaces.get(0)).get("drive"));
        assertEquals(1L, ((Map<?, ?>) namespaces.get(0)).get("nsid"));
        assertEquals(List.of(
                Map.of("address", "127.0.0.1", "port", 4420L, "advertised", "127.0.0.1:4420", "discovery_only", false),
                Map.of("address", "127.0.0.1", "port", 8009L, "advertised", "127.0.0.1:8009", "discovery_only", true)), listeners());
    }
}
