package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcDispatcher;
import io.basalt.daemon.rpc.RpcException;
import io.basalt.daemon.rpc.RpcParams;
import io.basalt.engine.Reactor;
import io.basalt.vhost.VhostBlkExportConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/** vhost_create, vhost_list, vhost_delete. */
final class VhostMethods {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    private final VhostRegistry exports;
    private final Supplier<List<Reactor>> reactors;
    private final Path dataDir;

    private VhostMethods(VhostRegistry exports, Supplier<List<Reactor>> reactors, Path dataDir) {
        this.exports = exports;
        this.reactors = reactors;
        this.dataDir = dataDir;
    }

    static void register(RpcDispatcher dispatcher, VhostRegistry exports, Supplier<List<Reactor>> reactors, Path dataDir) {
        VhostMethods m = new VhostMethods(exports, reactors, dataDir);
        dispatcher.register("vhost_create", m::create);
        dispatcher.register("vhost_list", m::list);
        dispatcher.register("vhost_delete", m::delete);
    }

    /** Where an export's socket goes when the call names none: DATA_DIR/vhost/NAME.sock. */
    static Path defaultSocket(Path dataDir, String name) {
        return dataDir.resolve("vhost").resolve(name + ".sock");
    }

    private Object create(RpcParams params) throws RpcException {
        params.allowOnly("name", "drive", "socket", "num_queues", "readonly", "reactors", "socket_mode", "socket_owner", "socket_group");
        String name = params.requireString("name");
        if (!NAME.matcher(name).matches()) throw RpcException.invalidParams("vhost_create: param 'name': use 1 to 64 characters from A-Z a-z 0-9 _ . -");
        String drive = params.requireString("drive");
        Path socket = params.has("socket") ? Path.of(params.requireString("socket")) : defaultSocket(dataDir, name);
        List<Reactor> all = reactors.get();
        List<Reactor> chosen = chooseReactors(params, all);
        // QEMU 7.2's vhost-user-blk-pci asks one queue per vCPU unless num-queues says otherwise, and refuses a
        // back-end that offers fewer: offer the most by default (a queue costs nothing until QEMU starts it).
        long numQueues = params.optionalLong("num_queues", VhostBlkExportConfig.QUEUES_MAX);
        if (numQueues < 1 || numQueues > VhostBlkExportConfig.QUEUES_MAX) {
            throw RpcException.invalidParams("vhost_create: param 'num_queues' must be 1 to " + VhostBlkExportConfig.QUEUES_MAX);
        }
        long mode = params.optionalLong("socket_mode", 0600);
        if ((mode & ~0777) != 0) throw RpcException.invalidParams("vhost_create: param 'socket_mode' must be permission bits (e.g. 384 = 0600)");
        long owner = params.optionalLong("socket_owner", -1), group = params.optionalLong("socket_group", -1);
        boolean readOnly = optionalBoolean(params, "readonly");
        try {
            java.nio.file.Files.createDirectories(socket.toAbsolutePath().getParent());
        } catch (java.io.IOException e) {
            throw RpcException.invalidParams("vhost_create: param 'socket': cannot create its folder: " + e.getMessage());
        }
        removeStaleSocket(socket);
        VhostBlkExportConfig config = new VhostBlkExportConfig(name, socket.toAbsolutePath().toString(), (int) numQueues,
                readOnly, (int) mode, (int) owner, (int) group, serial(name));
        try {
            return exports.create(config, drive, chosen, params.asMap()).export().status();
        } catch (DriveRegistry.DriveException e) {
            throw RpcException.invalidParams("vhost_create: param '" + e.param() + "': " + e.getMessage());
        }
    }

    /**
     * A socket file nobody listens on is what a daemon that died (SIGKILL, a crash) leaves behind: remove it, as the
     * RPC server does for its own socket, so a restarted daemon gets its exports back and a reconnecting QEMU finds
     * them. A socket someone listens on, or a file that is not a socket, stays: the listen then fails and says so.
     */
    private static void removeStaleSocket(Path socket) {
        try {
            var attributes = java.nio.file.Files.readAttributes(socket, java.nio.file.attribute.BasicFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS);
            if (attributes.isOther() && !io.basalt.daemon.rpc.RpcServer.isListening(socket)) java.nio.file.Files.deleteIfExists(socket);
        } catch (java.io.IOException e) {
            // No such file (the usual case), or it cannot be removed: the listen reports what is in the way.
        }
    }

    /** The GET_ID string: "basalt-" and the export name, cut to virtio's 20 bytes. */
    private static String serial(String name) {
        String s = "basalt-" + name;
        return s.length() > 20 ? s.substring(0, 20) : s;
    }

    private static List<Reactor> chooseReactors(RpcParams params, List<Reactor> all) throws RpcException {
        if (!params.has("reactors")) return all;
        if (!(params.asMap().get("reactors") instanceof List<?> indexes) || indexes.isEmpty()) {
            throw RpcException.invalidParams("vhost_create: param 'reactors' must be a non-empty array of reactor indexes");
        }
        List<Reactor> chosen = new ArrayList<>();
        for (Object o : indexes) {
            if (!(o instanceof Long i) || i < 0 || i >= all.size()) {
                throw RpcException.invalidParams("vhost_create: param 'reactors': " + o + " is not a reactor index (0 to " + (all.size() - 1) + ")");
            }
            chosen.add(all.get(i.intValue()));
        }
        return chosen;
    }

    private static boolean optionalBoolean(RpcParams params, String name) throws RpcException {
        Object v = params.asMap().get(name);
        if (v == null) return false;
        if (!(v instanceof Boolean b)) throw RpcException.invalidParams("vhost_create: param '" + name + "' must be true or false");
        return b;
    }

    private Object list(RpcParams params) throws RpcException {
        params.allowOnly("name");
        List<Object> result = new ArrayList<>();
        try {
            if (params.has("name")) {
                result.add(describe(exports.get(params.requireString("name"))));
                return result;
            }
        } catch (DriveRegistry.DriveException e) {
            throw RpcException.invalidParams("vhost_list: param 'name': " + e.getMessage());
        }
        for (VhostRegistry.Export e : exports.list()) result.add(describe(e));
        return result;
    }

    private static Map<String, Object> describe(VhostRegistry.Export e) {
        Map<String, Object> m = new LinkedHashMap<>(e.export().status());
        m.put("drive", e.drive());
        return m;
    }

    private Object delete(RpcParams params) throws RpcException {
        params.allowOnly("name");
        try {
            exports.delete(params.requireString("name"));
        } catch (DriveRegistry.DriveException e) {
            throw RpcException.invalidParams("vhost_delete: param 'name': " + e.getMessage());
        }
        return Boolean.TRUE;
    }
}
