package io.basalt.nvmeof.target;

import io.basalt.engine.BlockDevice;
import io.basalt.shims.Check;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An NVM subsystem (or the discovery subsystem): its NQN, serial and model, the hosts allowed to connect, its
 * namespaces and the controllers hosts made. Control-path methods lock the subsystem; the I/O path reads the
 * namespace table through a volatile copy-on-write array, without locks.
 */
public final class Subsystem {
    private final Target target;
    private final String nqn;
    private final String serial;
    private final String model;
    private final boolean discovery;
    private final Set<String> allowedHosts = ConcurrentHashMap.newKeySet();
    private volatile boolean allowAnyHost;
    /** Indexed by nsid; replaced whole on every change (readers: I/O queues on any reactor). */
    private volatile Namespace[] namespaces = new Namespace[TargetConfig.NAMESPACES_MAX + 1];
    private final List<Controller> controllers = new ArrayList<>();
    private final AtomicLong refusedConnects = new AtomicLong();
    /** Counters of controllers gone, so totals never go down. Guarded by this. */
    private final long[] retired = new long[QueueCounters.COUNT];

    Subsystem(Target target, String nqn, String serial, String model, boolean discovery) {
        Check.that(nqn != null && !nqn.isEmpty() && nqn.length() < 256, "NQN of 1..255 characters");
        this.target = target;
        this.nqn = nqn;
        this.serial = serial;
        this.model = model;
        this.discovery = discovery;
        this.allowAnyHost = discovery;
    }

    public String nqn() { return nqn; }
    public String serial() { return serial; }
    public String model() { return model; }
    public boolean isDiscovery() { return discovery; }
    public boolean allowAnyHost() { return allowAnyHost; }

    public void allowAnyHost(boolean allow) {
        allowAnyHost = allow;
        target.discovery().changed();
    }

    public void allowHost(String hostNqn) {
        allowedHosts.add(hostNqn);
        target.discovery().changed();
    }

    public void disallowHost(String hostNqn) {
        allowedHosts.remove(hostNqn);
        target.discovery().changed();
    }

    public Set<String> allowedHosts() {
        return Set.copyOf(allowedHosts);
    }

    public boolean hostAllowed(String hostNqn) {
        return allowAnyHost || allowedHosts.contains(hostNqn);
    }

    /**
     * Adds a namespace over {@code device} (claimed by the caller, who closes it after {@link #removeNamespace}).
     * Controllers of this subsystem get a "namespace attribute changed" event.
     */
    public Namespace addNamespace(int nsid, BlockDevice device, NamespaceIds ids) {
        Check.that(!discovery, "the discovery subsystem has no namespaces");
        Namespace ns = new Namespace(nsid, device, ids);
        List<Controller> notify;
        synchronized (this) {
            if (namespaces[nsid] != null) throw new IllegalArgumentException("nsid " + nsid + " is in use in " + nqn);
            for (Namespace other : namespaces) {
                if (other != null && other.ids().equals(ids)) throw new IllegalArgumentException("identifiers of " + other + " reused");
            }
            Namespace[] next = namespaces.clone();
            next[nsid] = ns;
            namespaces = next;
            notify = List.copyOf(controllers);
        }
        for (Controller c : notify) c.namespaceChanged(nsid);
        return ns;
    }

    /**
     * Removes a namespace: new commands for it fail with Invalid Namespace at once; the future completes when every
     * I/O queue has closed its channel to the device (in-flight requests still complete), so the caller may then
     * close the device.
     */
    public CompletableFuture<Void> removeNamespace(int nsid) {
        Namespace ns;
        List<Controller> notify;
        synchronized (this) {
            ns = nsid >= 1 && nsid < namespaces.length ? namespaces[nsid] : null;
            if (ns == null) throw new IllegalArgumentException("no namespace " + nsid + " in " + nqn);
            Namespace[] next = namespaces.clone();
            next[nsid] = null;
            namespaces = next;
            notify = List.copyOf(controllers);
        }
        List<CompletableFuture<Void>> closed = new ArrayList<>();
        for (Controller c : notify) {
            closed.addAll(c.dropNamespace(ns));
            c.namespaceChanged(nsid);
        }
        return CompletableFuture.allOf(closed.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> ns.closeChannels());
    }

    /** The namespace {@code nsid} or null; lock-free (I/O path). */
    Namespace namespace(int nsid) {
        Namespace[] table = namespaces;
        return nsid >= 1 && nsid < table.length ? table[nsid] : null;
    }

    public List<Namespace> namespaces() {
        return Arrays.stream(namespaces).filter(n -> n != null).toList();
    }

    /** Active nsids in ascending order. */
    int[] activeNsids() {
        return Arrays.stream(namespaces).filter(n -> n != null).mapToInt(Namespace::nsid).toArray();
    }

    synchronized void addController(Controller c) {
        controllers.add(c);
    }

    synchronized void removeController(Controller c, long[] finalCounts) {
        if (controllers.remove(c)) {
            for (int i = 0; i < retired.length; i++) retired[i] += finalCounts[i];
        }
    }

    synchronized Controller controller(int cntlid) {
        for (Controller c : controllers) if (c.cntlid() == cntlid) return c;
        return null;
    }

    public synchronized List<Controller> controllers() {
        return List.copyOf(controllers);
    }

    void refusedConnect() {
        refusedConnects.incrementAndGet();
    }

    public Counters counters() {
        long[] sums;
        List<Controller> live;
        synchronized (this) {
            sums = retired.clone();
            live = List.copyOf(controllers);
        }
        for (Controller c : live) c.addCountsTo(sums);
        return Counters.of(sums, refusedConnects.get(), live.size());
    }

    /** Hosts named in the allow list, sorted (for listings). */
    public Set<String> allowedHostsSorted() {
        return new TreeSet<>(allowedHosts);
    }

    @Override
    public String toString() {
        return "subsystem " + nqn;
    }
}
