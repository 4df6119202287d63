package io.basalt.daemon;

import io.basalt.daemon.json.Json;
import io.basalt.daemon.rpc.RpcClient;
import io.basalt.daemon.rpc.RpcException;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The daemon in-process on a temp folder, driven over its real unix socket. */
class DaemonRpcTest {
    @TempDir Path dir;
    Daemon daemon;
    RpcClient client;

    @BeforeEach
    void start() throws Exception {
        daemon = startWithConfig(dir.resolve("data"), "[]");
        client = RpcClient.connect(daemon.socketPath());
    }

    @AfterEach
    void stop() {
        if (client != null) client.close();
        if (daemon != null) daemon.close();
    }

    private Daemon startWithConfig(Path dataDir, String configJson) throws Exception {
        Path config = dir.resolve("config-" + System.nanoTime() + ".json");
        Files.writeString(config, configJson);
        return Daemon.start(new Daemon.Options(dataDir, config, 1, "sleep"));
    }

    private Object result(String method, String paramsJson) throws IOException {
        Map<String, Object> response = client.call(method, paramsJson == null ? null : Json.parse(paramsJson));
        assertFalse(response.containsKey("error"), () -> "unexpected error: " + Json.write(response));
        return response.get("result");
    }

    /** Calls and expects an error with {@code code}; returns its message. */
    private String error(String method, String paramsJson, int code) throws IOException {
        Map<String, Object> response = client.call(method, paramsJson == null ? null : Json.parse(paramsJson));
        Map<?, ?> error = assertInstanceOf(Map.class, response.get("error"), () -> "expected an error: " + Json.write(response));
        assertEquals((long) code, error.get("code"), () -> Json.write(response));
        return (String) error.get("message");
    }

    private Map<?, ?> rawExchange(RpcClient c, String text) throws IOException {
        c.sendRaw(text);
        return assertInstanceOf(Map.class, c.readValue());
    }

    @Test
    void driveCreateListDeleteRoundTrip() throws Exception {
        Map<?, ?> m0 = assertInstanceOf(Map.class, result("drive_create", "{\"name\":\"m0\",\"spec\":\"memory:64M\"}"));
        assertEquals("m0", m0.get("name"));
        assertEquals(4096L, m0.get("block_size"));
        assertEquals(16384L, m0.get("block_count"));
        assertEquals(64L << 20, m0.get("size_bytes"));
        result("drive_create", "{\"name\":\"n.0_x-1\",\"spec\":\"null:1T,block=512\"}");
        List<?> list = assertInstanceOf(List.class, result("drive_list", null));
        assertEquals(2, list.size());
        Map<?, ?> n0 = (Map<?, ?>) list.get(1);
        assertEquals("null:1T,block=512", n0.get("spec"));
        assertEquals(512L, n0.get("block_size"));
        assertEquals(1L << 40, n0.get("size_bytes"));
        assertEquals(false, n0.get("persistent"));
        assertEquals(1, ((List<?>) result("drive_list", "{\"name\":\"m0\"}")).size());
        assertEquals(true, result("drive_delete", "{\"name\":\"m0\"}"));
        assertEquals(1, ((List<?>) result("drive_list", "{}")).size());
        String msg = error("drive_delete", "{\"name\":\"m0\"}", RpcException.INVALID_PARAMS);
        assertTrue(msg.contains("param 'name'") && msg.contains("no drive named 'm0'"), msg);
        assertEquals(1, daemon.drives().count());
    }

    @Test
    void duplicateNameIsRefused() throws Exception {
        result("drive_create", "{\"name\":\"d\",\"spec\":\"memory:4M\"}");
        String msg = error("drive_create", "{\"name\":\"d\",\"spec\":\"null:1G\"}", RpcException.INVALID_PARAMS);
        assertTrue(msg.contains("param 'name'") && msg.contains("already exists"), msg);
        assertEquals("memory:4M", ((Map<?, ?>) ((List<?>) result("drive_list", null)).get(0)).get("spec"));
    }

    @Test
    void badNamesAreRefused() throws Exception {
        for (String name : new String[] {"", "a b", "x/y", "../d0", "é", "a".repeat(65), "tab\t"}) {
            String msg = error("drive_create", Json.write(Map.of("name", name, "spec", "memory:4M")), RpcException.INVALID_PARAMS);
            assertTrue(msg.contains("param 'name'") && msg.contains("is invalid"), msg);
        }
        result("drive_create", Json.write(Map.of("name", "a".repeat(64), "spec", "memory:4M")));
        assertEquals(1, daemon.drives().count());
    }

    @Test
    void badSpecsAreRefused() throws Exception {
        String[] specs = {"bogus:1G", "memory", "memory:", "memory:abc", "memory:1000", "memory:0", "memory:4M,color=red",
                "memory:4M,block=3000", "null:-1G", "uring:" + dir.resolve("f") + ",size=lots", ""};
        for (String spec : specs) {
            String msg = error("drive_create", Json.write(Map.of("name", "x", "spec", spec)), RpcException.INVALID_PARAMS);
            assertTrue(msg.contains("param 'spec'"), msg);
        }
        assertEquals(0, daemon.drives().count());
    }

    @Test
    void missingFileWithoutSizeIsAClearError() throws Exception {
        Path missing = dir.resolve("no-such.img");
        String msg = error("drive_create", Json.write(Map.of("name", "u", "spec", "uring:" + missing)), RpcException.INVALID_PARAMS);
        assertTrue(msg.contains(missing.toString()) && msg.contains("ENOENT") && msg.contains("give a size"), msg);
        assertFalse(Files.exists(missing), "no file created without a size");
    }

    @Test
    void fileOfAWrongSizeIsAClearError() throws Exception {
        Path odd = dir.resolve("odd.img");
        Files.write(odd, new byte[1000]);
        String msg = error("drive_create", Json.write(Map.of("name", "u", "spec", "uring:" + odd)), RpcException.INVALID_PARAMS);
        assertTrue(msg.contains("wrong size") && msg.contains("1000 bytes"), msg);
    }

    @Test
    void uringFileDriveIsCreatedSparseThenFlushedOnClose() throws Exception {
        Path img = dir.resolve("u0.img");
        Map<?, ?> u = assertInstanceOf(Map.class, result("drive_create", Json.write(Map.of("name", "u0", "spec", "uring:" + img + ",size=16M"))));
        assertEquals(16L << 20, u.get("size_bytes"));
        assertEquals(16L << 20, Files.size(img));
        Reactor reactor = daemon.reactors().getFirst();
        assertEquals(Status.OK, DriveFlusher.flush(reactor, daemon.drives().get("u0").device(), 10_000_000_000L));
        result("drive_delete", "{\"name\":\"u0\"}");
        // Reused, not recreated, when it exists.
        result("drive_create", Json.write(Map.of("name", "u0", "spec", "uring:" + img + ",size=1G")));
        assertEquals(16L << 20, Files.size(img));
    }

    @Test
    void brokenJsonGetsParseErrorAndTheSameConnectionServesTheNextLine() throws Exception {
        Map<?, ?> reply = rawExchange(client, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":}\n");
        assertEquals(Json.NULL, reply.get("id"));
        assertEquals((long) RpcException.PARSE_ERROR, ((Map<?, ?>) reply.get("error")).get("code"));
        assertEquals(List.of(), result("drive_list", null), "the connection stays usable after a parse error");
        Map<?, ?> garbage = rawExchange(client, "hello {\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"drive_list\"}\n");
        assertEquals((long) RpcException.PARSE_ERROR, ((Map<?, ?>) garbage.get("error")).get("code"));
        // The rest of the broken line went with it (no reply for id 7); the next line is answered.
        Map<?, ?> next = rawExchange(client, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"drive_list\"}"
                + "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"drive_list\"}");
        assertEquals(8L, next.get("id"));
        assertEquals(9L, assertInstanceOf(Map.class, client.readValue()).get("id"), "concatenated requests still work");
        Map<?, ?> unterminated = rawExchange(client, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"drive_list\n");
        assertEquals((long) RpcException.PARSE_ERROR, ((Map<?, ?>) unterminated.get("error")).get("code"));
        client.sendRaw(new byte[] {'"', (byte) 0xC3, '"', '\n'});
        Map<?, ?> notUtf8 = assertInstanceOf(Map.class, client.readValue());
        assertTrue(((Map<?, ?>) notUtf8.get("error")).get("message").toString().contains("UTF-8"), notUtf8.toString());
        assertEquals((long) RpcException.PARSE_ERROR, ((Map<?, ?>) notUtf8.get("error")).get("code"));
        try (RpcClient other = RpcClient.connect(daemon.socketPath())) {
            Map<?, ?> deep = rawExchange(other, "[".repeat(100));
            assertEquals((long) RpcException.PARSE_ERROR, ((Map<?, ?>) deep.get("error")).get("code"));
        }
        assertEquals(List.of(), result("drive_list", null));
    }

    /** Done-when of issue 9: a 10 MB request is refused once it passes 1 MiB, never buffered whole. */
    @Test
    void aTenMegabyteRequestGetsAnErrorAndTheConnectionServesTheNext() throws Exception {
        String huge = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"drive_list\",\"params\":{\"name\":\"" + "x".repeat(10 << 20) + "\"}}\n";
        Map<?, ?> reply = rawExchange(client, huge);
        Map<?, ?> error = (Map<?, ?>) reply.get("error");
        assertEquals((long) RpcException.INVALID_REQUEST, error.get("code"));
        assertTrue(((String) error.get("message")).contains("over the limit of " + Daemon.MESSAGE_BYTES_MAX + " bytes"), error.toString());
        assertEquals(Json.NULL, reply.get("id"));
        assertEquals(List.of(), result("drive_list", null));
        // Just under the limit is still a request (here refused for its params, not for its size).
        String name = "y".repeat(Daemon.MESSAGE_BYTES_MAX - 200);
        String msg = error("drive_list", Json.write(Map.of("name", name)), RpcException.INVALID_PARAMS);
        assertTrue(msg.contains("drive_list"), msg);
    }

    /** Done-when of issue 9: a million-deep array is refused at depth 65 and the rest of its line skipped. */
    @Test
    void aMillionDeepRequestGetsAnErrorAndTheConnectionServesTheNext() throws Exception {
        Map<?, ?> reply = rawExchange(client, "[".repeat(1_000_000) + "]".repeat(1_000_000) + "\n");
        Map<?, ?> error = (Map<?, ?>) reply.get("error");
        assertEquals((long) RpcException.PARSE_ERROR, error.get("code"));
        assertTrue(((String) error.get("message")).contains("nesting deeper than the limit of 64"), error.toString());
        assertEquals(List.of(), result("drive_list", null));
        Map<?, ?> objects = rawExchange(client, "{\"a\":".repeat(1_000_000) + "\n");
        assertEquals((long) RpcException.PARSE_ERROR, ((Map<?, ?>) objects.get("error")).get("code"));
        assertEquals(List.of(), result("drive_list", null));
    }

    @Test
    void unknownMethod() throws Exception {
        String msg = error("drive_explode", null, RpcException.METHOD_NOT_FOUND);
        assertTrue(msg.contains("drive_explode"), msg);
    }

    @Test
    void badParamsNameTheParam() throws Exception {
        String msg = error("drive_create", "{\"name\":\"x\"}", RpcException.INVALID_PARAMS);
        assertTrue(msg.contains("missing param 'spec'"), msg);
        msg = error("drive_create", "{\"name\":5,\"spec\":\"memory:4M\"}", RpcException.INVALID_PARAMS);
        assertTrue(msg.contains("param 'name' must be a string, got an integer"), msg);
        msg = error("drive_create", "{\"name\":\"x\",\"spec\":\"memory:4M\",\"sise\":1}", RpcException.INVALID_PARAMS);
        assertTrue(msg.contains("unknown param 'sise'"), msg);
        msg = error("drive_create", "[\"x\",\"memory:4M\"]", RpcException.INVALID_PARAMS);
        assertTrue(msg.contains("params must be an object"), msg);
        msg = error("daemon_status", "{\"verbose\":true}", RpcException.INVALID_PARAMS);
        assertTrue(msg.contains("unknown param 'verbose'"), msg);
        assertEquals(0, daemon.drives().count());
    }

    @Test
    void invalidRequests() throws Exception {
        String[] requests = {"{\"id\":1,\"method\":\"drive_list\"}", "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"drive_list\"}",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"drive_list\",\"params\":7}",
                "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"drive_list\"}", "42", "\"text\"", "[]"};
        for (String request : requests) {
            Map<?, ?> reply = rawExchange(client, request + "\n");
            assertEquals((long) RpcException.INVALID_REQUEST, ((Map<?, ?>) reply.get("error")).get("code"), request);
        }
        assertEquals(List.of(), result("drive_list", null), "the connection is still usable");
    }

    @Test
    void notificationsGetNoReplyAndConcatenatedRequestsAreAnswered() throws Exception {
        client.sendRaw("{\"jsonrpc\":\"2.0\",\"method\":\"drive_create\",\"params\":{\"name\":\"q\",\"spec\":\"memory:4M\"}}"
                + "{\"jsonrpc\":\"2.0\",\"method\":\"no_such_method\"}"
                + "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"drive_list\"}{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"daemon_status\"}");
        Map<?, ?> first = assertInstanceOf(Map.class, client.readValue());
        assertEquals("a", first.get("id"));
        assertEquals(1, ((List<?>) first.get("result")).size(), "the notification ran before");
        Map<?, ?> second = assertInstanceOf(Map.class, client.readValue());
        assertEquals(7L, second.get("id"));
    }

    @Test
    void aRequestSentOneByteAtATimeIsAnswered() throws Exception {
        String request = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"drive_list\",\"params\":{}}";
        for (char c : request.toCharArray()) client.sendRaw(String.valueOf(c));
        assertEquals(3L, ((Map<?, ?>) client.readValue()).get("id"));
    }

    @Test
    void batchesAreAnswered() throws Exception {
        client.sendRaw("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"drive_list\"},"
                + "{\"jsonrpc\":\"2.0\",\"method\":\"drive_list\"},{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}]\n");
        List<?> replies = assertInstanceOf(List.class, client.readValue());
        assertEquals(2, replies.size());
        assertEquals((long) RpcException.METHOD_NOT_FOUND, ((Map<?, ?>) ((Map<?, ?>) replies.get(1)).get("error")).get("code"));
    }

    @Test
    void aPeerThatHangsUpMidRequestDoesNotDisturbTheDaemon() throws Exception {
        for (int i = 0; i < 20; i++) {
            RpcClient quitter = RpcClient.connect(daemon.socketPath());
            quitter.sendRaw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"drive_cre");
            quitter.close();
        }
        RpcClient silent = RpcClient.connect(daemon.socketPath());
        silent.close();
        result("drive_create", "{\"name\":\"ok\",\"spec\":\"memory:4M\"}");
        assertEquals(1, ((List<?>) result("drive_list", null)).size());
    }

    @Test
    void aMessageOverTheLimitIsRefused() throws Exception {
        String huge = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"drive_list\",\"params\":{\"pad\":\"" + "x".repeat(Daemon.MESSAGE_BYTES_MAX) + "\"}}";
        try (RpcClient big = RpcClient.connect(daemon.socketPath())) {
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    big.sendRaw(huge);
                } catch (IOException e) {
                    // the daemon hung up part way: expected
                }
            });
            Map<?, ?> reply = assertInstanceOf(Map.class, big.readValue());
            assertEquals((long) RpcException.INVALID_REQUEST, ((Map<?, ?>) reply.get("error")).get("code"));
            writer.join();
        }
        assertEquals(List.of(), result("drive_list", null));
    }

    @Test
    void socketIsOwnerOnly() throws Exception {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(daemon.socketPath())));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(daemon.dataDir())));
    }

    @Test
    void statusReportsReactorsAndDrives() throws Exception {
        result("drive_create", "{\"name\":\"m\",\"spec\":\"memory:4M\"}");
        Map<?, ?> status = assertInstanceOf(Map.class, result("daemon_status", null));
        assertEquals(Version.TEXT, status.get("version"));
        assertEquals(1L, status.get("drive_count"));
        assertEquals(daemon.dataDir().toString(), status.get("data_dir"));
        List<?> reactors = assertInstanceOf(List.class, status.get("reactors"));
        Map<?, ?> r0 = (Map<?, ?>) reactors.getFirst();
        assertEquals("reactor-0", r0.get("name"));
        assertEquals("sleep", r0.get("idle_strategy"));
        assertEquals(List.of(Reactor.COUNTER_NAMES), new ArrayList<>(((Map<?, ?>) r0.get("counters")).keySet()));
        assertTrue(((List<?>) result("rpc_methods", null)).contains("drive_create"));
    }

    @Test
    void aSecondDaemonOnTheSameFolderIsRefused() {
        StartupException e = assertThrows(StartupException.class, () -> startWithConfig(daemon.dataDir(), "[]"));
        assertTrue(e.getMessage().contains("already listening"), e.getMessage());
        assertTrue(Files.exists(daemon.socketPath()), "the running daemon's socket is left alone");
    }

    @Test
    void aStaleVhostSocketLeftByADeadDaemonIsReplacedButALiveOneOrAFileIsNot() throws Exception {
        result("drive_create", "{\"name\":\"m0\",\"spec\":\"memory:16M\"}");
        result("drive_create", "{\"name\":\"m1\",\"spec\":\"memory:16M\"}");
        Path stale = dir.resolve("v0.sock");
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(stale)); // closed without unlinking: what SIGKILL leaves
        }
        assertTrue(Files.exists(stale));
        result("vhost_create", Json.write(Map.of("name", "v0", "drive", "m0", "socket", stale.toString())));
        assertTrue(io.basalt.daemon.rpc.RpcServer.isListening(stale), "the export listens on the replaced socket");
        Path live = dir.resolve("live.sock");
        try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            other.bind(UnixDomainSocketAddress.of(live)); // someone else serves this one
            String busy = error("vhost_create", Json.write(Map.of("name", "v1", "drive", "m1", "socket", live.toString())), -32602);
            assertTrue(busy.contains("EADDRINUSE"), busy);
            assertTrue(Files.exists(live), "a socket someone listens on is left alone");
        }
        Path file = dir.resolve("plain-file");
        Files.writeString(file, "keep me");
        error("vhost_create", Json.write(Map.of("name", "v1", "drive", "m1", "socket", file.toString())), -32602);
        assertEquals("keep me", Files.readString(file), "a regular file in the way is never removed");
    }

    @Test
    void aStaleSocketFileIsReplaced() throws Exception {
        Path other = dir.resolve("other");
        Files.createDirectories(other);
        Path stale = other.resolve(Daemon.SOCKET_NAME);
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(stale));
        }
        assertTrue(Files.exists(stale));
        try (Daemon second = startWithConfig(other, "[]"); RpcClient c = RpcClient.connect(second.socketPath())) {
            assertTrue(c.call("drive_list", null).containsKey("result"));
        }
        assertFalse(Files.exists(stale), "socket removed at close");
    }

    @Test
    void aConfigIsReplayedInOrder() throws Exception {
        String config = """
                [ {"method": "drive_create", "params": {"name": "a", "spec": "memory:8M"}},
                  {"method": "drive_create", "params": {"name": "b", "spec": "null:1G"}},
                  {"method": "drive_delete", "params": {"name": "a"}},
                  {"method": "daemon_status"} ]""";
        try (Daemon second = startWithConfig(dir.resolve("cfg"), config)) {
            List<DriveRegistry.Drive> drives = second.drives().list();
            assertEquals(1, drives.size());
            assertEquals("b", drives.getFirst().name());
        }
    }

    @Test
    void aFailingConfigCallStopsStartUpAndNamesTheCall() throws Exception {
        Path data = dir.resolve("bad");
        String config = """
                [ {"method": "drive_create", "params": {"name": "a", "spec": "memory:8M"}},
                  {"method": "drive_create", "params": {"name": "a", "spec": "memory:8M"}} ]""";
        StartupException e = assertThrows(StartupException.class, () -> startWithConfig(data, config));
        assertTrue(e.getMessage().contains("call 2 of 2") && e.getMessage().contains("drive_create")
                && e.getMessage().contains("already exists"), e.getMessage());
        assertFalse(Files.exists(data.resolve(Daemon.SOCKET_NAME)), "no socket left behind");
        StartupException notJson = assertThrows(StartupException.class, () -> startWithConfig(data, "[{\"method\": }]"));
        assertTrue(notJson.getMessage().contains("not valid JSON") && notJson.getMessage().contains("line 1"), notJson.getMessage());
        StartupException notArray = assertThrows(StartupException.class, () -> startWithConfig(data, "{\"method\": \"drive_list\"}"));
        assertTrue(notArray.getMessage().contains("must be a JSON array"), notArray.getMessage());
        StartupException unknown = assertThrows(StartupException.class, () -> startWithConfig(data, "[{\"method\": \"nope\"}]"));
        assertTrue(unknown.getMessage().contains("call 1 of 1 (nope) failed: Method not found"), unknown.getMessage());
        StartupException missing = assertThrows(StartupException.class,
                () -> Daemon.start(new Daemon.Options(data, dir.resolve("absent.json"), 1, "sleep")));
        assertTrue(missing.getMessage().contains("cannot read config"), missing.getMessage());
    }

    @Test
    void badServeOptionsAreRefused() {
        assertThrows(StartupException.class, () -> Daemon.start(new Daemon.Options(dir.resolve("x"), null, 0, "sleep")));
        StartupException e = assertThrows(StartupException.class, () -> Daemon.start(new Daemon.Options(dir.resolve("x"), null, 1, "lazy")));
        assertTrue(e.getMessage().contains("--idle"), e.getMessage());
    }

    @Test
    void theRpcVerbTalksToTheDaemon() {
        String socket = daemon.socketPath().toString();
        assertEquals(0, Main.run(new String[] {"rpc", "--socket", socket, "drive_create", "{\"name\":\"v\",\"spec\":\"memory:4M\"}"}));
        assertEquals(0, Main.run(new String[] {"rpc", "--data-dir", daemon.dataDir().toString(), "drive_list"}));
        assertEquals(1, Main.run(new String[] {"rpc", "--socket", socket, "drive_delete", "{\"name\":\"nope\"}"}));
        assertEquals(2, Main.run(new String[] {"rpc", "--socket", socket, "drive_list", "{broken"}));
        assertEquals(2, Main.run(new String[] {"rpc"}));
        assertEquals(1, Main.run(new String[] {"rpc", "--socket", dir.resolve("nobody.sock").toString(), "drive_list"}));
        assertEquals(2, Main.run(new String[] {"frobnicate"}));
        assertEquals(0, Main.run(new String[] {"help"}));
        assertEquals(2, Main.run(new String[] {"serve", "--reactors"}));
    }

    @Test
    void vhostCreateListDeleteWithClaimsAndBadParams() throws Exception {
        result("drive_create", "{\"name\":\"m0\",\"spec\":\"memory:64M\"}");
        Map<?, ?> created = assertInstanceOf(Map.class, result("vhost_create", "{\"name\":\"v0\",\"drive\":\"m0\",\"num_queues\":2}"));
        Path socket = Path.of((String) created.get("socket"));
        assertEquals(daemon.dataDir().resolve("vhost").resolve("v0.sock"), socket, "default socket under DATA_DIR/vhost");
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        assertEquals(2L, created.get("num_queues"));
        List<?> list = assertInstanceOf(List.class, result("vhost_list", null));
        assertEquals(1, list.size());
        assertEquals("m0", ((Map<?, ?>) list.get(0)).get("drive"));
        assertTrue(error("drive_delete", "{\"name\":\"m0\"}", -32602).contains("in use"), "an exported drive cannot be deleted");
        // Exports share a drive (decision 27): a second export of m0 holds it too, and the drive stays claimed
        // until both are gone; a volume could not take it as a member meanwhile.
        result("vhost_create", "{\"name\":\"v1\",\"drive\":\"m0\"}");
        assertEquals("vhost export 'v0', vhost export 'v1'", daemon.drives().holder("m0"));
        assertTrue(error("raid_create", "{\"name\":\"r\",\"level\":1,\"members\":[\"m0\",\"m0x\"]}", -32602).contains("'m0' is already used by vhost export"));
        assertEquals(Boolean.TRUE, result("vhost_delete", "{\"name\":\"v1\"}"));
        assertEquals("vhost export 'v0'", daemon.drives().holder("m0"));
        assertTrue(error("vhost_create", "{\"name\":\"v0\",\"drive\":\"m0\"}", -32602).contains("already exists"));
        assertTrue(error("vhost_create", "{\"name\":\"v2\",\"drive\":\"nope\"}", -32602).contains("nope"));
        assertTrue(error("vhost_create", "{\"name\":\"v2\",\"drive\":\"m0\",\"num_queues\":0}", -32602).contains("num_queues"));
        assertTrue(error("vhost_create", "{\"name\":\"v2\",\"drive\":\"m0\",\"reactors\":[5]}", -32602).contains("reactors"));
        assertTrue(error("vhost_create", "{\"name\":\"bad name\",\"drive\":\"m0\"}", -32602).contains("name"));
        assertTrue(error("vhost_create", "{\"name\":\"v2\",\"drive\":\"m0\",\"readonly\":\"yes\"}", -32602).contains("readonly"));
        assertTrue(error("vhost_create", "{\"name\":\"v2\",\"drive\":\"m0\",\"colour\":1}", -32602).contains("colour"));
        assertEquals(Boolean.TRUE, result("vhost_delete", "{\"name\":\"v0\"}"));
        assertFalse(Files.exists(socket), "socket removed with the export");
        assertTrue(error("vhost_delete", "{\"name\":\"v0\"}", -32602).contains("no export"));
        assertEquals(Boolean.TRUE, result("drive_delete", "{\"name\":\"m0\"}"), "released drive can be deleted");
        // Without num_queues an export offers 64: QEMU asks one per vCPU and refuses a back-end offering fewer.
        result("drive_create", "{\"name\":\"m1\",\"spec\":\"memory:64M\"}");
        Map<?, ?> byDefault = assertInstanceOf(Map.class, result("vhost_create", "{\"name\":\"v3\",\"drive\":\"m1\"}"));
        assertEquals(64L, byDefault.get("num_queues"));
        assertTrue(error("vhost_create", "{\"name\":\"v4\",\"drive\":\"m1\",\"num_queues\":65}", -32602).contains("num_queues"));
        assertEquals(Boolean.TRUE, result("vhost_delete", "{\"name\":\"v3\"}"));
    }

    @Test
    void vhostSocketInTheWayIsAClearError() throws Exception {
        result("drive_create", "{\"name\":\"m0\",\"spec\":\"memory:64M\"}");
        Path inTheWay = dir.resolve("taken.sock");
        Files.writeString(inTheWay, "not a socket");
        String message = error("vhost_create", Json.write(Map.of("name", "v0", "drive", "m0", "socket", inTheWay.toString())), -32602);
        assertTrue(message.contains("taken.sock"), message);
        assertEquals(Boolean.TRUE, result("drive_delete", "{\"name\":\"m0\"}"), "the failed export released its drive");
    }
}
