package io.basalt.vhost;

import io.basalt.vhost.memory.GuestMemory;
import io.basalt.vhost.memory.SliceCache;
import io.basalt.vhost.virtio.SplitVirtqueue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Plays the guest driver on memfd guest memory: writes descriptors and the avail ring, reads the used ring.
 * Guest memory: region A [0, 8 MiB) and region B [8 MiB, 16 MiB) adjacent in GPA (separate memfds, so
 * separate mappings), and region C [1 GiB, 1 GiB + 4 MiB) after a hole. Rings live at the start of A; data
 * buffers come from a bump allocator.
 */
public final class GuestDriver implements AutoCloseable {
    public static final long UVA_BASE = 0x7f00_0000_0000L;
    public static final long REGION_A = 0, REGION_B = 8 << 20, REGION_C = 1L << 30;
    public static final long REGION_A_BYTES = 8 << 20, REGION_B_BYTES = 8 << 20, REGION_C_BYTES = 4 << 20;
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public final GuestMemory memory;
    public final int size;
    public final long descGpa, availGpa, usedGpa;
    public final MemorySegment desc, avail, used;
    private final long dataStart;
    private long bump;
    private int nextDesc;
    private int availIdx;
    private int usedSeen;

    public GuestDriver(int size) {
        this.memory = GuestMemory.ofMemfd(UVA_BASE, new long[] {REGION_A, REGION_B, REGION_C},
                new long[] {REGION_A_BYTES, REGION_B_BYTES, REGION_C_BYTES});
        this.size = size;
        descGpa = 0;
        availGpa = align(descGpa + SplitVirtqueue.descTableBytes(size), 64);
        usedGpa = align(availGpa + SplitVirtqueue.availRingBytes(size), 4096);
        dataStart = align(usedGpa + SplitVirtqueue.usedRingBytes(size), 4096);
        bump = dataStart;
        desc = memory.uva(UVA_BASE + descGpa, SplitVirtqueue.descTableBytes(size));
        avail = memory.uva(UVA_BASE + availGpa, SplitVirtqueue.availRingBytes(size));
        used = memory.uva(UVA_BASE + usedGpa, SplitVirtqueue.usedRingBytes(size));
    }

    public static long align(long v, long a) { return (v + a - 1) & -a; }

    public SplitVirtqueue queue(long features) {
        return queue(features, 0);
    }

    public SplitVirtqueue queue(long features, int lastAvail) {
        return new SplitVirtqueue(memory, desc, avail, used, size, features, lastAvail, new SliceCache(1024));
    }

    /** Guest-physical bytes from the bump allocator (region A), aligned. */
    public long alloc(long bytes, long alignment) {
        long at = align(bump, alignment);
        if (at + bytes > REGION_A_BYTES) at = align(dataStart, alignment); // wrap: tests reuse memory
        bump = at + bytes;
        return at;
    }

    public void resetAlloc() { bump = dataStart; nextDesc = 0; }

    public MemorySegment at(long gpa, long bytes) {
        MemorySegment s = memory.gpa(gpa, bytes);
        if (s == null) throw new IllegalArgumentException("not guest memory: 0x" + Long.toHexString(gpa));
        return s;
    }

    public int takeDesc() {
        int d = nextDesc;
        nextDesc = (nextDesc + 1) % size;
        return d;
    }

    public void setDesc(MemorySegment table, int index, long addr, int len, int flags, int next) {
        long at = (long) index * 16;
        table.set(U64, at, addr);
        table.set(U32, at + 8, len);
        table.set(U16, at + 12, (short) flags);
        table.set(U16, at + 14, (short) next);
    }

    /** A direct chain over buffers (gpa, len, writable); returns the head. */
    public int chain(long[] gpas, int[] lens, boolean[] writable) {
        int n = gpas.length;
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = takeDesc();
        for (int i = 0; i < n; i++) {
            int flags = (writable[i] ? SplitVirtqueue.VRING_DESC_F_WRITE : 0) | (i + 1 < n ? SplitVirtqueue.VRING_DESC_F_NEXT : 0);
            setDesc(desc, ids[i], gpas[i], lens[i], flags, i + 1 < n ? ids[i + 1] : 0);
        }
        return ids[0];
    }

    /** An indirect chain: one descriptor pointing at a table in guest memory. */
    public int indirectChain(long[] gpas, int[] lens, boolean[] writable) {
        int n = gpas.length;
        long tableGpa = alloc(16L * n, 16);
        MemorySegment table = at(tableGpa, 16L * n);
        for (int i = 0; i < n; i++) {
            int flags = (writable[i] ? SplitVirtqueue.VRING_DESC_F_WRITE : 0) | (i + 1 < n ? SplitVirtqueue.VRING_DESC_F_NEXT : 0);
            setDesc(table, i, gpas[i], lens[i], flags, i + 1 < n ? i + 1 : 0);
        }
        int head = takeDesc();
        setDesc(desc, head, tableGpa, 16 * n, SplitVirtqueue.VRING_DESC_F_INDIRECT, 0);
        return head;
    }

    /** Makes {@code head} available: ring entry, then avail idx with release (the driver's side of 2.7.13). */
    public void publish(int head) {
        avail.set(U16, 4 + 2L * (availIdx % size), (short) head);
        availIdx = (availIdx + 1) & 0xFFFF;
        VarHandle.releaseFence();
        avail.set(U16, 2, (short) availIdx);
    }

    public void setAvailIdx(int idx) {
        availIdx = idx & 0xFFFF;
        avail.set(U16, 2, (short) availIdx);
    }

    public int availIdx() { return availIdx; }
    public int usedIdx() { VarHandle.acquireFence(); return Short.toUnsignedInt(used.get(U16, 2)); }
    public int newUsed() { return (usedIdx() - usedSeen) & 0xFFFF; }
    public int usedSeen() { return usedSeen; }

    /** The next used entry {id, len}; advances. */
    public long[] takeUsed() {
        if (newUsed() == 0) return null;
        long at = 4 + 8L * (usedSeen % size);
        long[] e = {Integer.toUnsignedLong(used.get(U32, at)), Integer.toUnsignedLong(used.get(U32, at + 4))};
        usedSeen = (usedSeen + 1) & 0xFFFF;
        return e;
    }

    public void setUsedEvent(int idx) { avail.set(U16, 4 + 2L * size, (short) idx); }
    public int availEvent() { return Short.toUnsignedInt(used.get(U16, 4 + 8L * size)); }
    public void setAvailFlags(int flags) { avail.set(U16, 0, (short) flags); }
    public int usedFlags() { return Short.toUnsignedInt(used.get(U16, 0)); }

    @Override
    public void close() {
        memory.close();
    }
}
