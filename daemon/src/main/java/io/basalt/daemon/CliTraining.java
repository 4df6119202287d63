package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcDispatcher;
import io.basalt.daemon.rpc.RpcServer;
import io.basalt.daemon.json.Json;
import picocli.AutoComplete;
import picocli.CommandLine;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The training run behind the launcher's AOT cache for client verbs (JEP 483/514: {@code java
 * -XX:AOTCacheOutput=FILE io.basalt.daemon.CliTraining}). It does what {@code basalt rpc}, {@code raid status},
 * {@code help} and {@code completion} do, so the classes they load and link come from the cache at the next
 * start: usage help of every verb, the completion script, and real calls over a unix socket to an RpcServer
 * of its own (no daemon needed). Its output goes nowhere; exit 0 when every step answered as expected.
 */
public final class CliTraining {
    private static final int MESSAGE_BYTES_MAX = 1 << 20;

    private CliTraining() {}

    public static void main(String[] args) throws IOException {
        int failures = train();
        if (failures > 0) System.err.println("basalt: CLI training: " + failures + " step(s) did not answer as expected");
        System.exit(failures == 0 ? 0 : 1);
    }

    /** Runs every step with System.out and System.err silenced; returns how many did not answer as expected. */
    static int train() throws IOException {
        PrintStream realOut = System.out;
        PrintStream realErr = System.err;
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        System.setErr(new PrintStream(OutputStream.nullOutputStream()));
        try {
            return helpAndCompletion() + calls();
        } finally {
            System.setOut(realOut);
            System.setErr(realErr);
        }
    }

    private static int helpAndCompletion() {
        CommandLine root = BasaltCommand.commandLine();
        PrintWriter sink = new PrintWriter(OutputStream.nullOutputStream());
        usageOfAll(root, sink);
        sink.print(AutoComplete.bash(root.getCommandName(), root));
        int failures = 0;
        if (Main.run(new String[] {"help"}) != 0) failures++;
        if (Main.run(new String[] {"rpc", "--help"}) != 0) failures++;
        if (Main.run(new String[] {"rpc", "--no-such-option"}) != BasaltCommand.EXIT_USAGE) failures++;
        return failures;
    }

    private static void usageOfAll(CommandLine command, PrintWriter sink) {
        sink.print(command.getUsageMessage());
        for (CommandLine sub : command.getSubcommands().values()) usageOfAll(sub, sink);
    }

    /** rpc (with and without params) and raid status against a tiny server; a missing socket for the error path. */
    private static int calls() throws IOException {
        Path dir = Files.createTempDirectory("basalt-training");
        Path socket = dir.resolve(Daemon.SOCKET_NAME);
        RpcDispatcher dispatcher = new RpcDispatcher(Json.DEPTH_MAX_DEFAULT)
                .register("drive_list", params -> List.of(Map.of("name", "d0", "size_bytes", 1L << 30)))
                .register("raid_status", params -> List.of());
        int failures = 0;
        try (RpcServer server = RpcServer.bind(socket, dispatcher, MESSAGE_BYTES_MAX)) {
            server.start();
            String s = socket.toString();
            if (Main.run(new String[] {"rpc", "--socket", s, "drive_list"}) != 0) failures++;
            if (Main.run(new String[] {"rpc", "--socket", s, "drive_list", "{\"verbose\": true}"}) != 0) failures++;
            if (Main.run(new String[] {"raid", "--socket", s, "status"}) != 0) failures++;
            if (Main.run(new String[] {"rpc", "--socket", s, "no_such_method"}) != BasaltCommand.EXIT_FAILURE) failures++;
        } finally {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
        if (Main.run(new String[] {"rpc", "--socket", socket.toString(), "drive_list"}) != BasaltCommand.EXIT_FAILURE) failures++;
        return failures;
    }
}
