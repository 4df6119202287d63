package io.basalt.vhost.frontend;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * A split ring from the driver's side (virtio 1.2, 2.7): the descriptor table, the avail ring the driver
 * writes and the used ring the device writes. With indirect descriptors, slot s's request is descriptor s of the
 * table pointing at the slot's own table; without, slot s owns descriptors [s x perSlot, (s + 1) x perSlot).
 */
final class SplitDriverRing extends DriverRing {
    private static final int AVAIL_IDX = 2, AVAIL_RING = 4, USED_IDX = 2, USED_RING = 4, USED_ELEM = 8;
    private static final int USED_F_NO_NOTIFY = 1;
    private static final VarHandle INDEX = java.lang.foreign.ValueLayout.JAVA_SHORT.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN).varHandle();

    private final MemorySegment desc, avail, used;
    private int availIdx, kickedIdx, lastUsed;

    SplitDriverRing(MemorySegment desc, MemorySegment avail, MemorySegment used, int size, boolean eventIdx, boolean indirect,
                    int descsPerSlot, int slots, long[] tableGpa, MemorySegment[] table) {
        super(size, eventIdx, indirect, descsPerSlot, slots, tableGpa, table);
        this.desc = desc;
        this.avail = avail;
        this.used = used;
    }

    static long descBytes(int size) { return (long) DESC_SIZE * size; }
    static long availBytes(int size) { return AVAIL_RING + 2L * size + 2; }
    static long usedBytes(int size) { return USED_RING + (long) USED_ELEM * size + 2; }

    private int head(int slot) {
        return indirect ? slot : slot * descsPerSlot;
    }

    private void setDesc(int index, long gpa, int lengthBytes, int flags, int next) {
        long at = (long) index * DESC_SIZE;
        desc.set(U64, at, gpa);
        desc.set(U32, at + 8, lengthBytes);
        desc.set(U16, at + 12, (short) flags);
        desc.set(U16, at + 14, (short) next);
    }

    /** Split layout (2.7.5.3): entries chained by NEXT and their table index. */
    @Override
    void addIndirect(MemorySegment table, int index, long gpa, int lengthBytes, int flags) {
        long at = (long) index * DESC_SIZE;
        table.set(U64, at, gpa);
        table.set(U32, at + 8, lengthBytes);
        table.set(U16, at + 12, (short) flags);
        table.set(U16, at + 14, (short) (index + 1));
        if (index > 0) table.set(U16, at - DESC_SIZE + 12, (short) (table.get(U16, at - DESC_SIZE + 12) | F_NEXT));
    }

    @Override
    void addDirect(int slot, int index, long gpa, int lengthBytes, int flags) {
        int d = head(slot) + index;
        setDesc(d, gpa, lengthBytes, flags, d + 1);
        if (index > 0) desc.set(U16, (long) (d - 1) * DESC_SIZE + 12, (short) (desc.get(U16, (long) (d - 1) * DESC_SIZE + 12) | F_NEXT));
    }

    @Override
    void publish(int slot) {
        int head = head(slot);
        if (indirect) setDesc(head, tableGpa[slot], building * DESC_SIZE, F_INDIRECT, 0);
        descCount[slot] = building;
        avail.set(U16, AVAIL_RING + 2L * (availIdx % size), (short) head);
        availIdx = (availIdx + 1) & 0xFFFF;
        INDEX.setRelease(avail, (long) AVAIL_IDX, (short) availIdx); // 2.7.13: the entry before the index
    }

    @Override
    boolean kickNeeded() {
        if (availIdx == kickedIdx) return false;
        int old = kickedIdx;
        kickedIdx = availIdx;
        VarHandle.fullFence(); // our avail idx store before the device's suppression fields are read (2.7.13.4)
        if (eventIdx) {
            int event = Short.toUnsignedInt(used.get(U16, USED_RING + (long) USED_ELEM * size));
            return io.basalt.vhost.virtio.SplitVirtqueue.needEvent(event, availIdx, old);
        }
        return (used.get(U16, 0) & USED_F_NO_NOTIFY) == 0;
    }

    @Override
    int takeUsed(boolean[] inFlight) {
        int usedIdx = Short.toUnsignedInt((short) INDEX.getAcquire(used, (long) USED_IDX));
        if (usedIdx == lastUsed) return NONE;
        long at = USED_RING + (long) USED_ELEM * (lastUsed % size);
        int id = used.get(U32, at);
        usedLen = used.get(U32, at + 4);
        lastUsed = (lastUsed + 1) & 0xFFFF;
        if (id < 0 || id >= size) return GARBAGE;
        int slot;
        if (indirect) {
            slot = id;
        } else {
            if (id % descsPerSlot != 0) return GARBAGE;
            slot = id / descsPerSlot;
        }
        return slot < inFlight.length && inFlight[slot] ? slot : GARBAGE;
    }

    @Override
    boolean armInterrupt() {
        if (eventIdx) avail.set(U16, AVAIL_RING + 2L * size, (short) lastUsed); // used_event: signal at the next entry
        VarHandle.fullFence();
        return Short.toUnsignedInt((short) INDEX.getAcquire(used, (long) USED_IDX)) != lastUsed;
    }
}
