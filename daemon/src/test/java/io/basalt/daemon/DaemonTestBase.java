package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcClient;
import io.basalt.engine.BlockDevice;
import io.basalt.daemon.json.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * An in-process daemon (one reactor, `sleep` idling) over a temporary data dir, restartable over the same files,
 * and the RPC calls the RAID tests make of it: the plumbing RaidRpcTest, RaidSyncRpcTest and
 * RaidAssemblyBadInputTest share.
 */
abstract class DaemonTestBase {
    @TempDir Path dir;
    Daemon daemon;
    RpcClient client;

    @AfterEach
    void stop() {
        down();
    }

    /** Stops the daemon cleanly (if one runs). */
    void down() {
        if (client != null) client.close();
        if (daemon != null) daemon.close();
        client = null;
        daemon = null;
    }

    /** (Re)starts the daemon with {@code configJson} as its config file, over the same data dir. */
    void start(String configJson) throws Exception {
        down();
        Path config = dir.resolve("config-" + System.nanoTime() + ".json");
        Files.writeString(config, configJson);
        daemon = Daemon.start(new Daemon.Options(dir.resolve("data"), config, 1, "sleep"));
        client = RpcClient.connect(daemon.socketPath());
    }

    Object result(String method, String paramsJson) throws IOException {
        Map<String, Object> response = client.call(method, paramsJson == null ? null : Json.parse(paramsJson));
        assertFalse(response.containsKey("error"), () -> "unexpected error: " + Json.write(response));
        return response.get("result");
    }

    /** Calls a method that must fail with {@code code}; returns the error message. */
    String error(String method, String paramsJson, int code) throws IOException {
        Map<String, Object> response = client.call(method, paramsJson == null ? null : Json.parse(paramsJson));
        Map<?, ?> error = assertInstanceOf(Map.class, response.get("error"), () -> "expected an error: " + Json.write(response));
        assertEquals((long) code, error.get("code"), () -> Json.write(response));
        return (String) error.get("message");
    }

    /** raid_status of one volume. */
    Map<?, ?> status(String name) throws IOException {
        List<?> list = assertInstanceOf(List.class, result("raid_status", "{\"name\":\"" + name + "\"}"));
        assertEquals(1, list.size());
        return (Map<?, ?>) list.get(0);
    }

    static List<String> memberStates(Map<?, ?> status) {
        List<String> states = new ArrayList<>();
        for (Object m : (List<?>) status.get("members")) states.add((String) ((Map<?, ?>) m).get("state"));
        return states;
    }

    BlockDevice device(String name) {
        return daemon.drives().get(name).device();
    }
}
