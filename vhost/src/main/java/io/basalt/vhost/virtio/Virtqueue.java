package io.basalt.vhost.virtio;

/**
 * The device side of one virtqueue (virtio 1.x section 2.7), owned by one reactor thread. Implementations:
 * {@link SplitVirtqueue} (2.7.5-2.7.8) and {@link PackedVirtqueue} (2.8). Split indices are the free-running
 * 16-bit ring indices; packed ones are a ring position in bits 0-14 and a wrap counter in bit 15 (the
 * vhost-user SET_VRING_BASE / GET_VRING_BASE encoding).
 */
public interface Virtqueue {
    int size();

    /**
     * Takes the next available chain into {@code chain}. Returns false when none is available (or the
     * queue is broken). A true result may still be a broken chain ({@link DescriptorChain#isBroken()}):
     * the device fails it and, if it has a valid head, returns it in the used ring.
     */
    boolean pop(DescriptorChain chain);

    /** Whether the driver has made chains available that {@link #pop} has not taken (reads avail idx). */
    boolean hasAvailable();

    /**
     * Queues a used entry for a chain {@link #pop} returned (not yet visible to the driver), with
     * {@code writtenBytes} as its len. Chains may be used in any order; a packed ring needs the chain to
     * know how many ring slots to skip.
     */
    void pushUsed(DescriptorChain chain, int writtenBytes);

    /**
     * Makes every pushed entry visible (one store-release of used idx per batch) and answers whether the
     * driver wants an interrupt for them (EVENT_IDX or NO_INTERRUPT). False when nothing was pushed.
     */
    boolean publishUsed();

    /** Used entries pushed and not yet published. */
    int pendingUsed();

    /**
     * Asks the driver to kick us for new buffers; returns true when buffers arrived meanwhile (the caller
     * must then poll again rather than sleep: the classic lost-kick race).
     */
    boolean enableNotifications();

    /** Tells the driver kicks are not needed (we are polling). */
    void disableNotifications();

    /** Next avail index the device will read: what GET_VRING_BASE returns. */
    int lastAvailIdx();

    /** The used index as the device has published it plus pending entries. */
    int usedIdx();

    /** True once the driver broke the ring itself (avail idx moved by more than the queue size). */
    boolean isBroken();

    /**
     * Re-reads the chain starting at descriptor {@code head} (without touching the avail ring): for
     * resubmitting requests found in flight after a back-end restart. Split rings only (see
     * {@link #supportsResubmission}).
     */
    void readChain(int head, DescriptorChain chain);

    /** Whether {@link #readChain} can rebuild an in-flight request from its head alone (split: yes). */
    boolean supportsResubmission();

    /**
     * For a broken chain: the last byte of its last descriptor, when the links lead there and that
     * descriptor is device-writable and inside guest memory (where a virtio-blk driver expects its status
     * byte); otherwise null. {@code chain} is one {@link #pop} returned. Allocates (a slice): error path only.
     */
    java.lang.foreign.MemorySegment lastWritableByte(DescriptorChain chain);
}
