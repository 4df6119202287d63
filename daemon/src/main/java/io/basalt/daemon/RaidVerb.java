package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcClient;
import io.basalt.daemon.json.JsonException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code basalt raid status [NAME]}: the RAID volumes of a running daemon (raid_status) as a readable table,
 * one block per volume: its shape and state, one line per member (role, drive, state, rebuild position) and
 * the sync job's progress (action, percent, rate, ETA, mismatches).
 */
final class RaidVerb {
    static final String USAGE = "basalt raid [--data-dir DIR | --socket PATH] status [NAME]";

    private RaidVerb() {}

    static int run(String[] args) {
        RpcCommand.ClientArgs parsed;
        try {
            parsed = RpcCommand.ClientArgs.parse(args);
        } catch (IllegalArgumentException e) {
            return usage(e.getMessage());
        }
        Path socket = parsed.socket();
        List<String> positional = parsed.positional();
        if (positional.isEmpty() || !positional.getFirst().equals("status") || positional.size() > 2) {
            return usage("the only sub-command is status, with an optional volume name");
        }
        Map<String, Object> params = new LinkedHashMap<>();
        if (positional.size() == 2) params.put("name", positional.get(1));
        Map<String, Object> response;
        try (RpcClient client = RpcClient.connect(socket)) {
            response = client.call("raid_status", params);
        } catch (IOException | JsonException e) {
            System.err.println("basalt raid: no answer from a daemon on " + socket.toAbsolutePath() + " (" + e.getMessage()
                    + "). Start one with ./basalt serve, or point at it with --data-dir or --socket.");
            return 1;
        }
        if (response.get("error") instanceof Map<?, ?> error) {
            System.err.println("basalt raid status: " + error.get("message"));
            return 1;
        }
        System.out.print(format((List<?>) response.get("result")));
        return 0;
    }

    private static int usage(String problem) {
        System.err.println("basalt raid: " + problem);
        System.err.println("usage: " + USAGE);
        return 2;
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
