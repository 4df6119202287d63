package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcDispatcher;
import io.basalt.daemon.rpc.RpcException;
import io.basalt.daemon.rpc.RpcParams;
import io.basalt.engine.Geometry;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** The RPC methods of the daemon itself and its drives. Each names its params in errors. */
final class DaemonMethods {
    private final DriveRegistry drives;

    private DaemonMethods(DriveRegistry drives) {
        this.drives = drives;
    }

    static void register(RpcDispatcher dispatcher, DriveRegistry drives, Supplier<Map<String, Object>> status) {
        DaemonMethods m = new DaemonMethods(drives);
        dispatcher.register("drive_create", m::driveCreate);
        dispatcher.register("drive_list", m::driveList);
        dispatcher.register("drive_delete", m::driveDelete);
        dispatcher.register("daemon_status", params -> {
            params.allowOnly();
            return status.get();
        });
        dispatcher.register("rpc_methods", params -> {
            params.allowOnly();
            return dispatcher.methodNames();
        });
    }

    private Object driveCreate(RpcParams params) throws RpcException {
        params.allowOnly("name", "spec");
        String name = params.requireString("name");
        String spec = params.requireString("spec");
        try {
            return describe(drives.create(name, spec));
        } catch (DriveRegistry.DriveException e) {
            throw RpcException.invalidParams("drive_create: param '" + e.param() + "': " + e.getMessage());
        }
    }

    private Object driveList(RpcParams params) throws RpcException {
        params.allowOnly("name");
        List<Object> result = new ArrayList<>();
        try {
            if (params.has("name")) {
                result.add(describe(drives.get(params.requireString("name"))));
                return result;
            }
        } catch (DriveRegistry.DriveException e) {
            throw RpcException.invalidParams("drive_list: param '" + e.param() + "': " + e.getMessage());
        }
        for (DriveRegistry.Drive d : drives.list()) result.add(describe(d));
        return result;
    }

    private Object driveDelete(RpcParams params) throws RpcException {
        params.allowOnly("name");
        String name = params.requireString("name");
        try {
            drives.delete(name);
        } catch (DriveRegistry.DriveException e) {
            throw RpcException.invalidParams("drive_delete: param '" + e.param() + "': " + e.getMessage());
        }
        return Boolean.TRUE;
    }

    static Map<String, Object> describe(DriveRegistry.Drive drive) {
        Geometry g = drive.device().geometry();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", drive.name());
        m.put("spec", drive.spec());
        m.put("describe", drive.device().describe());
        m.put("block_size", (long) g.logicalBlockBytes());
        m.put("block_count", g.blockCount());
        m.put("size_bytes", g.sizeBytes());
        m.put("persistent", g.persistent());
        return m;
    }
}
