package io.basalt.nvmeof.target;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Capabilities;
import io.basalt.engine.Geometry;
import io.basalt.nvmeof.nvme.IdentifyNamespace;
import io.basalt.shims.Check;

/**
 * A namespace of a subsystem: an nsid, a BlockDevice claimed by the caller (the target never closes it) and
 * stable identifiers. Immutable.
 */
public final class Namespace {
    private final int nsid;
    private final BlockDevice device;
    private final NamespaceIds ids;
    private final Geometry geometry;

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
