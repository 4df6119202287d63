package io.basalt.objectlayer.store;

import static io.basalt.objectlayer.store.StoreFixture.failsWith;
import static io.basalt.objectlayer.store.StoreFixture.get;
import static io.basalt.objectlayer.store.StoreFixture.put;
import static io.basalt.objectlayer.store.StoreFixture.store;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.objectlayer.ObjectStore.Condition;
import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Object tags in the metadata record (xattr and sidecar) and conditional PUTs checked at commit. */
class TagsAndConditionsTest {
    @TempDir
    Path dir;

    static PutOptions conditional(boolean ifNoneMatch, String ifMatch) {
        return PutOptions.none().withCondition(new Condition(ifNoneMatch, ifMatch));
    }

    static ObjectInfo putWith(MountpathStore store, String key, byte[] data, PutOptions options) throws StoreException {
        try (ObjectWriter w = store.create("bkt", key, options)) {
            w.write(ByteBuffer.wrap(data));
            return w.commit();
        }
    }

    /** Ten tags of the longest keys and values: a record over the 3 KiB an xattr may hold. */
    static Map<String, String> bigTags() {
        Map<String, String> tags = new LinkedHashMap<>();
        for (int i = 0; i < 10; i++) tags.put(("k" + i).repeat(64), ("v" + i).repeat(128));
        return tags;
    }

    @ParameterizedTest(name = "xattrs={0}")
    @ValueSource(booleans = {true, false})
    void tagsReplaceInPlaceKeepingDataEtagAndTime(boolean xattrs) throws Exception {
        MountpathStore store = store(dir, 1, xattrs, true);
        store.createBucket("bkt");
        byte[] data = "tagged data".getBytes(StandardCharsets.UTF_8);
        ObjectInfo put = putWith(store, "dir/k", data, PutOptions.none().withTags(Map.of("a", "1")));
        assertEquals(Map.of("a", "1"), store.head("bkt", "dir/k").tags());
        Path file = StoreFixture.dirs(store).getFirst().objectPath("bkt", Names.segments(Names.keyBytes("dir/k")));
        Object inode = Files.getAttribute(file, "unix:ino");
        for (Map<String, String> tags : List.of(Map.of("x y", "z%\n"), bigTags(), Map.of("small", "again"), Map.<String, String>of())) {
            store.setTags("bkt", "dir/k", tags);
            ObjectInfo head = store.head("bkt", "dir/k");
            assertEquals(tags, head.tags());
            assertEquals(put.etag(), head.etag());
            assertEquals(put.lastModifiedMs(), head.lastModifiedMs());
            assertArrayEquals(data, get(store, "bkt", "dir/k"), "the data still matches its xxhash64");
            assertEquals(inode, Files.getAttribute(file, "unix:ino"), "the data file is not rewritten");
        }
        failsWith(Code.NO_SUCH_KEY, () -> store.setTags("bkt", "missing", Map.of("a", "b")));
        failsWith(Code.NO_SUCH_BUCKET, () -> store.setTags("nope", "dir/k", Map.of()));
    }

    @Test
    void aRecordWrittenBeforeTagsExistedStillParses() {
        String old = "basalt-meta 1\nkey k\nsize 3\netag 900150983cd24fb0d6963f7d28e17f72\nxxhash64 0123456789abcdef\n"
                + "mtime 1767225600000\ncontent-type text/plain\nmeta color blue\n";
        ObjectMeta meta = ObjectMeta.parseAll(old.getBytes(StandardCharsets.UTF_8)).getFirst();
        assertEquals(Map.of(), meta.tags());
        assertEquals(Map.of("color", "blue"), meta.userMetadata());
        ObjectMeta tagged = meta.withTags(Map.of("t", "v w"));
        assertTrue(tagged.text().endsWith("meta color blue\ntag t v%20w\n"), tagged.text());
        assertEquals(tagged, ObjectMeta.parseAll(tagged.bytes()).getFirst());
    }

    @Test
    void ifNoneMatchAndIfMatchAreCheckedAtCommit() throws Exception {
        MountpathStore store = store(dir, 2, true, false);
        store.createBucket("bkt");
        ObjectInfo first = putWith(store, "k", new byte[] {1}, conditional(true, null));
        // the condition is checked at commit, not at create: a writer opened before the key existed fails
        ObjectWriter early = store.create("bkt", "k2", conditional(true, null));
        early.write(ByteBuffer.wrap(new byte[] {9}));
        put(store, "bkt", "k2", new byte[] {2});
        failsWith(Code.PRECONDITION_FAILED, early::commit);
        assertArrayEquals(new byte[] {2}, get(store, "bkt", "k2"));
        failsWith(Code.PRECONDITION_FAILED, () -> putWith(store, "k", new byte[] {3}, conditional(true, null)));
        failsWith(Code.PRECONDITION_FAILED, () -> putWith(store, "k", new byte[] {3}, conditional(false, "0".repeat(32))));
        failsWith(Code.PRECONDITION_FAILED, () -> putWith(store, "absent", new byte[] {3}, conditional(false, "*")));
        assertArrayEquals(new byte[] {1}, get(store, "bkt", "k"));
        putWith(store, "k", new byte[] {4}, conditional(false, first.etag()));
        assertArrayEquals(new byte[] {4}, get(store, "bkt", "k"));
        assertEquals(0, StoreFixture.filesUnder(StoreFixture.dirs(store).getFirst().root().resolve(".tmp")),
                "failed conditional PUTs leave no temp file");
    }

    @Test
    void concurrentIfNoneMatchPutsOfOneKeyLetExactlyOneWin() throws Exception {
        MountpathStore store = store(dir, 2, true, false);
        store.createBucket("bkt");
        int writers = 8;
        for (int round = 0; round < 10; round++) {
            String key = "race-" + round;
            CountDownLatch start = new CountDownLatch(1);
            AtomicInteger won = new AtomicInteger();
            AtomicInteger refused = new AtomicInteger();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < writers; i++) {
                byte[] data = {(byte) i};
                threads.add(Thread.ofVirtual().start(() -> {
                    try (ObjectWriter w = store.create("bkt", key, conditional(true, null))) {
                        w.write(ByteBuffer.wrap(data));
                        start.await();
                        w.commit();
                        won.incrementAndGet();
                    } catch (StoreException e) {
                        if (e.code() == Code.PRECONDITION_FAILED) refused.incrementAndGet();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }));
            }
            start.countDown();
            for (Thread t : threads) t.join();
            assertEquals(1, won.get(), "one winner in round " + round);
            assertEquals(writers - 1, refused.get());
            assertFalse(store.head("bkt", key).etag().isEmpty());
        }
    }
}
