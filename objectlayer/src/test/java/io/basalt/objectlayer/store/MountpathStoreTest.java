package io.basalt.objectlayer.store;

import static io.basalt.objectlayer.store.StoreFixture.failsWith;
import static io.basalt.objectlayer.store.StoreFixture.filesUnder;
import static io.basalt.objectlayer.store.StoreFixture.get;
import static io.basalt.objectlayer.store.StoreFixture.put;
import static io.basalt.objectlayer.store.StoreFixture.readAll;
import static io.basalt.objectlayer.store.StoreFixture.store;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectReader;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException.Code;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MountpathStoreTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "xattrs={0}")
    @ValueSource(booleans = {true, false})
    void roundTripWithMetadataAndTheDocumentedLayout(boolean xattrs) throws Exception {
        MountpathStore store = store(dir, 1, xattrs, true);
        assertEquals(xattrs, StoreFixture.dirs(store).getFirst().usesXattrs(), "ext4 under the test has user xattrs");
        store.createBucket("photos");
        byte[] data = "meow".repeat(1000).getBytes(StandardCharsets.UTF_8);
        PutOptions options = new PutOptions("image/jpeg", Map.of("color", "blue cat%"),
                MessageDigest.getInstance("MD5").digest(data));
        ObjectInfo put;
        try (ObjectWriter w = store.create("photos", "2026/cat.jpg", options)) {
            w.write(ByteBuffer.wrap(data, 0, 100));
            w.write(ByteBuffer.wrap(data, 100, data.length - 100));
            put = w.commit();
        }
        assertEquals(HexFormat.of().formatHex(options.contentMd5()), put.etag());
        assertEquals(Xxhash64.hash(data), put.xxhash64());
        ObjectInfo head = store.head("photos", "2026/cat.jpg");
        assertEquals(put, head);
        assertEquals(Map.of("color", "blue cat%"), head.userMetadata());
        try (ObjectReader r = store.open("photos", "2026/cat.jpg")) {
            assertArrayEquals(data, readAll(r));
            assertNotNull(r.file(), "verified at open: the file can go to sendfile");
        }
        // readable with ls and cat while Basalt is down
        Path root = StoreFixture.dirs(store).getFirst().root();
        Path file = root.resolve("@s3/photos/%ob/2026%d/cat.jpg");
        assertArrayEquals(data, Files.readAllBytes(file));
        assertEquals(!xattrs, Files.exists(root.resolve("@s3/photos/%ob/2026%d/cat.jpg%m")));
        assertEquals(0, filesUnder(root.resolve(".tmp")), "nothing left in .tmp");
        store.delete("photos", "2026/cat.jpg");
        failsWith(Code.NO_SUCH_KEY, () -> store.head("photos", "2026/cat.jpg"));
        assertFalse(Files.exists(root.resolve("@s3/photos/%ob/2026%d")), "empty directories are pruned");
        store.delete("photos", "2026/cat.jpg"); // S3: deleting a missing key succeeds
    }

    @Test
    void badContentMd5IsBadDigestAndNothingVisible() throws Exception {
        MountpathStore store = store(dir, 2, true, true);
        store.createBucket("bkt");
        try (ObjectWriter w = store.create("bkt", "k", new PutOptions("text/plain", Map.of(), new byte[16]))) {
            w.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
            failsWith(Code.BAD_DIGEST, w::commit);
        }
        failsWith(Code.NO_SUCH_KEY, () -> store.head("bkt", "k"));
    }

    @ParameterizedTest(name = "xattrs={0}")
    @ValueSource(booleans = {true, false})
    void overwriteShowsTheOldVersionUntilCommitAndOpenReadersKeepTheirs(boolean xattrs) throws Exception {
        MountpathStore store = store(dir, 2, xattrs, true);
        store.createBucket("bkt");
        byte[] v1 = "version one".getBytes(StandardCharsets.UTF_8);
        byte[] v2 = "the second version".getBytes(StandardCharsets.UTF_8);
        put(store, "bkt", "k", v1);
        try (ObjectReader old = store.open("bkt", "k"); ObjectWriter w = store.create("bkt", "k", PutOptions.none())) {
            w.write(ByteBuffer.wrap(v2));
            assertArrayEquals(v1, get(store, "bkt", "k"), "not visible before commit");
            w.commit();
            assertArrayEquals(v2, get(store, "bkt", "k"));
            assertArrayEquals(v1, readAll(old), "a reader opened before keeps its version");
        }
    }

    @Test
    void abortAndCloseWithoutCommitLeaveNothing() throws Exception {
        MountpathStore store = store(dir, 2, true, true);
        store.createBucket("bkt");
        try (ObjectWriter w = store.create("bkt", "aborted", PutOptions.none())) {
            w.write(ByteBuffer.wrap(new byte[4096]));
            w.abort();
            w.abort();
        }
        try (ObjectWriter w = store.create("bkt", "dropped/x", PutOptions.none())) {
            w.write(ByteBuffer.wrap(new byte[4096]));
        }
        failsWith(Code.NO_SUCH_KEY, () -> store.head("bkt", "aborted"));
        failsWith(Code.NO_SUCH_KEY, () -> store.head("bkt", "dropped/x"));
        for (DirectoryMountpath mp : StoreFixture.dirs(store)) assertEquals(0, filesUnder(mp.root().resolve(".tmp")));
        try (var listing = store.list("bkt", "", null)) {
            assertFalse(listing.hasNext());
        }
    }

    @ParameterizedTest(name = "xattrs={0}")
    @ValueSource(booleans = {true, false})
    void concurrentPutsOfOneKeyLastCommitWinsNeverTorn(boolean xattrs) throws Exception {
        MountpathStore store = store(dir, 2, xattrs, false);
        store.createBucket("bkt");
        // two writers open together: the one that commits last is what stays
        try (ObjectWriter a = store.create("bkt", "k", PutOptions.none());
             ObjectWriter b = store.create("bkt", "k", PutOptions.none())) {
            a.write(ByteBuffer.wrap(filled((byte) 'a', 5000)));
            b.write(ByteBuffer.wrap(filled((byte) 'b', 7000)));
            b.commit();
            a.commit();
        }
        assertArrayEquals(filled((byte) 'a', 5000), get(store, "bkt", "k"));
        int writers = 6;
        int rounds = 25;
        Map<String, Boolean> committedEtags = new ConcurrentHashMap<>();
        AtomicBoolean done = new AtomicBoolean();
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int t = 0; t < writers; t++) {
            byte fill = (byte) ('c' + t);
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    for (int r = 0; r < rounds; r++) {
                        committedEtags.put(put(store, "bkt", "k", filled(fill, 1000 + 997 * r)).etag(), true);
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        Thread reader = Thread.ofVirtual().start(() -> {
            try {
                while (!done.get()) {
                    byte[] got = get(store, "bkt", "k");
                    for (byte x : got) assertEquals(got[0], x, "never a mix of two PUTs");
                }
            } catch (Throwable e) {
                errors.add(e);
            }
        });
        for (Thread t : threads) t.join();
        done.set(true);
        reader.join();
        assertEquals(List.of(), errors);
        assertTrue(committedEtags.containsKey(store.head("bkt", "k").etag()), "the object is one committed PUT");
        byte[] last = get(store, "bkt", "k");
        for (byte x : last) assertEquals(last[0], x);
    }

    @ParameterizedTest(name = "xattrs={0}")
    @ValueSource(booleans = {true, false})
    void aFlippedByteFailsTheGetNotTheBytes(boolean xattrs) throws Exception {
        MountpathStore store = store(dir, 2, xattrs, true);
        store.createBucket("bkt");
        byte[] data = filled((byte) 7, 100_000);
        put(store, "bkt", "dir/obj", data);
        DirectoryMountpath mp = (DirectoryMountpath) store.place("bkt", "dir/obj");
        Path file = mp.objectPath("bkt", Names.segments("dir/obj".getBytes(StandardCharsets.UTF_8)));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {8}), 54_321);
        }
        failsWith(Code.INTERNAL_ERROR, () -> store.open("bkt", "dir/obj"));
        assertEquals(data.length, store.head("bkt", "dir/obj").sizeBytes(), "HEAD reads metadata only");
    }

    @Test
    void aMissingMountpathFailsItsObjectsAndTheOthersKeepWorking() throws Exception {
        MountpathStore store = store(dir, 2, true, true);
        store.createBucket("bkt");
        for (int i = 0; i < 40; i++) put(store, "bkt", "k" + i, ("v" + i).getBytes(StandardCharsets.UTF_8));
        DirectoryMountpath lost = StoreFixture.dirs(store).get(1);
        DirectoryMountpath.deleteTree(lost.root());
        int failed = 0;
        for (int i = 0; i < 40; i++) {
            String key = "k" + i;
            if (store.place("bkt", key) == lost) {
                failed++;
                failsWith(Code.INTERNAL_ERROR, () -> store.open("bkt", key));
                failsWith(Code.INTERNAL_ERROR, () -> store.head("bkt", key));
                failsWith(Code.INTERNAL_ERROR, () -> put(store, "bkt", key, new byte[1]));
            } else {
                assertArrayEquals(("v" + i).getBytes(StandardCharsets.UTF_8), get(store, "bkt", key));
                put(store, "bkt", key, new byte[1]);
            }
        }
        assertTrue(failed > 5 && failed < 35, "both mountpaths held keys: " + failed);
        failsWith(Code.INTERNAL_ERROR, () -> store.list("bkt", "", null));
        assertEquals(List.of("bkt"), store.listBuckets().stream().map(b -> b.name()).toList());
    }

    @Test
    void enospcWhileWritingIsStorageFullAndNothingVisibleFaultHook() throws Exception {
        MountpathStore store = store(dir, 1, true, true);
        store.createBucket("bkt");
        put(store, "bkt", "k", "old".getBytes(StandardCharsets.UTF_8));
        StoreFixture.dirs(store).getFirst().setWriteFaultAfterBytes(10_000);
        try (ObjectWriter w = store.create("bkt", "k", PutOptions.none())) {
            w.write(ByteBuffer.wrap(new byte[8000]));
            failsWith(Code.STORAGE_FULL, () -> w.write(ByteBuffer.wrap(new byte[8000])));
        }
        failsWith(Code.STORAGE_FULL, () -> put(store, "bkt", "new", new byte[20_000]));
        assertArrayEquals("old".getBytes(StandardCharsets.UTF_8), get(store, "bkt", "k"));
        failsWith(Code.NO_SUCH_KEY, () -> store.head("bkt", "new"));
        assertEquals(0, filesUnder(StoreFixture.dirs(store).getFirst().root().resolve(".tmp")));
    }

    @Test
    void bucketsAreValidatedCreatedOnEveryMountpathAndDeletedOnlyWhenEmpty() throws Exception {
        MountpathStore store = store(dir, 3, true, true);
        for (String bad : new String[] {"ab", "a".repeat(64), "Upper", "under_score", "-lead", "trail-", "a..b",
            "a.-b", "192.168.1.1", "sp ace", ".dot", "dot."}) {
            failsWith(Code.INVALID_BUCKET_NAME, () -> store.createBucket(bad));
        }
        store.createBucket("abc");
        store.createBucket("my.bucket-2");
        failsWith(Code.BUCKET_ALREADY_OWNED_BY_YOU, () -> store.createBucket("abc"));
        for (DirectoryMountpath mp : StoreFixture.dirs(store)) assertTrue(Files.isDirectory(mp.root().resolve("@s3/abc/%ob")));
        assertEquals(List.of("abc", "my.bucket-2"), store.listBuckets().stream().map(b -> b.name()).toList());
        put(store, "abc", "x/y", new byte[1]);
        failsWith(Code.BUCKET_NOT_EMPTY, () -> store.deleteBucket("abc"));
        store.delete("abc", "x/y");
        store.deleteBucket("abc");
        assertFalse(store.bucketExists("abc"));
        failsWith(Code.NO_SUCH_BUCKET, () -> store.head("abc", "x"));
        failsWith(Code.NO_SUCH_BUCKET, () -> store.create("nope", "x", PutOptions.none()));
        failsWith(Code.NO_SUCH_BUCKET, () -> store.list("nope", "", null));
    }

    static byte[] filled(byte value, int length) {
        byte[] b = new byte[length];
        Arrays.fill(b, value);
        return b;
    }
}
