package io.basalt.objectlayer.store;

import io.basalt.objectlayer.Multipart;
import io.basalt.objectlayer.ObjectStore;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import io.basalt.shims.Check;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;
import java.util.TreeMap;

/**
 * The {@link ObjectStore} over {@link Mountpath}s (directories and volumes): each object lives on the mountpath HRW
 * picks for (bucket, key) ({@link Hrw}), each bucket exists on every mountpath, and listings merge the mountpaths'
 * sorted walks (docs/objects.md). A mountpath whose I/O fails fails only the requests that touch it. Names are
 * checked here (S3's rules); each mountpath checks every object against its xxhash64 before serving it.
 */
public final class MountpathStore implements ObjectStore {
    /** Commits of one key (and tag updates) serialize on a stripe; enough stripes that unrelated keys rarely meet. */
    private static final int COMMIT_LOCK_STRIPES = 1024;
    private final List<Mountpath> mountpaths;
    private final Hrw hrw;
    private final StripedLocks commitLocks = new StripedLocks(COMMIT_LOCK_STRIPES);
    private final MultipartUploads multipart;

    public MountpathStore(List<? extends Mountpath> mountpaths) {
        Check.that(!mountpaths.isEmpty(), "at least one mountpath");
        this.mountpaths = List.copyOf(mountpaths);
        long[] ids = new long[mountpaths.size()];
        double[] weights = new double[mountpaths.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = mountpaths.get(i).id();
            weights[i] = mountpaths.get(i).weight();
        }
        this.hrw = new Hrw(ids, weights);
        this.multipart = new MultipartUploads(this);
    }

    /** Opens each directory as a mountpath weighted by its file system's capacity, with xattrs where supported. */
    public static MountpathStore open(List<Path> roots) throws IOException {
        List<Mountpath> list = new ArrayList<>();
        for (Path root : roots) list.add(DirectoryMountpath.open(root, 0, true));
        return new MountpathStore(list);
    }

    public List<Mountpath> mountpaths() {
        return mountpaths;
    }

    Mountpath place(String bucket, String key) {
        return mountpaths.get(hrw.select(bucket, key));
    }

    // ---- buckets

    @Override
    public void createBucket(String bucket) throws StoreException {
        Names.checkBucket(bucket);
        if (bucketExists(bucket)) {
            throw new StoreException(Code.BUCKET_ALREADY_OWNED_BY_YOU, "Your previous request to create the named "
                    + "bucket succeeded and you already own it.");
        }
        long now = System.currentTimeMillis();
        for (Mountpath mp : mountpaths) {
            try {
                mp.createBucket(bucket, now);
            } catch (IOException e) {
                throw mp.failure("create bucket " + bucket, e);
            }
        }
    }

    @Override
    public void deleteBucket(String bucket) throws StoreException {
        requireBucket(bucket);
        try (Listing any = list(bucket, "", null)) {
            if (any.hasNext()) throw new StoreException(Code.BUCKET_NOT_EMPTY, "The bucket you tried to delete is not "
                    + "empty");
        } catch (UncheckedIOException e) {
            throw new StoreException(Code.INTERNAL_ERROR, "delete bucket " + bucket + ": " + e.getMessage(), e);
        }
        for (Mountpath mp : mountpaths) {
            try {
                mp.deleteBucket(bucket);
            } catch (IOException e) {
                throw mp.failure("delete bucket " + bucket, e);
            }
        }
        multipart.dropBucket(bucket);
    }

    /** Names with '%' are the store's own (S3 bucket names cannot hold one): the multipart uploads' bucket. */
    static boolean reserved(String bucket) {
        return bucket.indexOf('%') >= 0;
    }

    /** A name that could be a bucket's directory: not the store's own, no path step. */
    private static boolean validBucketName(String bucket) {
        return bucket != null && !bucket.isEmpty() && bucket.indexOf('/') < 0 && !bucket.startsWith(".")
                && !reserved(bucket);
    }

    @Override
    public boolean bucketExists(String bucket) {
        if (!validBucketName(bucket)) return false;
        for (Mountpath mp : mountpaths) {
            if (mp.hasBucket(bucket)) return true;
        }
        return false;
    }

    @Override
    public List<BucketInfo> listBuckets() {
        TreeMap<String, Long> found = new TreeMap<>();
        for (Mountpath mp : mountpaths) {
            try {
                for (String name : mp.bucketNames()) {
                    if (!reserved(name) && !found.containsKey(name)) found.put(name, mp.bucketCreatedMs(name));
                }
            } catch (IOException | RuntimeException e) {
                // a failed mountpath: the others still name every bucket (each bucket is on all of them)
            }
        }
        List<BucketInfo> out = new ArrayList<>(found.size());
        found.forEach((name, created) -> out.add(new BucketInfo(name, created)));
        return out;
    }

    void requireBucket(String bucket) throws StoreException {
        if (!bucketExists(bucket)) {
            throw new StoreException(Code.NO_SUCH_BUCKET, "The specified bucket does not exist: " + bucket);
        }
    }

    // ---- objects

    @Override
    public ObjectWriter create(String bucket, String key, PutOptions options) throws StoreException {
        Names.keyBytes(key);
        requireBucket(bucket);
        Mountpath mp = place(bucket, key);
        return new KeyCommitWriter(mp, mp.create(bucket, key, options), commitLocks, bucket, key, options.condition());
    }

    @Override
    public ObjectInfo head(String bucket, String key) throws StoreException {
        Names.keyBytes(key);
        requireBucket(bucket);
        return place(bucket, key).head(bucket, key);
    }

    @Override
    public ObjectReader open(String bucket, String key) throws StoreException {
        Names.keyBytes(key);
        if (!validBucketName(bucket)) requireBucket(bucket);
        try {
            return place(bucket, key).open(bucket, key);
        } catch (StoreException e) {
            // the bucket is looked up only when the GET fails: an object found proves its bucket (one stat less)
            requireBucket(bucket);
            throw e;
        }
    }

    @Override
    public void delete(String bucket, String key) throws StoreException {
        Names.keyBytes(key);
        requireBucket(bucket);
        // under the key's commit lock: a tag update never rewrites the record of a file being deleted
        try (StripedLocks.Held held = commitLocks.hold(KeyCommitWriter.lockName(bucket, key))) {
            place(bucket, key).delete(bucket, key);
        }
    }

    @Override
    public void setTags(String bucket, String key, Map<String, String> tags) throws StoreException {
        Names.keyBytes(key);
        requireBucket(bucket);
        try (StripedLocks.Held held = commitLocks.hold(KeyCommitWriter.lockName(bucket, key))) {
            place(bucket, key).setTags(bucket, key, tags);
        }
    }

    @Override
    public Multipart multipart() {
        return multipart;
    }

    // ---- listing

    @Override
    public Listing list(String bucket, String prefix, String startAfter) throws StoreException {
        requireBucket(bucket);
        byte[] prefixBytes = (prefix == null ? "" : prefix).getBytes(StandardCharsets.UTF_8);
        byte[] after = startAfter == null || startAfter.isEmpty() ? null : startAfter.getBytes(StandardCharsets.UTF_8);
        List<Mountpath.Walk> walkers = new ArrayList<>(mountpaths.size());
        for (Mountpath mp : mountpaths) {
            try {
                walkers.add(mp.list(bucket, prefixBytes, after));
            } catch (IOException e) {
                throw mp.failure("list " + bucket, e);
            }
        }
        return new MergedListing(walkers);
    }

    /** A k-way merge of the mountpaths' sorted walks by key bytes; a key on two mountpaths is listed once. */
    private static final class MergedListing implements Listing {
        private record Head(Mountpath.Item item, Mountpath.Walk from) {}

        private final PriorityQueue<Head> heads =
                new PriorityQueue<>((a, b) -> Arrays.compareUnsigned(a.item.key(), b.item.key()));
        private final List<Mountpath.Walk> walkers;
        private byte[] lastKey;

        MergedListing(List<Mountpath.Walk> walkers) {
            this.walkers = walkers;
            for (Mountpath.Walk w : walkers) refill(w);
        }

        private void refill(Mountpath.Walk w) {
            if (w.hasNext()) heads.add(new Head(w.next(), w));
        }

        @Override
        public boolean hasNext() {
            while (!heads.isEmpty() && lastKey != null && Arrays.equals(heads.peek().item.key(), lastKey)) {
                refill(heads.poll().from);
            }
            return !heads.isEmpty();
        }

        @Override
        public ObjectInfo next() {
            if (!hasNext()) throw new NoSuchElementException();
            Head h = heads.poll();
            refill(h.from);
            lastKey = h.item.key();
            return h.item.info();
        }

        @Override
        public void close() {
            heads.clear();
            for (Mountpath.Walk w : walkers) w.close();
        }
    }

    @Override
    public void close() {
        for (Mountpath mp : mountpaths) mp.close();
    }
}
