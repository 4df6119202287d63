package io.basalt.vhost.frontend;

import io.basalt.vhost.virtio.PackedVirtqueue;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * A packed ring from the driver's side (virtio 1.2, 2.8): one descriptor ring both sides write, plus the driver
 * and device event suppression areas. Buffer id = slot. Descriptors go in ring order; the head's flags are stored
 * last, after a release fence, so the device never sees half a list (2.8.21). The driver's wrap counter starts
 * at 1, which is why the vring base sent is {@link #INITIAL_BASE}.
 */
final class PackedDriverRing extends DriverRing {
    static final int F_AVAIL = PackedVirtqueue.VRING_PACKED_DESC_F_AVAIL, F_USED = PackedVirtqueue.VRING_PACKED_DESC_F_USED;
    /** SET_VRING_BASE for a fresh packed ring: position 0, wrap counter 1 (bit 15). */
    static final int INITIAL_BASE = PackedVirtqueue.WRAP_BIT;
    private static final VarHandle FLAGS = java.lang.foreign.ValueLayout.JAVA_SHORT.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN).varHandle();

    private final MemorySegment ring, driverEvent, deviceEvent;
    private int nextAvail, kickedPos, usedPos, headPos, headFlags;
    private boolean availWrap = true, kickedWrap = true, usedWrap = true;

    PackedDriverRing(MemorySegment ring, MemorySegment driverEvent, MemorySegment deviceEvent, int size, boolean eventIdx,
                     boolean indirect, int descsPerSlot, int slots, long[] tableGpa, MemorySegment[] table) {
        super(size, eventIdx, indirect, descsPerSlot, slots, tableGpa, table);
        this.ring = ring;
        this.driverEvent = driverEvent;
        this.deviceEvent = deviceEvent;
        // Calls for every used buffer: the reactor polls anyway, the call only wakes it from sleep.
        driverEvent.set(U16, PackedVirtqueue.EVENT_FLAGS_OFFSET, (short) PackedVirtqueue.RING_EVENT_FLAGS_ENABLE);
    }

    static long ringBytes(int size) { return (long) DESC_SIZE * size; }

    private int lapBits() {
        return availWrap ? F_AVAIL : F_USED;
    }

    /** Writes a descriptor at the next ring position; the head's flags wait for {@link #publish}. */
    private void put(int slot, long gpa, int lengthBytes, int flags) {
        long at = (long) nextAvail * DESC_SIZE;
        ring.set(U64, at, gpa);
        ring.set(U32, at + 8, lengthBytes);
        ring.set(U16, at + 12, (short) slot);
        int full = flags | lapBits();
        if (building == 0) {
            headPos = nextAvail;
            headFlags = full;
        } else {
            ring.set(U16, at + 14, (short) full);
        }
        if (++nextAvail == size) {
            nextAvail = 0;
            availWrap = !availWrap;
        }
    }

    /** Packed layout (2.8.19): addr, len, id (ignored), flags; entries are taken in order, without NEXT. */
    @Override
    void addIndirect(MemorySegment table, int index, long gpa, int lengthBytes, int flags) {
        long at = (long) index * DESC_SIZE;
        table.set(U64, at, gpa);
        table.set(U32, at + 8, lengthBytes);
        table.set(U16, at + 12, (short) 0);
        table.set(U16, at + 14, (short) flags);
    }

    @Override
    void addDirect(int slot, int index, long gpa, int lengthBytes, int flags) {
        if (index > 0) {
            // The previous descriptor gets NEXT: it is the head (flags still held back) or already in the ring.
            if (index == 1) headFlags |= F_NEXT;
            else {
                int prev = (nextAvail - 1 + size) % size;
                long at = (long) prev * DESC_SIZE + 14;
                ring.set(U16, at, (short) (ring.get(U16, at) | F_NEXT));
            }
        }
        put(slot, gpa, lengthBytes, flags);
    }

    @Override
    void publish(int slot) {
        if (indirect) {
            int count = building;
            building = 0;
            put(slot, tableGpa[slot], count * DESC_SIZE, F_INDIRECT);
            descCount[slot] = 1;
        } else {
            descCount[slot] = building;
        }
        FLAGS.setRelease(ring, (long) headPos * DESC_SIZE + 14, (short) headFlags);
    }

    @Override
    boolean kickNeeded() {
        if (nextAvail == kickedPos && availWrap == kickedWrap) return false;
        int oldPos = kickedPos;
        boolean oldWrap = kickedWrap;
        kickedPos = nextAvail;
        kickedWrap = availWrap;
        VarHandle.fullFence();
        int flags = Short.toUnsignedInt(deviceEvent.get(U16, PackedVirtqueue.EVENT_FLAGS_OFFSET));
        if (flags == PackedVirtqueue.RING_EVENT_FLAGS_DISABLE) return false;
        if (flags != PackedVirtqueue.RING_EVENT_FLAGS_DESC || !eventIdx) return true;
        int offWrap = Short.toUnsignedInt(deviceEvent.get(U16, PackedVirtqueue.EVENT_OFF_WRAP_OFFSET));
        return PackedVirtqueue.needEvent(offWrap, nextAvail, availWrap, oldPos, oldWrap, size);
    }

    @Override
    int takeUsed(boolean[] inFlight) {
        long at = (long) usedPos * DESC_SIZE;
        int flags = Short.toUnsignedInt((short) FLAGS.getAcquire(ring, at + 14));
        boolean avail = (flags & F_AVAIL) != 0, used = (flags & F_USED) != 0;
        if (avail != usedWrap || used != usedWrap) return NONE;
        int id = Short.toUnsignedInt(ring.get(U16, at + 12));
        usedLen = ring.get(U32, at + 8);
        if (id >= inFlight.length || !inFlight[id]) return GARBAGE;
        usedPos += descCount[id];
        if (usedPos >= size) {
            usedPos -= size;
            usedWrap = !usedWrap;
        }
        return id;
    }

    @Override
    boolean armInterrupt() {
        VarHandle.fullFence();
        int flags = Short.toUnsignedInt((short) FLAGS.getAcquire(ring, (long) usedPos * DESC_SIZE + 14));
        return ((flags & F_AVAIL) != 0) == usedWrap && ((flags & F_USED) != 0) == usedWrap;
    }
}
