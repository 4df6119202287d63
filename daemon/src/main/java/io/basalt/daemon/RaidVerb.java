package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcClient;
import io.basalt.daemon.json.JsonException;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code basalt raid status [NAME]}: the RAID volumes of a running daemon (raid_status) as a readable table,
 * one block per volume: its shape and state, one line per member (role, drive, state, rebuild position) and
 * the sync job's progress (action, percent, rate, ETA, mismatches). The daemon's address may come before or
 * after the sub-verb ({@code raid --data-dir D status} or {@code raid status --data-dir D}).
 */
@Command(name = "raid", mixinStandardHelpOptions = true, version = BasaltCommand.VERSION,
        description = "RAID volumes of a running daemon: members, states, rebuild/check progress (raid status)",
        subcommands = RaidVerb.Status.class)
final class RaidVerb implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin DaemonAddress daemon = new DaemonAddress();

    /** {@code raid} alone: bad usage, a sub-verb is needed. */
    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "give a sub-verb: status [NAME]");
    }

    /** {@code raid status [NAME]}: every volume, or the one named. */
    @Command(name = "status", mixinStandardHelpOptions = true, version = BasaltCommand.VERSION,
            description = "one block per volume: shape, state, members, sync progress")
    static final class Status implements Callable<Integer> {
        @ParentCommand RaidVerb raid;

        @Mixin DaemonAddress daemon = new DaemonAddress();

        @Parameters(arity = "0..1", paramLabel = "NAME", description = "one volume (default: all)")
        String name;

        @Override
        public Integer call() {
            return status(address().socketPath(), name);
        }

        /** {@code raid status --socket S}, else {@code raid --socket S status}, else the default. */
        DaemonAddress address() {
            return daemon.socket != null || daemon.dataDir != null ? daemon : raid.daemon;
        }
    }

    static int status(Path socket, String name) {
        Map<String, Object> params = new LinkedHashMap<>();
        if (name != null) params.put("name", name);
        Map<String, Object> response;
        try (RpcClient client = RpcClient.connect(socket)) {
            response = client.call("raid_status", params);
        } catch (IOException | JsonException e) {
            System.err.println("basalt raid: no answer from a daemon on " + socket.toAbsolutePath() + " (" + e.getMessage()
                    + "). Start one with ./basalt serve, or point at it with --data-dir or --socket.");
            return BasaltCommand.EXIT_FAILURE;
        }
        if (response.get("error") instanceof Map<?, ?> error) {
            System.err.println("basalt raid status: " + error.get("message"));
            return BasaltCommand.EXIT_FAILURE;
        }
        System.out.print(format((List<?>) response.get("result")));
        return 0;
    }

    /** The table for a raid_status result. */
    static String format(List<?> volumes) {
        if (volumes.isEmpty()) return "no RAID volumes\n";
        StringBuilder b = new StringBuilder();
        for (Object o : volumes) {
            Map<?, ?> v = (Map<?, ?>) o;
            long level = (Long) v.get("level");
            b.append(String.format(Locale.ROOT, "%s  raid%d%s, %s, %s, events %d%n", v.get("name"), level,
                    level == 5 ? " " + v.get("layout") + " chunk " + v.get("chunk_kib") + " KiB" : level == 0 ? " chunk " + v.get("chunk_kib") + " KiB" : "",
                    bytes((Long) v.get("size_bytes")), v.get("state"), (Long) v.get("events")));
            b.append(String.format(Locale.ROOT, "  %-5s %-16s %-11s %s%n", "ROLE", "DRIVE", "STATE", "REBUILT"));
            for (Object mo : (List<?>) v.get("members")) {
                Map<?, ?> m = (Map<?, ?>) mo;
                Object recovered = field(m, "recovery_offset_bytes");
                b.append(String.format(Locale.ROOT, "  %-5s %-16s %-11s %s%n", field(m, "role") == null ? "-" : m.get("role"),
                        field(m, "drive") == null ? "(none)" : m.get("drive"), m.get("state"), recovered == null ? "" : bytes((Long) recovered)));
            }
            if (v.get("sync") instanceof Map<?, ?> sync) b.append("  sync: ").append(syncLine(sync)).append('\n');
        }
        return b.toString();
    }

    /** A field, with JSON null (Json.NULL on the wire) as Java null. */
    private static Object field(Map<?, ?> map, String key) {
        Object v = map.get(key);
        return v == io.basalt.daemon.json.Json.NULL ? null : v;
    }

    private static String syncLine(Map<?, ?> s) {
        String limit = "limit " + s.get("max_mib_s") + " MiB/s";
        if ("idle".equals(s.get("action"))) {
            if (field(s, "last_action") == null) return "idle, " + limit;
            String last = "idle (last " + s.get("last_action") + ": " + s.get("last_state");
            if ("check".equals(s.get("last_action")) || "repair".equals(s.get("last_action"))) last += ", " + s.get("mismatch_sectors") + " mismatched sectors";
            if (field(s, "last_error") != null) last += ", " + s.get("last_error");
            return last + "), " + limit;
        }
        long eta = (Long) s.get("eta_seconds");
        String line = String.format(Locale.ROOT, "%s %.1f%% (%s of %s) at %.1f MiB/s, eta %s, %s", s.get("action"),
                ((Number) s.get("percent")).doubleValue(), bytes((Long) s.get("done_bytes")), bytes((Long) s.get("total_bytes")),
                ((Number) s.get("rate_mib_s")).doubleValue(), eta < 0 ? "?" : eta + " s", limit);
        if ("check".equals(s.get("action")) || "repair".equals(s.get("action"))) line += ", " + s.get("mismatch_sectors") + " mismatched sectors so far";
        return line;
    }

    static String bytes(long n) {
        if (n < 1024) return n + " B";
        if (n < 1 << 20) return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
        if (n < 1L << 30) return String.format(Locale.ROOT, "%.1f MiB", n / (double) (1 << 20));
        return String.format(Locale.ROOT, "%.1f GiB", n / (double) (1L << 30));
    }
}
