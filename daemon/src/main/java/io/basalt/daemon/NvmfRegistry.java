package io.basalt.daemon;

import io.basalt.engine.Reactor;
import io.basalt.engine.stats.StatBlockDevice;
import io.basalt.nvmeof.NvmeTcpServer;
import io.basalt.nvmeof.target.Controller;
import io.basalt.nvmeof.target.Counters;
import io.basalt.nvmeof.target.Listener;
import io.basalt.nvmeof.target.Namespace;
import io.basalt.nvmeof.target.NamespaceIds;
import io.basalt.nvmeof.target.Subsystem;
import io.basalt.nvmeof.target.Target;
import io.basalt.nvmeof.target.TargetConfig;
import io.basalt.shims.Check;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The daemon's NVMe/TCP target: one {@link Target} (subsystems, namespaces, allowed hosts, discovery) and one
 * {@link NvmeTcpServer} (the listeners) over the daemon's reactors, made at the first listener. Each namespace
 * holds a shared export claim on its drive (decision 27). What the calls set is kept in the form the calls take, for
 * the saved state: a namespace's NGUID and UUID included, so a host sees the same identifiers after a restart.
 * Throws {@link DriveRegistry.DriveException} naming the bad param.
 */
final class NvmfRegistry implements AutoCloseable {
    static final int LISTENERS_MAX = 64;
    static final int SUBSYSTEMS_MAX = 1024;
    /** addNamespace's nsid for "the lowest free one". */
    static final int NSID_LOWEST_FREE = 0;
    private static final long NAMESPACE_REMOVE_TIMEOUT_S = 30;
    /** The keys of {@link NvmeTcpServer#counters()}. */
    private static final List<String> SERVER_COUNTERS = List.of("connections", "accepted", "refused", "broken", "ic_req_timeouts");

    /** A namespace's drive, identifiers and the counting wrapper its I/O goes through. */
    record NamespaceEntry(int nsid, String drive, NamespaceIds ids, StatBlockDevice stats) {}

    /** A listener as nvmf_listener_add made it. */
    record ListenerEntry(String address, int port, String advertise, boolean discoveryOnly) {}

    private final DriveRegistry drives;
    private final Supplier<List<Reactor>> reactors;
    private final Target target = new Target(TargetConfig.defaults());
    private final Map<String, Map<Integer, NamespaceEntry>> namespaces = new LinkedHashMap<>();
    private final Map<String, ListenerEntry> listeners = new LinkedHashMap<>();
    private NvmeTcpServer server;
    private boolean closed;

    NvmfRegistry(DriveRegistry drives, Supplier<List<Reactor>> reactors) {
        this.drives = drives;
        this.reactors = reactors;
    }

    Target target() { return target; }

    synchronized Subsystem createSubsystem(String nqn, String serial, String model, boolean allowAnyHost) {
        checkOpen();
        if (target.subsystem(nqn) != null) throw new DriveRegistry.DriveException("nqn", "subsystem " + nqn + " already exists");
        if (target.subsystems().size() >= SUBSYSTEMS_MAX) throw new DriveRegistry.DriveException("nqn", "the target already has " + SUBSYSTEMS_MAX + " subsystems");
        Subsystem s = target.addSubsystem(nqn, serial, model);
        s.allowAnyHost(allowAnyHost);
        namespaces.put(nqn, new LinkedHashMap<>());
        return s;
    }

    /** Removes every namespace (releasing its drive once no queue uses it), disconnects the hosts, forgets the subsystem. */
    synchronized void deleteSubsystem(String nqn) {
        Subsystem s = subsystem(nqn);
        for (Integer nsid : new ArrayList<>(namespaces.get(nqn).keySet())) removeNamespace(nqn, nsid);
        target.removeSubsystem(s.nqn());
        namespaces.remove(nqn);
    }

    Subsystem subsystem(String nqn) {
        Subsystem s = target.subsystem(nqn);
        if (s == null || s.isDiscovery()) throw new DriveRegistry.DriveException("nqn", "no subsystem " + nqn);
        return s;
    }

    /** Adds {@code drive} as namespace {@code nsid} (0: the lowest free one). */
    synchronized NamespaceEntry addNamespace(String nqn, String drive, int nsid, NamespaceIds ids) {
        checkOpen();
        Subsystem s = subsystem(nqn);
        Map<Integer, NamespaceEntry> table = namespaces.get(nqn);
        if (nsid == NSID_LOWEST_FREE) {
            nsid = 1;
            while (table.containsKey(nsid)) nsid++;
            if (nsid > TargetConfig.NAMESPACES_MAX) {
                throw new DriveRegistry.DriveException("nsid", nqn + " already has " + TargetConfig.NAMESPACES_MAX + " namespaces, the limit");
            }
        }
        Check.that(nsid >= 1 && nsid <= TargetConfig.NAMESPACES_MAX, "nsid checked by the caller", nsid);
        if (table.containsKey(nsid)) throw new DriveRegistry.DriveException("nsid", "namespace " + nsid + " of " + nqn + " exists");
        for (NamespaceEntry e : table.values()) {
            if (e.drive().equals(drive)) throw new DriveRegistry.DriveException("drive", "'" + drive + "' is already namespace " + e.nsid() + " of " + nqn);
        }
        checkIdsUnused(ids);
        String holder = holder(nqn, nsid);
        DriveRegistry.Drive d;
        try {
            d = drives.claimShared(drive, holder);
        } catch (DriveRegistry.DriveException e) {
            throw new DriveRegistry.DriveException("drive", e.getMessage()); // the registry names its own param, "name"
        }
        StatBlockDevice counted = new StatBlockDevice(d.device(), false);
        try {
            s.addNamespace(nsid, counted, ids);
        } catch (RuntimeException e) {
            drives.release(drive, holder);
            throw new DriveRegistry.DriveException("nsid", e.getMessage());
        }
        NamespaceEntry entry = new NamespaceEntry(nsid, drive, ids, counted);
        table.put(nsid, entry);
        return entry;
    }

    /** NGUIDs and UUIDs are unique across the target (a host keys its multipath and its /dev/disk/by-id on them). */
    private void checkIdsUnused(NamespaceIds ids) {
        for (Map.Entry<String, Map<Integer, NamespaceEntry>> sub : namespaces.entrySet()) {
            for (NamespaceEntry e : sub.getValue().values()) {
                if (java.util.Arrays.equals(e.ids().nguid(), ids.nguid())) {
                    throw new DriveRegistry.DriveException("nguid", ids.nguidHex() + " is already namespace " + e.nsid() + " of " + sub.getKey() + "'s NGUID");
                }
                if (e.ids().uuid().equals(ids.uuid())) {
                    throw new DriveRegistry.DriveException("uuid", ids.uuid() + " is already namespace " + e.nsid() + " of " + sub.getKey() + "'s UUID");
                }
            }
        }
    }

    /** Removes a namespace; waits until no queue uses its drive any more, then releases the claim. */
    synchronized void removeNamespace(String nqn, int nsid) {
        Subsystem s = subsystem(nqn);
        NamespaceEntry e = namespaces.get(nqn).get(nsid);
        if (e == null) throw new DriveRegistry.DriveException("nsid", "no namespace " + nsid + " in " + nqn);
        try {
            s.removeNamespace(nsid).get(NAMESPACE_REMOVE_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e2) {
            System.err.println("basalt: nvmf: namespace " + nsid + " of " + nqn + ": queues did not let go in time (" + e2 + ")");
        } catch (InterruptedException e2) {
            Thread.currentThread().interrupt();
        }
        namespaces.get(nqn).remove(nsid);
        drives.release(e.drive(), holder(nqn, nsid));
    }

    private static String holder(String nqn, int nsid) {
        return "nvmf namespace " + nsid + " of " + nqn;
    }

    /** Listens on {@code address:port}; returns the bound port (port 0: any free one). */
    synchronized int addListener(String address, int port, String advertise, boolean discoveryOnly) {
        checkOpen();
        if (listeners.size() >= LISTENERS_MAX) throw new DriveRegistry.DriveException("port", "the target already has " + LISTENERS_MAX + " listeners");
        String wanted = hostPort(address, port);
        if (listeners.containsKey(wanted)) throw new DriveRegistry.DriveException("port", "already listening on " + wanted);
        if (server == null) {
            NvmeTcpServer s = new NvmeTcpServer(reactors.get(), target, io.basalt.engine.net.TcpConfig.defaults(),
                    io.basalt.nvmeof.tcp.TcpConfig.DEFAULT);
            s.start();
            server = s;
        }
        int bound;
        try {
            bound = server.listen(address, port);
        } catch (IllegalArgumentException e) {
            throw listenRefused(address, port, e.getMessage());
        }
        String key = hostPort(address, bound);
        try {
            target.addListener(key, advertise == null ? null : hostPort(advertise, bound), discoveryOnly);
        } catch (IllegalArgumentException e) {
            server.unlisten(address, bound);
            throw new DriveRegistry.DriveException("advertise", e.getMessage());
        }
        listeners.put(key, new ListenerEntry(address, bound, advertise, discoveryOnly));
        return bound;
    }

    /** Why bind failed, in words, naming the param to change; the errno stays in the message. */
    private static DriveRegistry.DriveException listenRefused(String address, int port, String message) {
        if (message.contains("EADDRINUSE")) {
            return new DriveRegistry.DriveException("port", "port " + port + " on " + address + " is in use by another listener or program (" + message + ")");
        }
        if (message.contains("EADDRNOTAVAIL")) {
            return new DriveRegistry.DriveException("address", address + " is not an address of this machine (" + message + ")");
        }
        if (message.contains("EACCES")) {
            return new DriveRegistry.DriveException("port", "ports below 1024 need root or CAP_NET_BIND_SERVICE (" + message + ")");
        }
        return new DriveRegistry.DriveException("address", message);
    }

    synchronized void removeListener(String address, int port) {
        String key = hostPort(address, port);
        if (listeners.remove(key) == null) throw new DriveRegistry.DriveException("port", "no listener on " + key);
        server.unlisten(address, port);
        target.removeListener(key);
    }

    static String hostPort(String host, int port) {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    synchronized List<ListenerEntry> listeners() {
        return new ArrayList<>(listeners.values());
    }

    synchronized List<NamespaceEntry> namespaces(String nqn) {
        Map<Integer, NamespaceEntry> table = namespaces.get(nqn);
        return table == null ? List.of() : new ArrayList<>(table.values());
    }

    /** nvmf_list's result. */
    synchronized Map<String, Object> describe() {
        List<Object> subsystems = new ArrayList<>();
        for (Subsystem s : target.subsystems()) subsystems.add(describe(s));
        List<Object> listening = new ArrayList<>();
        for (Listener l : target.listeners()) listening.add(describe(l));
        Map<String, Object> counters = new LinkedHashMap<>();
        if (server != null) {
            counters.putAll(server.counters());
        } else {
            for (String name : SERVER_COUNTERS) counters.put(name, 0L); // the same keys before the first listener
        }
        counters.put("refused_connects", target.refusedConnects());
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("subsystems", subsystems);
        result.put("listeners", listening);
        result.put("connections", server == null ? List.of() : server.connections());
        result.put("counters", counters);
        return result;
    }

    /** A listener as nvmf_listener_add returns it and nvmf_list lists it. */
    synchronized Map<String, Object> describeListener(String address, int port) {
        String key = hostPort(address, port);
        for (Listener l : target.listeners()) if (l.address().equals(key)) return describe(l);
        throw new DriveRegistry.DriveException("port", "no listener on " + key);
    }

    private Map<String, Object> describe(Listener l) {
        ListenerEntry e = listeners.get(l.address());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("address", e == null ? l.address() : e.address());
        m.put("port", e == null ? 0L : (long) e.port());
        m.put("advertised", l.advertised());
        m.put("discovery_only", l.discoveryOnly());
        return m;
    }

    Map<String, Object> describe(Subsystem s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("nqn", s.nqn());
        m.put("serial", s.serial());
        m.put("model", s.model());
        m.put("allow_any_host", s.allowAnyHost());
        m.put("hosts", new ArrayList<>(s.allowedHostsSorted()));
        List<Object> nss = new ArrayList<>();
        for (NamespaceEntry e : namespaces(s.nqn())) nss.add(describe(e));
        m.put("namespaces", nss);
        List<Object> controllers = new ArrayList<>();
        for (Controller c : s.controllers()) {
            Map<String, Object> cm = new LinkedHashMap<>();
            cm.put("cntlid", (long) c.cntlid());
            cm.put("host_nqn", c.hostNqn());
            cm.put("peer", c.peer());
            cm.put("queues", (long) c.queueCount());
            cm.put("keep_alive_ms", c.keepAliveTimeoutMs());
            cm.put("counters", counters(c.counters()));
            controllers.add(cm);
        }
        m.put("controllers", controllers);
        m.put("counters", counters(s.counters()));
        return m;
    }

    static Map<String, Object> describe(NamespaceEntry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("nsid", (long) e.nsid());
        m.put("drive", e.drive());
        m.put("nguid", e.ids().nguidHex());
        m.put("uuid", e.ids().uuid().toString());
        m.put("size_bytes", e.stats().geometry().sizeBytes());
        return m;
    }

    private static Map<String, Object> counters(Counters c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("commands", c.commands());
        m.put("errors", c.errors());
        m.put("read_commands", c.readCommands());
        m.put("write_commands", c.writeCommands());
        m.put("read_bytes", c.readBytes());
        m.put("written_bytes", c.writtenBytes());
        m.put("busy_retries", c.busyRetries());
        m.put("refused_connects", c.refusedConnects());
        m.put("controllers", (long) c.controllers());
        return m;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("the daemon is stopping");
    }

    /** Stops listening and disconnects every host (their queues drain), then releases the namespaces' drives. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (server != null) server.close();
        for (Map.Entry<String, Map<Integer, NamespaceEntry>> sub : namespaces.entrySet()) {
            for (NamespaceEntry e : sub.getValue().values()) drives.release(e.drive(), holder(sub.getKey(), e.nsid()));
        }
    }
}
