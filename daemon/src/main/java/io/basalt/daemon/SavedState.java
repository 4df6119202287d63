package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcDispatcher;
import io.basalt.engine.DeviceSpec;
import io.basalt.daemon.json.Json;
import io.basalt.raid.array.ArrayStatus;
import io.basalt.raid.volume.SyncJob;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The running state as calls a configuration replays ({@code config_save}, and the saved state file): every drive
 * with the spec it was made from, one {@code raid_assemble} when arrays run (never {@code raid_create}: the md
 * superblocks say which drive holds which role, so an array comes back exactly as its members last recorded it),
 * the sync limits set by RPC, and every export with its params. In that order, which replays: drives before the
 * assembly that scans them, volumes before the limits and exports that name them.
 * <p>
 * Drives whose data does not outlive the daemon (memory:, null:, and fault: over them) are saved too, as SPDK's
 * save_config saves malloc and null bdevs: they come back empty. A volume that would not assemble from the
 * members that keep their data (raid5 over memory drives) is not expected to come back, so its limits and its
 * export are left out: an export of a volume that is not there would stop the start-up (docs/decisions.md).
 */
final class SavedState {
    /** Backends whose blocks are still there at the next start. */
    private static final Set<String> KEEPING_KINDS = Set.of("uring", "file", "aio");
    private static final String FAULT_KIND = "fault";

    private SavedState() {}

    /** config_save: no params; the result is the JSON array a --config file holds. */
    static void register(RpcDispatcher dispatcher, Supplier<List<Object>> calls) {
        dispatcher.register("config_save", params -> {
            params.allowOnly();
            return calls.get();
        });
    }

    /** The calls that rebuild the running state; read under each registry's own lock, one after the other. */
    static List<Object> calls(DriveRegistry drives, RaidMethods raid, VhostRegistry exports, NvmfRegistry nvmf) {
        List<Object> calls = new ArrayList<>();
        Set<String> volatileDrives = new HashSet<>();
        for (DriveRegistry.Drive d : drives.list()) {
            if (!keepsData(d.spec())) volatileDrives.add(d.name());
            Map<String, Object> params = new LinkedHashMap<>();
            params.put("name", d.name());
            params.put("spec", absoluteSpec(d.spec()));
            calls.add(ConfigReplay.call("drive_create", params));
        }
        Set<String> volatileVolumes = new HashSet<>();
        if (raid != null) arrayCalls(raid.list(), volatileDrives, volatileVolumes, calls); // snapshots, taken under the arrays' lock
        for (VhostRegistry.Export e : exports.list()) {
            if (volatileVolumes.contains(e.drive())) continue;
            calls.add(ConfigReplay.call("vhost_create", exportParams(e.params())));
        }
        if (nvmf != null) calls.addAll(NvmfMethods.savedCalls(nvmf, volatileVolumes));
        return calls;
    }

    private static void arrayCalls(List<ArrayStatus> arrays, Set<String> volatileDrives, Set<String> volatileVolumes, List<Object> calls) {
        if (!arrays.isEmpty()) calls.add(ConfigReplay.call("raid_assemble", new LinkedHashMap<>()));
        for (ArrayStatus a : arrays) {
            if (!comesBack(a, volatileDrives)) {
                volatileVolumes.add(a.name());
                continue;
            }
            ArrayStatus.Sync sync = a.sync();
            if (sync.maxMiBs() != SyncJob.DEFAULT_RATE_MIB_S || sync.unitsInFlight() != SyncJob.DEFAULT_UNITS_IN_FLIGHT) {
                Map<String, Object> params = new LinkedHashMap<>();
                params.put("name", a.name());
                params.put("max_mib_s", sync.maxMiBs());
                params.put("units_in_flight", (long) sync.unitsInFlight());
                calls.add(ConfigReplay.call("raid_sync_limit", params));
            }
        }
    }

    /**
     * Whether enough members keep their data for the array to assemble at the next start: raid0 all of them,
     * raid5 all but one, raid1 one. (Its running members only: a rebuilding one counts, as its superblock does.)
     */
    private static boolean comesBack(ArrayStatus a, Set<String> volatileDrives) {
        long keeping = a.memberDrives().stream().filter(d -> !volatileDrives.contains(d)).count();
        long needed = switch (a.level()) {
            case RAID0 -> a.raidDisks();
            case RAID5 -> a.raidDisks() - 1;
            case RAID1 -> 1;
        };
        return keeping >= needed;
    }

    /** The params as the call gave them, a relative socket path made absolute (the daemon's folder may differ next time). */
    private static Map<String, Object> exportParams(Map<String, Object> given) {
        Map<String, Object> params = new LinkedHashMap<>(given);
        if (params.get("socket") instanceof String socket) params.put("socket", Path.of(socket).toAbsolutePath().normalize().toString());
        return params;
    }

    /** Whether the backend keeps its blocks across a restart of the daemon (a file or a block device). */
    static boolean keepsData(String spec) {
        try {
            DeviceSpec parsed = DeviceSpec.parse(spec);
            while (parsed.kind().equals(FAULT_KIND)) parsed = DeviceSpec.parse(parsed.target());
            return KEEPING_KINDS.contains(parsed.kind());
        } catch (IllegalArgumentException e) {
            return false; // the drive opened, so this cannot happen; if it did, do not count on its data
        }
    }

    /**
     * The spec with a relative file path made absolute, as it was opened (relative to the daemon's working
     * folder): the saved state is replayed by a daemon that may be started from another folder.
     */
    static String absoluteSpec(String spec) {
        int colon = spec.indexOf(':');
        if (colon <= 0) return spec;
        String kind = spec.substring(0, colon).toLowerCase(Locale.ROOT);
        String rest = spec.substring(colon + 1);
        if (kind.equals(FAULT_KIND)) return spec.substring(0, colon + 1) + absoluteSpec(rest);
        if (!KEEPING_KINDS.contains(kind)) return spec;
        int comma = rest.indexOf(',');
        String target = comma < 0 ? rest : rest.substring(0, comma);
        if (target.isEmpty() || Path.of(target).isAbsolute()) return spec;
        return spec.substring(0, colon + 1) + Path.of(target).toAbsolutePath().normalize() + (comma < 0 ? "" : rest.substring(comma));
    }

    /** The file's text: a JSON array, one call per line (readable, and a diff shows what changed). */
    static byte[] render(List<Object> calls) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < calls.size(); i++) sb.append(i == 0 ? "\n  " : ",\n  ").append(Json.write(calls.get(i)));
        return sb.append("\n]\n").toString().getBytes(StandardCharsets.UTF_8);
    }
}
