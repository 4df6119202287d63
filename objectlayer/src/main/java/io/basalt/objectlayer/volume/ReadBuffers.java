package io.basalt.objectlayer.volume;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The native buffers records are read into (GET, HEAD, compaction), reused: sizes in powers of two from a page to
 * {@link #CLASS_BYTES_MAX} (a record is at most a chunk and its header), each size a lock-free free list, all of them
 * together holding at most {@link #CACHED_BYTES_MAX}. A buffer comes back only after its read completed (a read that
 * failed or timed out may still land in it, so it is dropped to the GC instead); larger records, and whatever the
 * lists cannot hold when many reads run at once, are plain GC-managed allocations as before.
 */
final class ReadBuffers {
    private static final int CLASS_BYTES_MIN = 4096;
    private static final int CLASS_BYTES_MAX = 2 << 20;
    private static final long CACHED_BYTES_MAX = 16L << 20;

    private final VolumeIo io;
    private final int minBytes;
    private final ConcurrentLinkedQueue<MemorySegment>[] free;
    private final AtomicLong cachedBytes = new AtomicLong();
    private final AtomicLong allocations = new AtomicLong();

    @SuppressWarnings("unchecked")
    ReadBuffers(VolumeIo io) {
        this.io = io;
        this.minBytes = Math.max(CLASS_BYTES_MIN, io.blockBytes());
        int classes = 1;
        for (long size = minBytes; size < CLASS_BYTES_MAX; size <<= 1) classes++;
        this.free = new ConcurrentLinkedQueue[classes];
        for (int i = 0; i < classes; i++) free[i] = new ConcurrentLinkedQueue<>();
    }

    /** A buffer of at least {@code bytes} (a pooled size when one fits). */
    MemorySegment take(long bytes) {
        int c = classOf(bytes);
        if (c < 0) return allocate(bytes);
        MemorySegment b = free[c].poll();
        if (b == null) return allocate((long) minBytes << c);
        cachedBytes.addAndGet(-b.byteSize());
        return b;
    }

    /** Gives back a buffer from {@link #take} whose I/O has completed; kept if its size is pooled and there is room. */
    void give(MemorySegment b) {
        int c = classOf(b.byteSize());
        if (c < 0 || b.byteSize() != (long) minBytes << c) return;
        if (cachedBytes.addAndGet(b.byteSize()) > CACHED_BYTES_MAX) {
            cachedBytes.addAndGet(-b.byteSize());
            return;
        }
        free[c].offer(b);
    }

    /** Native allocations so far (tests: reads reuse buffers). */
    long allocations() {
        return allocations.get();
    }

    private MemorySegment allocate(long bytes) {
        allocations.incrementAndGet();
        return io.buffer(bytes);
    }

    /** The smallest class holding {@code bytes}, or -1 when larger than every class. */
    private int classOf(long bytes) {
        if (bytes > CLASS_BYTES_MAX) return -1;
        int c = 0;
        for (long size = minBytes; size < bytes; size <<= 1) c++;
        return c < free.length ? c : -1;
    }
}
