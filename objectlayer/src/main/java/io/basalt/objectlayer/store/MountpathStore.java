package io.basalt.objectlayer.store;

import io.basalt.objectlayer.ObjectStore;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import io.basalt.shims.Check;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;
import java.util.TreeMap;

/**
 * The {@link ObjectStore} over directory mountpaths: each object lives on the mountpath HRW picks for (bucket, key)
 * ({@link Hrw}), each bucket is a directory on every mountpath, and listings merge the mountpaths' sorted walks
 * (docs/objects.md). A mountpath whose I/O fails fails only the requests that touch it. GET verifies the object's
 * xxhash64 over the whole file at open, before a byte is served, so a reader can hand the file to sendfile
 * ({@link ObjectReader#file()}) and a corrupt object is an InternalError, never bad bytes.
 */
public final class MountpathStore implements ObjectStore {
    /** A reader that meets a concurrent replace (metadata of one version, data of the next) tries again. */
    private static final int OPEN_ATTEMPTS = 3;
    private static final int VERIFY_BUFFER_BYTES = 256 * 1024;

    private final List<DirectoryMountpath> mountpaths;
    private final Hrw hrw;
    private final StripedLocks locks = new StripedLocks();

    public MountpathStore(List<DirectoryMountpath> mountpaths) {
        Check.that(!mountpaths.isEmpty(), "at least one mountpath");
        this.mountpaths = List.copyOf(mountpaths);
        long[] ids = new long[mountpaths.size()];
        double[] weights = new double[mountpaths.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = mountpaths.get(i).id();
            weights[i] = mountpaths.get(i).weight();
        }
        this.hrw = new Hrw(ids, weights);
    }

    /** Opens each directory as a mountpath weighted by its file system's capacity, with xattrs where supported. */
    public static MountpathStore open(List<Path> roots) throws IOException {
        List<DirectoryMountpath> list = new ArrayList<>();
        for (Path root : roots) list.add(DirectoryMountpath.open(root, 0, true));
        return new MountpathStore(list);
    }

    public List<DirectoryMountpath> mountpaths() {
        return mountpaths;
    }

    DirectoryMountpath place(String bucket, String key) {
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
        for (DirectoryMountpath mp : mountpaths) {
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
        for (DirectoryMountpath mp : mountpaths) {
            try {
                mp.deleteBucket(bucket);
            } catch (IOException e) {
                throw mp.failure("delete bucket " + bucket, e);
            }
        }
    }

    @Override
    public boolean bucketExists(String bucket) {
        if (bucket == null || bucket.isEmpty() || bucket.indexOf('/') >= 0 || bucket.startsWith(".")) return false;
        for (DirectoryMountpath mp : mountpaths) {
            if (mp.hasBucket(bucket)) return true;
        }
        return false;
    }

    @Override
    public List<BucketInfo> listBuckets() {
        TreeMap<String, Long> found = new TreeMap<>();
        for (DirectoryMountpath mp : mountpaths) {
            try {
                for (String name : mp.bucketNames()) {
                    if (!found.containsKey(name)) found.put(name, mp.bucketCreatedMs(name));
                }
            } catch (IOException | RuntimeException e) {
                // a failed mountpath: the others still name every bucket (each bucket is on all of them)
            }
        }
        List<BucketInfo> out = new ArrayList<>(found.size());
        found.forEach((name, created) -> out.add(new BucketInfo(name, created)));
        return out;
    }

    private void requireBucket(String bucket) throws StoreException {
        if (!bucketExists(bucket)) {
            throw new StoreException(Code.NO_SUCH_BUCKET, "The specified bucket does not exist: " + bucket);
        }
    }

    // ---- objects

    @Override
    public ObjectWriter create(String bucket, String key, PutOptions options) throws StoreException {
        List<byte[]> segments = Names.segments(Names.keyBytes(key));
        requireBucket(bucket);
        return new DirectoryWriter(place(bucket, key), locks, bucket, key, segments, options);
    }

    @Override
    public ObjectInfo head(String bucket, String key) throws StoreException {
        List<byte[]> segments = Names.segments(Names.keyBytes(key));
        requireBucket(bucket);
        DirectoryMountpath mp = place(bucket, key);
        Path file = mp.objectPath(bucket, segments);
        try {
            ObjectMeta meta = DirectoryMountpath.matching(mp.readMeta(file), Files.size(file));
            if (!meta.key().equals(key)) throw noSuchKey(key);
            return meta.info(bucket);
        } catch (NoSuchFileException e) {
            throw missing(mp, bucket, key, e);
        } catch (IOException e) {
            throw mp.failure("HEAD " + bucket + "/" + key, e);
        }
    }

    @Override
    public ObjectReader open(String bucket, String key) throws StoreException {
        List<byte[]> segments = Names.segments(Names.keyBytes(key));
        requireBucket(bucket);
        DirectoryMountpath mp = place(bucket, key);
        Path file = mp.objectPath(bucket, segments);
        try {
            for (int attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
                List<ObjectMeta> records = mp.readMeta(file);
                FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
                ObjectMeta verified = verify(channel, records);
                if (verified != null && verified.key().equals(key)) return new DirectoryReader(channel, verified.info(bucket));
                channel.close();
                if (verified != null) throw noSuchKey(key); // a hashed name's 2^-64 collision: not this key
                if (mp.readMeta(file).equals(records)) {
                    throw new StoreException(Code.INTERNAL_ERROR, "object " + bucket + "/" + key + " on mountpath "
                            + mp.root() + " fails its xxhash64 check");
                }
            }
            throw new StoreException(Code.INTERNAL_ERROR, "object " + bucket + "/" + key + " kept changing during open");
        } catch (NoSuchFileException e) {
            throw missing(mp, bucket, key, e);
        } catch (IOException e) {
            throw mp.failure("GET " + bucket + "/" + key, e);
        }
    }

    /** The record whose size and xxhash64 the file's whole content matches; null if none. */
    private static ObjectMeta verify(FileChannel channel, List<ObjectMeta> records) throws IOException {
        Xxhash64 hash = new Xxhash64();
        ByteBuffer buf = ByteBuffer.allocate(VERIFY_BUFFER_BYTES);
        long position = 0;
        for (int n; (n = channel.read(buf.clear(), position)) > 0; position += n) hash.update(buf.flip());
        long digest = hash.digest();
        for (ObjectMeta m : records) {
            if (m.sizeBytes() == position && m.xxhash64() == digest) return m;
        }
        return null;
    }

    @Override
    public void delete(String bucket, String key) throws StoreException {
        List<byte[]> segments = Names.segments(Names.keyBytes(key));
        requireBucket(bucket);
        DirectoryMountpath mp = place(bucket, key);
        try {
            mp.delete(bucket, segments);
        } catch (IOException e) {
            throw mp.failure("DELETE " + bucket + "/" + key, e);
        }
    }

    /** A missing file is NoSuchKey only while its mountpath is there; a vanished mountpath is an InternalError. */
    private static StoreException missing(DirectoryMountpath mp, String bucket, String key, NoSuchFileException e) {
        if (!Files.isDirectory(mp.objectsDir(bucket))) return mp.failure("access " + bucket + "/" + key, e);
        return noSuchKey(key);
    }

    private static StoreException noSuchKey(String key) {
        return new StoreException(Code.NO_SUCH_KEY, "The specified key does not exist: " + key);
    }

    // ---- listing

    @Override
    public Listing list(String bucket, String prefix, String startAfter) throws StoreException {
        requireBucket(bucket);
        byte[] prefixBytes = (prefix == null ? "" : prefix).getBytes(StandardCharsets.UTF_8);
        byte[] after = startAfter == null || startAfter.isEmpty() ? null : startAfter.getBytes(StandardCharsets.UTF_8);
        List<DirectoryWalker> walkers = new ArrayList<>(mountpaths.size());
        for (DirectoryMountpath mp : mountpaths) {
            try {
                walkers.add(new DirectoryWalker(mp, bucket, prefixBytes, after));
            } catch (IOException e) {
                throw mp.failure("list " + bucket, e);
            }
        }
        return new MergedListing(walkers);
    }

    /** A k-way merge of the mountpaths' sorted walks by key bytes; a key on two mountpaths is listed once. */
    private static final class MergedListing implements Listing {
        private record Head(DirectoryWalker.Item item, DirectoryWalker from) {}

        private final PriorityQueue<Head> heads =
                new PriorityQueue<>((a, b) -> Arrays.compareUnsigned(a.item.key(), b.item.key()));
        private byte[] lastKey;

        MergedListing(List<DirectoryWalker> walkers) {
            for (DirectoryWalker w : walkers) refill(w);
        }

        private void refill(DirectoryWalker w) {
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
        }
    }

    @Override
    public void close() {
        // nothing held open: files are opened per request
    }
}
