package io.basalt.vhost.blk;

import io.basalt.vhost.virtio.DescriptorChain;
import io.basalt.vhost.virtio.Virtqueue;

/**
 * How a {@link VirtioBlkQueue} records its requests in the vhost-user inflight buffer (vhost-user.rst, "Inflight
 * I/O tracking"), whatever the ring layout: {@link InflightRegion} for split rings, {@link PackedInflightRegion}
 * for packed ones. Owner (reactor) thread only; nothing here allocates.
 *
 * <p>The queue calls, in this order for every request: {@link #markInflight} once the chain is taken and before
 * its I/O is submitted; {@link #addToBatch} when its used entry is pushed; then, for the whole batch of pushed
 * entries, {@link #batchPublishing} just before the ring makes them visible to the driver and
 * {@link #batchPublished} just after. A crash between any two steps leaves a region the next back-end recovers.
 */
public sealed interface InflightTracker permits InflightRegion, PackedInflightRegion {
    /** The ring size the region was made for. */
    int queueSize();

    /**
     * Records a chain {@code vq} just popped; returns its entry (for {@link #addToBatch}), or -1 when it could not
     * be recorded (a packed region full: only a driver breaking the ring's accounting gets there).
     */
    int markInflight(DescriptorChain chain, Virtqueue vq);

    /** The used entry of the request at {@code entry} was pushed (not yet visible to the driver). */
    void addToBatch(int entry);

    /** The pushed entries are about to become visible; {@code usedIdx} is the ring's used index after them. */
    void batchPublishing(int usedIdx);

    /** The pushed entries are visible to the driver; {@code usedIdx} as for {@link #batchPublishing}. */
    void batchPublished(int usedIdx);

    /** Rebuilds the in-flight request at {@code entry} (one that recovery returned) into {@code chain}. */
    void readChain(int entry, Virtqueue vq, DescriptorChain chain);
}
