package io.basalt.objectlayer.volume;

import io.basalt.engine.Geometry;
import io.basalt.objectlayer.store.Xxhash64;
import io.basalt.shims.Check;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Where things are on a volume mountpath, as its superblock says (docs/objects.md, "The volume-mountpath store"):
 * two superblock copies (blocks 0 and 1 of the first stripe-aligned area), two checkpoint slots, then
 * {@code segmentCount} segments of {@code segmentBytes}, every area a whole number of full stripes.
 */
record VolumeLayout(long mountpathId, int blockBytes, int stripeBytes, long segmentBytes, int segmentCount,
                    long checkpointSlotBytes, long checkpointAOffset, long checkpointBOffset, long dataStartBytes,
                    long volumeBytes, long formattedMs) {
    static final long MAGIC = 0x56424a4f544c5342L; // "BSLTOBJV" little-endian
    static final int VERSION = 1;
    static final int SUPERBLOCK_BYTES = 96;
    private static final int CHECKSUM_AT = 88;
    /** Checkpoint slots hold the index: ~100 bytes an object against at least 2 blocks of log each. */
    private static final int CHECKPOINT_SHARE = 64;
    private static final int SEGMENTS_MIN = 4;

    /** The layout a new store on {@code geometry} gets; {@code segmentBytesMin} is rounded up to whole stripes. */
    static VolumeLayout plan(Geometry geometry, long segmentBytesMin, long mountpathId, long nowMs) {
        int block = geometry.logicalBlockBytes();
        int stripe = Math.multiplyExact(geometry.optimalTransferBlocks(), block);
        long segment = roundUp(Math.max(segmentBytesMin, 2L * stripe), stripe);
        long volume = geometry.sizeBytes();
        long superArea = roundUp(2L * block, stripe);
        long slot = roundUp(Math.max(segment, volume / CHECKPOINT_SHARE), stripe);
        long dataStart = superArea + 2 * slot;
        long count = (volume - dataStart) / segment;
        Check.that(count >= SEGMENTS_MIN, "volume holds at least 4 segments of " + segment + " bytes", count);
        return new VolumeLayout(mountpathId, block, stripe, segment, (int) Math.min(count, Integer.MAX_VALUE), slot,
                superArea, superArea + slot, dataStart, volume, nowMs);
    }

    static long roundUp(long value, long unit) {
        return (value + unit - 1) / unit * unit;
    }

    long segmentOffset(int segment) {
        return dataStartBytes + segment * segmentBytes;
    }

    int segmentBlocks() {
        return (int) (segmentBytes / blockBytes);
    }

    /** A record's location: segment index in the high 32 bits, block within the segment in the low 32. */
    static long location(int segment, int block) {
        return (long) segment << 32 | (block & 0xFFFFFFFFL);
    }

    static int segmentOf(long location) {
        return (int) (location >>> 32);
    }

    static int blockOf(long location) {
        return (int) location;
    }

    long byteOffset(long location) {
        return segmentOffset(segmentOf(location)) + (long) blockOf(location) * blockBytes;
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SUPERBLOCK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(MAGIC).putInt(VERSION).putInt(blockBytes).putLong(mountpathId).putLong(segmentBytes)
                .putInt(segmentCount).putInt(stripeBytes).putLong(checkpointSlotBytes).putLong(checkpointAOffset)
                .putLong(checkpointBOffset).putLong(dataStartBytes).putLong(volumeBytes).putLong(formattedMs);
        b.putLong(CHECKSUM_AT, Xxhash64.hash(java.util.Arrays.copyOf(b.array(), CHECKSUM_AT)));
        return b.array();
    }

    /** The superblock in {@code raw}, or null when it is not one (magic, version or checksum). */
    static VolumeLayout decode(ByteBuffer raw) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < SUPERBLOCK_BYTES || b.getLong(b.position()) != MAGIC) return null;
        byte[] head = new byte[CHECKSUM_AT];
        b.duplicate().get(head);
        if (b.getLong(b.position() + CHECKSUM_AT) != Xxhash64.hash(head)) return null;
        b.getLong();
        if (b.getInt() != VERSION) return null;
        int block = b.getInt();
        long id = b.getLong();
        long segment = b.getLong();
        int count = b.getInt();
        int stripe = b.getInt();
        return new VolumeLayout(id, block, stripe, segment, count, b.getLong(), b.getLong(), b.getLong(), b.getLong(),
                b.getLong(), b.getLong());
    }
}
