package io.basalt.vhost.frontend;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The driver's side of one virtqueue (what Linux's virtio_ring.c does for a guest): requests are posted as
 * descriptor lists built in shared memory, the device's used entries are taken back, and kicks are sent only when
 * the device asked for them. A request's descriptors are given one by one ({@link #begin}, {@link #add},
 * {@link #publish}); with indirect descriptors they go to the slot's own table and the ring gets one entry per
 * request. Owned by one reactor thread; no allocation.
 */
abstract sealed class DriverRing permits SplitDriverRing, PackedDriverRing {
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int DESC_SIZE = 16;
    /** Flags shared by both layouts (virtio 2.7.5, 2.8.x): NEXT, WRITE, INDIRECT. */
    static final int F_NEXT = 1, F_WRITE = 2, F_INDIRECT = 4;
    /** {@link #takeUsed} found nothing. */
    static final int NONE = -1;
    /** {@link #takeUsed} found an entry naming no request in flight: the device broke the ring. */
    static final int GARBAGE = -2;

    final int size;
    final boolean eventIdx;
    final boolean indirect;
    /** Descriptors one request may use (header, data chunks, status). */
    final int descsPerSlot;
    /** Per slot: guest address and segment of its indirect table (null without indirect). */
    final long[] tableGpa;
    final MemorySegment[] table;
    /** Descriptors of the request being built, and of each slot's request in flight (packed direct needs them). */
    int building;
    final int[] descCount;
    int usedLen;

    DriverRing(int size, boolean eventIdx, boolean indirect, int descsPerSlot, int slots, long[] tableGpa, MemorySegment[] table) {
        this.size = size;
        this.eventIdx = eventIdx;
        this.indirect = indirect;
        this.descsPerSlot = descsPerSlot;
        this.tableGpa = tableGpa;
        this.table = table;
        this.descCount = new int[slots];
    }

    /** Requests that can be in flight at once. */
    static int slots(int size, boolean indirect, int descsPerSlot) {
        return indirect ? size : size / descsPerSlot;
    }

    /** Starts the descriptor list of {@code slot}'s request. */
    void begin(int slot) {
        building = 0;
    }

    /** Appends one buffer to the list; {@code deviceWrites} for buffers the device fills (read data, status). */
    final void add(int slot, long gpa, int lengthBytes, boolean deviceWrites) {
        int flags = deviceWrites ? F_WRITE : 0;
        if (indirect) {
            addIndirect(table[slot], building, gpa, lengthBytes, flags);
        } else {
            addDirect(slot, building, gpa, lengthBytes, flags);
        }
        building++;
    }

    /** One entry of an indirect table, in the ring layout's own descriptor format. */
    abstract void addIndirect(MemorySegment table, int index, long gpa, int lengthBytes, int flags);

    abstract void addDirect(int slot, int index, long gpa, int lengthBytes, int flags);

    /** Makes the request built since {@link #begin} available to the device (no kick yet). */
    abstract void publish(int slot);

    /** Whether the device wants a kick for what was published since the last call (EVENT_IDX, NO_NOTIFY). */
    abstract boolean kickNeeded();

    /** The slot of the next used request ({@link #usedLen} its written bytes), {@link #NONE}, or {@link #GARBAGE}. */
    abstract int takeUsed(boolean[] inFlight);

    /**
     * Asks the device to signal the call eventfd for the next used request; returns true when one already arrived
     * in the meantime (take it before sleeping).
     */
    abstract boolean armInterrupt();
}
