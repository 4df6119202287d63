package io.basalt.nvmeof.initiator;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * CRC32C (the NVMe/TCP header and data digest: seed ~0, final ~crc, as {@link CRC32C} computes it) over ranges of
 * any native memory, allocating nothing once warm. {@link CRC32C#update(ByteBuffer)} on a direct buffer runs the
 * JDK's intrinsic and allocates nothing, but {@code segment.asByteBuffer()} makes a buffer object per call, and the
 * initiator digests the caller's buffers (a new segment per request). So this keeps a few ByteBuffer views of
 * 1.5 GiB windows of the address space, each starting on a 1 GiB boundary, made on first use: a range of a
 * segment is then a position and a limit set on the view of its window. Caller buffers come from a few arenas (the
 * reactor's buffer pool, guest memory), so after warm-up every range falls in a cached window. Only the bytes of the
 * caller's segment are ever read through a view. One owner thread (a channel's reactor or a SyncQueue).
 */
final class SegmentCrc32c {
    private static final int WINDOW_SHIFT = 30;
    /** Less than the 2 GiB a ByteBuffer can span, more than a window: a range up to 512 MiB fits its window's view. */
    private static final long VIEW_BYTES = 3L << 29;
    private static final int WINDOWS = 16;

    private final CRC32C crc = new CRC32C();
    private final long[] windowKeys = new long[WINDOWS];
    private final ByteBuffer[] views = new ByteBuffer[WINDOWS];

    SegmentCrc32c() {
        java.util.Arrays.fill(windowKeys, -1);
    }

    void reset() {
        crc.reset();
    }

    /** Adds bytes [offsetBytes, offsetBytes + lengthBytes) of {@code segment} (bounds checked by the slice rules). */
    void update(MemorySegment segment, long offsetBytes, long lengthBytes) {
        if (lengthBytes == 0) return;
        java.util.Objects.checkFromIndexSize(offsetBytes, lengthBytes, segment.byteSize());
        long address = segment.address() + offsetBytes;
        long key = address >>> WINDOW_SHIFT;
        long into = address - (key << WINDOW_SHIFT);
        if (!segment.isNative() || into + lengthBytes > VIEW_BYTES) {
            crc.update(segment.asSlice(offsetBytes, lengthBytes).asByteBuffer()); // a heap or huge buffer: not the data path
            return;
        }
        ByteBuffer view = view(key);
        view.limit((int) (into + lengthBytes)).position((int) into);
        crc.update(view);
        view.clear();
    }

    /** The digest as it goes on the wire (little-endian u32 of this value). */
    int value() {
        return (int) crc.getValue();
    }

    /** CRC32C of one range, from a fresh start. */
    int of(MemorySegment segment, long offsetBytes, long lengthBytes) {
        reset();
        update(segment, offsetBytes, lengthBytes);
        return value();
    }

    private ByteBuffer view(long key) {
        int i = (int) (key ^ (key >>> 4)) & (WINDOWS - 1);
        if (windowKeys[i] != key) {
            views[i] = MemorySegment.ofAddress(key << WINDOW_SHIFT).reinterpret(VIEW_BYTES).asByteBuffer();
            windowKeys[i] = key;
        }
        return views[i];
    }
}
