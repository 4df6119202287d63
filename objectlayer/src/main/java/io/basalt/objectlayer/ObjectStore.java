package io.basalt.objectlayer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Buckets and objects over a set of mountpaths: the one interface the S3 front end sees (issue 14). Calls block (the
 * front end runs each request on a virtual thread) and may come from many threads at once. Errors are
 * {@link StoreException}s carrying the S3 error a client should get.
 *
 * <p>Keys are compared as UTF-8 bytes (S3's order). An object is visible only once its data and metadata are durable:
 * a PUT that fails or is aborted, or a crash during one, leaves the old version or nothing.
 */
public interface ObjectStore extends AutoCloseable {
    void createBucket(String bucket) throws StoreException;

    /** Refused with BucketNotEmpty while it holds an object. */
    void deleteBucket(String bucket) throws StoreException;

    boolean bucketExists(String bucket);

    /** By name. */
    List<BucketInfo> listBuckets();

    /** Starts a PUT; the object appears (replacing any older version) only at {@link ObjectWriter#commit}. */
    ObjectWriter create(String bucket, String key, PutOptions options) throws StoreException;

    /** NoSuchBucket / NoSuchKey. */
    ObjectInfo head(String bucket, String key) throws StoreException;

    /** Opens the current version for reading; it stays readable until closed even if replaced or deleted meanwhile. */
    ObjectReader open(String bucket, String key) throws StoreException;

    /** Deleting a key that does not exist succeeds (S3); NoSuchBucket for a missing bucket. */
    void delete(String bucket, String key) throws StoreException;

    /**
     * Replaces the object's tags (empty: none) without rewriting its data; ETag and Last-Modified stay. NoSuchKey when
     * absent. Atomic: a reader sees the old tags or the new ones.
     */
    void setTags(String bucket, String key, Map<String, String> tags) throws StoreException;

    /** Multipart uploads (CreateMultipartUpload, UploadPart, ...); null when this store has none. */
    default Multipart multipart() {
        return null;
    }

    /**
     * The bucket's objects whose key starts with {@code prefix} and sorts after {@code startAfter} (null: from the
     * first), in UTF-8 byte order, merged across mountpaths and produced as the iterator advances (never held whole).
     * Close it when done early.
     */
    Listing list(String bucket, String prefix, String startAfter) throws StoreException;

    @Override
    void close();

    record BucketInfo(String name, long createdMs) {}

    /**
     * @param etag        S3's ETag without quotes: the MD5 of the data in hex (multipart: md5-of-md5s-N)
     * @param xxhash64    the data's xxhash64 (seed 0), checked on every GET
     * @param tags        the object's tags (x-amz-tagging), empty for none
     */
    record ObjectInfo(String bucket, String key, long sizeBytes, String etag, long xxhash64, long lastModifiedMs,
                      String contentType, Map<String, String> userMetadata, Map<String, String> tags) {
        /** Without tags. */
        public ObjectInfo(String bucket, String key, long sizeBytes, String etag, long xxhash64, long lastModifiedMs,
                          String contentType, Map<String, String> userMetadata) {
            this(bucket, key, sizeBytes, etag, xxhash64, lastModifiedMs, contentType, userMetadata, Map.of());
        }
    }

    /**
     * What a PUT carries besides the data.
     *
     * @param contentMd5  the Content-MD5 the client sent (raw 16 bytes) or null
     * @param tags        the new object's tags (empty: none)
     * @param etag        the ETag to store instead of the data's MD5 (a completed multipart upload's md5-of-md5s-N),
     *                    or null; the writer then need not compute the MD5 (the xxhash64 is still computed)
     * @param condition   checked at commit, atomically against other PUTs of the key; null for none
     */
    record PutOptions(String contentType, Map<String, String> userMetadata, byte[] contentMd5,
                      Map<String, String> tags, String etag, Condition condition) {
        public PutOptions(String contentType, Map<String, String> userMetadata, byte[] contentMd5) {
            this(contentType, userMetadata, contentMd5, Map.of(), null, null);
        }

        public static PutOptions none() {
            return new PutOptions("binary/octet-stream", Map.of(), null);
        }

        public PutOptions withTags(Map<String, String> newTags) {
            return new PutOptions(contentType, userMetadata, contentMd5, newTags, etag, condition);
        }

        public PutOptions withEtag(String newEtag) {
            return new PutOptions(contentType, userMetadata, contentMd5, tags, newEtag, condition);
        }

        public PutOptions withCondition(Condition newCondition) {
            return new PutOptions(contentType, userMetadata, contentMd5, tags, etag, newCondition);
        }
    }

    /**
     * A conditional PUT (If-None-Match: *, If-Match: "etag"): PreconditionFailed (412) at commit when it does not hold.
     *
     * @param ifNoneMatchAny  the key must not exist
     * @param ifMatchEtag     the key must exist with this ETag (no quotes; "*": any); null: no such condition
     */
    record Condition(boolean ifNoneMatchAny, String ifMatchEtag) {
        /** Whether the condition holds over the current version ({@code current} null: the key is absent). */
        public boolean holds(ObjectInfo current) {
            if (ifNoneMatchAny && current != null) return false;
            if (ifMatchEtag == null) return true;
            return current != null && (ifMatchEtag.equals("*") || current.etag().equals(ifMatchEtag));
        }
    }

    /** A PUT in progress; one thread at a time. */
    interface ObjectWriter extends AutoCloseable {
        /** Appends the buffer's remaining bytes. */
        void write(ByteBuffer data) throws StoreException;

        /** Makes the object durable and visible; BadDigest when a Content-MD5 was given and differs. */
        ObjectInfo commit() throws StoreException;

        /** Drops what was written (a client that went away); nothing becomes visible. Idempotent. */
        void abort();

        /** Aborts unless committed. */
        @Override
        void close();
    }

    /** An open object version. */
    interface ObjectReader extends AutoCloseable {
        ObjectInfo info();

        /** Reads into {@code dst} from {@code position}; the bytes read, -1 at the end. A bad checksum: an IOException. */
        int read(long position, ByteBuffer dst) throws IOException;

        /**
         * For zero-copy sends (sendfile): the file and the offset of the object's byte 0 in it, when the object is one
         * contiguous range of a file whose checksum was verified at open; else null.
         */
        default FileChannel file() { return null; }

        default long fileOffset() { return 0; }

        @Override
        void close();
    }

    /** A streamed listing. */
    interface Listing extends Iterator<ObjectInfo>, AutoCloseable {
        @Override
        void close();
    }
}
