package io.basalt.daemon;

import io.basalt.engine.Reactor;
import io.basalt.engine.stats.StatBlockDevice;
import io.basalt.vhost.VhostBlkExport;
import io.basalt.vhost.VhostBlkExportConfig;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The daemon's vhost-user-blk exports, each holding a claim on its drive. */
final class VhostRegistry implements AutoCloseable {
    static final int EXPORTS_MAX = 256;

    /**
     * An export, the drive it holds, the vhost_create params it was made from (for the saved state), and the counting
     * wrapper the export does its I/O through (the export's own stat_get counters; it does not own the drive).
     */
    record Export(VhostBlkExport export, String drive, Map<String, Object> params, StatBlockDevice stats) {
        Export {
            params = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(params));
        }
    }

    private final DriveRegistry drives;
    private final Map<String, Export> exports = new LinkedHashMap<>();
    private boolean closed;

    VhostRegistry(DriveRegistry drives) {
        this.drives = drives;
    }

    /**
     * Creates and starts an export; throws {@link DriveRegistry.DriveException} naming the bad param. {@code params}
     * are the call's, kept for config_save.
     */
    synchronized Export create(VhostBlkExportConfig config, String driveName, List<Reactor> reactors, Map<String, Object> params) {
        if (closed) throw new IllegalStateException("the daemon is stopping");
        if (exports.containsKey(config.name())) throw new DriveRegistry.DriveException("name", "an export named '" + config.name() + "' already exists");
        if (exports.size() >= EXPORTS_MAX) throw new DriveRegistry.DriveException("name", "the daemon already has " + EXPORTS_MAX + " exports");
        for (Export e : exports.values()) {
            if (e.export().status().get("socket").equals(config.socketPath())) {
                throw new DriveRegistry.DriveException("socket", "export '" + e.export().name() + "' already serves " + config.socketPath());
            }
        }
        String holder = "vhost export '" + config.name() + "'";
        DriveRegistry.Drive drive = drives.claimShared(driveName, holder);
        StatBlockDevice counted = new StatBlockDevice(drive.device(), false);
        VhostBlkExport export = new VhostBlkExport(config, counted, reactors);
        try {
            export.start();
        } catch (RuntimeException e) {
            drives.release(driveName, holder);
            throw new DriveRegistry.DriveException("socket", e.getMessage());
        }
        Export entry = new Export(export, driveName, params, counted);
        exports.put(config.name(), entry);
        return entry;
    }

    synchronized void delete(String name) {
        Export e = exports.remove(name);
        if (e == null) throw new DriveRegistry.DriveException("name", "no export named '" + name + "'");
        e.export().close();
        drives.release(e.drive(), "vhost export '" + name + "'");
    }

    synchronized List<Export> list() {
        return new ArrayList<>(exports.values());
    }

    synchronized Export get(String name) {
        Export e = exports.get(name);
        if (e == null) throw new DriveRegistry.DriveException("name", "no export named '" + name + "'");
        return e;
    }

    /** Ends every session (rings drain first) and removes the sockets. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (Export e : exports.values()) {
            try {
                e.export().close();
            } catch (RuntimeException ex) {
                System.err.println("basalt: closing export " + e.export().name() + ": " + ex);
            }
            drives.release(e.drive(), "vhost export '" + e.export().name() + "'");
        }
        exports.clear();
    }
}
