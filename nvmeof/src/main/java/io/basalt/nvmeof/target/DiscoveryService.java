package io.basalt.nvmeof.target;

import io.basalt.nvmeof.nvme.DiscoveryLog;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The discovery subsystem's log: every NVM subsystem a host may connect to, on every listener that serves NVM
 * subsystems, plus an entry for the discovery subsystem on the listener the host came through. A generation
 * counter moves on every change (subsystems, hosts, listeners), and discovery controllers that asked for it get a
 * "discovery log changed" event.
 */
public final class DiscoveryService {
    /** The well-known NQN of the discovery subsystem (NVMe base 2.0 section 4.5.1). */
    public static final String NQN = "nqn.2014-08.org.nvmexpress.discovery";

    private final Target target;
    private final AtomicLong generation = new AtomicLong(1);

    DiscoveryService(Target target) {
        this.target = target;
    }

    public long generation() {
        return generation.get();
    }

    /** Something the log shows changed: a new generation, and an event to discovery controllers. */
    void changed() {
        generation.incrementAndGet();
        Subsystem discovery = target.discoverySubsystem();
        if (discovery == null) return; // during construction
        for (Controller c : discovery.controllers()) c.discoveryChanged();
    }

    /** The entries {@code hostNqn} sees when connected through {@code via}. */
    public List<DiscoveryLog.Entry> entries(String hostNqn, Listener via) {
        List<DiscoveryLog.Entry> entries = new ArrayList<>();
        int asqsz = target.config().adminQueueEntries();
        for (Listener l : target.listeners()) {
            if (l.discoveryOnly()) continue;
            for (Subsystem s : target.subsystems()) {
                if (!s.hostAllowed(hostNqn)) continue;
                entries.add(new DiscoveryLog.Entry(DiscoveryLog.SUBTYPE_NVM, l.portId(), l.adrfam(), l.traddr(),
                        l.trsvcid(), s.nqn(), asqsz, 0));
            }
        }
        if (via != null) {
            entries.add(new DiscoveryLog.Entry(DiscoveryLog.SUBTYPE_CURRENT_DISCOVERY, via.portId(), via.adrfam(),
                    via.traddr(), via.trsvcid(), NQN, asqsz, DiscoveryLog.EFLAGS_DUPLICATE_RETURNED_INFO));
        }
        return entries;
    }

    /**
     * The whole log page for a host: header and entries. The generation is read before and after building it, and
     * the build repeated when it moved, so the counter in the header matches the entries.
     */
    MemorySegment page(String hostNqn, Listener via) {
        while (true) {
            long before = generation.get();
            List<DiscoveryLog.Entry> entries = entries(hostNqn, via);
            MemorySegment page = MemorySegment.ofArray(new byte[DiscoveryLog.HEADER_BYTES + entries.size() * DiscoveryLog.ENTRY_BYTES]);
            DiscoveryLog.writeHeader(page, before, entries.size());
            for (int i = 0; i < entries.size(); i++) {
                DiscoveryLog.writeEntry(page.asSlice(DiscoveryLog.HEADER_BYTES + (long) i * DiscoveryLog.ENTRY_BYTES), entries.get(i));
            }
            if (generation.get() == before) return page;
        }
    }
}
