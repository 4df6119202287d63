package io.basalt.objectlayer.volume;

import io.basalt.objectlayer.store.Xxhash64;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * The index checkpoints (docs/objects.md, "Checkpoints"): two slots used in turn, each a header stripe then the
 * body (buckets, then every entry), all written as whole stripes. The body is written and flushed before the header
 * that makes it valid, so a torn checkpoint leaves the other slot. A checkpoint is fuzzy: it records the log
 * position P up to which every record is applied, then walks the live index; replaying from P makes it exact.
 */
final class Checkpoints {
    static final long MAGIC = 0x54504b43544c5342L; // "BSLTCKPT"
    private static final int HEADER_BYTES = 80;
    private static final int ENTRY_END = 0;
    /**
     * Set in an entry's extent count when the entry's metadata is in a METADATA record: its commit version, location
     * and blocks follow the extents (bodies written before METADATA records existed never set it).
     */
    private static final int HAS_META = 1 << 31;

    /** What a checkpoint header says. */
    record Header(long seq, long positionSegmentSeq, int positionBlock, int lastBucketId, long nextRecordSeq,
                  long lastSegmentSeq, long bodyBytes, long bodyXxhash64) {}

    private Checkpoints() {}

    static long slotOffset(VolumeLayout layout, long seq) {
        return seq % 2 == 0 ? layout.checkpointAOffset() : layout.checkpointBOffset();
    }

    /** Writes checkpoint {@code h.seq()} (its body from the index) into its slot; false if it does not fit. */
    static boolean write(VolumeLayout layout, VolumeIo io, VolumeIndex index, Header h) throws IOException {
        long slot = slotOffset(layout, h.seq());
        Sink sink = new Sink(io, slot + layout.stripeBytes(), layout.checkpointSlotBytes() - layout.stripeBytes(),
                layout.stripeBytes());
        ByteBuffer scratch = ByteBuffer.allocate(64 * 1024).order(ByteOrder.LITTLE_ENDIAN);
        scratch.putInt(index.buckets.size());
        for (Map.Entry<String, VolumeIndex.Bucket> b : index.buckets.entrySet()) {
            byte[] name = b.getKey().getBytes(StandardCharsets.UTF_8);
            scratch.putInt(b.getValue().id()).putLong(b.getValue().createdMs()).putShort((short) name.length).put(name);
            if (scratch.position() > scratch.capacity() / 2 && !sink.put(scratch)) return false;
        }
        for (Map.Entry<byte[], VolumeIndex.Entry> e : index.objects.entrySet()) {
            encodeEntry(scratch, e.getKey(), e.getValue());
            if (scratch.position() > scratch.capacity() / 2 && !sink.put(scratch)) return false;
        }
        scratch.putShort((short) ENTRY_END);
        if (!sink.put(scratch) || !sink.finish()) return false;
        io.flush();
        Header done = new Header(h.seq(), h.positionSegmentSeq(), h.positionBlock(), h.lastBucketId(),
                h.nextRecordSeq(), h.lastSegmentSeq(), sink.bytes, sink.hash.digest());
        MemorySegment head = io.buffer(layout.stripeBytes());
        MemorySegment.copy(MemorySegment.ofArray(encodeHeader(layout.mountpathId(), done)), 0, head, 0, HEADER_BYTES);
        io.write(slot, head);
        io.flush();
        return true;
    }

    private static void encodeEntry(ByteBuffer b, byte[] indexKey, VolumeIndex.Entry e) {
        byte[] etag = e.etag().getBytes(StandardCharsets.US_ASCII);
        LogRecord.Extent[] extents = e.extents();
        b.putShort((short) indexKey.length).put(indexKey).putLong(e.location).putLong(e.version).putLong(e.sizeBytes)
                .putLong(e.mtimeMs).putLong(e.xxhash64).putInt(e.recordBlocks).put((byte) etag.length).put(etag)
                .putInt(extents.length | (e.metaLocation() != VolumeIndex.NO_META ? HAS_META : 0));
        for (LogRecord.Extent x : extents) b.putLong(x.location()).putInt(x.recordBlocks()).putInt(x.dataBytes());
        if (e.metaLocation() != VolumeIndex.NO_META) {
            b.putLong(e.commitVersion()).putLong(e.metaLocation()).putInt(e.metaBlocks());
        }
    }

    static byte[] encodeHeader(long mountpathId, Header h) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(MAGIC).putLong(mountpathId).putLong(h.seq()).putLong(h.positionSegmentSeq())
                .putInt(h.positionBlock()).putInt(h.lastBucketId()).putLong(h.nextRecordSeq())
                .putLong(h.lastSegmentSeq()).putLong(h.bodyBytes()).putLong(h.bodyXxhash64());
        b.putLong(Xxhash64.hash(Arrays.copyOf(b.array(), HEADER_BYTES - 8)));
        return b.array();
    }

    /** The header in a slot's first block, or null if none valid for this store. */
    static Header decodeHeader(ByteBuffer raw, long mountpathId) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        byte[] head = new byte[HEADER_BYTES - 8];
        b.duplicate().get(head);
        int at = b.position();
        if (b.getLong(at) != MAGIC || b.getLong(at + 8) != mountpathId) return null;
        if (b.getLong(at + HEADER_BYTES - 8) != Xxhash64.hash(head)) return null;
        b.position(at + 16);
        return new Header(b.getLong(), b.getLong(), b.getInt(), b.getInt(), b.getLong(), b.getLong(), b.getLong(),
                b.getLong());
    }

    /** Loads a checked body into the (empty) index; false if the body does not match its header's hash. */
    static boolean load(VolumeLayout layout, VolumeIo io, Header h, VolumeIndex index) throws IOException {
        long slot = slotOffset(layout, h.seq());
        if (h.bodyBytes() > layout.checkpointSlotBytes() - layout.stripeBytes()) return false;
        MemorySegment body = io.buffer(VolumeLayout.roundUp(Math.max(1, h.bodyBytes()), layout.blockBytes()));
        io.read(slot + layout.stripeBytes(), body);
        ByteBuffer b = body.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN).limit((int) h.bodyBytes());
        if (new Xxhash64().update(b.duplicate()).digest() != h.bodyXxhash64()) return false;
        int buckets = b.getInt();
        for (int i = 0; i < buckets; i++) {
            int id = b.getInt();
            long created = b.getLong();
            byte[] name = new byte[Short.toUnsignedInt(b.getShort())];
            b.get(name);
            index.loadBucket(new String(name, StandardCharsets.UTF_8), new VolumeIndex.Bucket(id, created));
        }
        for (int n; (n = Short.toUnsignedInt(b.getShort())) != ENTRY_END; ) {
            byte[] key = new byte[n];
            b.get(key);
            index.objects.put(key, decodeEntry(b));
        }
        return true;
    }

    private static VolumeIndex.Entry decodeEntry(ByteBuffer b) {
        long location = b.getLong();
        long version = b.getLong();
        long size = b.getLong();
        long mtime = b.getLong();
        long xxhash = b.getLong();
        int blocks = b.getInt();
        byte[] etagBytes = new byte[b.get() & 0xFF];
        b.get(etagBytes);
        String etag = new String(etagBytes, StandardCharsets.US_ASCII);
        int count = b.getInt();
        LogRecord.Extent[] extents = new LogRecord.Extent[count & ~HAS_META];
        for (int i = 0; i < extents.length; i++) extents[i] = new LogRecord.Extent(b.getLong(), b.getInt(), b.getInt());
        if ((count & HAS_META) == 0) return VolumeIndex.entry(location, version, size, mtime, xxhash, etag, blocks, extents);
        long commitVersion = b.getLong();
        long metaLocation = b.getLong();
        int metaBlocks = b.getInt();
        return new VolumeIndex.RetaggedEntry(location, version, size, mtime, xxhash, etag, blocks, extents,
                commitVersion, metaLocation, metaBlocks);
    }

    /** Streams bytes into a slot as whole stripes, hashing them. */
    private static final class Sink {
        private final VolumeIo io;
        private final long start;
        private final long capacity;
        private final MemorySegment buffer;
        private final int stripeBytes;
        final Xxhash64 hash = new Xxhash64();
        long bytes;
        private int fill;

        Sink(VolumeIo io, long start, long capacity, int stripeBytes) {
            this.io = io;
            this.start = start;
            this.capacity = capacity;
            this.stripeBytes = stripeBytes;
            this.buffer = io.buffer((long) stripeBytes * Math.max(1, (1 << 20) / stripeBytes));
        }

        /** Takes the scratch buffer's content (and clears it); false once the slot is full. */
        boolean put(ByteBuffer scratch) throws IOException {
            scratch.flip();
            hash.update(scratch.duplicate());
            while (scratch.hasRemaining()) {
                int n = (int) Math.min(scratch.remaining(), buffer.byteSize() - fill);
                MemorySegment.copy(MemorySegment.ofBuffer(scratch), 0, buffer, fill, n);
                scratch.position(scratch.position() + n);
                fill += n;
                bytes += n;
                if (bytes > capacity) return false;
                if (fill == buffer.byteSize()) {
                    io.write(start + bytes - fill, buffer);
                    fill = 0;
                }
            }
            scratch.clear();
            return true;
        }

        /** Writes the last piece zero-padded to a whole stripe (the slot is stripe-aligned). */
        boolean finish() throws IOException {
            if (fill == 0) return true;
            int length = (int) VolumeLayout.roundUp(fill, stripeBytes);
            if (bytes - fill + length > capacity) return false;
            buffer.asSlice(fill, length - fill).fill((byte) 0);
            io.write(start + bytes - fill, buffer.asSlice(0, length));
            return true;
        }
    }
}
