package io.basalt.vhost.blk;

import io.basalt.shims.Check;
import io.basalt.vhost.virtio.DescriptorChain;
import io.basalt.vhost.virtio.PackedVirtqueue;
import io.basalt.vhost.virtio.Virtqueue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * One packed virtqueue's part of the INFLIGHT_SHMFD buffer (qemu docs/interop/vhost-user.rst, "Inflight I/O
 * tracking", QueueRegionPacked / DescStatePacked). We allocate the buffer and only a restarted back-end reads it,
 * so the exact layout is ours; we keep the spec's structs. Little-endian, N = queue size:
 * <pre>
 * queue region (queueRegionBytes(N) = 32 + 32 N rounded up to 64)
 *  0 features              u64  0
 *  8 version               u16  1 (0 = never initialised)
 * 10 desc_num              u16  N
 * 12 free_head             u16  head of the free entry list (working copy)
 * 14 old_free_head         u16  committed free_head
 * 16 used_idx              u16  ring position of the next used descriptor (working copy)
 * 18 old_used_idx          u16  committed used_idx: what the driver has been shown
 * 20 used_wrap_counter     u8
 * 21 old_used_wrap_counter u8
 * 32 desc[N]               DescStatePacked, 32 bytes each:
 *      0 inflight u8   1 on a chain's head entry while the request is with us
 *      1 broken   u8   (the spec's padding) the chain's DescriptorChain reason when taken, 0 = whole
 *      2 next     u16  free list link; inside a chain, its next entry
 *      4 last     u16  head entry: the chain's last entry
 *      6 num      u16  head entry: ring slots (descriptors) of the chain
 *      8 counter  u64  head entry: take order, to resubmit in order
 *     16 id u16, 18 flags u16, 20 len u32, 24 addr u64: a copy of one ring descriptor of the chain
 * </pre>
 * A chain a ring slot held cannot be read there again after a crash: a used entry or the driver's next chain may
 * have overwritten it (used entries go out of order), so every ring descriptor is copied into entries taken from
 * the free list. Two commit points make every crash recoverable: a take ends by storing {@code old_free_head}; a
 * batch of used entries moves its chains to the free list and records the new used position before the ring
 * publishes them ({@link #batchPublishing}), and clears their flags and stores the {@code old_*} fields after
 * ({@link #batchPublished}). Unlike the spec's sequence, chains go back to the free list only when their batch is
 * published, never as they are pushed: our queue takes new chains between a push and its publication, and a take
 * must not commit a half-returned batch.
 *
 * <p>{@link #recover}, on a reconnect, decides from the ring whether the last batch was published, rolls back
 * what was not committed, and lists the chains still in flight, oldest first. The ring resumes with its used
 * position at {@code old_used_idx} and its avail position past every chain in flight (each chain taken is either
 * used, counted in the used position, or in flight): QEMU's SET_VRING_BASE for a packed ring after a back-end
 * crash is the one it sent at the previous start (it cannot read a packed ring's position back), so the region
 * is the only record of where the ring stands.
 */
public final class PackedInflightRegion implements InflightTracker {
    public static final int FEATURES_OFFSET = 0;
    public static final int VERSION_OFFSET = 8;
    public static final int DESC_NUM_OFFSET = 10;
    public static final int FREE_HEAD_OFFSET = 12;
    public static final int OLD_FREE_HEAD_OFFSET = 14;
    public static final int USED_IDX_OFFSET = 16;
    public static final int OLD_USED_IDX_OFFSET = 18;
    public static final int USED_WRAP_OFFSET = 20;
    public static final int OLD_USED_WRAP_OFFSET = 21;
    public static final int DESC_OFFSET = 32;
    public static final int DESC_STATE_SIZE = 32;
    public static final int DESC_INFLIGHT_OFFSET = 0;
    public static final int DESC_BROKEN_OFFSET = 1;
    public static final int DESC_NEXT_OFFSET = 2;
    public static final int DESC_LAST_OFFSET = 4;
    public static final int DESC_NUM_ENTRY_OFFSET = 6;
    public static final int DESC_COUNTER_OFFSET = 8;
    public static final int DESC_ID_OFFSET = 16;
    public static final int DESC_FLAGS_OFFSET = 18;
    public static final int DESC_LEN_OFFSET = 20;
    public static final int DESC_ADDR_OFFSET = 24;
    public static final int VERSION = 1;
    public static final int QUEUE_REGION_ALIGN = 64;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;

    public static long queueRegionBytes(int queueSize) {
        long raw = DESC_OFFSET + (long) DESC_STATE_SIZE * queueSize;
        return (raw + QUEUE_REGION_ALIGN - 1) & -QUEUE_REGION_ALIGN;
    }

    /** The whole buffer for GET_INFLIGHT_FD: {@code numQueues} regions back to back. */
    public static long totalBytes(int numQueues, int queueSize) {
        return numQueues * queueRegionBytes(queueSize);
    }

    private final MemorySegment region;
    private final int queueSize;
    private final int[] batch;      // head entries of the used entries pushed and not yet published
    private int batchCount;
    private long counter;
    private long untracked;
    private int resumeUsedIdx, resumeAvailIdx;

    /**
     * Adopts a queue region: initialises a zeroed one with the ring at vring base {@code base} (position | wrap
     * bit 15), checks the size of one written before ({@link #recover} then reads it).
     */
    public PackedInflightRegion(MemorySegment region, int queueSize, int base) {
        Check.that(queueSize >= 1 && queueSize <= PackedVirtqueue.QUEUE_SIZE_MAX, "packed queue size", queueSize);
        Check.that(region.byteSize() >= queueRegionBytes(queueSize), "inflight region large enough", region.byteSize());
        this.region = region;
        this.queueSize = queueSize;
        this.batch = new int[queueSize];
        int version = u16(VERSION_OFFSET);
        if (version == 0) {
            initialise(base);
        } else {
            int descNum = u16(DESC_NUM_OFFSET);
            if (version != VERSION || descNum != queueSize) {
                throw new IllegalArgumentException("packed inflight region version " + version + " for " + descNum
                        + " descriptors, expected version 1 for " + queueSize);
            }
            for (int i = 0; i < queueSize; i++) counter = Math.max(counter, region.get(U64, descAt(i) + DESC_COUNTER_OFFSET));
        }
        resumeUsedIdx = resumeAvailIdx = encodedUsed(OLD_USED_IDX_OFFSET, OLD_USED_WRAP_OFFSET);
    }

    private void initialise(int base) {
        region.fill((byte) 0);
        for (int i = 0; i < queueSize; i++) region.set(U16, descAt(i) + DESC_NEXT_OFFSET, (short) (i + 1)); // N ends it
        int position = base & PackedVirtqueue.OFFSET_MASK;
        byte wrap = (byte) ((base & PackedVirtqueue.WRAP_BIT) != 0 ? 1 : 0);
        region.set(U16, USED_IDX_OFFSET, (short) position);
        region.set(U16, OLD_USED_IDX_OFFSET, (short) position);
        region.set(U8, USED_WRAP_OFFSET, wrap);
        region.set(U8, OLD_USED_WRAP_OFFSET, wrap);
        region.set(U16, DESC_NUM_OFFSET, (short) queueSize);
        VarHandle.storeStoreFence(); // the version says the rest is valid
        region.set(U16, VERSION_OFFSET, (short) VERSION);
    }

    private static long descAt(int entry) {
        return DESC_OFFSET + (long) DESC_STATE_SIZE * entry;
    }

    private int u16(long offset) { return Short.toUnsignedInt(region.get(U16, offset)); }
    private int next(int entry) { return u16(descAt(entry) + DESC_NEXT_OFFSET); }
    private void setU16(long offset, int value) { region.set(U16, offset, (short) value); }

    private int encodedUsed(long idxOffset, long wrapOffset) {
        return PackedVirtqueue.encode(u16(idxOffset) & PackedVirtqueue.OFFSET_MASK, region.get(U8, wrapOffset) != 0);
    }

    @Override
    public int queueSize() { return queueSize; }

    /** Chains not recorded because the free list ran out (a driver exceeding its ring). */
    public long untracked() { return untracked; }

    public boolean isInflight(int entry) { return region.get(U8, descAt(entry) + DESC_INFLIGHT_OFFSET) != 0; }

    /** The committed used position (position | wrap bit 15). */
    public int usedIdx() { return encodedUsed(OLD_USED_IDX_OFFSET, OLD_USED_WRAP_OFFSET); }

    /**
     * Copies the chain's ring descriptors into entries from the free list, marks the head entry in flight, then
     * commits the take ({@code old_free_head}). A crash before the commit leaves the entries free and the chain
     * unrecorded: recovery resumes the avail position before it, so it is taken again from the ring.
     */
    @Override
    public int markInflight(DescriptorChain chain, Virtqueue vq) {
        PackedVirtqueue ring = (PackedVirtqueue) vq;
        int count = chain.ringDescriptors();
        int position = chain.ringPosition();
        Check.that(count >= 1 && count <= queueSize && position >= 0 && position < queueSize, "a chain popped from the ring", count);
        int head = u16(FREE_HEAD_OFFSET);
        int entry = head, last = head;
        for (int i = 0; i < count; i++) {
            if (entry >= queueSize) {
                untracked++;
                return -1;
            }
            int slot = position + i < queueSize ? position + i : position + i - queueSize;
            long at = descAt(entry);
            region.set(U64, at + DESC_ADDR_OFFSET, ring.descAddr(slot));
            region.set(U32, at + DESC_LEN_OFFSET, ring.descLen(slot));
            setU16(at + DESC_ID_OFFSET, ring.descId(slot));
            setU16(at + DESC_FLAGS_OFFSET, ring.descFlags(slot));
            last = entry;
            entry = next(entry);
        }
        long h = descAt(head);
        setU16(h + DESC_NUM_ENTRY_OFFSET, count);
        setU16(h + DESC_LAST_OFFSET, last);
        region.set(U64, h + DESC_COUNTER_OFFSET, ++counter);
        region.set(U8, h + DESC_BROKEN_OFFSET, (byte) chain.brokenReason());
        VarHandle.storeStoreFence(); // the copies before the flag that makes them count
        region.set(U8, h + DESC_INFLIGHT_OFFSET, (byte) 1);
        VarHandle.storeStoreFence();
        setU16(FREE_HEAD_OFFSET, entry);
        setU16(OLD_FREE_HEAD_OFFSET, entry); // commit
        return head;
    }

    @Override
    public void addToBatch(int entry) {
        if (entry >= 0) batch[batchCount++] = entry;
    }

    /** Returns the batch's chains to the free list and records the used position, all before the ring publishes. */
    @Override
    public void batchPublishing(int usedIdx) {
        int free = u16(FREE_HEAD_OFFSET);
        for (int i = 0; i < batchCount; i++) {
            int head = batch[i];
            setU16(descAt(u16(descAt(head) + DESC_LAST_OFFSET)) + DESC_NEXT_OFFSET, free);
            free = head;
        }
        setU16(FREE_HEAD_OFFSET, free);
        setU16(USED_IDX_OFFSET, usedIdx & PackedVirtqueue.OFFSET_MASK);
        region.set(U8, USED_WRAP_OFFSET, (byte) ((usedIdx & PackedVirtqueue.WRAP_BIT) != 0 ? 1 : 0));
        VarHandle.storeStoreFence(); // recorded before the driver can see the batch
    }

    /** The batch is visible: its flags cleared, then the working copies committed. */
    @Override
    public void batchPublished(int usedIdx) {
        for (int i = 0; i < batchCount; i++) region.set(U8, descAt(batch[i]) + DESC_INFLIGHT_OFFSET, (byte) 0);
        batchCount = 0;
        VarHandle.storeStoreFence();
        setU16(OLD_FREE_HEAD_OFFSET, u16(FREE_HEAD_OFFSET));
        setU16(OLD_USED_IDX_OFFSET, u16(USED_IDX_OFFSET));
        region.set(U8, OLD_USED_WRAP_OFFSET, region.get(U8, USED_WRAP_OFFSET));
    }

    /**
     * Reconnect (control path, before the ring is served): an uncommitted batch whose first used descriptor is in
     * the ring ({@code ring}, the descriptor ring) was published, so it is committed; anything else uncommitted
     * is rolled back. Chains on the free list are not in flight. Returns the head entries still in flight, oldest
     * first, and sets {@link #resumeUsedIdx} and {@link #resumeAvailIdx}.
     */
    public int[] recover(MemorySegment ring) {
        Check.that(ring.byteSize() >= PackedVirtqueue.ringBytes(queueSize), "descriptor ring of the region's size", ring.byteSize());
        int committed = encodedUsed(OLD_USED_IDX_OFFSET, OLD_USED_WRAP_OFFSET);
        if (encodedUsed(USED_IDX_OFFSET, USED_WRAP_OFFSET) != committed) {
            int flags = PackedVirtqueue.ringFlags(ring, committed & PackedVirtqueue.OFFSET_MASK);
            // Not published, the slot still holds the chain the driver made available in that lap.
            if (!PackedVirtqueue.isAvailable(flags, (committed & PackedVirtqueue.WRAP_BIT) != 0)) {
                batchCount = 0;
                batchPublished(0);
            }
        }
        setU16(FREE_HEAD_OFFSET, u16(OLD_FREE_HEAD_OFFSET));
        setU16(USED_IDX_OFFSET, u16(OLD_USED_IDX_OFFSET));
        region.set(U8, USED_WRAP_OFFSET, region.get(U8, OLD_USED_WRAP_OFFSET));
        for (int e = u16(FREE_HEAD_OFFSET), steps = 0; e < queueSize && steps < queueSize; e = next(e), steps++) {
            region.set(U8, descAt(e) + DESC_INFLIGHT_OFFSET, (byte) 0);
        }
        List<long[]> heads = new ArrayList<>();
        long slots = 0;
        for (int i = 0; i < queueSize; i++) {
            if (!isInflight(i)) continue;
            int num = u16(descAt(i) + DESC_NUM_ENTRY_OFFSET);
            if (num < 1 || num > queueSize) throw new IllegalArgumentException("packed inflight entry " + i + " of " + num + " descriptors");
            slots += num;
            heads.add(new long[] {region.get(U64, descAt(i) + DESC_COUNTER_OFFSET), i});
        }
        if (slots > queueSize) throw new IllegalArgumentException("packed inflight region holds " + slots + " ring slots, ring has " + queueSize);
        heads.sort((a, b) -> Long.compare(a[0], b[0]));
        int[] out = new int[heads.size()];
        for (int i = 0; i < out.length; i++) out[i] = (int) heads.get(i)[1];
        resumeUsedIdx = usedIdx();
        int position = (resumeUsedIdx & PackedVirtqueue.OFFSET_MASK) + (int) slots;
        boolean wrap = (resumeUsedIdx & PackedVirtqueue.WRAP_BIT) != 0;
        if (position >= queueSize) {
            position -= queueSize;
            wrap = !wrap;
        }
        resumeAvailIdx = PackedVirtqueue.encode(position, wrap);
        return out;
    }

    /** After {@link #recover}: where the ring's used descriptors continue (position | wrap bit 15). */
    public int resumeUsedIdx() { return resumeUsedIdx; }

    /** After {@link #recover}: where the ring's next available chain is, past every chain in flight. */
    public int resumeAvailIdx() { return resumeAvailIdx; }

    /** Rebuilds a chain in flight from its copied descriptors (as ring descriptors, for the ring's own walk). */
    @Override
    public void readChain(int head, Virtqueue vq, DescriptorChain chain) {
        Check.that(head >= 0 && head < queueSize && isInflight(head), "an entry in flight", head);
        long h = descAt(head);
        int count = u16(h + DESC_NUM_ENTRY_OFFSET);
        MemorySegment copies = MemorySegment.ofArray(new byte[(int) PackedVirtqueue.ringBytes(count)]); // reconnect only
        int entry = head;
        for (int i = 0; i < count; i++) {
            Check.that(entry < queueSize, "chain entries inside the region", entry);
            long at = descAt(entry);
            PackedVirtqueue.setDescriptor(copies, i, region.get(U64, at + DESC_ADDR_OFFSET), region.get(U32, at + DESC_LEN_OFFSET),
                    u16(at + DESC_ID_OFFSET), u16(at + DESC_FLAGS_OFFSET));
            entry = next(entry);
        }
        ((PackedVirtqueue) vq).readCopiedChain(copies, count, region.get(U8, h + DESC_BROKEN_OFFSET), chain);
    }
}
