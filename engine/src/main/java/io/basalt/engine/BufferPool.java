package io.basalt.engine;

import io.basalt.shims.Check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Fixed-size, aligned, off-heap data buffers carved from one slab, owned by one reactor. The slab is
 * registered with that reactor's io_uring as fixed buffer 0, so any I/O whose buffer lies inside it runs as
 * READ_FIXED / WRITE_FIXED (no page pinning per I/O). Acquire and release are O(1) and allocate nothing; an
 * empty pool answers -1 and the caller retries later (it never falls back to allocating).
 */
public final class BufferPool implements AutoCloseable {
    public static final int ALIGNMENT_BYTES = 4096;

    private final Arena arena;
    private final MemorySegment slab;
    private final MemorySegment[] buffers;
    private final int[] freeStack;
    private final boolean[] inUse;
    private final int bufferBytes;
    private int freeCount;

    public BufferPool(int bufferBytes, int bufferCount) {
        Check.positive(bufferCount, "bufferCount");
        Check.that(bufferBytes > 0 && bufferBytes % ALIGNMENT_BYTES == 0, "buffer size a multiple of 4 KiB", bufferBytes);
        this.bufferBytes = bufferBytes;
        this.arena = Arena.ofShared();
        this.slab = arena.allocate((long) bufferBytes * bufferCount, ALIGNMENT_BYTES);
        this.buffers = new MemorySegment[bufferCount];
        this.freeStack = new int[bufferCount];
        this.inUse = new boolean[bufferCount];
        for (int i = 0; i < bufferCount; i++) {
            buffers[i] = slab.asSlice((long) i * bufferBytes, bufferBytes);
            freeStack[i] = bufferCount - 1 - i;
        }
        freeCount = bufferCount;
    }

    public int bufferBytes() { return bufferBytes; }
    public int bufferCount() { return buffers.length; }
    public int freeCount() { return freeCount; }
    public MemorySegment slab() { return slab; }

    /** A free buffer's index, or -1 when none is free. */
    public int acquire() {
        if (freeCount == 0) return -1;
        int index = freeStack[--freeCount];
        inUse[index] = true;
        return index;
    }

    public MemorySegment buffer(int index) {
        Check.that(inUse[index], "buffer in use", index);
        return buffers[index];
    }

    public void release(int index) {
        Check.that(inUse[index], "double release of buffer", index);
        inUse[index] = false;
        freeStack[freeCount++] = index;
    }

    /** Whether {@code [address, address + length)} lies inside the slab. */
    public boolean contains(long address, long lengthBytes) {
        long base = slab.address();
        return address >= base && lengthBytes >= 0 && address + lengthBytes <= base + slab.byteSize();
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
