package io.basalt.daemon;

import io.basalt.daemon.json.Json;
import io.basalt.daemon.json.JsonException;
import io.basalt.daemon.rpc.RpcClient;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** {@code basalt rpc METHOD [JSON]}: one call to a running daemon; the result on stdout, an error on stderr. */
final class RpcCommand {
    static final String USAGE = "basalt rpc [--data-dir DIR | --socket PATH] METHOD [JSON-PARAMS]";

    private RpcCommand() {}

    /** A client verb's arguments: the daemon's socket ({@code --data-dir DIR} or {@code --socket PATH}) and the rest. */
    record ClientArgs(Path socket, List<String> positional) {
        /** Throws IllegalArgumentException for an option without its value. */
        static ClientArgs parse(String[] args) {
            Path socket = Path.of("basalt-data").resolve(Daemon.SOCKET_NAME);
            List<String> positional = new ArrayList<>();
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--data-dir" -> socket = Path.of(ServeCommand.value(args, ++i, args[i - 1])).resolve(Daemon.SOCKET_NAME);
                    case "--socket" -> socket = Path.of(ServeCommand.value(args, ++i, args[i - 1]));
                    default -> positional.add(args[i]);
                }
            }
            return new ClientArgs(socket, positional);
        }
    }

    static int run(String[] args) {
        ClientArgs parsed;
        try {
            parsed = ClientArgs.parse(args);
        } catch (IllegalArgumentException e) {
            return usage(e.getMessage());
        }
        Path socket = parsed.socket();
        List<String> positional = parsed.positional();
        if (positional.isEmpty() || positional.size() > 2) return usage("give a method and at most one JSON params argument");
        Object params = null;
        if (positional.size() == 2) {
            try {
                params = Json.parse(positional.get(1));
            } catch (JsonException e) {
                return usage("params are not valid JSON: " + e.getMessage());
            }
        }
        return call(socket, positional.get(0), params);
    }

    private static int usage(String problem) {
        System.err.println("basalt rpc: " + problem);
        System.err.println("usage: " + USAGE);
        System.err.println("example: ./basalt rpc drive_create '{\"name\": \"m0\", \"spec\": \"memory:64M\"}'");
        return 2;
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
