package io.basalt.vhost;

import io.basalt.vhost.memory.GuestMemory;
import io.basalt.vhost.memory.SliceCache;
import io.basalt.vhost.virtio.PackedVirtqueue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Plays a packed-ring guest driver (virtio 2.8, as Linux virtio_ring.c does it) on memfd guest memory, with
 * the regions of {@link GuestDriver}: the descriptor ring, the driver event area and the device event area
 * at the start of region A, data buffers from a bump allocator. Buffer ids come from a free list; the
 * driver remembers how many ring slots each id's chain took, to skip them when it is used. Adding a chain
 * and taking a used one allocate nothing (the allocation test relies on it).
 */
public final class PackedGuestDriver implements AutoCloseable {
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle FLAGS = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    static final int AVAIL = PackedVirtqueue.VRING_PACKED_DESC_F_AVAIL, USED = PackedVirtqueue.VRING_PACKED_DESC_F_USED;

    /**
     * The slice cache is direct-mapped: two buffers of a working set that hash to one entry evict each other
     * and cost a slice per use. 4096 entries leave the allocation test's 96 buffers collision-free.
     */
    public static final int SLICE_CACHE_ENTRIES = 4096;

    public final GuestMemory memory;
    public final int size;
    public final long ringGpa, driverEventGpa, deviceEventGpa;
    public final MemorySegment ring, driverEvent, deviceEvent;
    private final long dataStart;
    private long bump;
    private int nextAvail;
    private boolean availWrap = true;
    private int usedPos;
    private boolean usedWrap = true;
    private final int[] freeIds;
    private int freeCount;
    private final int[] slotsOfId;
    /** Last used entry taken: id and len. */
    public int usedId, usedLen;

    public PackedGuestDriver(int size) {
        this.memory = GuestMemory.ofMemfd(GuestDriver.UVA_BASE, new long[] {GuestDriver.REGION_A, GuestDriver.REGION_B, GuestDriver.REGION_C},
                new long[] {GuestDriver.REGION_A_BYTES, GuestDriver.REGION_B_BYTES, GuestDriver.REGION_C_BYTES});
        this.size = size;
        ringGpa = 0;
        driverEventGpa = GuestDriver.align(ringGpa + PackedVirtqueue.ringBytes(size), 64);
        deviceEventGpa = driverEventGpa + 64;
        dataStart = GuestDriver.align(deviceEventGpa + 64, 4096);
        bump = dataStart;
        ring = at(ringGpa, PackedVirtqueue.ringBytes(size));
        driverEvent = at(driverEventGpa, 4);
        deviceEvent = at(deviceEventGpa, 4);
        freeIds = new int[size];
        for (int i = 0; i < size; i++) freeIds[i] = size - 1 - i;
        freeCount = size;
        slotsOfId = new int[size];
    }

    public PackedVirtqueue queue(long features) {
        return queue(features, PackedVirtqueue.WRAP_BIT);
    }

    /** A device queue starting at vring base {@code base}; the driver starts at the same place. */
    public PackedVirtqueue queue(long features, int base) {
        nextAvail = usedPos = base & PackedVirtqueue.OFFSET_MASK;
        availWrap = usedWrap = (base & PackedVirtqueue.WRAP_BIT) != 0;
        return new PackedVirtqueue(memory, ring, driverEvent, deviceEvent, size, features, base, new SliceCache(SLICE_CACHE_ENTRIES));
    }

    public long alloc(long bytes, long alignment) {
        long at = GuestDriver.align(bump, alignment);
        if (at + bytes > GuestDriver.REGION_A_BYTES) at = GuestDriver.align(dataStart, alignment);
        bump = at + bytes;
        return at;
    }

    public MemorySegment at(long gpa, long bytes) {
        MemorySegment s = memory.gpa(gpa, bytes);
        if (s == null) throw new IllegalArgumentException("not guest memory: 0x" + Long.toHexString(gpa));
        return s;
    }

    public int freeIds() { return freeCount; }
    /** The buffer id the next {@link #chain} takes. */
    public int peekFreeId() { return freeIds[freeCount - 1]; }
    public int freeSlots() { int inFlight = 0; for (int i = 0; i < size; i++) inFlight += slotsOfId[i]; return size - inFlight; }
    public int nextAvail() { return PackedVirtqueue.encode(nextAvail, availWrap); }

    public static void setDesc(MemorySegment table, int index, long addr, int len, int id, int flags) {
        long at = (long) index * 16;
        table.set(U64, at, addr);
        table.set(U32, at + 8, len);
        table.set(U16, at + 12, (short) id);
        table.set(U16, at + 14, (short) flags);
    }

    private int availFlags() {
        return availWrap ? AVAIL : USED;
    }

    /**
     * Makes a direct chain of {@code n} buffers available (virtio 2.8.21: the head's flags written last, with
     * release). Every descriptor carries the id. Returns the buffer id.
     */
    public int chain(long[] gpas, int[] lens, boolean[] writable, int n) {
        if (freeCount == 0) throw new IllegalStateException("no free buffer id");
        int id = freeIds[--freeCount];
        slotsOfId[id] = n;
        int head = nextAvail;
        int headFlags = 0;
        for (int i = 0; i < n; i++) {
            int flags = availFlags() | (writable[i] ? PackedVirtqueue.VRING_DESC_F_WRITE : 0)
                    | (i + 1 < n ? PackedVirtqueue.VRING_DESC_F_NEXT : 0);
            setDesc(ring, nextAvail, gpas[i], lens[i], id, i == 0 ? 0 : flags);
            if (i == 0) headFlags = flags;
            if (++nextAvail == size) {
                nextAvail = 0;
                availWrap = !availWrap;
            }
        }
        FLAGS.setRelease(ring, (long) head * 16 + 14, (short) headFlags);
        return id;
    }

    public int chain(long[] gpas, int[] lens, boolean[] writable) {
        return chain(gpas, lens, writable, gpas.length);
    }

    /** An indirect chain: one ring slot pointing at a table of {@code n} descriptors at {@code tableGpa}. */
    public int indirectChain(long tableGpa, long[] gpas, int[] lens, boolean[] writable, int n) {
        MemorySegment table = at(tableGpa, 16L * n);
        for (int i = 0; i < n; i++) setDesc(table, i, gpas[i], lens[i], 0, writable[i] ? PackedVirtqueue.VRING_DESC_F_WRITE : 0);
        if (freeCount == 0) throw new IllegalStateException("no free buffer id");
        int id = freeIds[--freeCount];
        slotsOfId[id] = 1;
        int head = nextAvail;
        setDesc(ring, head, tableGpa, 16 * n, id, 0);
        int flags = availFlags() | PackedVirtqueue.VRING_DESC_F_INDIRECT;
        if (++nextAvail == size) {
            nextAvail = 0;
            availWrap = !availWrap;
        }
        FLAGS.setRelease(ring, (long) head * 16 + 14, (short) flags);
        return id;
    }

    public int indirectChain(long[] gpas, int[] lens, boolean[] writable) {
        return indirectChain(alloc(16L * gpas.length, 16), gpas, lens, writable, gpas.length);
    }

    /** Takes the next used descriptor into {@link #usedId} / {@link #usedLen}; false when there is none. */
    public boolean takeUsed() {
        int flags = Short.toUnsignedInt((short) FLAGS.getAcquire(ring, (long) usedPos * 16 + 14));
        boolean avail = (flags & AVAIL) != 0, used = (flags & USED) != 0;
        if (avail != usedWrap || used != usedWrap) return false;
        usedId = Short.toUnsignedInt(ring.get(U16, (long) usedPos * 16 + 12));
        usedLen = ring.get(U32, (long) usedPos * 16 + 8);
        if (usedId >= size || slotsOfId[usedId] == 0) throw new IllegalStateException("device used id " + usedId + " not in flight");
        usedPos += slotsOfId[usedId];
        if (usedPos >= size) {
            usedPos -= size;
            usedWrap = !usedWrap;
        }
        slotsOfId[usedId] = 0;
        freeIds[freeCount++] = usedId;
        return true;
    }

    public void setDriverEvent(int flags, int offWrap) {
        driverEvent.set(U16, 0, (short) offWrap);
        driverEvent.set(U16, 2, (short) flags);
    }

    public int deviceEventFlags() { return Short.toUnsignedInt(deviceEvent.get(U16, 2)); }
    public int deviceEventOffWrap() { return Short.toUnsignedInt(deviceEvent.get(U16, 0)); }

    @Override
    public void close() {
        memory.close();
    }
}
