package io.basalt.objectlayer.volume;

import io.basalt.objectlayer.store.ObjectMeta;
import io.basalt.objectlayer.store.Xxhash64;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Rebuilds a volume mountpath's index at open (docs/objects.md, "Recovery"): the newest checkpoint whose header and
 * body check, then a replay, in segment sequence order, of every record from its position P on. A segment's scan
 * ends at the first record that is not valid (bad magic or checksum, another life of the segment, data not matching
 * its xxhash64): nothing after it was ever acknowledged. A COMMIT whose DATA extents were not all found valid (a
 * torn, unacknowledged PUT) is dropped.
 */
final class Recovery {
    /** What open found. */
    record State(VolumeIndex index, Segments segments, List<Integer> free, long lastSegmentSeq, long nextRecordSeq,
                 int lastBucketId, long checkpointSeq, long replayedRecords, boolean fromCheckpoint) {}

    private final VolumeLayout layout;
    private final VolumeIo io;
    private final VolumeIndex index = new VolumeIndex();
    private final Segments segments;
    private final long[] headerSeq;
    private final Set<Long> validData = new HashSet<>();
    private long positionSeq;
    private int positionBlock;
    private long nextRecordSeq = 1;
    private int lastBucketId;
    private long replayed;

    private Recovery(VolumeLayout layout, VolumeIo io) {
        this.layout = layout;
        this.io = io;
        this.segments = new Segments(layout.segmentCount(), layout.blockBytes());
        this.headerSeq = new long[layout.segmentCount()];
    }

    static State recover(VolumeLayout layout, VolumeIo io) throws IOException {
        return new Recovery(layout, io).run();
    }

    private State run() throws IOException {
        Checkpoints.Header ckpt = loadCheckpoint();
        long lastSegmentSeq = ckpt == null ? 0 : ckpt.lastSegmentSeq();
        MemorySegment block = io.buffer(layout.blockBytes());
        List<Integer> replay = new ArrayList<>();
        for (int s = 0; s < layout.segmentCount(); s++) {
            io.read(layout.segmentOffset(s), block);
            headerSeq[s] = LogRecord.segmentSeq(block.asByteBuffer(), layout.mountpathId(), s);
            lastSegmentSeq = Math.max(lastSegmentSeq, headerSeq[s]);
            if (headerSeq[s] != 0 && headerSeq[s] >= positionSeq) replay.add(s);
        }
        replay.sort(Comparator.comparingLong(s -> headerSeq[s]));
        MemorySegment buffer = io.buffer(layout.segmentBytes());
        for (int s : replay) replaySegment(s, buffer);
        // replay moved live bytes about from an unknown start: count them afresh from what is live
        for (int s = 0; s < layout.segmentCount(); s++) segments.liveBytes.set(s, 0);
        for (VolumeIndex.Entry e : index.objects.values()) segments.account(e, 1);
        List<Integer> free = new ArrayList<>();
        for (int s = 0; s < layout.segmentCount(); s++) {
            boolean inUse = headerSeq[s] != 0 && (headerSeq[s] >= positionSeq || segments.liveBytes.get(s) != 0);
            if (inUse) segments.seq.set(s, headerSeq[s]); else free.add(s);
        }
        return new State(index, segments, free, lastSegmentSeq, nextRecordSeq, lastBucketId,
                ckpt == null ? 0 : ckpt.seq(), replayed, ckpt != null);
    }

    /** The newest valid checkpoint, loaded into the index; null (empty index, replay everything) when none is. */
    private Checkpoints.Header loadCheckpoint() throws IOException {
        MemorySegment block = io.buffer(layout.blockBytes());
        List<Checkpoints.Header> headers = new ArrayList<>(2);
        for (long slot : new long[] {layout.checkpointAOffset(), layout.checkpointBOffset()}) {
            io.read(slot, block);
            Checkpoints.Header h = Checkpoints.decodeHeader(block.asByteBuffer(), layout.mountpathId());
            if (h != null && Checkpoints.slotOffset(layout, h.seq()) == slot) headers.add(h);
        }
        headers.sort(Comparator.comparingLong(Checkpoints.Header::seq).reversed());
        for (Checkpoints.Header h : headers) {
            if (Checkpoints.load(layout, io, h, index)) {
                positionSeq = h.positionSegmentSeq();
                positionBlock = h.positionBlock();
                nextRecordSeq = h.nextRecordSeq();
                lastBucketId = h.lastBucketId();
                return h;
            }
            index.clear();
        }
        return null;
    }

    private void replaySegment(int s, MemorySegment buffer) throws IOException {
        io.read(layout.segmentOffset(s), buffer);
        ByteBuffer all = buffer.asByteBuffer();
        int blocks = layout.segmentBlocks();
        int blockBytes = layout.blockBytes();
        for (int b = headerSeq[s] == positionSeq ? Math.max(1, positionBlock) : 1; b < blocks; ) {
            ByteBuffer at = all.slice(b * blockBytes, (blocks - b) * blockBytes);
            LogRecord r = LogRecord.decode(at);
            if (r == null || r.segmentSeq() != headerSeq[s]) return;
            int n = r.blocks(blockBytes);
            if (b + n > blocks) return;
            ByteBuffer data = at.slice(r.headerBytes(), (int) r.dataBytes());
            if (r.dataBytes() > 0 && new Xxhash64().update(data.duplicate()).digest() != r.dataXxhash64()) return;
            apply(r, VolumeLayout.location(s, b), n, data, headerSeq[s]);
            nextRecordSeq = Math.max(nextRecordSeq, r.recordSeq() + 1);
            replayed++;
            b += n;
        }
    }

    private void apply(LogRecord r, long location, int blocks, ByteBuffer data, long seq) {
        switch (r.type()) {
            case LogRecord.DATA -> validData.add(location);
            case LogRecord.COMMIT -> {
                // a commit the log writer let through after its bucket's delete (stores before it checked): dropped
                if (!index.hasBucketId(r.bucketId())) return;
                for (LogRecord.Extent x : r.extents()) {
                    if (!extentValid(x, seq)) return; // a torn PUT: never acknowledged
                }
                ObjectMeta meta = ObjectMeta.parseAll(r.meta()).getFirst();
                VolumeIndex.Entry e = VolumeIndex.entry(location, r.version(), meta.sizeBytes(), meta.lastModifiedMs(),
                        meta.xxhash64(), meta.etag(), blocks, r.extents().toArray(VolumeIndex.NO_EXTENTS));
                index.applyCommit(VolumeIndex.indexKey(r.bucketId(), r.key()), e,
                        (r.flags() & LogRecord.FLAG_RELOCATED) != 0, segments);
            }
            case LogRecord.METADATA -> index.applyMetadata(VolumeIndex.indexKey(r.bucketId(), r.key()), r.putId(),
                    r.version(), location, blocks, segments);
            case LogRecord.TOMBSTONE -> index.applyTombstone(VolumeIndex.indexKey(r.bucketId(), r.key()), segments);
            case LogRecord.BUCKET_CREATE -> {
                index.applyBucketCreate(new String(r.key(), StandardCharsets.UTF_8), r.bucketId(), r.putId());
                lastBucketId = Math.max(lastBucketId, r.bucketId());
            }
            case LogRecord.BUCKET_DELETE -> index.applyBucketDelete(r.bucketId(), segments);
            default -> { } // unknown types: nothing to apply
        }
        data.position(0);
    }

    /**
     * An extent of a commit in a segment of sequence {@code seq} holds its data if the scan found it valid, or it
     * lies before the checkpoint's position P (flushed before the checkpoint; not scanned), or its segment was reused after the
     * commit was written (only possible once the commit had been applied, hence durable with its data).
     */
    private boolean extentValid(LogRecord.Extent x, long seq) {
        long extentSeq = headerSeq[VolumeLayout.segmentOf(x.location())];
        boolean beforePosition = extentSeq < positionSeq
                || extentSeq == positionSeq && VolumeLayout.blockOf(x.location()) < positionBlock;
        return validData.contains(x.location()) || beforePosition || extentSeq > seq;
    }
}
