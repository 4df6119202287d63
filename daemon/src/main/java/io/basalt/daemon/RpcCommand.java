package io.basalt.daemon;

import io.basalt.daemon.json.Json;
import io.basalt.daemon.json.JsonException;
import io.basalt.daemon.rpc.RpcClient;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

    /**
     * The common call without picocli: {@code rpc [--data-dir DIR|--socket PATH]... METHOD [JSON]}, each option at
     * most once, filled into the same fields the picocli model fills. Null for anything else (help, version, an
     * unknown or repeated option, a missing or extra argument, {@code --}), which then goes through picocli for
     * its usage and errors. Building the picocli model costs a client about 100 ms of its 0.2 s budget, mostly
     * annotation proxies and reflection (docs/decisions.md 25); CliOptionsTest checks both paths agree.
     */
    static RpcCommand plain(String[] args) {
        if (args.length < 2 || !args[0].equals("rpc")) return null;
        RpcCommand rpc = new RpcCommand();
        List<String> positional = new ArrayList<>(2);
        for (int i = 1; i < args.length; i++) {
            String arg = args[i];
            String name = arg, value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            if (name.equals("--data-dir") || name.equals("--socket")) {
                if (value == null) {
                    if (++i == args.length) return null;
                    value = args[i];
                }
                if (value.isEmpty()) return null;
                if (name.equals("--data-dir")) {
                    if (rpc.daemon.dataDir != null) return null;
                    rpc.daemon.dataDir = Path.of(value);
                } else {
                    if (rpc.daemon.socket != null) return null;
                    rpc.daemon.socket = Path.of(value);
                }
            } else if (arg.startsWith("-") || arg.startsWith("@")) { // picocli reads @FILE as more arguments
                return null;
            } else {
                positional.add(arg);
            }
        }
        if (positional.isEmpty() || positional.size() > 2) return null;
        rpc.method = positional.get(0);
        rpc.paramsText = positional.size() == 2 ? positional.get(1) : null;
        return rpc;
    }

    @Override
    public Integer call() {
        warmUpJson();
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

    /**
     * Starts Jackson's writing and parsing on a second thread while this one connects: their first use costs a
     * fresh JVM about 45 ms (Jackson's classes, and java.math.BigDecimal's class initialisation alone about 15 ms
     * on JDK 25), which then overlaps the connect (docs/decisions.md 25).
     */
    private static void warmUpJson() {
        Thread.ofPlatform().daemon(true).name("basalt-rpc-warm-up").start(() -> Json.parse(Json.write(Map.of("a", List.of(1L, "b")))));
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
