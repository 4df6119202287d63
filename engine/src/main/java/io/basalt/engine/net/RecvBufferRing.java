package io.basalt.engine.net;

import io.basalt.engine.Reactor;
import io.basalt.shims.Check;
import io.basalt.shims.Errno;
import io.basalt.shims.IoUringAbi;
import io.basalt.shims.NativeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A provided-buffer ring (IORING_REGISTER_PBUF_RING, Linux 5.19) of one reactor: {@code bufferCount} receive buffers
 * of {@code bufferBytes} that the kernel picks from when a RECV with IOSQE_BUFFER_SELECT finds data, so a socket
 * that waits for data holds no buffer. The CQE names the buffer it filled (buffer id in the upper 16 bits of
 * cqe->flags); the owner reads the bytes, then {@link #recycle}s the buffer at once.
 *
 * <p>Layout (include/uapi/linux/io_uring.h, see {@link IoUringAbi}): an array of struct io_uring_buf, page aligned;
 * the 16-bit tail overlays bufs[0].resv (offset 14). The application writes entries at {@code tail & mask}, then
 * publishes the tail with a store-release; the kernel reads the tail with a load-acquire (io_uring/kbuf.c,
 * {@code smp_load_acquire(&br->tail)}), as liburing's {@code io_uring_buf_ring_advance} pairs with it. The kernel
 * keeps its own head and never writes the ring.
 *
 * <p>Owner thread only. Nothing allocates after {@link #open}.
 */
final class RecvBufferRing implements AutoCloseable {
    /** Most entries a buffer ring may have (io_uring/kbuf.c: ring_entries >= 65536 is -EINVAL; liburing: 32768). */
    static final int ENTRIES_MAX = 1 << 15;
    private static final int PAGE_BYTES = 4096;
    /** Buffer group ids tried in turn; another user of this ring (none today) may hold the first ones. */
    private static final int GROUP_IDS_TRIED = 64;
    private static final VarHandle TAIL = JAVA_SHORT.varHandle();

    private final Reactor reactor;
    private final Arena arena;
    private final MemorySegment ring;
    private final MemorySegment[] buffers;
    private final int bufferBytes;
    private final int mask;
    private final int groupId;
    private final boolean[] withKernel;
    private int tail;
    private boolean closed;

    private RecvBufferRing(Reactor reactor, Arena arena, MemorySegment ring, MemorySegment slab, int bufferBytes,
                           int bufferCount, int groupId) {
        this.reactor = reactor;
        this.arena = arena;
        this.ring = ring;
        this.bufferBytes = bufferBytes;
        this.mask = bufferCount - 1;
        this.groupId = groupId;
        this.buffers = new MemorySegment[bufferCount];
        this.withKernel = new boolean[bufferCount];
        for (int bid = 0; bid < bufferCount; bid++) {
            buffers[bid] = slab.asSlice((long) bid * bufferBytes, bufferBytes);
            withKernel[bid] = false;
            recycle(bid);
        }
    }

    /** Allocates the ring and its buffers and registers them with {@code reactor}'s io_uring. Owner thread. */
    static RecvBufferRing open(Reactor reactor, int bufferBytes, int bufferCount) {
        Check.powerOfTwo(bufferCount, "receive buffer count");
        Check.that(bufferCount <= ENTRIES_MAX, "receive buffer count at most 32768", bufferCount);
        Check.that(bufferBytes > 0 && bufferBytes % PAGE_BYTES == 0, "receive buffer size a multiple of 4 KiB", bufferBytes);
        Arena arena = Arena.ofShared();
        try {
            MemorySegment ring = arena.allocate((long) bufferCount * IoUringAbi.BUF_SIZE, PAGE_BYTES);
            MemorySegment slab = arena.allocate((long) bufferCount * bufferBytes, PAGE_BYTES);
            int groupId = register(reactor, ring, bufferCount);
            return new RecvBufferRing(reactor, arena, ring, slab, bufferBytes, bufferCount, groupId);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Registers under the first free group id; throws with the errno when the kernel refuses. */
    private static int register(Reactor reactor, MemorySegment ring, int entries) {
        int r = -Errno.EEXIST;
        for (int id = 0; id < GROUP_IDS_TRIED && r == -Errno.EEXIST; id++) {
            r = reactor.registerBufferRing(ring, entries, id);
            if (r == 0) return id;
        }
        throw new NativeException("IORING_REGISTER_PBUF_RING (" + entries + " entries)", r,
                r == -Errno.EINVAL ? "provided buffer rings need Linux 5.19 or newer" : "");
    }

    /** The buffer group to name in sqe->buf_group. */
    int groupId() { return groupId; }

    int bufferBytes() { return bufferBytes; }

    int bufferCount() { return buffers.length; }

    /** The buffer {@code bid} the kernel named in a CQE, now ours until {@link #recycle}. */
    MemorySegment take(int bid) {
        Check.that(bid >= 0 && bid < buffers.length && withKernel[bid], "CQE names a buffer the kernel holds", bid);
        withKernel[bid] = false;
        return buffers[bid];
    }

    /** Gives buffer {@code bid} back to the kernel: the entry first, then the tail with a store-release. */
    void recycle(int bid) {
        Check.that(!closed && !withKernel[bid], "recycling a buffer the kernel already holds", bid);
        withKernel[bid] = true;
        long entry = (long) (tail & mask) * IoUringAbi.BUF_SIZE;
        ring.set(JAVA_LONG, entry + IoUringAbi.BUF_ADDR_OFFSET, buffers[bid].address());
        ring.set(JAVA_INT, entry + IoUringAbi.BUF_LEN_OFFSET, bufferBytes);
        ring.set(JAVA_SHORT, entry + IoUringAbi.BUF_BID_OFFSET, (short) bid);
        tail++;
        // io_uring.h / kbuf.c: the kernel reads the tail with smp_load_acquire, so publish it with a release.
        TAIL.setRelease(ring, (long) IoUringAbi.BUF_RING_TAIL_OFFSET, (short) tail);
    }

    /** Buffers the kernel may fill now. */
    int withKernelCount() {
        int n = 0;
        for (boolean k : withKernel) if (k) n++;
        return n;
    }

    /** Unregisters the group (no request may still select from it) and frees the buffers. Owner thread. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        reactor.unregisterBufferRing(groupId);
        arena.close();
    }
}
