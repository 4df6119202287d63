package io.basalt.nvmeof.target;

import io.basalt.engine.Reactor;
import io.basalt.nvmeof.QueueHandler;
import io.basalt.nvmeof.QueueHandlerFactory;
import io.basalt.shims.Check;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The NVMe-oF target: subsystems, the discovery subsystem, the listeners hosts reach it through. The transport
 * asks it for a {@link QueueHandler} per connection; the Connect on that connection picks the subsystem and the
 * controller. Control-path methods are thread-safe.
 */
public final class Target implements QueueHandlerFactory {
    /** Controller ids 1..0xFFEF (0xFFF0 and up are reserved, 0xFFFF means dynamic). */
    static final int CNTLID_MAX = 0xFFEF;

    private final TargetConfig config;
    private final Map<String, Subsystem> subsystems = new ConcurrentHashMap<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final DiscoveryService discoveryService;
    private final Subsystem discoverySubsystem;
    private final AtomicInteger nextCntlid = new AtomicInteger(1);
    private final AtomicInteger nextPortId = new AtomicInteger(1);
    private final AtomicLong refusedConnects = new AtomicLong();

    public Target(TargetConfig config) {
        this.config = config;
        this.discoveryService = new DiscoveryService(this);
        this.discoverySubsystem = new Subsystem(this, DiscoveryService.NQN, "basalt-discovery", "Basalt discovery", true);
    }

    public TargetConfig config() { return config; }
    public DiscoveryService discovery() { return discoveryService; }
    public Subsystem discoverySubsystem() { return discoverySubsystem; }

    /** A new NVM subsystem: no hosts allowed (allow_any_host false) and no namespaces until the caller adds them. */
    public Subsystem addSubsystem(String nqn, String serial, String model) {
        Check.that(!nqn.equals(DiscoveryService.NQN), "the discovery NQN is taken");
        Subsystem s = new Subsystem(this, nqn, serial, model, false);
        if (subsystems.putIfAbsent(nqn, s) != null) throw new IllegalArgumentException("subsystem " + nqn + " exists");
        discoveryService.changed();
        return s;
    }

    /** Removes a subsystem without namespaces; its controllers' connections are closed. */
    public void removeSubsystem(String nqn) {
        Subsystem s = subsystems.get(nqn);
        if (s == null) throw new IllegalArgumentException("no subsystem " + nqn);
        if (!s.namespaces().isEmpty()) throw new IllegalStateException(nqn + " still has namespaces: remove them first");
        subsystems.remove(nqn);
        for (Controller c : s.controllers()) c.fail("subsystem removed");
        discoveryService.changed();
    }

    /** The subsystem {@code nqn} (the discovery subsystem included) or null. */
    public Subsystem subsystem(String nqn) {
        return nqn.equals(DiscoveryService.NQN) ? discoverySubsystem : subsystems.get(nqn);
    }

    /** NVM subsystems, sorted by NQN. */
    public List<Subsystem> subsystems() {
        List<Subsystem> all = new ArrayList<>(subsystems.values());
        all.sort((a, b) -> a.nqn().compareTo(b.nqn()));
        return all;
    }

    /**
     * Registers a listening address. A wildcard address (0.0.0.0, ::) must be given the address hosts should use;
     * for another, {@code advertised} may be null (the address itself).
     */
    public synchronized Listener addListener(String address, String advertised, boolean discoveryOnly) {
        if (listener(address) != null) throw new IllegalArgumentException("listener " + address + " exists");
        if (advertised == null) {
            if (Listener.wildcard(address)) throw new IllegalArgumentException(address + " listens on every address: say which one to advertise");
            advertised = address;
        }
        Listener l = new Listener(address, advertised, discoveryOnly, nextPortId.getAndIncrement());
        listeners.add(l);
        discoveryService.changed();
        return l;
    }

    public synchronized void removeListener(String address) {
        Listener l = listener(address);
        if (l == null) throw new IllegalArgumentException("no listener " + address);
        listeners.remove(l);
        discoveryService.changed();
    }

    public List<Listener> listeners() {
        return List.copyOf(listeners);
    }

    Listener listener(String address) {
        for (Listener l : listeners) if (l.address().equals(address)) return l;
        return null;
    }

    @Override
    public QueueHandler newQueue(Reactor reactor, String peer, String listenerAddress) {
        Listener l = listener(listenerAddress);
        return new QueuePair(this, reactor, peer, l);
    }

    /** Connects refused before a subsystem was known (unknown NQN, bad Connect data). */
    public long refusedConnects() {
        return refusedConnects.get();
    }

    void refusedConnect() {
        refusedConnects.incrementAndGet();
    }

    /** A controller id unused by live controllers of any subsystem (ids wrap after CNTLID_MAX). */
    int allocateCntlid() {
        for (int tries = 0; tries < CNTLID_MAX; tries++) {
            int id = nextCntlid.getAndUpdate(n -> n >= CNTLID_MAX ? 1 : n + 1);
            if (!cntlidInUse(id)) return id;
        }
        return -1;
    }

    private boolean cntlidInUse(int id) {
        if (discoverySubsystem.controller(id) != null) return true;
        for (Subsystem s : subsystems.values()) if (s.controller(id) != null) return true;
        return false;
    }
}
