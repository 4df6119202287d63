package io.basalt.objectlayer.volume;

import io.basalt.objectlayer.store.Xxhash64;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * A record of the log (docs/objects.md, "Records"): a header of {@link #FIXED_BYTES} fixed bytes, the key, the
 * object's metadata (ObjectMeta's bytes) and the extents, then {@code dataBytes} of inline data, the whole padded to
 * a block. The header's xxhash64 covers every header byte (with its own field as zero); the data has its own.
 *
 * @param bucketId    the bucket's number (BUCKET records: the one created or deleted)
 * @param segmentSeq  the sequence number of the segment written in: a record left from a segment's earlier life
 *                    does not match its header's and ends the scan
 * @param putId       DATA and COMMIT: the PUT's number; BUCKET_CREATE: the creation time in ms; METADATA: the
 *                    version whose metadata it replaces
 * @param version     COMMIT: the version it holds (its own record sequence number, kept when compaction moves it);
 *                    METADATA: its own record sequence number, the object's version once it applies
 */
record LogRecord(int type, int flags, int bucketId, long segmentSeq, long recordSeq, long putId, long version,
                 long dataBytes, long dataXxhash64, byte[] key, byte[] meta, List<Extent> extents) {
    static final int MAGIC = 0x43455242; // "BREC"
    static final int DATA = 1;
    static final int COMMIT = 2;
    static final int TOMBSTONE = 3;
    static final int BUCKET_CREATE = 4;
    static final int BUCKET_DELETE = 5;
    /** Replaces the metadata (tags) of version {@link #putId} of the key, keeping its COMMIT and data. */
    static final int METADATA = 6;
    /** COMMIT: written by compaction; applies only while the key's current version is {@link #version}. */
    static final int FLAG_RELOCATED = 1;
    static final int FIXED_BYTES = 80;
    static final int EXTENT_BYTES = 16;
    private static final int CHECKSUM_AT = 72;

    /** A piece of an object written as a DATA record: where, its blocks, and the data bytes it holds. */
    record Extent(long location, int recordBlocks, int dataBytes) {}

    int headerBytes() {
        return FIXED_BYTES + key.length + meta.length + extents.size() * EXTENT_BYTES;
    }

    /** Blocks the whole record takes. */
    int blocks(int blockBytes) {
        return (int) ((headerBytes() + dataBytes + blockBytes - 1) / blockBytes);
    }

    byte[] encodeHeader() {
        ByteBuffer b = ByteBuffer.allocate(headerBytes()).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).put((byte) type).put((byte) flags).putShort((short) 0).putInt(headerBytes()).putInt(bucketId)
                .putLong(segmentSeq).putLong(recordSeq).putLong(putId).putLong(version).putLong(dataBytes)
                .putLong(dataXxhash64).putShort((short) key.length).putShort((short) meta.length)
                .putInt(extents.size()).putLong(0);
        b.put(key).put(meta);
        for (Extent e : extents) b.putLong(e.location()).putInt(e.recordBlocks()).putInt(e.dataBytes());
        b.putLong(CHECKSUM_AT, Xxhash64.hash(b.array()));
        return b.array();
    }

    /** The header length a raw header claims (read its first block, then the rest): -1 if it is no record. */
    static int claimedHeaderBytes(ByteBuffer raw) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < FIXED_BYTES || b.getInt(b.position()) != MAGIC) return -1;
        int n = b.getInt(b.position() + 8);
        return n < FIXED_BYTES ? -1 : n;
    }

    /** The record whose header starts at {@code raw}'s position, or null if it is not a valid one. */
    static LogRecord decode(ByteBuffer raw) {
        int n = claimedHeaderBytes(raw);
        if (n < 0 || raw.remaining() < n) return null;
        byte[] header = new byte[n];
        raw.duplicate().get(header);
        ByteBuffer b = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        long checksum = b.getLong(CHECKSUM_AT);
        b.putLong(CHECKSUM_AT, 0);
        if (Xxhash64.hash(header) != checksum) return null;
        b.position(4);
        int type = b.get();
        int flags = b.get();
        b.position(12);
        int bucketId = b.getInt();
        long segmentSeq = b.getLong();
        long recordSeq = b.getLong();
        long putId = b.getLong();
        long version = b.getLong();
        long dataBytes = b.getLong();
        long dataHash = b.getLong();
        byte[] key = new byte[Short.toUnsignedInt(b.getShort())];
        byte[] meta = new byte[Short.toUnsignedInt(b.getShort())];
        int extentCount = b.getInt();
        b.position(FIXED_BYTES);
        if (FIXED_BYTES + key.length + meta.length + (long) extentCount * EXTENT_BYTES != n) return null;
        b.get(key).get(meta);
        Extent[] extents = new Extent[extentCount];
        for (int i = 0; i < extentCount; i++) extents[i] = new Extent(b.getLong(), b.getInt(), b.getInt());
        return new LogRecord(type, flags, bucketId, segmentSeq, recordSeq, putId, version, dataBytes, dataHash, key,
                meta, List.of(extents));
    }

    // ---- segment headers: block 0 of every segment

    static final long SEGMENT_MAGIC = 0x4d47455354534c42L; // "BLSTSEGM"
    static final int SEGMENT_HEADER_BYTES = 40;

    static byte[] encodeSegmentHeader(long mountpathId, int segment, long segmentSeq) {
        ByteBuffer b = ByteBuffer.allocate(SEGMENT_HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(SEGMENT_MAGIC).putLong(segmentSeq).putInt(segment).putInt(0).putLong(mountpathId);
        b.putLong(Xxhash64.hash(java.util.Arrays.copyOf(b.array(), SEGMENT_HEADER_BYTES - 8)));
        return b.array();
    }

    /** The segment's sequence number from its header block, or 0 when it holds no valid header of this store. */
    static long segmentSeq(ByteBuffer raw, long mountpathId, int segment) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        byte[] head = new byte[SEGMENT_HEADER_BYTES - 8];
        b.duplicate().get(head);
        if (b.getLong(b.position()) != SEGMENT_MAGIC || b.getLong(b.position() + SEGMENT_HEADER_BYTES - 8)
                != Xxhash64.hash(head)) {
            return 0;
        }
        if (b.getInt(b.position() + 16) != segment || b.getLong(b.position() + 24) != mountpathId) return 0;
        return b.getLong(b.position() + 8);
    }
}
