package io.basalt.jmh;

import io.basalt.vhost.memory.GuestMemory;
import io.basalt.vhost.memory.SliceCache;
import io.basalt.vhost.virtio.DescriptorChain;
import io.basalt.vhost.virtio.SplitVirtqueue;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The vhost back-end's per-request ring work on a split virtqueue: the driver (this benchmark) makes one virtio-blk
 * shaped chain available (16-byte header readable, 4 KiB data and 1-byte status writable), and the back-end pops it
 * (descriptor walk, guest-address translation, bounds checks), pushes it used and publishes the used index. The
 * descriptor table is written once; each op only moves the avail index, as a guest reusing its chains does.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class SplitVirtqueueBenchmark {
    static final long UVA_BASE = 0x7f00_0000_0000L;
    static final long GUEST_BYTES = 4L << 20;
    static final int QUEUE_SIZE = 256;
    static final int DESCRIPTORS_PER_CHAIN = 3;
    static final int CHAINS = QUEUE_SIZE / DESCRIPTORS_PER_CHAIN;
    static final int HEADER_BYTES = 16, DATA_BYTES = 4096, STATUS_BYTES = 1;
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private GuestMemory memory;
    private MemorySegment avail;
    private SplitVirtqueue queue;
    private final DescriptorChain chain = new DescriptorChain(DESCRIPTORS_PER_CHAIN);
    private int availIdx;
    private int nextChain;

    @Setup(Level.Trial)
    public void setUp() {
        memory = GuestMemory.ofMemfd(UVA_BASE, new long[] {0}, new long[] {GUEST_BYTES});
        long descGpa = 0;
        long availGpa = align(descGpa + SplitVirtqueue.descTableBytes(QUEUE_SIZE), 64);
        long usedGpa = align(availGpa + SplitVirtqueue.availRingBytes(QUEUE_SIZE), 4096);
        long dataGpa = align(usedGpa + SplitVirtqueue.usedRingBytes(QUEUE_SIZE), 4096);
        MemorySegment desc = memory.uva(UVA_BASE + descGpa, SplitVirtqueue.descTableBytes(QUEUE_SIZE));
        avail = memory.uva(UVA_BASE + availGpa, SplitVirtqueue.availRingBytes(QUEUE_SIZE));
        MemorySegment used = memory.uva(UVA_BASE + usedGpa, SplitVirtqueue.usedRingBytes(QUEUE_SIZE));
        int chainBytes = HEADER_BYTES + DATA_BYTES + STATUS_BYTES;
        for (int c = 0; c < CHAINS; c++) {
            int head = c * DESCRIPTORS_PER_CHAIN;
            long gpa = dataGpa + (long) c * align(chainBytes, 4096);
            descriptor(desc, head, gpa, HEADER_BYTES, SplitVirtqueue.VRING_DESC_F_NEXT, head + 1);
            descriptor(desc, head + 1, gpa + HEADER_BYTES, DATA_BYTES, SplitVirtqueue.VRING_DESC_F_WRITE | SplitVirtqueue.VRING_DESC_F_NEXT, head + 2);
            descriptor(desc, head + 2, gpa + HEADER_BYTES + DATA_BYTES, STATUS_BYTES, SplitVirtqueue.VRING_DESC_F_WRITE, 0);
        }
        queue = new SplitVirtqueue(memory, desc, avail, used, QUEUE_SIZE, 0, 0, new SliceCache(1024));
    }

    private static long align(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }

    private static void descriptor(MemorySegment table, int index, long gpa, int lengthBytes, int flags, int next) {
        long at = (long) index * SplitVirtqueue.DESC_SIZE;
        table.set(U64, at + SplitVirtqueue.DESC_ADDR_OFFSET, gpa);
        table.set(U32, at + SplitVirtqueue.DESC_LEN_OFFSET, lengthBytes);
        table.set(U16, at + SplitVirtqueue.DESC_FLAGS_OFFSET, (short) flags);
        table.set(U16, at + SplitVirtqueue.DESC_NEXT_OFFSET, (short) next);
    }

    /** Driver: one chain available. Back-end: pop, push used, publish. Returns the bytes the chain offers. */
    @Benchmark
    public long popPushPublish() {
        int head = nextChain * DESCRIPTORS_PER_CHAIN;
        nextChain = nextChain + 1 == CHAINS ? 0 : nextChain + 1;
        avail.set(U16, SplitVirtqueue.AVAIL_RING_OFFSET + 2L * (availIdx & (QUEUE_SIZE - 1)), (short) head);
        availIdx = (availIdx + 1) & 0xFFFF;
        VarHandle.releaseFence();
        avail.set(U16, SplitVirtqueue.AVAIL_IDX_OFFSET, (short) availIdx);
        if (!queue.pop(chain) || chain.isBroken()) throw new IllegalStateException("pop failed: reason " + chain.brokenReason());
        queue.pushUsed(chain, DATA_BYTES + STATUS_BYTES);
        queue.publishUsed();
        return chain.writableBytes();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        memory.close();
    }
}
