package io.basalt.vhost.blk;

import io.basalt.shims.Check;
import io.basalt.vhost.virtio.DescriptorChain;
import io.basalt.vhost.virtio.Virtqueue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * One split virtqueue's part of the VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD buffer (qemu
 * docs/interop/vhost-user.rst, "Inflight I/O tracking", QueueRegionSplit). We allocate the buffer (the
 * back-end answers GET_INFLIGHT_FD), so its exact layout is ours; we follow the spec's structs. Native byte
 * order (the front-end never reads it; a restarted back-end on the same host does): little-endian here.
 * <pre>
 * queue region (queueRegionBytes(N) = 16 + 16 N rounded up to 64; queue q starts at q x queueRegionBytes(N))
 *  0 features        u64  0
 *  8 version         u16  1 (0 = never initialised)
 * 10 desc_num        u16  N, the queue size
 * 12 last_batch_head u16  head of the list of the last used batch
 * 14 used_idx        u16  used idx after the last completed batch
 * 16 desc[N]         DescStateSplit, 16 bytes each:
 *      0 inflight u8   1 while the head's request is with us
 *      1 padding[5]
 *      6 next     u16  link in the last-batch list
 *      8 counter  u64  pop order, for resubmission in order
 * </pre>
 * Protocol: {@link #markInflight} when a head is popped (before its I/O is submitted); {@link #addToBatch}
 * for every used entry pushed; {@link #batchPublished} after used idx was stored. {@link #recover} applies the
 * reconnect rule and lists the heads to resubmit, oldest first.
 */
public final class InflightRegion implements InflightTracker {
    public static final int FEATURES_OFFSET = 0;
    public static final int VERSION_OFFSET = 8;
    public static final int DESC_NUM_OFFSET = 10;
    public static final int LAST_BATCH_HEAD_OFFSET = 12;
    public static final int USED_IDX_OFFSET = 14;
    public static final int DESC_OFFSET = 16;
    public static final int DESC_STATE_SIZE = 16;
    public static final int DESC_INFLIGHT_OFFSET = 0;
    public static final int DESC_NEXT_OFFSET = 6;
    public static final int DESC_COUNTER_OFFSET = 8;
    public static final int VERSION = 1;
    public static final int QUEUE_REGION_ALIGN = 64;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

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
    private long counter;
    private int batchSize;

    /** Adopts a queue region: initialises a zeroed one, checks the size of one written before. */
    public InflightRegion(MemorySegment region, int queueSize) {
        Check.that(region.byteSize() >= queueRegionBytes(queueSize), "inflight region large enough", region.byteSize());
        this.region = region;
        this.queueSize = queueSize;
        int version = Short.toUnsignedInt(region.get(U16, VERSION_OFFSET));
        if (version == 0) {
            region.fill((byte) 0);
            region.set(U64, FEATURES_OFFSET, 0);
            region.set(U16, DESC_NUM_OFFSET, (short) queueSize);
            region.set(U16, VERSION_OFFSET, (short) VERSION);
        } else {
            int descNum = Short.toUnsignedInt(region.get(U16, DESC_NUM_OFFSET));
            if (version != VERSION || descNum != queueSize) {
                throw new IllegalArgumentException("inflight region version " + version + " for " + descNum
                        + " descriptors, expected version 1 for " + queueSize);
            }
            for (int i = 0; i < queueSize; i++) counter = Math.max(counter, region.get(U64, descAt(i) + DESC_COUNTER_OFFSET));
        }
    }

    private static long descAt(int head) {
        return DESC_OFFSET + (long) DESC_STATE_SIZE * head;
    }

    @Override
    public int queueSize() { return queueSize; }

    /** Split rings: the entry is the chain's head descriptor index. */
    @Override
    public int markInflight(DescriptorChain chain, Virtqueue vq) {
        markInflight(chain.head());
        return chain.head();
    }

    /** The split layout records the batch as it is pushed ({@link #addToBatch}): nothing to do before publishing. */
    @Override
    public void batchPublishing(int usedIdx) {}

    @Override
    public void readChain(int head, Virtqueue vq, DescriptorChain chain) {
        vq.readChain(head, chain); // a split chain is found again from its head in the descriptor table
    }

    /** The request at {@code head} is with us from now on. */
    public void markInflight(int head) {
        long at = descAt(head);
        region.set(U64, at + DESC_COUNTER_OFFSET, ++counter);
        VarHandle.storeStoreFence(); // counter before the flag: a reader trusting the flag sees its counter
        region.set(ValueLayout.JAVA_BYTE, at + DESC_INFLIGHT_OFFSET, (byte) 1);
    }

    /** A used entry for {@code head} was pushed: link it into the last-batch list. */
    @Override
    public void addToBatch(int head) {
        region.set(U16, descAt(head) + DESC_NEXT_OFFSET, region.get(U16, LAST_BATCH_HEAD_OFFSET));
        region.set(U16, LAST_BATCH_HEAD_OFFSET, (short) head);
        batchSize++;
    }

    /** Used idx {@code usedIdx} is visible to the driver: clear the batch's flags, then record used_idx. */
    @Override
    public void batchPublished(int usedIdx) {
        int head = Short.toUnsignedInt(region.get(U16, LAST_BATCH_HEAD_OFFSET));
        for (int i = 0; i < batchSize; i++) {
            long at = descAt(head);
            region.set(ValueLayout.JAVA_BYTE, at + DESC_INFLIGHT_OFFSET, (byte) 0);
            head = Short.toUnsignedInt(region.get(U16, at + DESC_NEXT_OFFSET));
            if (head >= queueSize) break;
        }
        batchSize = 0;
        VarHandle.storeStoreFence(); // flags cleared before used_idx says the batch is done
        region.set(U16, USED_IDX_OFFSET, (short) usedIdx);
    }

    public boolean isInflight(int head) {
        return region.get(ValueLayout.JAVA_BYTE, descAt(head) + DESC_INFLIGHT_OFFSET) != 0;
    }

    public int usedIdx() { return Short.toUnsignedInt(region.get(U16, USED_IDX_OFFSET)); }

    /**
     * Reconnect (control path): if the last batch was published to the used ring ({@code ringUsedIdx}) but
     * not recorded here, finish its bookkeeping; then return the heads still in flight, oldest first.
     */
    public int[] recover(int ringUsedIdx) {
        int recorded = usedIdx();
        if (recorded != ringUsedIdx) {
            int batch = (ringUsedIdx - recorded) & 0xFFFF;
            int head = Short.toUnsignedInt(region.get(U16, LAST_BATCH_HEAD_OFFSET));
            for (int i = 0; i < batch && i < queueSize && head < queueSize; i++) {
                long at = descAt(head);
                region.set(ValueLayout.JAVA_BYTE, at + DESC_INFLIGHT_OFFSET, (byte) 0);
                head = Short.toUnsignedInt(region.get(U16, at + DESC_NEXT_OFFSET));
            }
            region.set(U16, USED_IDX_OFFSET, (short) ringUsedIdx);
        }
        List<long[]> heads = new ArrayList<>();
        for (int i = 0; i < queueSize; i++) {
            if (isInflight(i)) heads.add(new long[] {region.get(U64, descAt(i) + DESC_COUNTER_OFFSET), i});
        }
        heads.sort((a, b) -> Long.compare(a[0], b[0]));
        int[] out = new int[heads.size()];
        for (int i = 0; i < out.length; i++) out[i] = (int) heads.get(i)[1];
        return out;
    }
}
