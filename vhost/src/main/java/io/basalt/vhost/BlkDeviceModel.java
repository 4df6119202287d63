package io.basalt.vhost;

import io.basalt.engine.Geometry;
import io.basalt.vhost.blk.BlkConfigSpace;
import io.basalt.vhost.blk.VirtioBlk;

/** What an export shows the guest: its virtio-blk feature bits and config space. */
final class BlkDeviceModel {
    private BlkDeviceModel() {}

    static BlkConfigSpace config(Geometry geometry, int numQueues, boolean readOnly) {
        return new BlkConfigSpace(geometry, BlkConfigSpace.Options.defaults().withNumQueues(numQueues).withReadOnly(readOnly));
    }

    /**
     * Device features. CONFIG_WCE is not offered: the cache mode is fixed to write-back (the guest must FLUSH
     * for durability, which Basalt honours), so there is no writable config field and SET_CONFIG is refused.
     */
    static long features(BlkConfigSpace config) {
        return config.deviceFeatures() & ~(1L << VirtioBlk.F_CONFIG_WCE);
    }
}
