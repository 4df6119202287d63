package io.basalt.objectlayer.volume;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The in-memory index of a volume mountpath: objects sorted by (bucket number, key bytes unsigned) for listings,
 * each a compact {@link Entry}; buckets by name. Mutated only by the log writer (and recovery), in log order, after
 * the records are durable; read by any thread. Memory per object: docs/objects.md ("The index").
 */
final class VolumeIndex {
    private static final int BUCKET_ID_BYTES = 4;

    final ConcurrentSkipListMap<byte[], Entry> objects = new ConcurrentSkipListMap<>(Arrays::compareUnsigned);
    final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
    /** The numbers of the buckets in {@link #buckets}: a commit applies only into one of them. */
    private final Set<Integer> bucketIds = ConcurrentHashMap.newKeySet();

    record Bucket(int id, long createdMs) {}

    /**
     * Where an object's newest version is and what a listing shows of it. The metadata (content type, user
     * metadata, tags) stays in the commit record's header, read by HEAD and GET, unless a METADATA record replaced
     * it ({@link RetaggedEntry}).
     */
    static class Entry {
        /** The COMMIT record's location ({@link VolumeLayout#location}). */
        final long location;
        /**
         * The record sequence number of the record that made this version: its COMMIT, or the METADATA record that
         * last replaced its metadata. A compaction move keeps it.
         */
        final long version;
        final long sizeBytes;
        final long mtimeMs;
        final long xxhash64;
        /** An MD5 ETag's 16 bytes as two longs (any other ETag: {@link OddEtagEntry}). */
        final long etagHigh;
        final long etagLow;
        /** Blocks of the COMMIT record (header and inline data). */
        final int recordBlocks;

        Entry(long location, long version, long sizeBytes, long mtimeMs, long xxhash64, long etagHigh, long etagLow,
              int recordBlocks) {
            this.location = location;
            this.version = version;
            this.sizeBytes = sizeBytes;
            this.mtimeMs = mtimeMs;
            this.xxhash64 = xxhash64;
            this.etagHigh = etagHigh;
            this.etagLow = etagLow;
            this.recordBlocks = recordBlocks;
        }

        String etag() {
            return HexFormat.of().toHexDigits(etagHigh) + HexFormat.of().toHexDigits(etagLow);
        }

        /** The DATA records of an object larger than its commit's inline data; empty for most. */
        LogRecord.Extent[] extents() {
            return NO_EXTENTS;
        }

        /** The METADATA record holding the current metadata, or {@link #NO_META}: the COMMIT's header holds it. */
        long metaLocation() {
            return NO_META;
        }

        /** Blocks of the METADATA record (0 without one). */
        int metaBlocks() {
            return 0;
        }

        /** The version the COMMIT record carries (before any METADATA record replaced the metadata). */
        long commitVersion() {
            return version;
        }

        /** This entry with its metadata in the METADATA record at {@code metaAt} of {@code newVersion}. */
        Entry retagged(long newVersion, long metaAt, int blocks) {
            return new RetaggedEntry(location, newVersion, sizeBytes, mtimeMs, xxhash64, etag(), recordBlocks,
                    extents(), commitVersion(), metaAt, blocks);
        }
    }

    static final LogRecord.Extent[] NO_EXTENTS = {};
    static final long NO_META = -1;

    /** An object with DATA records besides its commit (a large object), or with an ETag that is not an MD5. */
    static class OddEtagEntry extends Entry {
        private final String etag;
        private final LogRecord.Extent[] extents;

        OddEtagEntry(long location, long version, long sizeBytes, long mtimeMs, long xxhash64, String etag,
                     int recordBlocks, LogRecord.Extent[] extents) {
            super(location, version, sizeBytes, mtimeMs, xxhash64, 0, 0, recordBlocks);
            this.etag = etag;
            this.extents = extents;
        }

        @Override
        String etag() {
            return etag;
        }

        @Override
        LogRecord.Extent[] extents() {
            return extents;
        }
    }

    /**
     * An object whose metadata (tags) a METADATA record replaced: its data is still the COMMIT's, its metadata the
     * METADATA record's. Rare (tagged after the PUT), so the extra fields do not weigh on every entry.
     */
    static final class RetaggedEntry extends OddEtagEntry {
        private final long commitVersion;
        private final long metaLocation;
        private final int metaBlocks;

        RetaggedEntry(long location, long version, long sizeBytes, long mtimeMs, long xxhash64, String etag,
                      int recordBlocks, LogRecord.Extent[] extents, long commitVersion, long metaLocation,
                      int metaBlocks) {
            super(location, version, sizeBytes, mtimeMs, xxhash64, etag, recordBlocks, extents);
            this.commitVersion = commitVersion;
            this.metaLocation = metaLocation;
            this.metaBlocks = metaBlocks;
        }

        @Override
        long metaLocation() {
            return metaLocation;
        }

        @Override
        int metaBlocks() {
            return metaBlocks;
        }

        @Override
        long commitVersion() {
            return commitVersion;
        }
    }

    /** An entry in the compact form when the ETag is an MD5 in hex and there are no extents. */
    static Entry entry(long location, long version, long sizeBytes, long mtimeMs, long xxhash64, String etag,
                       int recordBlocks, LogRecord.Extent[] extents) {
        if (extents.length == 0 && etag.length() == 32 && etag.chars().allMatch(c -> Character.digit(c, 16) >= 0
                && !Character.isUpperCase(c))) {
            return new Entry(location, version, sizeBytes, mtimeMs, xxhash64,
                    Long.parseUnsignedLong(etag.substring(0, 16), 16), Long.parseUnsignedLong(etag.substring(16), 16),
                    recordBlocks);
        }
        return new OddEtagEntry(location, version, sizeBytes, mtimeMs, xxhash64, etag, recordBlocks, extents);
    }

    /** The index key: the bucket's number (big-endian, so a bucket's keys are contiguous) then the key's bytes. */
    static byte[] indexKey(int bucketId, byte[] key) {
        byte[] out = new byte[BUCKET_ID_BYTES + key.length];
        out[0] = (byte) (bucketId >>> 24);
        out[1] = (byte) (bucketId >>> 16);
        out[2] = (byte) (bucketId >>> 8);
        out[3] = (byte) bucketId;
        System.arraycopy(key, 0, out, BUCKET_ID_BYTES, key.length);
        return out;
    }

    static int bucketIdOf(byte[] indexKey) {
        return (indexKey[0] & 0xFF) << 24 | (indexKey[1] & 0xFF) << 16 | (indexKey[2] & 0xFF) << 8 | indexKey[3] & 0xFF;
    }

    static byte[] keyOf(byte[] indexKey) {
        return Arrays.copyOfRange(indexKey, BUCKET_ID_BYTES, indexKey.length);
    }

    static String keyString(byte[] indexKey) {
        return new String(indexKey, BUCKET_ID_BYTES, indexKey.length - BUCKET_ID_BYTES, StandardCharsets.UTF_8);
    }

    /** All of a bucket's entries, in order. */
    Map<byte[], Entry> bucketRange(int bucketId) {
        return objects.subMap(indexKey(bucketId, new byte[0]), true, indexKey(bucketId + 1, new byte[0]), false);
    }

    // ---- mutations: the log writer's and recovery's, in log order, after the record is durable

    /**
     * A COMMIT record took effect: the key now names this version. A relocated one (compaction's copy) applies only
     * while the key still names the version it copied; false when it was superseded meanwhile.
     */
    boolean applyCommit(byte[] indexKey, Entry entry, boolean relocated, Segments segments) {
        Entry old = objects.get(indexKey);
        if (relocated && (old == null || old.version != entry.version)) return false;
        objects.put(indexKey, entry);
        segments.account(entry, 1);
        if (old != null) segments.account(old, -1);
        return true;
    }

    /**
     * A METADATA record took effect: the key's version {@code baseVersion} now has its metadata in the record at
     * {@code metaAt} and is version {@code newVersion}. False (nothing changes) when the key is absent or names
     * another version: a PUT, delete or other tagging came first in the log.
     */
    boolean applyMetadata(byte[] indexKey, long baseVersion, long newVersion, long metaAt, int blocks,
                          Segments segments) {
        Entry old = objects.get(indexKey);
        if (old == null || old.version != baseVersion) return false;
        Entry entry = old.retagged(newVersion, metaAt, blocks);
        objects.put(indexKey, entry);
        segments.account(entry, 1);
        segments.account(old, -1);
        return true;
    }

    void applyTombstone(byte[] indexKey, Segments segments) {
        Entry old = objects.remove(indexKey);
        if (old != null) segments.account(old, -1);
    }

    void applyBucketCreate(String name, int id, long createdMs) {
        if (buckets.putIfAbsent(name, new Bucket(id, createdMs)) == null) bucketIds.add(id);
    }

    /** A bucket from a checkpoint. */
    void loadBucket(String name, Bucket bucket) {
        buckets.put(name, bucket);
        bucketIds.add(bucket.id());
    }

    /** Whether the bucket numbered {@code id} exists (numbers are never reused, so a deleted one never comes back). */
    boolean hasBucketId(int id) {
        return bucketIds.contains(id);
    }

    /** Empties the index (a checkpoint body that failed to load). */
    void clear() {
        objects.clear();
        buckets.clear();
        bucketIds.clear();
    }

    /** Removes the bucket and whatever it still holds (the store checked it empty; a racing PUT's leftovers go). */
    void applyBucketDelete(int id, Segments segments) {
        buckets.values().removeIf(b -> b.id() == id);
        bucketIds.remove(id);
        Map<byte[], Entry> range = bucketRange(id);
        for (Entry e : range.values()) segments.account(e, -1);
        range.clear();
    }

    int bucketId(String bucket) {
        Bucket b = buckets.get(bucket);
        return b == null ? -1 : b.id();
    }
}
