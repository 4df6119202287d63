package io.basalt.daemon;

import io.basalt.daemon.json.Json;
import io.basalt.daemon.json.JsonException;
import io.basalt.daemon.rpc.RpcDispatcher;
import io.basalt.daemon.rpc.RpcException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A configuration: a JSON array of {"method": ..., "params": {...}} calls, the same as over RPC, replayed in
 * order at start-up. The first failing call stops start-up with a message naming it.
 */
public final class ConfigReplay {
    public static final int FILE_BYTES_MAX = 16 << 20;
    public static final int CALLS_MAX = 100_000;

    private ConfigReplay() {}

    /** Reads and parses a config file; the calls are checked by {@link #replay}. */
    public static Object load(Path file) throws StartupException {
        try {
            long sizeBytes = Files.size(file);
            if (sizeBytes > FILE_BYTES_MAX) {
                throw new StartupException("config " + file + " is " + sizeBytes + " bytes, over the limit of " + FILE_BYTES_MAX);
            }
            return Json.parse(Files.readString(file), Json.DEPTH_MAX_DEFAULT, FILE_BYTES_MAX);
        } catch (JsonException e) {
            throw new StartupException("config " + file + " is not valid JSON: " + e.getMessage());
        } catch (IOException e) {
            throw new StartupException("cannot read config " + file + ": " + e);
        }
    }

    /** Replays every call; {@code source} names the config in messages. */
    public static void replay(RpcDispatcher dispatcher, Object config, String source) throws StartupException {
        if (!(config instanceof List<?> calls)) {
            throw new StartupException("config " + source + " must be a JSON array of {\"method\": ..., \"params\": {...}} objects");
        }
        if (calls.size() > CALLS_MAX) throw new StartupException("config " + source + " has more than " + CALLS_MAX + " calls");
        for (int i = 0; i < calls.size(); i++) {
            String where = "config " + source + ", call " + (i + 1) + " of " + calls.size();
            replayOne(dispatcher, calls.get(i), where);
        }
    }

    private static void replayOne(RpcDispatcher dispatcher, Object call, String where) throws StartupException {
        if (!(call instanceof Map<?, ?> map)) throw new StartupException(where + ": must be an object with \"method\" and \"params\"");
        for (Object key : map.keySet()) {
            if (!key.equals("method") && !key.equals("params")) {
                throw new StartupException(where + ": unknown member '" + key + "' (a call has \"method\" and \"params\")");
            }
        }
        if (!(map.get("method") instanceof String method)) throw new StartupException(where + ": \"method\" must be a string");
        Object params = map.get("params");
        if (params instanceof Json.Null) params = null;
        try {
            Object result = dispatcher.invoke(method, params);
            if (method.equals("raid_assemble")) logAssembly(result);
        } catch (RpcException e) {
            String shownParams = params == null ? "" : " " + Json.write(params);
            throw new StartupException(where + " (" + method + shownParams + ") failed: " + e.getMessage() + " [error " + e.code() + "]");
        }
    }

    /** What a replayed raid_assemble started and left out goes to stderr, as the daemon's own assembly reports it. */
    private static void logAssembly(Object result) {
        if (!(result instanceof Map<?, ?> m)) return;
        if (m.get("problems") instanceof List<?> problems) {
            for (Object problem : problems) System.err.println("basalt: " + problem);
        }
    }

    /** One call, as it would appear in a config file. */
    public static Map<String, Object> call(String method, Map<String, Object> params) {
        Map<String, Object> call = new LinkedHashMap<>();
        call.put("method", method);
        call.put("params", params);
        return call;
    }

    /** The RAID5 volume, and its export, that the embedded default serves. */
    public static final String DEFAULT_EXPORT = "vol0";

    /**
     * The embedded default: four 1 GiB sparse file drives under {@code dataDir}/drives (reused when present), the
     * RAID5 volume vol0 over them (assembled from its md superblocks when the drives already carry it, created
     * only the first time), exported over vhost-user-blk at {@code dataDir}/vhost/vol0.sock and over NVMe/TCP; and
     * the S3 service on 127.0.0.1:8080 over a volume mountpath on a second RAID5 volume, obj0 (four more 1 GiB files),
     * and one directory mountpath, {@code dataDir}/objects.
     */
    public static List<Object> embeddedDefault(Path dataDir) {
        List<Object> calls = new ArrayList<>();
        Path drives = dataDir.toAbsolutePath().resolve("drives");
        for (String prefix : new String[] {"d", OBJECT_DRIVE_PREFIX}) {
            for (int i = 0; i < 4; i++) {
                Map<String, Object> params = new LinkedHashMap<>();
                params.put("name", prefix + i);
                params.put("spec", "uring:" + drives.resolve(prefix + i + ".img") + ",size=1G");
                calls.add(call("drive_create", params));
            }
        }
        // The RAID5 volume comes back from its superblocks after the first start; only the first start creates it.
        calls.add(call("raid_assemble", new LinkedHashMap<>()));
        Map<String, Object> volume = new LinkedHashMap<>();
        volume.put("name", DEFAULT_EXPORT);
        volume.put("level", 5L);
        volume.put("members", List.of("d0", "d1", "d2", "d3"));
        volume.put("if_missing", Boolean.TRUE);
        calls.add(call("raid_create", volume));
        Map<String, Object> objects = new LinkedHashMap<>();
        objects.put("name", DEFAULT_OBJECT_VOLUME);
        objects.put("level", 5L);
        objects.put("members", List.of(OBJECT_DRIVE_PREFIX + 0, OBJECT_DRIVE_PREFIX + 1, OBJECT_DRIVE_PREFIX + 2, OBJECT_DRIVE_PREFIX + 3));
        objects.put("if_missing", Boolean.TRUE);
        calls.add(call("raid_create", objects));
        Map<String, Object> export = new LinkedHashMap<>();
        export.put("name", DEFAULT_EXPORT);
        export.put("drive", DEFAULT_EXPORT);
        calls.add(call("vhost_create", export));
        calls.addAll(embeddedNvmf());
        calls.add(embeddedS3(dataDir));
        return calls;
    }

    /** The embedded default's NVMe/TCP export of vol0: any host NQN, from this machine only (docs/rpc.md). */
    static final String DEFAULT_NQN = "nqn.2026-12.io.basalt:" + DEFAULT_EXPORT;
    static final String DEFAULT_NVMF_ADDRESS = "127.0.0.1";

    private static List<Object> embeddedNvmf() {
        List<Object> calls = new ArrayList<>();
        Map<String, Object> subsystem = new LinkedHashMap<>();
        subsystem.put("nqn", DEFAULT_NQN);
        subsystem.put("allow_any_host", Boolean.TRUE);
        calls.add(call("nvmf_subsystem_create", subsystem));
        Map<String, Object> namespace = new LinkedHashMap<>();
        namespace.put("nqn", DEFAULT_NQN);
        namespace.put("drive", DEFAULT_EXPORT);
        calls.add(call("nvmf_namespace_add", namespace));
        for (long port : new long[] {NvmfMethods.DEFAULT_PORT, NvmfMethods.DISCOVERY_PORT}) {
            Map<String, Object> listener = new LinkedHashMap<>();
            listener.put("address", DEFAULT_NVMF_ADDRESS);
            listener.put("port", port);
            calls.add(call("nvmf_listener_add", listener));
        }
        return calls;
    }

    /**
     * The embedded default's S3 service: loopback only, over a volume mountpath on the RAID5 volume obj0 (over its own
     * four drive files o0-o3: an md array holds one volume, and vol0 is the VMs'; decision 39) and one directory
     * mountpath in the data dir (docs/objects.md).
     */
    static final String DEFAULT_OBJECTS_DIR = "objects";
    static final String DEFAULT_OBJECT_VOLUME = "obj0";
    static final String OBJECT_DRIVE_PREFIX = "o";

    private static Map<String, Object> embeddedS3(Path dataDir) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("address", S3Methods.DEFAULT_ADDRESS);
        p.put("port", (long) S3Methods.DEFAULT_PORT);
        p.put("mountpaths", List.of(S3Registry.MountpathSpec.VOLUME_PREFIX + DEFAULT_OBJECT_VOLUME,
                dataDir.toAbsolutePath().resolve(DEFAULT_OBJECTS_DIR).toString()));
        p.put("region", S3Methods.DEFAULT_REGION);
        return call("s3_start", p);
    }
}
