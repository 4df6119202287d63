package io.basalt.vhost.frontend;

import io.basalt.shims.Libc;
import io.basalt.shims.NativeException;

import java.lang.foreign.MemorySegment;

/**
 * One virtqueue's share of the shared memory and its eventfds, laid out once at open and kept for the drive's life:
 * the ring (split or packed), then per request slot a metadata block (virtio-blk header, status byte, a discard
 * range, the indirect table) and a bounce area of {@code maxTransferBytes} the data is copied through. The ring
 * state lives here too, so a channel opened after another closed continues where it stopped.
 *
 * <pre>
 *   slot metadata: 0 header (16) | 16 status (1) | 32 discard/write-zeroes range (16) | 64 indirect table
 * </pre>
 */
final class FrontendQueue {
    static final int HEADER_OFFSET = 0, STATUS_OFFSET = 16, RANGE_OFFSET = 32, TABLE_OFFSET = 64;
    static final int PAGE_BYTES = 4096;
    private static final int META_ALIGN = 64;

    final int index;
    final int size;
    final int slots;
    final int descsPerSlot;
    final DriverRing ring;
    final long descUva, availUva, usedUva;
    final MemorySegment[] meta;
    final long[] metaGpa;
    final MemorySegment[] bounce;
    final long[] bounceGpa;
    final int kickFd, callFd;
    /** Owned by one channel at a time (the device hands queues out). */
    boolean taken;

    private FrontendQueue(int index, int size, int slots, int descsPerSlot, DriverRing ring, long descUva, long availUva, long usedUva,
                          MemorySegment[] meta, long[] metaGpa, MemorySegment[] bounce, long[] bounceGpa) {
        this.index = index;
        this.size = size;
        this.slots = slots;
        this.descsPerSlot = descsPerSlot;
        this.ring = ring;
        this.descUva = descUva;
        this.availUva = availUva;
        this.usedUva = usedUva;
        this.meta = meta;
        this.metaGpa = metaGpa;
        this.bounce = bounce;
        this.bounceGpa = bounceGpa;
        this.kickFd = (int) NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd (kick)");
        this.callFd = (int) NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd (call)");
    }

    static long align(long value, long to) {
        return (value + to - 1) / to * to;
    }

    static int metaBytes(int descsPerSlot) {
        return (int) align(TABLE_OFFSET + (long) DriverRing.DESC_SIZE * descsPerSlot, META_ALIGN);
    }

    static long ringBytes(int size, boolean packed) {
        if (packed) return align(PackedDriverRing.ringBytes(size) + 8, PAGE_BYTES);
        return align(align(SplitDriverRing.descBytes(size) + SplitDriverRing.availBytes(size), PAGE_BYTES) + SplitDriverRing.usedBytes(size), PAGE_BYTES);
    }

    /** Bytes of shared memory one queue takes. */
    static long bytes(int size, boolean packed, int slots, int descsPerSlot, int bounceBytes) {
        return ringBytes(size, packed) + align((long) slots * metaBytes(descsPerSlot), PAGE_BYTES) + (long) slots * bounceBytes;
    }

    /** Lays the queue out at {@code offset} of the shared memory. */
    static FrontendQueue layOut(SharedMemory memory, long offset, int index, int size, boolean packed, boolean eventIdx,
                                boolean indirect, int descsPerSlot, int bounceBytes) {
        int slots = DriverRing.slots(size, indirect, descsPerSlot);
        int metaBytes = metaBytes(descsPerSlot);
        long metaBase = offset + ringBytes(size, packed);
        long bounceBase = metaBase + align((long) slots * metaBytes, PAGE_BYTES);
        MemorySegment[] meta = new MemorySegment[slots], bounce = new MemorySegment[slots], table = new MemorySegment[slots];
        long[] metaGpa = new long[slots], bounceGpa = new long[slots], tableGpa = new long[slots];
        for (int s = 0; s < slots; s++) {
            long m = metaBase + (long) s * metaBytes;
            meta[s] = memory.at(m, metaBytes);
            metaGpa[s] = memory.gpa(m);
            table[s] = meta[s].asSlice(TABLE_OFFSET);
            tableGpa[s] = metaGpa[s] + TABLE_OFFSET;
            long b = bounceBase + (long) s * bounceBytes;
            bounce[s] = memory.at(b, bounceBytes);
            bounceGpa[s] = memory.gpa(b);
        }
        DriverRing ring;
        long descUva, availUva, usedUva;
        if (packed) {
            long ringAt = offset, driverAt = offset + PackedDriverRing.ringBytes(size), deviceAt = driverAt + 4;
            ring = new PackedDriverRing(memory.at(ringAt, PackedDriverRing.ringBytes(size)), memory.at(driverAt, 4), memory.at(deviceAt, 4),
                    size, eventIdx, indirect, descsPerSlot, slots, tableGpa, table);
            descUva = memory.uva(ringAt);
            availUva = memory.uva(driverAt);
            usedUva = memory.uva(deviceAt);
        } else {
            long descAt = offset, availAt = offset + SplitDriverRing.descBytes(size);
            long usedAt = align(availAt + SplitDriverRing.availBytes(size), PAGE_BYTES);
            ring = new SplitDriverRing(memory.at(descAt, SplitDriverRing.descBytes(size)), memory.at(availAt, SplitDriverRing.availBytes(size)),
                    memory.at(usedAt, SplitDriverRing.usedBytes(size)), size, eventIdx, indirect, descsPerSlot, slots, tableGpa, table);
            descUva = memory.uva(descAt);
            availUva = memory.uva(availAt);
            usedUva = memory.uva(usedAt);
        }
        return new FrontendQueue(index, size, slots, descsPerSlot, ring, descUva, availUva, usedUva, meta, metaGpa, bounce, bounceGpa);
    }

    void closeFds() {
        Libc.close(kickFd);
        Libc.close(callFd);
    }
}
