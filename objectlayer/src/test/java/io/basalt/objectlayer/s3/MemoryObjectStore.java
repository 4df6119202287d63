package io.basalt.objectlayer.s3;

import io.basalt.objectlayer.ObjectStore;
import io.basalt.objectlayer.StoreException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;

/** An ObjectStore in memory for the S3 front end's tests: keys in UTF-8 byte order, objects visible at commit. */
final class MemoryObjectStore implements ObjectStore {
    static final Comparator<String> UTF8_ORDER = (a, b) ->
            Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

    private record Stored(ObjectInfo info, byte[] data) {}

    private record Bucket(long createdMs, NavigableMap<String, Stored> objects) {}

    private final Map<String, Bucket> buckets = new ConcurrentSkipListMap<>();

    @Override
    public void createBucket(String bucket) throws StoreException {
        if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
            throw new StoreException(StoreException.Code.INVALID_BUCKET_NAME, "The specified bucket is not valid.");
        }
        if (buckets.putIfAbsent(bucket, new Bucket(System.currentTimeMillis(), new ConcurrentSkipListMap<>(UTF8_ORDER))) != null) {
            throw new StoreException(StoreException.Code.BUCKET_ALREADY_OWNED_BY_YOU, "Your previous request to create the named bucket succeeded and you already own it.");
        }
    }

    @Override
    public void deleteBucket(String bucket) throws StoreException {
        if (!bucket(bucket).objects().isEmpty()) {
            throw new StoreException(StoreException.Code.BUCKET_NOT_EMPTY, "The bucket you tried to delete is not empty");
        }
        buckets.remove(bucket);
    }

    @Override
    public boolean bucketExists(String bucket) {
        return buckets.containsKey(bucket);
    }

    @Override
    public List<BucketInfo> listBuckets() {
        List<BucketInfo> out = new ArrayList<>();
        buckets.forEach((name, b) -> out.add(new BucketInfo(name, b.createdMs())));
        return out;
    }

    private Bucket bucket(String name) throws StoreException {
        Bucket b = buckets.get(name);
        if (b == null) {
            throw new StoreException(StoreException.Code.NO_SUCH_BUCKET, "The specified bucket does not exist");
        }
        return b;
    }

    @Override
    public ObjectWriter create(String bucket, String key, PutOptions options) throws StoreException {
        Bucket b = bucket(bucket);
        if (key.getBytes(StandardCharsets.UTF_8).length > 1024) {
            throw new StoreException(StoreException.Code.KEY_TOO_LONG, "Your key is too long");
        }
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        return new ObjectWriter() {
            private boolean done;

            @Override
            public void write(ByteBuffer buf) {
                byte[] bytes = new byte[buf.remaining()];
                buf.get(bytes);
                data.write(bytes, 0, bytes.length);
            }

            @Override
            public ObjectInfo commit() throws StoreException {
                byte[] all = data.toByteArray();
                byte[] md5 = md5(all);
                if (options.contentMd5() != null && !Arrays.equals(md5, options.contentMd5())) {
                    throw new StoreException(StoreException.Code.BAD_DIGEST, "The Content-MD5 you specified did not match what we received.");
                }
                String etag = options.etag() != null ? options.etag() : HexFormat.of().formatHex(md5);
                ObjectInfo info = new ObjectInfo(bucket, key, all.length, etag, 0, System.currentTimeMillis(),
                        options.contentType(), Map.copyOf(options.userMetadata()), new java.util.LinkedHashMap<>(options.tags()));
                synchronized (b) { // the conditional PUT's check and the commit, atomic against other commits
                    Stored current = b.objects().get(key);
                    if (options.condition() != null && !options.condition().holds(current == null ? null : current.info())) {
                        throw new StoreException(StoreException.Code.PRECONDITION_FAILED, "At least one of the pre-conditions you specified did not hold");
                    }
                    b.objects().put(key, new Stored(info, all));
                }
                done = true;
                return info;
            }

            @Override
            public void abort() {
                done = true;
            }

            @Override
            public void close() {
                abort();
            }
        };
    }

    private Stored stored(String bucket, String key) throws StoreException {
        Stored s = bucket(bucket).objects().get(key);
        if (s == null) {
            throw new StoreException(StoreException.Code.NO_SUCH_KEY, "The specified key does not exist.");
        }
        return s;
    }

    @Override
    public ObjectInfo head(String bucket, String key) throws StoreException {
        return stored(bucket, key).info();
    }

    @Override
    public ObjectReader open(String bucket, String key) throws StoreException {
        Stored s = stored(bucket, key);
        return new ObjectReader() {
            @Override
            public ObjectInfo info() {
                return s.info();
            }

            @Override
            public int read(long position, ByteBuffer dst) {
                if (position >= s.data().length) {
                    return -1;
                }
                int n = (int) Math.min(dst.remaining(), s.data().length - position);
                dst.put(s.data(), (int) position, n);
                return n;
            }

            @Override
            public void close() {}
        };
    }

    @Override
    public void delete(String bucket, String key) throws StoreException {
        bucket(bucket).objects().remove(key);
    }

    @Override
    public void setTags(String bucket, String key, Map<String, String> tags) throws StoreException {
        Bucket b = bucket(bucket);
        synchronized (b) {
            ObjectInfo i = stored(bucket, key).info();
            b.objects().put(key, new Stored(new ObjectInfo(i.bucket(), i.key(), i.sizeBytes(), i.etag(), i.xxhash64(),
                    i.lastModifiedMs(), i.contentType(), i.userMetadata(), new java.util.LinkedHashMap<>(tags)),
                    stored(bucket, key).data()));
        }
    }

    @Override
    public Listing list(String bucket, String prefix, String startAfter) throws StoreException {
        NavigableMap<String, Stored> objects = bucket(bucket).objects();
        NavigableMap<String, Stored> tail = startAfter == null ? objects : objects.tailMap(startAfter, false);
        Iterator<Stored> it = tail.values().iterator();
        return new Listing() {
            private ObjectInfo next = advance();

            private ObjectInfo advance() {
                while (it.hasNext()) {
                    ObjectInfo o = it.next().info();
                    if (o.key().startsWith(prefix)) {
                        return o;
                    }
                }
                return null;
            }

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public ObjectInfo next() {
                ObjectInfo o = next;
                next = advance();
                return o;
            }

            @Override
            public void close() {}
        };
    }

    @Override
    public void close() {}

    private static byte[] md5(byte[] data) {
        try {
            return MessageDigest.getInstance("MD5").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
