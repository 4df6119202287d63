package io.basalt.objectlayer.volume;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Walks the record headers of one segment's life, reading it one stripe-aligned piece of stripe bytes at a time
 * (docs/objects.md, "Compaction"), so compaction's memory is one stripe whatever the segment size. Records' data is
 * skipped, never read: a record that runs past its piece costs nothing unless its header does, and then only that
 * header is read (whole blocks from its start). Single-threaded; one scan per compaction pass, dropped on an I/O
 * error (the device may still write into a buffer whose read failed).
 */
final class SegmentScan {
    private final VolumeLayout layout;
    private final VolumeIo io;
    private final MemorySegment piece;
    private final ByteBuffer pieceBytes;
    private int segment;
    private long segmentSeq;
    /** The next record's block, or the segment's block count once the scan ended. */
    private int block;
    /** Where the piece in memory starts within the segment; -1: none. */
    private long pieceAtBytes = -1;
    private long largestReadBytes;

    SegmentScan(VolumeLayout layout, VolumeIo io) {
        this.layout = layout;
        this.io = io;
        this.piece = io.buffer(layout.stripeBytes());
        this.pieceBytes = piece.asByteBuffer();
    }

    /** Starts a scan of {@code segment}'s records written in its life {@code seq} (records start at block 1). */
    void start(int segment, long seq) {
        this.segment = segment;
        this.segmentSeq = seq;
        this.block = 1;
        this.pieceAtBytes = -1;
    }

    /** The next record's header, or null at the first block holding no valid record of this life. */
    LogRecord next() throws IOException {
        if (block >= layout.segmentBlocks()) return null;
        LogRecord r = header((long) block * layout.blockBytes());
        if (r == null || r.segmentSeq() != segmentSeq) {
            block = layout.segmentBlocks();
            return null;
        }
        block += r.blocks(layout.blockBytes());
        return r;
    }

    /** The largest read this scan made (a stripe, or a header longer than what was left of its piece). */
    long largestReadBytes() {
        return largestReadBytes;
    }

    private LogRecord header(long atBytes) throws IOException {
        int stripe = layout.stripeBytes();
        if (pieceAtBytes < 0 || atBytes < pieceAtBytes || atBytes >= pieceAtBytes + stripe) {
            pieceAtBytes = atBytes / stripe * stripe; // the segment starts on a stripe and is whole stripes
            read(pieceAtBytes, piece);
        }
        // a block is at least 512 bytes, so the header's fixed part is always wholly in the piece
        ByteBuffer here = pieceBytes.slice((int) (atBytes - pieceAtBytes), (int) (pieceAtBytes + stripe - atBytes));
        int claimed = LogRecord.claimedHeaderBytes(here);
        if (claimed < 0) return null;
        if (claimed <= here.remaining()) return LogRecord.decode(here);
        long spanBytes = VolumeLayout.roundUp(claimed, layout.blockBytes());
        if (spanBytes > layout.segmentBytes() - atBytes) return null; // claims to run past the segment's end
        MemorySegment span = io.buffer(spanBytes);
        read(atBytes, span);
        return LogRecord.decode(span.asByteBuffer());
    }

    private void read(long atBytes, MemorySegment into) throws IOException {
        largestReadBytes = Math.max(largestReadBytes, into.byteSize());
        io.read(layout.segmentOffset(segment) + atBytes, into);
    }
}
