package io.basalt.vhost.virtio;

import io.basalt.shims.Check;
import io.basalt.vhost.memory.GuestMemory;
import io.basalt.vhost.memory.SliceCache;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The device side of a packed virtqueue (virtio 1.1+ section 2.8, "Packed Virtqueues"), over guest memory.
 * Little-endian (VIRTIO_F_VERSION_1). Layouts, with N = queue size (any value 1..32768):
 * <pre>
 * descriptor ring (16 x N bytes, 16-aligned)          event suppression area (4 bytes, 4-aligned), twice:
 *  0 addr  u64  guest-physical buffer address          0 off_wrap u16  bits 0-14 ring offset, bit 15 wrap
 *  8 len   u32  (used: bytes written)                   2 flags    u16  ENABLE 0 | DISABLE 1 | DESC 2
 * 12 id    u16  buffer id (in the chain's last descriptor; the used descriptor carries it back)
 * 14 flags u16  NEXT 1 | WRITE 2 | INDIRECT 4 | AVAIL 1<<7 | USED 1<<15
 * </pre>
 * The driver event suppression area (vhost-user's "avail" address) is written by the driver and tells us
 * when to interrupt; the device event suppression area ("used" address) is ours and tells the driver when
 * to kick (QEMU hw/virtio/vhost.c passes desc / driver area / device area in SET_VRING_ADDR's desc / avail /
 * used fields).
 *
 * <p>Wrap counters (2.8.1): both start at 1. A descriptor is available when its AVAIL bit equals our avail
 * wrap counter and its USED bit does not; we mark one used by writing AVAIL = USED = our used wrap counter.
 * A chain is consecutive ring slots linked by NEXT (crossing the ring's end flips the counter); the buffer id
 * is in its last descriptor (2.8.6). Every descriptor of a chain carries the AVAIL/USED bits of its own lap
 * (2.8.6), so one after the head that does not is stale and breaks the chain
 * ({@link DescriptorChain#DESCRIPTOR_NOT_AVAILABLE}). One used descriptor returns a whole chain, written at
 * our used position, which then skips as many slots as that chain occupied: chains may be used in any order (no IN_ORDER).
 *
 * <p>Memory ordering (2.8.21, 2.8.22 and Linux virtio_ring.c): the driver writes a chain's other
 * descriptors, then the first one's flags with a write barrier, so we read the head's flags with acquire
 * before any other field of the chain. We write a used descriptor's id and len, then its flags; a batch's
 * first used flags are stored last, with release, so the driver sees the batch whole. Before reading the
 * driver's event area to decide on an interrupt (and after writing ours before re-checking for buffers) a
 * full fence: each side's store must be ordered before its load of the other's field (a Dekker pair).
 *
 * <p>Owned by one reactor thread. Every field read from guest memory is checked: the driver is hostile.
 * Inflight resubmission (vhost-user DescStatePacked) cannot find a chain by its head alone, so
 * {@link #readChain} is refused: the inflight region keeps copies of a chain's ring descriptors
 * ({@link #descAddr} and its siblings) and {@link #readCopiedChain} rebuilds the chain from them.
 */
public final class PackedVirtqueue implements Virtqueue {
    public static final int QUEUE_SIZE_MAX = 32768;

    public static final int DESC_SIZE = 16;
    public static final int DESC_ADDR_OFFSET = 0;
    public static final int DESC_LEN_OFFSET = 8;
    public static final int DESC_ID_OFFSET = 12;
    public static final int DESC_FLAGS_OFFSET = 14;
    public static final int VRING_DESC_F_NEXT = 1;
    public static final int VRING_DESC_F_WRITE = 2;
    public static final int VRING_DESC_F_INDIRECT = 4;
    public static final int VRING_PACKED_DESC_F_AVAIL = 1 << 7;
    public static final int VRING_PACKED_DESC_F_USED = 1 << 15;

    public static final int EVENT_AREA_SIZE = 4;
    public static final int EVENT_OFF_WRAP_OFFSET = 0;
    public static final int EVENT_FLAGS_OFFSET = 2;
    public static final int RING_EVENT_FLAGS_ENABLE = 0;
    public static final int RING_EVENT_FLAGS_DISABLE = 1;
    public static final int RING_EVENT_FLAGS_DESC = 2;
    /** Bit 15 of off_wrap, and of vhost-user's vring base for packed rings: the wrap counter. */
    public static final int WRAP_BIT = 1 << 15;
    public static final int OFFSET_MASK = WRAP_BIT - 1;

    public static final int DESC_ALIGN = 16;
    public static final int EVENT_ALIGN = 4;

    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Aligned 16-bit little-endian handle for the acquire/release accesses of descriptor and event flags. */
    private static final VarHandle FLAGS = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    public static long ringBytes(int size) { return (long) DESC_SIZE * size; }

    private final GuestMemory memory;
    private final SliceCache cache;
    private final MemorySegment desc;
    private final MemorySegment driverEvent;
    private final MemorySegment deviceEvent;
    private final int size;
    private final boolean eventIdx;
    private final boolean indirect;

    private int lastAvail;          // ring slot of the next chain to take, in [0, size)
    private boolean availWrap;      // the wrap counter the driver's next available descriptor carries
    private int usedPos;            // ring slot of the next used descriptor to write (published + pending)
    private boolean usedWrap;
    private int pendingUsed;
    private int batchFirstPos;      // first used descriptor of the unpublished batch: its flags are stored last
    private int batchFirstFlags;
    private int signalledUsed;      // usedPos at the last interrupt decision (EVENT_IDX)
    private boolean signalledUsedWrap;
    private boolean signalledUsedValid;
    private boolean broken;

    /**
     * @param desc, driverEvent, deviceEvent the three areas, translated and bounds-checked by the session;
     *        sized at least {@link #ringBytes} and {@link #EVENT_AREA_SIZE}, aligned per 2.8.10
     * @param features the negotiated feature bits (VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC)
     * @param base     SET_VRING_BASE's value: ring position in bits 0-14, avail wrap counter in bit 15. The
     *                 used position starts there too: a stopped ring had used everything it took.
     */
    public PackedVirtqueue(GuestMemory memory, MemorySegment desc, MemorySegment driverEvent, MemorySegment deviceEvent,
                           int size, long features, int base, SliceCache cache) {
        this(memory, desc, driverEvent, deviceEvent, size, features, base, base, cache);
    }

    /**
     * A ring resumed after a back-end crash: the used position ({@code usedBase}, same encoding as {@code base})
     * trails the avail position by the ring slots of the requests the previous back-end left in flight, which
     * the caller resubmits from the inflight region.
     */
    public PackedVirtqueue(GuestMemory memory, MemorySegment desc, MemorySegment driverEvent, MemorySegment deviceEvent,
                           int size, long features, int base, int usedBase, SliceCache cache) {
        if (size <= 0 || size > QUEUE_SIZE_MAX) {
            throw new IllegalArgumentException("packed queue size must be in [1, 32768], was " + size);
        }
        requireArea(desc, ringBytes(size), DESC_ALIGN, "descriptor ring");
        requireArea(driverEvent, EVENT_AREA_SIZE, EVENT_ALIGN, "driver event suppression area");
        requireArea(deviceEvent, EVENT_AREA_SIZE, EVENT_ALIGN, "device event suppression area");
        requirePosition(base, size, "vring base");
        requirePosition(usedBase, size, "used position");
        this.memory = memory;
        this.cache = cache;
        this.desc = desc;
        this.driverEvent = driverEvent;
        this.deviceEvent = deviceEvent;
        this.size = size;
        this.eventIdx = (features & (1L << VirtioFeatures.RING_EVENT_IDX)) != 0;
        this.indirect = (features & (1L << VirtioFeatures.RING_INDIRECT_DESC)) != 0;
        this.lastAvail = base & OFFSET_MASK;
        this.availWrap = (base & WRAP_BIT) != 0;
        this.usedPos = usedBase & OFFSET_MASK;
        this.usedWrap = (usedBase & WRAP_BIT) != 0;
    }

    private static void requirePosition(int encoded, int size, String what) {
        if (encoded < 0 || encoded > 0xFFFF || (encoded & OFFSET_MASK) >= size) {
            throw new IllegalArgumentException("packed " + what + " 0x" + Integer.toHexString(encoded) + " is beyond a ring of " + size);
        }
    }

    private static void requireArea(MemorySegment s, long bytes, int align, String what) {
        if (s == null || s.byteSize() < bytes || (s.address() & (align - 1)) != 0) {
            throw new IllegalArgumentException(what + " must be " + bytes + " bytes inside guest memory, aligned to " + align);
        }
    }

    /** vhost-user's encoding of a ring position and its wrap counter. */
    public static int encode(int position, boolean wrap) {
        return position | (wrap ? WRAP_BIT : 0);
    }

    @Override public int size() { return size; }
    @Override public int lastAvailIdx() { return encode(lastAvail, availWrap); }
    @Override public int usedIdx() { return encode(usedPos, usedWrap); }
    @Override public int pendingUsed() { return pendingUsed; }
    @Override public boolean isBroken() { return broken; }
    @Override public boolean supportsResubmission() { return false; }
    public boolean eventIdx() { return eventIdx; }

    private static long descAt(int position) {
        return (long) position * DESC_SIZE;
    }

    /** 2.8.1: available when AVAIL matches the wrap counter and USED does not. */
    public static boolean isAvailable(int flags, boolean wrap) {
        boolean avail = (flags & VRING_PACKED_DESC_F_AVAIL) != 0;
        boolean used = (flags & VRING_PACKED_DESC_F_USED) != 0;
        return avail == wrap && used != wrap;
    }

    /** Acquire-reads a descriptor's flags (2.8.21: before the fields the driver wrote ahead of them). */
    private int flagsAcquire(int position) {
        return Short.toUnsignedInt((short) FLAGS.getAcquire(desc, descAt(position) + DESC_FLAGS_OFFSET));
    }

    @Override
    public boolean hasAvailable() {
        return !broken && isAvailable(flagsAcquire(lastAvail), availWrap);
    }

    @Override
    public boolean pop(DescriptorChain chain) {
        if (broken) return false;
        int head = lastAvail;
        int headFlags = flagsAcquire(head);
        if (!isAvailable(headFlags, availWrap)) return false;
        // The chain's extent: consecutive slots while NEXT is set. Plain reads, ordered after the acquire above.
        // Every descriptor after the head must be available in its own lap too (2.8.6: the driver sets AVAIL and
        // USED in all of them; crossing the ring's end flips the lap). One that is not is stale, from an earlier
        // lap, and must not be taken as part of this chain: the chain is reported broken. Its extent is still
        // counted by NEXT (where else would the next chain start), as QEMU's virtqueue_packed_pop counts it.
        int count = 1;
        int last = head;
        int lastFlags = headFlags;
        boolean wrap = availWrap;
        boolean stale = false;
        while ((lastFlags & VRING_DESC_F_NEXT) != 0) {
            if (count == size) {
                broken = true; // a chain longer than the ring: where the next one starts cannot be known
                return false;
            }
            if (++last == size) {
                last = 0;
                wrap = !wrap;
            }
            lastFlags = Short.toUnsignedInt(desc.get(U16, descAt(last) + DESC_FLAGS_OFFSET));
            if (!isAvailable(lastFlags, wrap)) stale = true;
            count++;
        }
        int id = Short.toUnsignedInt(desc.get(U16, descAt(last) + DESC_ID_OFFSET));
        advanceAvail(count);
        chain.reset(id);
        chain.ringExtent(head, count);
        if (id >= size) {
            chain.broken(DescriptorChain.BUFFER_ID_OUT_OF_RANGE);
            return true;
        }
        if (stale) {
            chain.broken(DescriptorChain.DESCRIPTOR_NOT_AVAILABLE);
            return true;
        }
        if (count == 1 && (headFlags & VRING_DESC_F_INDIRECT) != 0) walkIndirect(desc, head, chain);
        else walkRing(desc, size, head, count, chain);
        return true;
    }

    private void advanceAvail(int count) {
        lastAvail += count;
        if (lastAvail >= size) {
            lastAvail -= size;
            availWrap = !availWrap;
        }
    }

    /**
     * A direct chain: {@code count} slots from {@code head} of {@code table} (the ring, or the copies an
     * inflight region kept), wrapping at {@code tableSize}. Never throws on guest data.
     */
    private boolean walkRing(MemorySegment table, int tableSize, int head, int count, DescriptorChain chain) {
        int position = head;
        for (int i = 0; i < count; i++) {
            long at = descAt(position);
            int flags = Short.toUnsignedInt(table.get(U16, at + DESC_FLAGS_OFFSET));
            if ((flags & VRING_DESC_F_INDIRECT) != 0) {
                if (!indirect) return chain.broken(DescriptorChain.INDIRECT_NOT_NEGOTIATED);
                return chain.broken((flags & VRING_DESC_F_NEXT) != 0 ? DescriptorChain.INDIRECT_WITH_NEXT
                        : DescriptorChain.INDIRECT_IN_CHAIN);
            }
            long addr = table.get(U64, at + DESC_ADDR_OFFSET);
            long len = Integer.toUnsignedLong(table.get(U32, at + DESC_LEN_OFFSET));
            if (!chain.addBuffer(memory, cache, addr, len, (flags & VRING_DESC_F_WRITE) != 0)) return false;
            position = position + 1 == tableSize ? 0 : position + 1;
        }
        return true;
    }

    /**
     * An indirect chain (2.8.7): one ring slot pointing at a table of packed descriptors, all of which are
     * the buffers, in order (their NEXT flags and ids are not used).
     */
    private boolean walkIndirect(MemorySegment ringOrCopies, int head, DescriptorChain chain) {
        long at = descAt(head);
        long addr = ringOrCopies.get(U64, at + DESC_ADDR_OFFSET);
        long len = Integer.toUnsignedLong(ringOrCopies.get(U32, at + DESC_LEN_OFFSET));
        if (!indirect) return chain.broken(DescriptorChain.INDIRECT_NOT_NEGOTIATED);
        if (len == 0 || len % DESC_SIZE != 0) return chain.broken(DescriptorChain.INDIRECT_BAD_LENGTH);
        if (!memory.containsInOneRegion(addr, len)) return chain.broken(DescriptorChain.INDIRECT_OUT_OF_MEMORY);
        int region = memory.regionOf(addr);
        MemorySegment table = memory.region(region); // index into the region: no slice, no allocation
        long tableBase = addr - memory.regionGpaStart(region);
        long entries = len / DESC_SIZE;
        // Each entry adds at least one segment, so the chain's capacity ends a long table (TOO_MANY_SEGMENTS).
        for (long i = 0; i < entries; i++) {
            long e = tableBase + i * DESC_SIZE;
            int flags = Short.toUnsignedInt(table.get(U16, e + DESC_FLAGS_OFFSET));
            if ((flags & VRING_DESC_F_INDIRECT) != 0) return chain.broken(DescriptorChain.NESTED_INDIRECT);
            long bufferAddr = table.get(U64, e + DESC_ADDR_OFFSET);
            long bufferLen = Integer.toUnsignedLong(table.get(U32, e + DESC_LEN_OFFSET));
            if (!chain.addBuffer(memory, cache, bufferAddr, bufferLen, (flags & VRING_DESC_F_WRITE) != 0)) return false;
        }
        return true;
    }

    @Override
    public void readChain(int head, DescriptorChain chain) {
        // A packed chain's ring slots may hold used entries or new chains by now: see readCopiedChain.
        Check.that(false, "packed rings resubmit from descriptor copies (readCopiedChain), not by head", head);
    }

    /** The flags of ring slot {@code position} of a descriptor ring, before any queue is built on it (reconnect). */
    public static int ringFlags(MemorySegment ring, int position) {
        return Short.toUnsignedInt((short) FLAGS.getAcquire(ring, descAt(position) + DESC_FLAGS_OFFSET));
    }

    /** Writes ring descriptor {@code index} of {@code table} (a ring, or copies for {@link #readCopiedChain}). */
    public static void setDescriptor(MemorySegment table, int index, long addr, int len, int id, int flags) {
        long at = descAt(index);
        table.set(U64, at + DESC_ADDR_OFFSET, addr);
        table.set(U32, at + DESC_LEN_OFFSET, len);
        table.set(U16, at + DESC_ID_OFFSET, (short) id);
        table.set(U16, at + DESC_FLAGS_OFFSET, (short) flags);
    }

    // The raw fields of ring slot {@code position}, for an inflight region to copy when a chain is taken.
    public long descAddr(int position) { return desc.get(U64, descAt(position) + DESC_ADDR_OFFSET); }
    public int descLen(int position) { return desc.get(U32, descAt(position) + DESC_LEN_OFFSET); }
    public int descId(int position) { return Short.toUnsignedInt(desc.get(U16, descAt(position) + DESC_ID_OFFSET)); }
    public int descFlags(int position) { return Short.toUnsignedInt(desc.get(U16, descAt(position) + DESC_FLAGS_OFFSET)); }

    /**
     * Rebuilds a chain a previous back-end had taken from copies of its {@code count} ring descriptors, laid out
     * as ring descriptors in {@code copies} (16 bytes each, from offset 0): the same walk and checks as
     * {@link #pop}, without the AVAIL/USED bits (the copies were taken when the chain was available). A chain
     * that was broken when taken ({@code brokenReason} != OK) is broken again, with no buffer. The chain has no
     * ring position ({@link DescriptorChain#ringPosition()} -1: {@link #lastWritableByte} finds nothing), and
     * its used entry skips {@code count} slots. Control path (reconnect).
     */
    public void readCopiedChain(MemorySegment copies, int count, int brokenReason, DescriptorChain chain) {
        Check.that(count >= 1 && count <= size && copies.byteSize() >= ringBytes(count), "copied chain of 1..size descriptors", count);
        int id = Short.toUnsignedInt(copies.get(U16, descAt(count - 1) + DESC_ID_OFFSET));
        chain.reset(id);
        chain.ringExtent(-1, count);
        if (id >= size) {
            chain.broken(DescriptorChain.BUFFER_ID_OUT_OF_RANGE);
            return;
        }
        if (brokenReason != DescriptorChain.OK) {
            chain.broken(brokenReason);
            return;
        }
        int headFlags = Short.toUnsignedInt(copies.get(U16, DESC_FLAGS_OFFSET));
        if (count == 1 && (headFlags & VRING_DESC_F_INDIRECT) != 0) walkIndirect(copies, 0, chain);
        else walkRing(copies, count, 0, count, chain);
    }

    @Override
    public MemorySegment lastWritableByte(DescriptorChain chain) {
        int count = chain.ringDescriptors();
        int head = chain.ringPosition();
        if (count <= 0 || count > size || head < 0 || head >= size) return null; // -1: a resubmitted copy
        // A stale descriptor's buffer may be the driver's for something else by now: write nothing there.
        if (chain.brokenReason() == DescriptorChain.DESCRIPTOR_NOT_AVAILABLE) return null;
        int lastPos = (head + count - 1) % size;
        MemorySegment table = desc;
        long at = descAt(lastPos);
        if (count == 1 && (Short.toUnsignedInt(desc.get(U16, at + DESC_FLAGS_OFFSET)) & VRING_DESC_F_INDIRECT) != 0) {
            long addr = desc.get(U64, at + DESC_ADDR_OFFSET);
            long len = Integer.toUnsignedLong(desc.get(U32, at + DESC_LEN_OFFSET));
            if (!indirect || len == 0 || len % DESC_SIZE != 0 || !memory.containsInOneRegion(addr, len)) return null;
            int region = memory.regionOf(addr);
            table = memory.region(region);
            at = addr - memory.regionGpaStart(region) + len - DESC_SIZE;
        }
        int flags = Short.toUnsignedInt(table.get(U16, at + DESC_FLAGS_OFFSET));
        long addr = table.get(U64, at + DESC_ADDR_OFFSET);
        long len = Integer.toUnsignedLong(table.get(U32, at + DESC_LEN_OFFSET));
        if ((flags & (VRING_DESC_F_WRITE | VRING_DESC_F_INDIRECT)) != VRING_DESC_F_WRITE || len == 0
                || addr < 0 || addr > Long.MAX_VALUE - (len - 1)) {
            return null;
        }
        return memory.gpa(addr + len - 1, 1);
    }

    @Override
    public void pushUsed(DescriptorChain chain, int writtenBytes) {
        int id = chain.head();
        int count = chain.ringDescriptors();
        Check.that(id >= 0 && id < size, "used buffer id in range", id);
        Check.that(count >= 1 && count <= size, "used chain occupied 1..size ring slots", count);
        Check.that(pendingUsed < size, "at most queue-size used entries pending", pendingUsed);
        long at = descAt(usedPos);
        // 2.8.22: id and len before flags. Plain stores: the batch is published by a release in publishUsed.
        desc.set(U16, at + DESC_ID_OFFSET, (short) id);
        desc.set(U32, at + DESC_LEN_OFFSET, writtenBytes);
        int flags = (usedWrap ? VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED : 0)
                | (writtenBytes != 0 ? VRING_DESC_F_WRITE : 0);
        if (pendingUsed == 0) {
            batchFirstPos = usedPos;   // its flags are stored last: the driver sees the batch at once
            batchFirstFlags = flags;
        } else {
            desc.set(U16, at + DESC_FLAGS_OFFSET, (short) flags);
        }
        pendingUsed++;
        usedPos += count; // skip every slot the chain occupied (2.8.6), whatever order chains are used in
        if (usedPos >= size) {
            usedPos -= size;
            usedWrap = !usedWrap;
        }
    }

    @Override
    public boolean publishUsed() {
        if (pendingUsed == 0) return false;
        pendingUsed = 0;
        // 2.8.21: every used descriptor of the batch (and the data) visible before the first one's flags.
        FLAGS.setRelease(desc, descAt(batchFirstPos) + DESC_FLAGS_OFFSET, (short) batchFirstFlags);
        return needsInterrupt();
    }

    /** 2.8.10: after publishing, whether the driver's event suppression area asks for an interrupt. */
    private boolean needsInterrupt() {
        // Our flags store must be ordered before the load of the driver's area (Dekker with the driver).
        VarHandle.fullFence();
        int flags = Short.toUnsignedInt(driverEvent.get(U16, EVENT_FLAGS_OFFSET));
        int oldPos = signalledUsed;
        boolean oldWrap = signalledUsedWrap;
        boolean valid = signalledUsedValid;
        signalledUsed = usedPos;
        signalledUsedWrap = usedWrap;
        signalledUsedValid = true;
        if (flags == RING_EVENT_FLAGS_DISABLE) return false;
        if (flags != RING_EVENT_FLAGS_DESC || !eventIdx) return true; // ENABLE, or a value we do not know: notify
        if (!valid) return true;
        int offWrap = Short.toUnsignedInt(driverEvent.get(U16, EVENT_OFF_WRAP_OFFSET));
        return needEvent(offWrap, usedPos, usedWrap, oldPos, oldWrap, size);
    }

    /**
     * Whether the driver's event (offset, wrap) lies among the used slots written since the last decision,
     * (old, new]. Positions are unwrapped onto one line, new's lap being the reference.
     */
    public static boolean needEvent(int offWrap, int newPos, boolean newWrap, int oldPos, boolean oldWrap, int size) {
        int event = offWrap & OFFSET_MASK;
        if (((offWrap & WRAP_BIT) != 0) != newWrap) event -= size; // the event is on the previous lap
        int old = oldWrap == newWrap ? oldPos : oldPos - size;
        return event >= old && event < newPos;
    }

    @Override
    public boolean enableNotifications() {
        if (eventIdx) {
            // Kick me once the driver makes the descriptor at lastAvail (this lap) available.
            deviceEvent.set(U16, EVENT_OFF_WRAP_OFFSET, (short) encode(lastAvail, availWrap));
            FLAGS.setRelease(deviceEvent, (long) EVENT_FLAGS_OFFSET, (short) RING_EVENT_FLAGS_DESC);
        } else {
            FLAGS.setRelease(deviceEvent, (long) EVENT_FLAGS_OFFSET, (short) RING_EVENT_FLAGS_ENABLE);
        }
        // Our store must be visible before we re-read the next descriptor, or a kick could be lost.
        VarHandle.fullFence();
        return hasAvailable();
    }

    @Override
    public void disableNotifications() {
        deviceEvent.set(U16, EVENT_FLAGS_OFFSET, (short) RING_EVENT_FLAGS_DISABLE);
    }
}
