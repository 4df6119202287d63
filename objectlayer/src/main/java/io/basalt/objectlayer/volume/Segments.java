package io.basalt.objectlayer.volume;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Per-segment state: the sequence number of its current life (0: never written or free), the bytes of live records
 * in it (the index's objects' COMMIT, DATA and METADATA records, kept exact by {@link VolumeIndex}'s mutations),
 * and pins (readers and PUTs in progress that need its content to stay). The log writer changes sequence numbers
 * and live bytes; pins come from any thread; compaction reads all three.
 */
final class Segments {
    final AtomicLongArray seq;
    final AtomicLongArray liveBytes;
    final AtomicIntegerArray pins;
    private final int blockBytes;

    Segments(int count, int blockBytes) {
        this.seq = new AtomicLongArray(count);
        this.liveBytes = new AtomicLongArray(count);
        this.pins = new AtomicIntegerArray(count);
        this.blockBytes = blockBytes;
    }

    int count() {
        return seq.length();
    }

    /** Adds ({@code sign} 1) or removes (-1) an object's records from the live bytes of their segments. */
    void account(VolumeIndex.Entry e, int sign) {
        liveBytes.addAndGet(VolumeLayout.segmentOf(e.location), (long) sign * e.recordBlocks * blockBytes);
        for (LogRecord.Extent x : e.extents()) {
            liveBytes.addAndGet(VolumeLayout.segmentOf(x.location()), (long) sign * x.recordBlocks() * blockBytes);
        }
        if (e.metaLocation() != VolumeIndex.NO_META) {
            liveBytes.addAndGet(VolumeLayout.segmentOf(e.metaLocation()), (long) sign * e.metaBlocks() * blockBytes);
        }
    }

    void pin(VolumeIndex.Entry e) {
        pins.incrementAndGet(VolumeLayout.segmentOf(e.location));
        for (LogRecord.Extent x : e.extents()) pins.incrementAndGet(VolumeLayout.segmentOf(x.location()));
        if (e.metaLocation() != VolumeIndex.NO_META) pins.incrementAndGet(VolumeLayout.segmentOf(e.metaLocation()));
    }

    void unpin(VolumeIndex.Entry e) {
        pins.decrementAndGet(VolumeLayout.segmentOf(e.location));
        for (LogRecord.Extent x : e.extents()) pins.decrementAndGet(VolumeLayout.segmentOf(x.location()));
        if (e.metaLocation() != VolumeIndex.NO_META) pins.decrementAndGet(VolumeLayout.segmentOf(e.metaLocation()));
    }
}
