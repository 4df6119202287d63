package io.basalt.daemon.rpc;

import java.time.Duration;
import io.basalt.engine.fixtures.Await;
import io.basalt.daemon.json.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class RpcServerTest {
    @TempDir Path dir;

    @Test
    void connectionsOverTheLimitAreRefusedOthersKeepWorking() throws Exception {
        RpcDispatcher dispatcher = new RpcDispatcher(64).register("ping", p -> "pong");
        List<RpcClient> clients = new ArrayList<>();
        try (RpcServer server = RpcServer.bind(dir.resolve("s.sock"), dispatcher, 1 << 20)) {
            server.start();
            for (int i = 0; i < RpcServer.CONNECTIONS_MAX; i++) clients.add(RpcClient.connect(server.socketPath()));
            assertEquals("pong", clients.getLast().call("ping", null).get("result"));
            try (RpcClient extra = RpcClient.connect(server.socketPath())) {
                Map<?, ?> refusal = assertInstanceOf(Map.class, extra.readValue());
                assertTrue(Json.write(refusal).contains("too many RPC connections"));
            }
            clients.removeFirst().close();
            waitFor(() -> server.connectionCount() < RpcServer.CONNECTIONS_MAX);
            try (RpcClient again = RpcClient.connect(server.socketPath())) {
                assertEquals("pong", again.call("ping", null).get("result"));
            }
        } finally {
            for (RpcClient c : clients) c.close();
        }
        assertFalse(Files.exists(dir.resolve("s.sock")));
    }

    @Test
    void closingTheServerHangsUpOnClients() throws Exception {
        RpcDispatcher dispatcher = new RpcDispatcher(64).register("ping", p -> "pong");
        RpcServer server = RpcServer.bind(dir.resolve("s.sock"), dispatcher, 1 << 20);
        server.start();
        try (RpcClient c = RpcClient.connect(server.socketPath())) {
            assertEquals("pong", c.call("ping", null).get("result"));
            server.close();
            assertThrows(IOException.class, () -> c.call("ping", null));
        }
        assertFalse(RpcServer.isListening(dir.resolve("s.sock")));
    }

    @Test
    void aRegularFileIsNeverTakenForAStaleSocket() throws Exception {
        Path file = dir.resolve("precious");
        Files.writeString(file, "data");
        IOException e = assertThrows(IOException.class, () -> RpcServer.bind(file, new RpcDispatcher(64), 1024));
        assertTrue(e.getMessage().contains("not a socket"));
        assertEquals("data", Files.readString(file));
    }

    private static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        Await.until(condition, Duration.ofSeconds(5), "condition");
    }
}
