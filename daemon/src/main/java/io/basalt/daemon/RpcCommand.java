package io.basalt.daemon;

import io.basalt.daemon.json.Json;
import io.basalt.daemon.json.JsonException;
import io.basalt.daemon.rpc.RpcClient;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code basalt rpc METHOD [JSON]}: one call to a running daemon; the result on stdout, an error on stderr. */
@Command(name = "rpc", mixinStandardHelpOptions = true, version = BasaltCommand.VERSION,
        description = {"call a running daemon: basalt rpc METHOD [JSON-PARAMS]", "e.g.  basalt rpc drive_list  (docs/rpc.md lists the methods)"},
        footer = {"", "example: ./basalt rpc drive_create '{\"name\": \"m0\", \"spec\": \"memory:64M\"}'"})
final class RpcCommand implements Callable<Integer> {
    @Mixin DaemonAddress daemon = new DaemonAddress();

    @Parameters(index = "0", paramLabel = "METHOD", description = "the JSON-RPC method, e.g. drive_list")
    String method;

    @Parameters(index = "1", arity = "0..1", paramLabel = "JSON-PARAMS", description = "the params, a JSON object or array")
    String paramsText;

    @Override
    public Integer call() {
        Object params = null;
        if (paramsText != null) {
            try {
                params = Json.parse(paramsText);
            } catch (JsonException e) {
                System.err.println("basalt rpc: params are not valid JSON: " + e.getMessage());
                System.err.println("example: ./basalt rpc drive_create '{\"name\": \"m0\", \"spec\": \"memory:64M\"}'");
                return BasaltCommand.EXIT_USAGE;
            }
        }
        return call(daemon.socketPath(), method, params);
    }

    private static int call(Path socket, String method, Object params) {
        Map<String, Object> response;
        try (RpcClient client = RpcClient.connect(socket)) {
            try {
                response = client.call(method, params);
            } catch (IOException | JsonException e) {
                System.err.println("basalt rpc: " + method + ": " + e.getMessage());
                return 1;
            }
        } catch (IOException e) {
            System.err.println("basalt rpc: no daemon is listening on " + socket.toAbsolutePath()
                    + " (" + e.getMessage() + "). Start one with ./basalt serve, or point at it with --data-dir or --socket.");
            return 1;
        }
        if (response.get("error") instanceof Map<?, ?> error) {
            System.err.println("basalt rpc: " + method + " failed: error " + error.get("code") + ": " + error.get("message"));
            return 1;
        }
        System.out.println(Json.writePretty(response.get("result")));
        return 0;
    }
}
