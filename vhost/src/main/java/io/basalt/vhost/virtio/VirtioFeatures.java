package io.basalt.vhost.virtio;

/**
 * Device-independent feature bit numbers (virtio 1.x section 6, Linux include/uapi/linux/virtio_config.h
 * and virtio_ring.h; checked by VirtioLayoutTest against the installed headers).
 */
public final class VirtioFeatures {
    private VirtioFeatures() {}

    public static final int RING_INDIRECT_DESC = 28;
    public static final int RING_EVENT_IDX = 29;
    public static final int VERSION_1 = 32;
    public static final int RING_PACKED = 34;
}
