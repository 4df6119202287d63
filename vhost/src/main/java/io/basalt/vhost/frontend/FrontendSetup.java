package io.basalt.vhost.frontend;

import io.basalt.shims.Libc;
import io.basalt.vhost.blk.BlkConfigSpace;
import io.basalt.vhost.blk.VirtioBlk;
import io.basalt.vhost.protocol.VhostUser;
import io.basalt.vhost.virtio.VirtioFeatures;

import static io.basalt.vhost.protocol.VhostUserMessage.*;

/**
 * The control-plane conversation QEMU has with a vhost-user-blk back-end (hw/block/vhost-user-blk.c and
 * hw/virtio/vhost-user.c, in their order): features, protocol features, queue count, owner, config space; then at
 * start the accepted features, the inflight buffer, the memory table and each ring. Runs on the opening thread.
 */
final class FrontendSetup {
    private FrontendSetup() {}

    /** Virtio and virtio-blk features the front-end drives; packed rings are added only when asked for. */
    static final long FEATURES_WANTED = (1L << VirtioFeatures.VERSION_1) | (1L << VirtioFeatures.RING_EVENT_IDX)
            | (1L << VirtioFeatures.RING_INDIRECT_DESC) | (1L << VhostUser.F_PROTOCOL_FEATURES)
            | (1L << VirtioBlk.F_SIZE_MAX) | (1L << VirtioBlk.F_SEG_MAX) | (1L << VirtioBlk.F_RO) | (1L << VirtioBlk.F_BLK_SIZE)
            | (1L << VirtioBlk.F_FLUSH) | (1L << VirtioBlk.F_MQ) | (1L << VirtioBlk.F_DISCARD) | (1L << VirtioBlk.F_WRITE_ZEROES);
    static final long PROTOCOL_WANTED = (1L << VhostUser.PROTOCOL_F_MQ) | (1L << VhostUser.PROTOCOL_F_REPLY_ACK)
            | (1L << VhostUser.PROTOCOL_F_CONFIG) | (1L << VhostUser.PROTOCOL_F_INFLIGHT_SHMFD);

    /** What negotiation settled: features, protocol features, queue count the back-end allows, its config. */
    record Negotiated(long features, long protocolFeatures, int queuesMax, BackendConfig config) {
        boolean protocol(int bit) { return (protocolFeatures & (1L << bit)) != 0; }
    }

    static Negotiated negotiate(VhostUserConnection c, FrontendOptions options) {
        long offered = c.getU64(VhostUser.GET_FEATURES);
        if ((offered & (1L << VirtioFeatures.VERSION_1)) == 0) throw c.fail("the back-end does not offer VIRTIO_F_VERSION_1 (legacy devices are not driven)");
        if (options.packed() && (offered & (1L << VirtioFeatures.RING_PACKED)) == 0) throw c.fail("packed=1 but the back-end does not offer VIRTIO_F_RING_PACKED");
        long protocol = 0;
        if ((offered & (1L << VhostUser.F_PROTOCOL_FEATURES)) != 0) {
            protocol = c.getU64(VhostUser.GET_PROTOCOL_FEATURES) & PROTOCOL_WANTED;
            c.setU64(VhostUser.SET_PROTOCOL_FEATURES, protocol);
            c.replyAck((protocol & (1L << VhostUser.PROTOCOL_F_REPLY_ACK)) != 0);
        }
        int queuesMax = (protocol & (1L << VhostUser.PROTOCOL_F_MQ)) != 0 ? (int) Math.min(c.getU64(VhostUser.GET_QUEUE_NUM), 0xFFFF) : 1;
        c.request(VhostUser.SET_OWNER, 0);
        c.sendSet(VhostUser.SET_OWNER, null, 0);
        long features = offered & (FEATURES_WANTED | (options.packed() ? 1L << VirtioFeatures.RING_PACKED : 0));
        if ((protocol & (1L << VhostUser.PROTOCOL_F_CONFIG)) == 0) throw c.fail("the back-end does not offer PROTOCOL_F_CONFIG: its capacity cannot be read");
        c.request(VhostUser.GET_CONFIG, CONFIG_PAYLOAD_OFFSET + BlkConfigSpace.SIZE)
                .putU32(CONFIG_OFFSET_OFFSET, 0).putU32(CONFIG_SIZE_OFFSET, BlkConfigSpace.SIZE).putU32(CONFIG_FLAGS_OFFSET, 0);
        c.send(null, 0);
        c.receive(VhostUser.GET_CONFIG);
        if (c.message().size() < CONFIG_PAYLOAD_OFFSET + BlkConfigSpace.SIZE) throw c.fail("GET_CONFIG reply of " + c.message().size() + " bytes is too short");
        BackendConfig config = BackendConfig.parse(features, c.message().payloadSlice(CONFIG_PAYLOAD_OFFSET, BlkConfigSpace.SIZE));
        if (config.capacitySectors() <= 0 || config.blockCount() <= 0) throw c.fail("the back-end reports a capacity of " + config.capacitySectors() + " sectors");
        c.setU64(VhostUser.SET_FEATURES, features);
        return new Negotiated(features, protocol, queuesMax, config);
    }

    /**
     * GET_INFLIGHT_FD then SET_INFLIGHT_FD with the back-end's own buffer, as QEMU does before starting the rings:
     * the back-end tracks requests in it. This front-end does not reconnect, so it keeps no mapping of its own.
     */
    static void inflight(VhostUserConnection c, int queues, int queueSize) {
        c.request(VhostUser.GET_INFLIGHT_FD, INFLIGHT_SIZE).putU16(INFLIGHT_NUM_QUEUES_OFFSET, queues).putU16(INFLIGHT_QUEUE_SIZE_OFFSET, queueSize);
        c.send(null, 0);
        c.receive(VhostUser.GET_INFLIGHT_FD);
        long mmapBytes = c.message().u64(INFLIGHT_MMAP_SIZE_OFFSET);
        long mmapOffset = c.message().u64(INFLIGHT_MMAP_OFFSET_OFFSET);
        int fd = c.takeFd();
        if (fd < 0 || mmapBytes == 0) {
            if (fd >= 0) Libc.close(fd);
            return; // a back-end with nothing to track
        }
        try {
            c.request(VhostUser.SET_INFLIGHT_FD, INFLIGHT_SIZE).putU64(INFLIGHT_MMAP_SIZE_OFFSET, mmapBytes)
                    .putU64(INFLIGHT_MMAP_OFFSET_OFFSET, mmapOffset).putU16(INFLIGHT_NUM_QUEUES_OFFSET, queues)
                    .putU16(INFLIGHT_QUEUE_SIZE_OFFSET, queueSize);
            c.sendSet(VhostUser.SET_INFLIGHT_FD, new int[] {fd}, 1);
        } finally {
            Libc.close(fd);
        }
    }

    /** SET_MEM_TABLE: the one memfd region, sent with its fd. */
    static void memTable(VhostUserConnection c, SharedMemory memory) {
        c.request(VhostUser.SET_MEM_TABLE, MEMORY_REGIONS_OFFSET + REGION_SIZE)
                .putU32(MEMORY_COUNT_OFFSET, 1)
                .putU64(MEMORY_REGIONS_OFFSET + REGION_GUEST_ADDR_OFFSET, SharedMemory.GPA_BASE)
                .putU64(MEMORY_REGIONS_OFFSET + REGION_SIZE_OFFSET, memory.bytes)
                .putU64(MEMORY_REGIONS_OFFSET + REGION_USER_ADDR_OFFSET, memory.address)
                .putU64(MEMORY_REGIONS_OFFSET + REGION_MMAP_OFFSET_OFFSET, 0);
        c.sendSet(VhostUser.SET_MEM_TABLE, new int[] {memory.fd}, 1);
    }

    /** One ring: size, base, addresses, kick and call eventfds (vhost_virtqueue_start's order). */
    static void ring(VhostUserConnection c, FrontendQueue q, boolean packed) {
        c.request(VhostUser.SET_VRING_NUM, STATE_SIZE).putU32(STATE_INDEX_OFFSET, q.index).putU32(STATE_NUM_OFFSET, q.size);
        c.sendSet(VhostUser.SET_VRING_NUM, null, 0);
        c.request(VhostUser.SET_VRING_BASE, STATE_SIZE).putU32(STATE_INDEX_OFFSET, q.index).putU32(STATE_NUM_OFFSET, packed ? PackedDriverRing.INITIAL_BASE : 0);
        c.sendSet(VhostUser.SET_VRING_BASE, null, 0);
        c.request(VhostUser.SET_VRING_ADDR, ADDR_SIZE).putU32(ADDR_INDEX_OFFSET, q.index)
                .putU64(ADDR_DESC_OFFSET, q.descUva).putU64(ADDR_AVAIL_OFFSET, q.availUva).putU64(ADDR_USED_OFFSET, q.usedUva);
        c.sendSet(VhostUser.SET_VRING_ADDR, null, 0);
        c.request(VhostUser.SET_VRING_KICK, 8).putU64(0, q.index);
        c.sendSet(VhostUser.SET_VRING_KICK, new int[] {q.kickFd}, 1);
        c.request(VhostUser.SET_VRING_CALL, 8).putU64(0, q.index);
        c.sendSet(VhostUser.SET_VRING_CALL, new int[] {q.callFd}, 1);
    }

    /** SET_VRING_ENABLE 1: with protocol features a ring starts disabled (vhost-user.rst, "Ring states"). */
    static void enable(VhostUserConnection c, int index) {
        c.request(VhostUser.SET_VRING_ENABLE, STATE_SIZE).putU32(STATE_INDEX_OFFSET, index).putU32(STATE_NUM_OFFSET, 1);
        c.sendSet(VhostUser.SET_VRING_ENABLE, null, 0);
    }
}
