package io.basalt.vhost.virtio;

import io.basalt.shims.Check;
import io.basalt.vhost.memory.GuestMemory;
import io.basalt.vhost.memory.SliceCache;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The device side of a split virtqueue (virtio 1.x section 2.7, "Split Virtqueues"), over guest memory.
 * All fields are little-endian (VIRTIO_F_VERSION_1). Layouts, with N = queue size:
 * <pre>
 * descriptor table (16 x N bytes, 16-aligned)        avail ring (6 + 2N bytes, 2-aligned)
 *  0 addr  u64  guest-physical buffer address         0 flags u16 (VRING_AVAIL_F_NO_INTERRUPT)
 *  8 len   u32                                         2 idx   u16 (driver's next slot)
 * 12 flags u16  NEXT 1 | WRITE 2 | INDIRECT 4          4 ring[N] u16 heads
 * 14 next  u16                                    4+2N used_event u16 (EVENT_IDX)
 *
 * used ring (6 + 8N bytes, 4-aligned)
 *  0 flags u16 (VRING_USED_F_NO_NOTIFY)   2 idx u16   4 ring[N] {id u32, len u32}   4+8N avail_event u16
 * </pre>
 * Memory ordering (2.7.13 and Linux virtio_ring.h): the driver writes descriptors and ring entries, then
 * avail idx with a write barrier, so we read avail idx with acquire before any ring entry or descriptor;
 * we write used entries, then used idx with release; before reading used_event or avail flags to decide
 * on an interrupt (and after writing avail_event / used flags before re-reading avail idx) a full fence,
 * since each side's store must be ordered before its load of the other's field (a Dekker pair).
 *
 * <p>Owned by one reactor thread. Every index read from guest memory is checked: the driver is hostile.
 */
public final class SplitVirtqueue implements Virtqueue {
    public static final int QUEUE_SIZE_MAX = 32768;

    public static final int DESC_SIZE = 16;
    public static final int DESC_ADDR_OFFSET = 0;
    public static final int DESC_LEN_OFFSET = 8;
    public static final int DESC_FLAGS_OFFSET = 12;
    public static final int DESC_NEXT_OFFSET = 14;
    public static final int VRING_DESC_F_NEXT = 1;
    public static final int VRING_DESC_F_WRITE = 2;
    public static final int VRING_DESC_F_INDIRECT = 4;

    public static final int AVAIL_FLAGS_OFFSET = 0;
    public static final int AVAIL_IDX_OFFSET = 2;
    public static final int AVAIL_RING_OFFSET = 4;
    public static final int VRING_AVAIL_F_NO_INTERRUPT = 1;

    public static final int USED_FLAGS_OFFSET = 0;
    public static final int USED_IDX_OFFSET = 2;
    public static final int USED_RING_OFFSET = 4;
    public static final int USED_ELEM_SIZE = 8;
    public static final int USED_ELEM_ID_OFFSET = 0;
    public static final int USED_ELEM_LEN_OFFSET = 4;
    public static final int VRING_USED_F_NO_NOTIFY = 1;

    public static final int DESC_ALIGN = 16;
    public static final int AVAIL_ALIGN = 2;
    public static final int USED_ALIGN = 4;

    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Aligned 16-bit little-endian handle for the acquire/release accesses of the ring indices. */
    private static final VarHandle INDEX = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    public static long descTableBytes(int size) { return (long) DESC_SIZE * size; }
    public static long availRingBytes(int size) { return AVAIL_RING_OFFSET + 2L * size + 2; }
    public static long usedRingBytes(int size) { return USED_RING_OFFSET + (long) USED_ELEM_SIZE * size + 2; }

    private final GuestMemory memory;
    private final SliceCache cache;
    private final MemorySegment desc;
    private final MemorySegment avail;
    private final MemorySegment used;
    private final int size;
    private final int mask;
    private final boolean eventIdx;
    private final boolean indirect;
    private final long usedEventOffset;
    private final long availEventOffset;

    private int lastAvailIdx;    // next avail slot to read (16-bit, kept masked)
    private int availIdxSeen;    // driver's avail idx at the last acquire read
    private int usedIdx;         // next used slot to write (published + pending)
    private int pendingUsed;
    private int signalledUsed;   // used idx at the last interrupt decision (EVENT_IDX)
    private boolean signalledUsedValid;
    private boolean broken;

    /**
     * @param desc, avail, used the three areas, translated and bounds-checked by the session with
     *        {@link GuestMemory#uva}; sized at least {@link #descTableBytes}, {@link #availRingBytes},
     *        {@link #usedRingBytes} (the trailing event fields included) and aligned per 2.7
     * @param features       the negotiated feature bits (VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC)
     * @param lastAvailIdx   SET_VRING_BASE's value; the used index starts at the ring's current used idx
     */
    public SplitVirtqueue(GuestMemory memory, MemorySegment desc, MemorySegment avail, MemorySegment used,
                          int size, long features, int lastAvailIdx, SliceCache cache) {
        if (size <= 0 || size > QUEUE_SIZE_MAX || Integer.bitCount(size) != 1) {
            throw new IllegalArgumentException("queue size must be a power of two <= 32768, was " + size);
        }
        requireArea(desc, descTableBytes(size), DESC_ALIGN, "descriptor table");
        requireArea(avail, availRingBytes(size), AVAIL_ALIGN, "avail ring");
        requireArea(used, usedRingBytes(size), USED_ALIGN, "used ring");
        Check.that(lastAvailIdx >= 0 && lastAvailIdx <= 0xFFFF, "last avail index is 16 bits", lastAvailIdx);
        this.memory = memory;
        this.cache = cache;
        this.desc = desc;
        this.avail = avail;
        this.used = used;
        this.size = size;
        this.mask = size - 1;
        this.eventIdx = (features & (1L << VirtioFeatures.RING_EVENT_IDX)) != 0;
        this.indirect = (features & (1L << VirtioFeatures.RING_INDIRECT_DESC)) != 0;
        this.usedEventOffset = AVAIL_RING_OFFSET + 2L * size;
        this.availEventOffset = USED_RING_OFFSET + (long) USED_ELEM_SIZE * size;
        this.lastAvailIdx = lastAvailIdx;
        this.availIdxSeen = lastAvailIdx;
        // The used idx the driver saw last (a restarted back-end continues from it).
        this.usedIdx = Short.toUnsignedInt((short) INDEX.getAcquire(used, (long) USED_IDX_OFFSET));
    }

    private static void requireArea(MemorySegment s, long bytes, int align, String what) {
        if (s == null || s.byteSize() < bytes || (s.address() & (align - 1)) != 0) {
            throw new IllegalArgumentException(what + " must be " + bytes + " bytes inside guest memory, aligned to " + align);
        }
    }

    @Override public int size() { return size; }
    @Override public int lastAvailIdx() { return lastAvailIdx; }
    @Override public int usedIdx() { return usedIdx; }
    @Override public int pendingUsed() { return pendingUsed; }
    @Override public boolean isBroken() { return broken; }
    public boolean eventIdx() { return eventIdx; }

    /** Acquire-reads avail idx (2.7.13.3: before the ring entries it covers). */
    private int readAvailIdx() {
        return Short.toUnsignedInt((short) INDEX.getAcquire(avail, (long) AVAIL_IDX_OFFSET));
    }

    @Override
    public boolean hasAvailable() {
        if (broken) return false;
        if (lastAvailIdx != availIdxSeen) return true;
        int idx = readAvailIdx();
        if (((idx - lastAvailIdx) & 0xFFFF) > size) {
            broken = true; // the driver claims more new entries than the ring has: nothing in it can be trusted
            return false;
        }
        availIdxSeen = idx;
        return idx != lastAvailIdx;
    }

    @Override
    public boolean pop(DescriptorChain chain) {
        if (!hasAvailable()) return false;
        // Plain read: ordered after the acquire of avail idx that covered this slot.
        int head = Short.toUnsignedInt(avail.get(U16, AVAIL_RING_OFFSET + 2L * (lastAvailIdx & mask)));
        lastAvailIdx = (lastAvailIdx + 1) & 0xFFFF;
        readChain(head, chain);
        return true;
    }

    @Override
    public void readChain(int head, DescriptorChain chain) {
        chain.reset(head);
        if (head < 0 || head >= size) {
            chain.broken(DescriptorChain.HEAD_OUT_OF_RANGE);
            return;
        }
        walk(head, chain);
    }

    /** Follows NEXT links through the table, switching once into an indirect table. Never throws on guest data. */
    private boolean walk(int head, DescriptorChain chain) {
        MemorySegment table = desc;
        long tableBase = 0;
        int tableEntries = size;
        int index = head;
        int visited = 0;
        boolean inIndirect = false;
        while (true) {
            if (++visited > tableEntries) return chain.broken(DescriptorChain.LOOP);
            long at = tableBase + (long) index * DESC_SIZE;
            long addr = table.get(U64, at + DESC_ADDR_OFFSET);
            long len = Integer.toUnsignedLong(table.get(U32, at + DESC_LEN_OFFSET));
            int flags = Short.toUnsignedInt(table.get(U16, at + DESC_FLAGS_OFFSET));
            int next = Short.toUnsignedInt(table.get(U16, at + DESC_NEXT_OFFSET));
            if ((flags & VRING_DESC_F_INDIRECT) != 0) {
                if (!indirect) return chain.broken(DescriptorChain.INDIRECT_NOT_NEGOTIATED);
                if (inIndirect) return chain.broken(DescriptorChain.NESTED_INDIRECT);
                if ((flags & VRING_DESC_F_NEXT) != 0) return chain.broken(DescriptorChain.INDIRECT_WITH_NEXT);
                if (len == 0 || len % DESC_SIZE != 0) return chain.broken(DescriptorChain.INDIRECT_BAD_LENGTH);
                if (!memory.containsInOneRegion(addr, len)) return chain.broken(DescriptorChain.INDIRECT_OUT_OF_MEMORY);
                int region = memory.regionOf(addr);
                table = memory.region(region); // index into the region: no slice, no allocation
                tableBase = addr - memory.regionGpaStart(region);
                tableEntries = (int) (len / DESC_SIZE); // len < 2^32, so < 2^28 entries
                index = 0;
                visited = 0;
                inIndirect = true;
                continue;
            }
            if (!chain.addBuffer(memory, cache, addr, len, (flags & VRING_DESC_F_WRITE) != 0)) return false;
            if ((flags & VRING_DESC_F_NEXT) == 0) return true;
            if (next >= tableEntries) return chain.broken(DescriptorChain.NEXT_OUT_OF_RANGE);
            index = next;
        }
    }

    @Override
    public boolean supportsResubmission() { return true; }

    @Override
    public MemorySegment lastWritableByte(DescriptorChain chain) {
        int head = chain.head();
        if (head < 0 || head >= size) return null;
        MemorySegment table = desc;
        long tableBase = 0;
        int tableEntries = size;
        int index = head;
        int visited = 0;
        boolean inIndirect = false;
        while (++visited <= tableEntries) {
            long at = tableBase + (long) index * DESC_SIZE;
            long addr = table.get(U64, at + DESC_ADDR_OFFSET);
            long len = Integer.toUnsignedLong(table.get(U32, at + DESC_LEN_OFFSET));
            int flags = Short.toUnsignedInt(table.get(U16, at + DESC_FLAGS_OFFSET));
            if ((flags & VRING_DESC_F_INDIRECT) != 0) {
                if (!indirect || inIndirect || (flags & VRING_DESC_F_NEXT) != 0 || len == 0 || len % DESC_SIZE != 0
                        || !memory.containsInOneRegion(addr, len)) {
                    return null;
                }
                int region = memory.regionOf(addr);
                table = memory.region(region);
                tableBase = addr - memory.regionGpaStart(region);
                tableEntries = (int) (len / DESC_SIZE);
                index = 0;
                visited = 0;
                inIndirect = true;
                continue;
            }
            if ((flags & VRING_DESC_F_NEXT) == 0) {
                if ((flags & VRING_DESC_F_WRITE) == 0 || len == 0 || addr < 0 || addr > Long.MAX_VALUE - (len - 1)) return null;
                return memory.gpa(addr + len - 1, 1);
            }
            int next = Short.toUnsignedInt(table.get(U16, at + DESC_NEXT_OFFSET));
            if (next >= tableEntries) return null;
            index = next;
        }
        return null;
    }

    @Override
    public void pushUsed(DescriptorChain chain, int writtenBytes) {
        pushUsed(chain.head(), writtenBytes);
    }

    /** Queues a used entry for descriptor {@code head} (split rings need nothing else of the chain). */
    public void pushUsed(int head, int writtenBytes) {
        Check.that(head >= 0 && head < size, "used head in range", head);
        Check.that(pendingUsed < size, "at most queue-size used entries pending", pendingUsed);
        long at = USED_RING_OFFSET + (long) USED_ELEM_SIZE * (usedIdx & mask);
        // Plain stores: published by the release store of used idx in publishUsed.
        used.set(U32, at + USED_ELEM_ID_OFFSET, head);
        used.set(U32, at + USED_ELEM_LEN_OFFSET, writtenBytes);
        usedIdx = (usedIdx + 1) & 0xFFFF;
        pendingUsed++;
    }

    @Override
    public boolean publishUsed() {
        if (pendingUsed == 0) return false;
        pendingUsed = 0;
        // 2.7.8.2: the used entries must be visible before used idx.
        INDEX.setRelease(used, (long) USED_IDX_OFFSET, (short) usedIdx);
        return needsInterrupt();
    }

    /** 2.7.7.2 / 2.7.10: after publishing, decide whether the driver wants an interrupt. */
    private boolean needsInterrupt() {
        // Our used idx store must be ordered before the load of used_event / avail flags (Dekker with the driver).
        VarHandle.fullFence();
        if (eventIdx) {
            int usedEvent = Short.toUnsignedInt(avail.get(U16, usedEventOffset));
            int old = signalledUsed;
            boolean valid = signalledUsedValid;
            signalledUsed = usedIdx;
            signalledUsedValid = true;
            return !valid || needEvent(usedEvent, usedIdx, old);
        }
        return (avail.get(U16, AVAIL_FLAGS_OFFSET) & VRING_AVAIL_F_NO_INTERRUPT) == 0;
    }

    /** vring_need_event (virtio 2.7.7.2): whether event index {@code event} lies in (old, new]. 16-bit math. */
    public static boolean needEvent(int event, int newIdx, int oldIdx) {
        return ((newIdx - event - 1) & 0xFFFF) < ((newIdx - oldIdx) & 0xFFFF);
    }

    @Override
    public boolean enableNotifications() {
        if (eventIdx) {
            // Kick me once the driver adds the entry at lastAvailIdx.
            used.set(U16, availEventOffset, (short) lastAvailIdx);
        } else {
            used.set(U16, USED_FLAGS_OFFSET, (short) 0);
        }
        // Our store must be visible before we re-read avail idx, or a kick could be lost (Dekker with the driver).
        VarHandle.fullFence();
        return hasAvailable();
    }

    @Override
    public void disableNotifications() {
        // With EVENT_IDX the stale avail_event already suppresses kicks; NO_NOTIFY is only a hint otherwise.
        if (!eventIdx) used.set(U16, USED_FLAGS_OFFSET, (short) VRING_USED_F_NO_NOTIFY);
    }
}
