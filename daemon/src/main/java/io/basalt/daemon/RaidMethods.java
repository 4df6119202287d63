package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcDispatcher;
import io.basalt.daemon.rpc.RpcException;
import io.basalt.daemon.rpc.RpcParams;
import io.basalt.engine.Reactor;
import io.basalt.raid.array.ArrayEvents;
import io.basalt.raid.array.ArrayException;
import io.basalt.raid.array.ArrayStatus;
import io.basalt.raid.array.CreateRequest;
import io.basalt.raid.array.RaidArrays;
import io.basalt.raid.array.SyncAction;
import io.basalt.raid.md.MdSuperblock;
import io.basalt.raid.volume.Consistency;
import io.basalt.raid.volume.RaidDefaults;
import io.basalt.raid.volume.RaidLevel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The RAID methods (raid_create, raid_status, raid_stop, raid_fail_member, raid_assemble; raid_add_member,
 * raid_remove_member, raid_check, raid_repair, raid_resync, raid_rebuild, raid_sync_limit, raid_sync_stop): an
 * adapter from JSON-RPC params to the array layer ({@link RaidArrays}, which owns the arrays, their metadata and
 * sync jobs) and from its snapshots to the results of docs/rpc.md. Members are the {@link DriveRegistry}'s
 * drives ({@link DriveMembers}); volumes are registered there next to them.
 */
final class RaidMethods {
    /** JSON-RPC server error (-32000..-32099 are the implementation's): a level or layout not written yet. */
    static final int NOT_SUPPORTED = -32000;
    /** raid_create's chunk when chunk_kib is not given: the one measured default (RaidDefaults, docs/raid.md). */
    static final long DEFAULT_CHUNK_KIB = RaidDefaults.CHUNK_BYTES / 1024;
    static final long CHUNK_KIB_MIN = 4, CHUNK_KIB_MAX = 1 << 20;

    private final DriveRegistry drives;
    private final RaidArrays arrays;

    RaidMethods(DriveRegistry drives, Supplier<List<Reactor>> reactors, ArrayEvents events) {
        this.drives = drives;
        this.arrays = new RaidArrays(new DriveMembers(drives),
                () -> reactors.get().stream().filter(Reactor::isRunning).findFirst().orElse(null), events);
    }

    static RaidMethods register(RpcDispatcher dispatcher, DriveRegistry drives, Supplier<List<Reactor>> reactors) {
        return register(dispatcher, drives, reactors, ArrayEvents.NONE);
    }

    /** With {@code events} told of every array change (on the array layer's event thread, no lock held). */
    static RaidMethods register(RpcDispatcher dispatcher, DriveRegistry drives, Supplier<List<Reactor>> reactors, ArrayEvents events) {
        RaidMethods m = new RaidMethods(drives, reactors, events);
        dispatcher.register("raid_create", m::create);
        dispatcher.register("raid_status", m::status);
        dispatcher.register("raid_stop", m::stop);
        dispatcher.register("raid_fail_member", params -> m.onMember("raid_fail_member", "member", params));
        dispatcher.register("raid_assemble", m::assembleRpc);
        dispatcher.register("raid_add_member", params -> m.onMember("raid_add_member", "drive", params));
        dispatcher.register("raid_remove_member", params -> m.onMember("raid_remove_member", "drive", params));
        for (SyncAction action : SyncAction.values()) {
            String method = "raid_" + action.wireName();
            dispatcher.register(method, params -> m.startSync(method, action, params));
        }
        dispatcher.register("raid_sync_limit", m::syncLimit);
        dispatcher.register("raid_sync_stop", m::syncStop);
        return m;
    }

    /** The array layer's refusal as the method's error: INVALID -32602, NOT_SUPPORTED -32000, INTERNAL -32603. */
    private static RpcException error(String method, ArrayException e) {
        String message = method + ": " + e.getMessage();
        return switch (e.kind()) {
            case INVALID -> RpcException.invalidParams(message);
            case NOT_SUPPORTED -> new RpcException(NOT_SUPPORTED, message);
            case INTERNAL -> new RpcException(RpcException.INTERNAL_ERROR, message);
        };
    }

    private Map<String, Object> describe(ArrayStatus status) {
        return RaidDescriptions.describe(status, drives.holder(status.name()));
    }

    // ------------------------------------------------------------------ raid_create

    private Object create(RpcParams params) throws RpcException {
        params.allowOnly("name", "level", "members", "chunk_kib", "if_missing", "consistency");
        String name = params.requireString("name");
        // if_missing: a config replayed at every start creates the array once; later starts find it assembled.
        if (Boolean.TRUE.equals(params.asMap().get("if_missing"))) {
            ArrayStatus existing = arrays.find(name);
            if (existing != null) return describe(existing);
        }
        try {
            arrays.checkNewName(name);
        } catch (ArrayException e) {
            throw error("raid_create", e);
        }
        if (!params.has("level")) throw RpcException.invalidParams("raid_create: missing param 'level' (0, 1 or 5)");
        long levelNumber = params.optionalLong("level", -1);
        RaidLevel level = RaidLevel.fromMd(levelNumber);
        if (level == null) throw RpcException.invalidParams("raid_create: param 'level' must be 0, 1 or 5, was " + levelNumber);
        List<String> members = memberNames(params, level);
        long chunkKib = params.optionalLong("chunk_kib", DEFAULT_CHUNK_KIB);
        if (level.usesChunk() && (chunkKib < CHUNK_KIB_MIN || Long.bitCount(chunkKib) != 1 || chunkKib > CHUNK_KIB_MAX)) {
            throw RpcException.invalidParams("raid_create: param 'chunk_kib' must be a power of two from 4 to 1048576, was " + chunkKib);
        }
        Consistency consistency = consistencyParam(params, level);
        try {
            if (Boolean.TRUE.equals(params.asMap().get("if_missing"))) arrays.refuseMembersOfAnArray(members);
            return describe(arrays.create(new CreateRequest(name, level, members, chunkKib * 2, consistency)));
        } catch (ArrayException e) {
            throw error("raid_create", e);
        }
    }

    /**
     * md's consistency policies Basalt writes: raid5 "ppl" (default: the partial parity log closes the write hole),
     * "bitmap" or "resync"; raid1 "bitmap" (default) or "resync"; raid0 only "none" ({@link RaidLevel#consistencies}).
     * PPL and a bitmap exclude each other, as in md.
     */
    static Consistency consistencyParam(RpcParams params, RaidLevel level) throws RpcException {
        Object value = params.asMap().get("consistency");
        if (!level.isRedundant()) {
            if (value != null && !Consistency.NONE.wireName().equals(value)) {
                throw RpcException.invalidParams("raid_create: param 'consistency': raid0 has no redundancy to keep consistent (only \"none\")");
            }
            return Consistency.NONE;
        }
        if (value == null) return level.defaultConsistency();
        Consistency named = value instanceof String s ? Consistency.fromWireName(s) : null;
        if (named != null && level.allows(named)) return named;
        List<Consistency> allowed = level.consistencies();
        StringBuilder choices = new StringBuilder();
        for (int i = 0; i < allowed.size(); i++) {
            choices.append(i == 0 ? "" : i == allowed.size() - 1 ? " or " : ", ").append('"').append(allowed.get(i).wireName()).append('"');
            if (i == 0) choices.append(" (default)");
        }
        throw RpcException.invalidParams("raid_create: param 'consistency' must be " + choices + " for " + level.label() + ", was " + value);
    }

    private static List<String> memberNames(RpcParams params, RaidLevel level) throws RpcException {
        if (!(params.asMap().get("members") instanceof List<?> list)) {
            throw RpcException.invalidParams("raid_create: param 'members' must be an array of drive names");
        }
        // raid5's own limits are the volume's to state (its error names them); md's superblock bounds the rest
        int max = level == RaidLevel.RAID5 ? MdSuperblock.MAX_DEV_MAX : level.membersMax;
        if (list.size() < 2 || list.size() > max) {
            throw RpcException.invalidParams("raid_create: param 'members': " + level.label() + " needs 2 to " + max + " members, got " + list.size());
        }
        List<String> names = new ArrayList<>();
        for (Object o : list) {
            if (!(o instanceof String s)) throw RpcException.invalidParams("raid_create: param 'members' must hold drive names (strings)");
            names.add(s);
        }
        return names;
    }

    // ------------------------------------------------------------------ raid_status, raid_stop, members

    private Object status(RpcParams params) throws RpcException {
        params.allowOnly("name");
        List<Object> result = new ArrayList<>();
        if (params.has("name")) {
            try {
                result.add(describe(arrays.status(params.requireString("name"))));
            } catch (ArrayException e) {
                throw error("raid_status", e);
            }
            return result;
        }
        for (ArrayStatus a : arrays.statuses()) result.add(describe(a));
        return result;
    }

    private Object stop(RpcParams params) throws RpcException {
        params.allowOnly("name");
        try {
            arrays.stop(params.requireString("name"));
        } catch (ArrayException e) {
            throw error("raid_stop", e);
        }
        return Boolean.TRUE;
    }

    /** raid_fail_member (param "member"), raid_add_member and raid_remove_member (param "drive"). */
    private Object onMember(String method, String driveParam, RpcParams params) throws RpcException {
        params.allowOnly("name", driveParam);
        String name = params.requireString("name");
        try {
            arrays.requireArray(name); // the volume named first, as each method checks it before its drive
            String drive = params.requireString(driveParam);
            return describe(switch (method) {
                case "raid_fail_member" -> arrays.failMember(name, drive);
                case "raid_add_member" -> arrays.addMember(name, drive);
                default -> arrays.removeMember(name, drive);
            });
        } catch (ArrayException e) {
            throw error(method, e);
        }
    }

    // ------------------------------------------------------------------ raid_assemble

    private Object assembleRpc(RpcParams params) throws RpcException {
        params.allowOnly();
        List<String> problems = new ArrayList<>();
        List<Object> names = new ArrayList<>(assemble(problems::add));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("assembled", names);
        m.put("problems", new ArrayList<Object>(problems));
        return m;
    }

    /** The start-up (and raid_assemble) md assembly: see {@link RaidArrays#assemble}. */
    List<String> assemble(Consumer<String> log) throws RpcException {
        try {
            return arrays.assemble(log);
        } catch (ArrayException e) {
            throw new RpcException(RpcException.INTERNAL_ERROR, e.getMessage());
        }
    }

    // ------------------------------------------------------------------ sync jobs (docs/raid.md "Sync jobs")

    private Object startSync(String method, SyncAction action, RpcParams params) throws RpcException {
        if (action == SyncAction.RESYNC) params.allowOnly("name", "regions");
        else params.allowOnly("name");
        String name = params.requireString("name");
        try {
            arrays.requireArray(name);
            List<long[]> regions = params.has("regions") ? regions(method, params) : null;
            return describe(arrays.startSync(name, action, regions));
        } catch (ArrayException e) {
            throw error(method, e);
        }
    }

    private static List<long[]> regions(String method, RpcParams params) throws RpcException {
        if (!(params.asMap().get("regions") instanceof List<?> list)) {
            throw RpcException.invalidParams(method + ": param 'regions' must be an array of [start_block, blocks] pairs");
        }
        List<long[]> out = new ArrayList<>();
        for (Object o : list) {
            if (!(o instanceof List<?> pair) || pair.size() != 2 || !(pair.get(0) instanceof Long start) || !(pair.get(1) instanceof Long blocks)) {
                throw RpcException.invalidParams(method + ": param 'regions': each region is [start_block, blocks] (integers), got " + o);
            }
            out.add(new long[] {start, blocks});
        }
        return out;
    }

    private Object syncLimit(RpcParams params) throws RpcException {
        params.allowOnly("name", "max_mib_s", "units_in_flight");
        String name = params.requireString("name");
        try {
            arrays.requireArray(name);
            Long rate = params.has("max_mib_s") ? params.optionalLong("max_mib_s", 0) : null;
            Long inFlight = params.has("units_in_flight") ? params.optionalLong("units_in_flight", 0) : null;
            return RaidDescriptions.sync(arrays.setSyncLimit(name, rate, inFlight));
        } catch (ArrayException e) {
            throw error("raid_sync_limit", e);
        }
    }

    private Object syncStop(RpcParams params) throws RpcException {
        params.allowOnly("name");
        try {
            return arrays.stopSync(params.requireString("name"));
        } catch (ArrayException e) {
            throw error("raid_sync_stop", e);
        }
    }

    // ------------------------------------------------------------------ the daemon's

    /** The running arrays, for the start-up banner. */
    List<ArrayStatus> list() {
        return arrays.statuses();
    }

    /** The daemon stops: see {@link RaidArrays#close}. */
    void close(boolean clean) {
        arrays.close(clean);
    }
}
