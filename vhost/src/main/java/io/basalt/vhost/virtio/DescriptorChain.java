package io.basalt.vhost.virtio;

import io.basalt.engine.IoVector;
import io.basalt.vhost.memory.GuestMemory;
import io.basalt.vhost.memory.SliceCache;
import io.basalt.shims.Check;

/**
 * One request as the driver laid it out: a descriptor chain's head index, its device-readable buffers, then
 * its device-writable buffers, each as slices of guest memory. Caller-owned and preallocated (one per request
 * slot); {@link Virtqueue#pop} refills it. Its capacity bounds how many buffers one chain may carry: a longer
 * chain is reported broken ({@link #TOO_MANY_SEGMENTS}), never grown.
 *
 * <p>A chain is either whole ({@link #brokenReason()} == {@link #OK}) or broken, with the first rule it broke.
 * A broken chain still has its head (unless {@link #HEAD_OUT_OF_RANGE}) and whatever buffers were walked
 * before the fault, so the device can look for a status byte to fail it properly.
 */
public final class DescriptorChain {
    public static final int OK = 0;
    /** The avail ring named a head index >= queue size: no used entry can be returned for it. */
    public static final int HEAD_OUT_OF_RANGE = 1;
    /** A next field >= the table's size (queue size, or the indirect table's entries). */
    public static final int NEXT_OUT_OF_RANGE = 2;
    /** More descriptors than the table holds: the chain loops. */
    public static final int LOOP = 3;
    /** An indirect descriptor inside an indirect table (virtio 1.x 2.7.5.3.1 forbids it). */
    public static final int NESTED_INDIRECT = 4;
    /** An indirect table whose length is zero or not a multiple of 16. */
    public static final int INDIRECT_BAD_LENGTH = 5;
    /** An indirect table not inside guest memory. */
    public static final int INDIRECT_OUT_OF_MEMORY = 6;
    /** A buffer with some byte outside guest memory. */
    public static final int BUFFER_OUT_OF_MEMORY = 7;
    /** A device-readable buffer after a device-writable one (2.7.4.2: readable ones come first). */
    public static final int READABLE_AFTER_WRITABLE = 8;
    /** A zero-length buffer (QEMU refuses them too). */
    public static final int ZERO_LENGTH = 9;
    /** More buffers (or region pieces) than this chain's capacity. */
    public static final int TOO_MANY_SEGMENTS = 10;
    /** INDIRECT flag without VIRTIO_RING_F_INDIRECT_DESC negotiated. */
    public static final int INDIRECT_NOT_NEGOTIATED = 11;
    /** INDIRECT and NEXT both set (2.7.5.3.1: the driver must not). */
    public static final int INDIRECT_WITH_NEXT = 12;
    /** Total readable or writable bytes beyond 2^32 - 1 (used.len is a u32). */
    public static final int TOO_LONG = 13;
    /** Packed ring: a buffer id >= queue size (virtio 1.1 2.8.6): no used entry can be returned for it. */
    public static final int BUFFER_ID_OUT_OF_RANGE = 14;
    /** Packed ring: an INDIRECT descriptor that is not the only descriptor of its ring chain (2.8.7). */
    public static final int INDIRECT_IN_CHAIN = 15;
    /**
     * Packed ring: a descriptor after the head whose AVAIL/USED bits do not mark it available in its own lap
     * (2.8.6: the driver sets them in every descriptor of the list, not just the first), e.g. one left from an
     * earlier lap. Its fields cannot be trusted, so neither can its buffer: no status byte is written.
     */
    public static final int DESCRIPTOR_NOT_AVAILABLE = 16;
    public static final int REASON_COUNT = 17;

    public final IoVector readable;
    public final IoVector writable;
    private int head;
    private int descriptorCount;
    private long readableBytes;
    private long writableBytes;
    private int brokenReason;
    private int ringPosition;     // packed: ring slot of the chain's first descriptor
    private int ringDescriptors;  // packed: ring slots the chain occupies (skipped when it is used)

    public DescriptorChain(int segmentsMax) {
        Check.positive(segmentsMax, "segmentsMax");
        readable = new IoVector(segmentsMax);
        writable = new IoVector(segmentsMax);
    }

    void reset(int head) {
        this.head = head;
        readable.clear();
        writable.clear();
        descriptorCount = 0;
        readableBytes = 0;
        writableBytes = 0;
        brokenReason = OK;
        ringPosition = 0;
        ringDescriptors = 0;
    }

    void ringExtent(int position, int descriptors) {
        this.ringPosition = position;
        this.ringDescriptors = descriptors;
    }

    void addReadable(long bytes) { readableBytes += bytes; descriptorCount++; }
    void addWritable(long bytes) { writableBytes += bytes; descriptorCount++; }

    /**
     * Adds one guest buffer (split or packed ring alike): readable buffers must come before writable ones, none
     * is empty, each side's total fits virtio's 32-bit used length, and every byte lies in guest memory. Returns
     * false, with the reason recorded, when the chain is broken.
     */
    boolean addBuffer(GuestMemory memory, SliceCache cache, long addr, long len, boolean isWritable) {
        if (len == 0) return broken(ZERO_LENGTH);
        if (!isWritable && writable.count() > 0) return broken(READABLE_AFTER_WRITABLE);
        long total = (isWritable ? writableBytes : readableBytes) + len;
        if (total > 0xFFFF_FFFFL) return broken(TOO_LONG);
        int rc = memory.gpaToVector(addr, len, isWritable ? writable : readable, cache);
        if (rc == GuestMemory.OUT_OF_RANGE) return broken(BUFFER_OUT_OF_MEMORY);
        if (rc == GuestMemory.VECTOR_FULL) return broken(TOO_MANY_SEGMENTS);
        if (isWritable) addWritable(len);
        else addReadable(len);
        return true;
    }

    /** Marks the chain broken; the first reason wins. Returns false so walkers can {@code return broken(...)}. */
    boolean broken(int reason) {
        if (brokenReason == OK) brokenReason = reason;
        return false;
    }

    /** The head descriptor index (split) or the buffer id (packed): the id the used entry carries. */
    public int head() { return head; }
    public int descriptorCount() { return descriptorCount; }
    public long readableBytes() { return readableBytes; }
    public long writableBytes() { return writableBytes; }
    public boolean isBroken() { return brokenReason != OK; }
    public int brokenReason() { return brokenReason; }

    /** Whether a used entry may be returned for this chain (its head index or buffer id is valid). */
    public boolean hasValidHead() { return brokenReason != HEAD_OUT_OF_RANGE && brokenReason != BUFFER_ID_OUT_OF_RANGE; }

    /** Packed rings: the ring slot of the chain's first descriptor (0 for split rings). */
    public int ringPosition() { return ringPosition; }

    /** Packed rings: how many ring slots the chain occupies (an indirect chain: 1). 0 for split rings. */
    public int ringDescriptors() { return ringDescriptors; }

    public static String reasonName(int reason) {
        return switch (reason) {
            case OK -> "ok";
            case HEAD_OUT_OF_RANGE -> "head_out_of_range";
            case NEXT_OUT_OF_RANGE -> "next_out_of_range";
            case LOOP -> "loop";
            case NESTED_INDIRECT -> "nested_indirect";
            case INDIRECT_BAD_LENGTH -> "indirect_bad_length";
            case INDIRECT_OUT_OF_MEMORY -> "indirect_out_of_memory";
            case BUFFER_OUT_OF_MEMORY -> "buffer_out_of_memory";
            case READABLE_AFTER_WRITABLE -> "readable_after_writable";
            case ZERO_LENGTH -> "zero_length";
            case TOO_MANY_SEGMENTS -> "too_many_segments";
            case INDIRECT_NOT_NEGOTIATED -> "indirect_not_negotiated";
            case INDIRECT_WITH_NEXT -> "indirect_with_next";
            case TOO_LONG -> "too_long";
            case BUFFER_ID_OUT_OF_RANGE -> "buffer_id_out_of_range";
            case INDIRECT_IN_CHAIN -> "indirect_in_chain";
            case DESCRIPTOR_NOT_AVAILABLE -> "descriptor_not_available";
            default -> "reason_" + reason;
        };
    }
}
