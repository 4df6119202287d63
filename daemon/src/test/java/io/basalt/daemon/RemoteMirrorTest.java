package io.basalt.daemon;

import io.basalt.daemon.json.Json;
import io.basalt.daemon.rpc.RpcClient;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.fixtures.Await;
import io.basalt.raid.array.ControlIo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A RAID1 over a local drive and a remote namespace (issue 13, part 3): daemon A exports a file-backed drive over
 * NVMe/TCP on loopback; daemon B (same JVM, its own data dir) mirrors a memory drive with an {@code nvme-tcp://}
 * drive of A's namespace. A stops abruptly: B's mirror goes on degraded (writes succeed, reads return the data),
 * the remote member marked faulty. A restarts from its saved state (same port, same NGUID), B's drive reconnects
 * by itself, the member is removed and added back, the rebuild copies what A missed, and with B's local member
 * failed the mirror, now served by A alone, returns everything written, before and during the outage.
 */
class RemoteMirrorTest {
    private static final String NQN = "nqn.2026-12.io.basalt:remote-mirror";
    private static final int BLOCK_BYTES = 4096;
    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir Path dir;
    private final List<Node> nodes = new ArrayList<>();

    /** One daemon and an RPC connection to it. */
    private record Node(Daemon daemon, RpcClient client) {
        Object result(String method, String paramsJson) throws IOException {
            Map<String, Object> response = client.call(method, paramsJson == null ? null : Json.parse(paramsJson));
            assertFalse(response.containsKey("error"), () -> method + ": unexpected error: " + Json.write(response));
            return response.get("result");
        }

        void stop(boolean crash) {
            client.close();
            if (crash) daemon.closeAsIfCrashed();
            else daemon.close();
        }
    }

    @AfterEach
    void stopAll() {
        for (Node n : nodes) if (!n.daemon().isClosed()) n.stop(false);
    }

    /** Starts a daemon on {@code dataDir}: with {@code configJson}, or from its saved state when null. */
    private Node start(Path dataDir, String configJson) throws Exception {
        Path config = null;
        if (configJson != null) {
            config = dir.resolve("config-" + System.nanoTime() + ".json");
            Files.writeString(config, configJson);
        }
        Daemon d = Daemon.start(new Daemon.Options(dataDir, config, 1, "sleep"));
        Node n = new Node(d, RpcClient.connect(d.socketPath()));
        nodes.add(n);
        return n;
    }

    /** Word {@code i} of a pattern written from {@code lba}: a function of the seed and the word's place on the volume. */
    private static long word(int seed, long lba, long i) {
        return seed * 1_000_003_000L + lba * (BLOCK_BYTES / Long.BYTES) + i;
    }

    /**
     * Writes blocks [lba, lba + blocks) of {@code name} with a pattern of {@code seed}, in requests of at most the
     * device's largest transfer (the mirror's is its nvme-tcp member's, the target's MDTS).
     */
    private static void writePattern(Node n, String name, long lba, int blocks, int seed) throws IOException {
        BlockDevice d = n.daemon().drives().get(name).device();
        MemorySegment buffer = ControlIo.buffer((long) blocks * BLOCK_BYTES, BLOCK_BYTES);
        for (long i = 0; i < buffer.byteSize() / 8; i++) buffer.setAtIndex(ValueLayout.JAVA_LONG, i, word(seed, lba, i));
        int step = d.geometry().maxTransferBlocks();
        for (int done = 0; done < blocks; done += step) {
            int count = Math.min(step, blocks - done);
            MemorySegment piece = buffer.asSlice((long) done * BLOCK_BYTES, (long) count * BLOCK_BYTES);
            ControlIo.write(n.daemon().reactors().getFirst(), d, lba + done, count, piece);
        }
    }

    private static void checkPattern(Node n, String name, long lba, int blocks, int seed) throws IOException {
        BlockDevice d = n.daemon().drives().get(name).device();
        MemorySegment buffer = ControlIo.buffer((long) blocks * BLOCK_BYTES, BLOCK_BYTES);
        int step = d.geometry().maxTransferBlocks();
        for (int done = 0; done < blocks; done += step) {
            int count = Math.min(step, blocks - done);
            MemorySegment piece = buffer.asSlice((long) done * BLOCK_BYTES, (long) count * BLOCK_BYTES);
            ControlIo.read(n.daemon().reactors().getFirst(), d, lba + done, count, piece);
        }
        for (long i = 0; i < buffer.byteSize() / 8; i++) {
            assertEquals(word(seed, lba, i), buffer.getAtIndex(ValueLayout.JAVA_LONG, i), name + " word " + i + " from lba " + lba);
        }
    }

    private static Map<?, ?> status(Node n, String volume) throws IOException {
        List<?> list = assertInstanceOf(List.class, n.result("raid_status", "{\"name\":\"" + volume + "\"}"));
        return (Map<?, ?>) list.getFirst();
    }

    /** The state of the member on {@code drive}, or null when no role holds it. */
    private static String memberState(Map<?, ?> status, String drive) {
        for (Object o : (List<?>) status.get("members")) {
            Map<?, ?> m = (Map<?, ?>) o;
            if (drive.equals(m.get("drive"))) return (String) m.get("state");
        }
        return null;
    }

    private static Map<?, ?> namespace(Node n) throws IOException {
        Map<?, ?> list = assertInstanceOf(Map.class, n.result("nvmf_list", null));
        for (Object s : (List<?>) list.get("subsystems")) {
            if (NQN.equals(((Map<?, ?>) s).get("nqn"))) return (Map<?, ?>) ((List<?>) ((Map<?, ?>) s).get("namespaces")).getFirst();
        }
        return fail("no subsystem " + NQN + " in " + Json.write(list));
    }

    /** Whether a one-block read of {@code drive} succeeds now (a disconnected nvme-tcp drive fails it at once). */
    private static boolean readable(Node n, String drive) {
        try {
            ControlIo.read(n.daemon().reactors().getFirst(), n.daemon().drives().get(drive).device(), 0, 1, ControlIo.buffer(BLOCK_BYTES, BLOCK_BYTES));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private Node startTarget(Path dataDir) throws Exception {
        Node a = start(dataDir, "[]");
        a.result("drive_create", "{\"name\":\"a0\",\"spec\":\"uring:" + dataDir.resolve("a0.img") + ",size=16M,direct=0,block=" + BLOCK_BYTES + "\"}");
        a.result("nvmf_subsystem_create", "{\"nqn\":\"" + NQN + "\",\"allow_any_host\":true}");
        a.result("nvmf_namespace_add", "{\"nqn\":\"" + NQN + "\",\"drive\":\"a0\"}");
        a.result("nvmf_listener_add", "{\"address\":\"127.0.0.1\",\"port\":0}");
        return a;
    }

    @Test
    void aMirrorWithARemoteMemberGoesOnDegradedWhileTheRemoteDaemonIsDownAndIsRebuiltWhenItReturns() throws Exception {
        Path dataA = dir.resolve("a");
        Node a = startTarget(dataA);
        Map<?, ?> exported = namespace(a);
        int port = (int) (long) (Long) ((Map<?, ?>) ((List<?>) ((Map<?, ?>) a.result("nvmf_list", null)).get("listeners")).getFirst()).get("port");

        Node b = start(dir.resolve("b"), "[]");
        b.result("drive_create", "{\"name\":\"local\",\"spec\":\"memory:16M,block=" + BLOCK_BYTES + "\"}");
        b.result("drive_create", "{\"name\":\"remote\",\"spec\":\"nvme-tcp://127.0.0.1:" + port + "/" + NQN
                + "?nsid=1&queues=4&timeout_ms=2000&reconnect_max_ms=500\"}");
        b.result("raid_create", "{\"name\":\"mirror\",\"level\":1,\"members\":[\"local\",\"remote\"]}");
        writePattern(b, "mirror", 0, 64, 1);
        checkPattern(b, "mirror", 0, 64, 1);
        assertEquals(List.of("active", "active"), List.of(memberState(status(b, "mirror"), "local"), memberState(status(b, "mirror"), "remote")));
        // B connects as the host kept in its data dir (hostnqn, hostid), and A's controllers show that NQN.
        String hostNqn = (String) ((Map<?, ?>) b.result("daemon_status", null)).get("host_nqn");
        assertEquals(hostNqn, java.nio.file.Files.readString(dir.resolve("b").resolve("hostnqn")).strip());
        assertTrue(Json.write(a.result("nvmf_list", null)).contains("\"host_nqn\":\"" + hostNqn + "\""), "A's controllers name B's host NQN");

        a.daemon().state().settle(); // its saved state is on disk, as it would be long before a crash
        a.stop(true);

        // Degraded: writes succeed on the local member alone, the remote one is recorded faulty.
        writePattern(b, "mirror", 0, 16, 2);   // overwrites part of what A holds
        writePattern(b, "mirror", 64, 64, 3);  // new blocks A never saw
        Await.untilChecked(() -> "faulty".equals(memberState(status(b, "mirror"), "remote")), WAIT,
                () -> "the remote member never showed faulty");
        Map<?, ?> degraded = status(b, "mirror");
        assertEquals(true, degraded.get("degraded"), Json.write(degraded));
        assertEquals("active", memberState(degraded, "local"));
        writePattern(b, "mirror", 2000, 32, 4);
        checkPattern(b, "mirror", 0, 16, 2);
        checkPattern(b, "mirror", 16, 48, 1);
        checkPattern(b, "mirror", 64, 64, 3);
        checkPattern(b, "mirror", 2000, 32, 4);

        // A comes back from its saved state: same port, same namespace identity.
        a = start(dataA, null);
        assertEquals(exported, namespace(a), "the same nsid, NGUID and UUID after the restart");
        Await.until(() -> readable(b, "remote"), WAIT, () -> "B's nvme-tcp drive never reconnected to the restarted target");

        b.result("raid_remove_member", "{\"name\":\"mirror\",\"drive\":\"remote\"}");
        Map<?, ?> added = assertInstanceOf(Map.class, b.result("raid_add_member", "{\"name\":\"mirror\",\"drive\":\"remote\"}"));
        assertNotNull(memberState(added, "remote"), Json.write(added));
        Await.untilChecked(() -> {
            Map<?, ?> s = status(b, "mirror");
            return "active".equals(memberState(s, "remote")) && Boolean.FALSE.equals(s.get("degraded"));
        }, WAIT, () -> "the rebuild onto the remote member never finished");
        Map<?, ?> rebuilt = status(b, "mirror");
        Map<?, ?> sync = (Map<?, ?>) rebuilt.get("sync");
        assertEquals("rebuild", sync.get("last_action"), Json.write(rebuilt));
        assertEquals("done", sync.get("last_state"), Json.write(rebuilt));

        // With the local member failed, every read comes from A's copy.
        b.result("raid_fail_member", "{\"name\":\"mirror\",\"member\":\"local\"}");
        checkPattern(b, "mirror", 0, 16, 2);
        checkPattern(b, "mirror", 16, 48, 1);
        checkPattern(b, "mirror", 64, 64, 3);
        checkPattern(b, "mirror", 2000, 32, 4);
        assertEquals("active", memberState(status(b, "mirror"), "remote"));
    }
}
