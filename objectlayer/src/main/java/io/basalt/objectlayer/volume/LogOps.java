package io.basalt.objectlayer.volume;

import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.store.ObjectMeta;
import io.basalt.objectlayer.store.Xxhash64;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** What threads hand the {@link LogWriter}: each op appends its record(s), then (after the flush) applies them. */
final class LogOps {
    private LogOps() {}

    private static final byte[] NONE = {};
    /** The header's field holding it is two bytes. */
    private static final int META_BYTES_MAX = 0xFFFF;
    /** The data checksum of a record without inline data (checked by every read of a record). */
    private static final long EMPTY_XXHASH64 = Xxhash64.hash(NONE);

    abstract static class Op {
        final CompletableFuture<Object> done = new CompletableFuture<>();
        /** Completes only once its records are durable (a FLUSH after them). */
        final boolean durable;
        Object result = Boolean.TRUE;

        Op(boolean durable) {
            this.durable = durable;
        }

        /** Writer thread: appends the record(s). A StoreException fails this op alone. */
        abstract void append(LogWriter w) throws StoreException, IOException;

        /** Writer thread, once durable: the index change, in log order. */
        void apply(LogWriter w) {}
    }

    /** A piece of a PUT's data (or of an object compaction moves): a DATA record; the result is its Extent. */
    static final class Data extends Op {
        private final int bucketId;
        private final byte[] key;
        private final long putId;
        private final ByteBuffer data;
        private final boolean privileged;

        Data(int bucketId, byte[] key, long putId, ByteBuffer data, boolean privileged) {
            super(false);
            this.bucketId = bucketId;
            this.key = key;
            this.putId = putId;
            this.data = data;
            this.privileged = privileged;
        }

        @Override
        void append(LogWriter w) throws StoreException, IOException {
            if (!privileged) w.checkBucket(bucketId); // compaction's copies need no check: a relocation applies or not
            LogRecord r = new LogRecord(LogRecord.DATA, 0, bucketId, 0, 0, putId, 0, data.remaining(),
                    new Xxhash64().update(data.duplicate()).digest(), key, NONE, List.of());
            long location = w.append(r, data, privileged);
            // pinned until the PUT commits or aborts: no compaction frees a segment under uncommitted data
            w.segments.pins.incrementAndGet(VolumeLayout.segmentOf(location));
            result = new LogRecord.Extent(location, r.blocks(w.layout.blockBytes()), data.remaining());
        }
    }

    /** A PUT's commit (or compaction's copy of one, {@code relocatedVersion} != 0): the result is whether it applied. */
    static final class Commit extends Op {
        private final int bucketId;
        private final byte[] key;
        private final long putId;
        private final ObjectMeta meta;
        private final byte[] metaBytes;
        private final List<LogRecord.Extent> extents;
        private final ByteBuffer inline;
        private final long relocatedVersion;
        private long location;
        private long version;
        private int blocks;

        Commit(int bucketId, byte[] key, long putId, ObjectMeta meta, List<LogRecord.Extent> extents,
               ByteBuffer inline, long relocatedVersion) {
            super(true);
            this.bucketId = bucketId;
            this.key = key;
            this.putId = putId;
            this.meta = meta;
            this.metaBytes = meta.bytes();
            this.extents = extents;
            this.inline = inline;
            this.relocatedVersion = relocatedVersion;
        }

        @Override
        void append(LogWriter w) throws StoreException, IOException {
            checkMetaBytes(metaBytes);
            if (relocatedVersion == 0) w.checkBucket(bucketId);
            LogRecord r = new LogRecord(LogRecord.COMMIT, relocatedVersion != 0 ? LogRecord.FLAG_RELOCATED : 0,
                    bucketId, 0, 0, putId, relocatedVersion, inline.remaining(),
                    new Xxhash64().update(inline.duplicate()).digest(), key, metaBytes, extents);
            version = relocatedVersion != 0 ? relocatedVersion : w.peekRecordSeq();
            location = w.append(r, inline, relocatedVersion != 0);
            blocks = r.blocks(w.layout.blockBytes());
        }

        @Override
        void apply(LogWriter w) {
            VolumeIndex.Entry e = VolumeIndex.entry(location, version, meta.sizeBytes(), meta.lastModifiedMs(),
                    meta.xxhash64(), meta.etag(), blocks, extents.toArray(VolumeIndex.NO_EXTENTS));
            result = w.index.applyCommit(VolumeIndex.indexKey(bucketId, key), e, relocatedVersion != 0, w.segments);
        }
    }

    /**
     * A tagging: a METADATA record replacing the metadata of version {@code baseVersion} of the key (no data copied);
     * the result is whether it applied (false: the key is gone or names another version by the time it is applied).
     */
    static final class Metadata extends Op {
        private final int bucketId;
        private final byte[] key;
        private final long baseVersion;
        private final byte[] metaBytes;
        private long location;
        private long version;
        private int blocks;

        Metadata(int bucketId, byte[] key, long baseVersion, ObjectMeta meta) {
            super(true);
            this.bucketId = bucketId;
            this.key = key;
            this.baseVersion = baseVersion;
            this.metaBytes = meta.bytes();
        }

        @Override
        void append(LogWriter w) throws StoreException, IOException {
            checkMetaBytes(metaBytes);
            w.checkBucket(bucketId);
            LogRecord r = new LogRecord(LogRecord.METADATA, 0, bucketId, 0, 0, baseVersion, 0, 0, EMPTY_XXHASH64, key,
                    metaBytes, List.of());
            version = w.peekRecordSeq();
            location = w.append(r, null, false);
            blocks = r.blocks(w.layout.blockBytes());
        }

        @Override
        void apply(LogWriter w) {
            result = w.index.applyMetadata(VolumeIndex.indexKey(bucketId, key), baseVersion, version, location, blocks,
                    w.segments);
        }
    }

    private static void checkMetaBytes(byte[] metaBytes) throws StoreException {
        if (metaBytes.length > META_BYTES_MAX) {
            throw new StoreException(StoreException.Code.INVALID_ARGUMENT, "metadata over 64 KiB");
        }
    }

    static final class Tombstone extends Op {
        private final int bucketId;
        private final byte[] key;

        Tombstone(int bucketId, byte[] key) {
            super(true);
            this.bucketId = bucketId;
            this.key = key;
        }

        @Override
        void append(LogWriter w) throws StoreException, IOException {
            w.append(new LogRecord(LogRecord.TOMBSTONE, 0, bucketId, 0, 0, 0, 0, 0, 0, key, NONE, List.of()), null,
                    true);
        }

        @Override
        void apply(LogWriter w) {
            w.index.applyTombstone(VolumeIndex.indexKey(bucketId, key), w.segments);
        }
    }

    /** Creates the bucket unless it exists; the result is its number. */
    static final class BucketCreate extends Op {
        private final String name;
        private final long createdMs;
        private int id;

        BucketCreate(String name, long createdMs) {
            super(true);
            this.name = name;
            this.createdMs = createdMs;
        }

        @Override
        void append(LogWriter w) throws StoreException, IOException {
            if (w.bucketStays(w.index.buckets.get(name))) {
                id = -1;
                return;
            }
            id = ++w.lastBucketId;
            w.append(new LogRecord(LogRecord.BUCKET_CREATE, 0, id, 0, 0, createdMs, 0, 0, 0,
                    name.getBytes(StandardCharsets.UTF_8), NONE, List.of()), null, true);
        }

        @Override
        void apply(LogWriter w) {
            if (id > 0) w.index.applyBucketCreate(name, id, createdMs);
        }
    }

    static final class BucketDelete extends Op {
        private final int id;

        BucketDelete(int id) {
            super(true);
            this.id = id;
        }

        @Override
        void append(LogWriter w) throws StoreException, IOException {
            w.append(new LogRecord(LogRecord.BUCKET_DELETE, 0, id, 0, 0, 0, 0, 0, 0, NONE, NONE, List.of()), null,
                    true);
            w.deletingBucket(id);
        }

        @Override
        void apply(LogWriter w) {
            w.index.applyBucketDelete(id, w.segments);
        }
    }

    /** Makes everything before it durable and applied; the result is the log position after it (a checkpoint's). */
    static final class Barrier extends Op {
        Barrier() {
            super(true);
        }

        @Override
        void append(LogWriter w) {
            // no record: the batch's flush is the point
        }

        @Override
        void apply(LogWriter w) {
            // the position is read once the whole batch applied: see VolumeMountpath.checkpoint
        }
    }

    /** Compaction's last step: frees the segment if nothing live or pinned is left in it; the result says whether. */
    static final class Release extends Op {
        private final int segment;

        Release(int segment) {
            super(false);
            this.segment = segment;
        }

        @Override
        void append(LogWriter w) {
            result = w.release(segment);
        }
    }
}
