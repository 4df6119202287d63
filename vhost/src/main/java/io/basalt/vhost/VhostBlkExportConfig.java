package io.basalt.vhost;

import io.basalt.shims.Check;

/**
 * One vhost-user-blk export as the control plane describes it.
 *
 * @param name         export name (for RPC and logs)
 * @param socketPath   unix socket QEMU connects to
 * @param numQueues    virtqueues offered (QEMU's num-queues must not exceed it; QEMU 7.2 asks one per vCPU by
 *                     default, so exports offer {@link #QUEUES_MAX} unless told fewer: a ring costs nothing until
 *                     the front-end starts it)
 * @param readOnly     refuse writes (VIRTIO_BLK_F_RO)
 * @param socketMode   permission bits of the socket file (0600 by default)
 * @param socketUid    owner to set on the socket, or -1 to keep the daemon's
 * @param socketGid    group to set on the socket, or -1 to keep the daemon's
 * @param serial       the GET_ID string (at most 20 bytes)
 */
public record VhostBlkExportConfig(String name, String socketPath, int numQueues, boolean readOnly, int socketMode,
                                   int socketUid, int socketGid, String serial) {
    /** Most queues one export offers, and what it offers by default (vhost_create without num_queues). */
    public static final int QUEUES_MAX = 64;

    public VhostBlkExportConfig {
        Check.that(numQueues >= 1 && numQueues <= QUEUES_MAX, "num_queues in [1, 64]", numQueues);
        Check.that((socketMode & ~0777) == 0, "socket mode is permission bits only", socketMode);
        Check.that(serial.length() <= 20, "serial at most 20 bytes", serial.length());
    }
}
