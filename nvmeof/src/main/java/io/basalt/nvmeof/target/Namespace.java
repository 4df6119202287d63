package io.basalt.nvmeof.target;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Capabilities;
import io.basalt.engine.Geometry;
import io.basalt.nvmeof.nvme.IdentifyNamespace;
import io.basalt.shims.Check;

/**
 * A namespace of a subsystem: an nsid, a BlockDevice claimed by the caller (the target never closes it), stable
 * identifiers, and one channel to the device per reactor, shared by every I/O queue on that reactor and kept open
 * from first use until the namespace is removed. Hosts connect and disconnect queues at will; a volume should not
 * see a channel opened and closed per connection (a raid5 channel opens every member's channel, and channel churn
 * found raid5 bugs once; see docs/nvmeof.md, "Channels").
 */
public final class Namespace {
    private final int nsid;
    private final BlockDevice device;
    private final NamespaceIds ids;
    private final Geometry geometry;

    /** Reactor -> its channel to the device, opened on that reactor's thread at first use. */
    private final java.util.Map<io.basalt.engine.Reactor, io.basalt.engine.BlockChannel> channels = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean removed;

    public Namespace(int nsid, BlockDevice device, NamespaceIds ids) {
        Check.that(nsid >= 1 && nsid <= TargetConfig.NAMESPACES_MAX, "nsid in [1, NAMESPACES_MAX]", nsid);
        Check.that(device != null && ids != null, "device and ids given");
        this.nsid = nsid;
        this.device = device;
        this.ids = ids;
        this.geometry = device.geometry();
    }

    public int nsid() { return nsid; }
    public BlockDevice device() { return device; }
    public NamespaceIds ids() { return ids; }
    public Geometry geometry() { return geometry; }

    /** This reactor's channel to the device (its thread only); null once the namespace is removed. */
    io.basalt.engine.BlockChannel channel(io.basalt.engine.Reactor reactor) {
        Check.that(reactor.isOwnerThread(), "a namespace channel is taken on its reactor's thread");
        if (removed) return null;
        return channels.computeIfAbsent(reactor, device::openChannel);
    }

    /**
     * The namespace is gone and no queue submits to it any more: each reactor closes its channel (requests in flight
     * still complete). A reactor that has stopped closed its channels already.
     */
    void closeChannels() {
        removed = true;
        for (var e : channels.entrySet()) {
            io.basalt.engine.BlockChannel c = e.getValue();
            if (e.getKey().isOwnerThread()) c.close();
            else e.getKey().post(c::close);
        }
        channels.clear();
    }

    /** Identify Namespace values: size, block size, deallocation behaviour and preferred granularities. */
    IdentifyNamespace.Values identifyValues() {
        Capabilities c = geometry.capabilities();
        int nsfeat = IdentifyNamespace.NSFEAT_OPTIMAL_IO | (c.discard() ? IdentifyNamespace.NSFEAT_THIN : 0);
        int dlfeat = (c.discardReadsZeroes() ? IdentifyNamespace.DLFEAT_READS_ZEROES : 0)
                | (c.writeZeroesUnmaps() ? IdentifyNamespace.DLFEAT_WRITE_ZEROES_DEALLOCATES : 0);
        return new IdentifyNamespace.Values(geometry.blockCount(), geometry.logicalBlockBytes(), nsfeat, dlfeat,
                IdentifyNamespace.clampU16Blocks(geometry.optimalTransferBlocks()),
                IdentifyNamespace.clampU16Blocks(c.discardGranularityBlocks()), ids.nguid(), ids.eui64());
    }

    @Override
    public String toString() {
        return "namespace " + nsid + " (" + device.name() + ")";
    }
}
