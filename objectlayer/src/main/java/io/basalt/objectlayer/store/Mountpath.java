package io.basalt.objectlayer.store;

import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectReader;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import java.io.IOException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * One place objects live: a directory of a local file system ({@link DirectoryMountpath}) or a Basalt volume holding
 * a log-structured store. {@link MountpathStore} places each (bucket, key) on one mountpath by HRW, keeps every bucket
 * on all of them, validates names and merges listings; a mountpath stores and finds objects. Calls block and may come
 * from many threads at once. Keys reach a mountpath already checked ({@link Names#keyBytes}); a mountpath may refuse
 * more (with S3's error) where its layout cannot hold a key.
 */
public interface Mountpath extends AutoCloseable {
    /** The persisted id HRW placement hashes: stable across restarts, unique per mountpath. */
    long id();

    /** The HRW weight: its capacity in GiB unless configured. */
    double weight();

    /** For errors and status: the directory, or the volume's name. */
    String describe();

    /** Idempotent. */
    void createBucket(String bucket, long createdMs) throws IOException;

    boolean hasBucket(String bucket);

    long bucketCreatedMs(String bucket) throws IOException;

    /** Sorted. */
    List<String> bucketNames() throws IOException;

    /** Removes the bucket and what this mountpath still holds of it (the store checks it is empty first). */
    void deleteBucket(String bucket) throws IOException;

    /** A PUT: nothing is visible until {@link ObjectWriter#commit}. The bucket exists. */
    ObjectWriter create(String bucket, String key, PutOptions options) throws StoreException;

    /** NoSuchKey when absent. */
    ObjectInfo head(String bucket, String key) throws StoreException;

    /** The current version, checked against its xxhash64 before a byte is served (or as served, failing the read). */
    ObjectReader open(String bucket, String key) throws StoreException;

    /** Absent: nothing to do. */
    void delete(String bucket, String key) throws StoreException;

    /**
     * Replaces the object's tags, keeping its data, ETag and Last-Modified; atomic (readers see the old record or
     * the new one). NoSuchKey when absent. {@link MountpathStore} calls it under its per-key commit lock, so no PUT
     * of the key commits meanwhile. A mountpath kind that cannot yet change a record in place keeps this default.
     */
    default void setTags(String bucket, String key, Map<String, String> tags) throws StoreException {
        throw new StoreException(Code.NOT_IMPLEMENTED, "object tagging is not implemented on mountpath " + describe()
                + " (" + getClass().getSimpleName() + ")");
    }

    /**
     * The bucket's objects on this mountpath whose keys start with {@code prefix} and sort after {@code startAfter}
     * (null: from the first), in UTF-8 byte order, produced lazily. I/O failures while walking surface as
     * {@link java.io.UncheckedIOException}.
     */
    Walk list(String bucket, byte[] prefix, byte[] startAfter) throws IOException;

    /** An I/O failure as the S3 error it becomes (XBasaltStorageFull for a full mountpath, else InternalError). */
    StoreException failure(String what, IOException e);

    @Override
    void close();

    /** A listed object: its key's UTF-8 bytes (the merge order) and what HEAD would say. */
    record Item(byte[] key, ObjectInfo info) {}

    /** A sorted walk of one mountpath's objects. */
    interface Walk extends Iterator<Item>, AutoCloseable {
        @Override
        default void close() {}
    }
}
