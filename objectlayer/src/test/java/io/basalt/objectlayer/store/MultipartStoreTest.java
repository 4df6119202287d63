package io.basalt.objectlayer.store;

import static io.basalt.objectlayer.store.StoreFixture.failsWith;
import static io.basalt.objectlayer.store.StoreFixture.get;
import static io.basalt.objectlayer.store.StoreFixture.put;
import static io.basalt.objectlayer.store.StoreFixture.store;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.objectlayer.Multipart;
import io.basalt.objectlayer.Multipart.PartRef;
import io.basalt.objectlayer.ObjectStore.Condition;
import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Multipart uploads in the store layer (MultipartUploads over directory mountpaths), as decision 38 describes. */
class MultipartStoreTest {
    static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    static String part(Multipart m, String bucket, String key, String uploadId, int number, byte[] data)
            throws StoreException {
        try (ObjectWriter w = m.uploadPart(bucket, key, uploadId, number, null)) {
            w.write(ByteBuffer.wrap(data));
            return w.commit().etag();
        }
    }

    static byte[] random(int bytes, long seed) {
        byte[] b = new byte[bytes];
        new Random(seed).nextBytes(b);
        return b;
    }

    static String md5Hex(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
    }

    @ParameterizedTest(name = "xattrs={0}")
    @ValueSource(booleans = {true, false})
    void completeJoinsThePartsWithTheMultipartEtagAndLeavesNothingBehind(boolean xattrs) throws Exception {
        MountpathStore store = store(dir, 2, xattrs, false);
        store.createBucket("mpu");
        Multipart m = store.multipart();
        PutOptions options = new PutOptions("video/mp4", Map.of("color", "red"), null).withTags(Map.of("t", "1"));
        String id = m.create("mpu", "movies/big.mp4", options).uploadId();
        byte[][] parts = {random(5 * MIB, 1), random(5 * MIB + 3, 2), random(1000, 3)};
        // upload out of order and replace part 2 once: the last upload of a number wins
        part(m, "mpu", "movies/big.mp4", id, 2, random(6 * MIB, 9));
        List<PartRef> refs = new ArrayList<>();
        for (int i = parts.length - 1; i >= 0; i--) {
            refs.addFirst(new PartRef(i + 1, part(m, "mpu", "movies/big.mp4", id, i + 1, parts[i])));
        }
        MessageDigest md5s = MessageDigest.getInstance("MD5");
        ByteArrayOutputStream whole = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            md5s.update(MessageDigest.getInstance("MD5").digest(p));
            whole.writeBytes(p);
        }
        List<Multipart.Part> listed = m.listParts("mpu", "movies/big.mp4", id, 0, 10);
        assertEquals(List.of(1, 2, 3), listed.stream().map(Multipart.Part::partNumber).toList());
        assertEquals(md5Hex(parts[1]), listed.get(1).etag());
        assertEquals(5 * MIB + 3, listed.get(1).sizeBytes());
        assertEquals(List.of(3), m.listParts("mpu", "movies/big.mp4", id, 2, 10).stream()
                .map(Multipart.Part::partNumber).toList(), "part-number-marker 2");
        assertEquals(1, m.listParts("mpu", "movies/big.mp4", id, 0, 1).size(), "max-parts 1");

        ObjectInfo done = m.complete("mpu", "movies/big.mp4", id, refs, null);
        assertEquals(HexFormat.of().formatHex(md5s.digest()) + "-3", done.etag());
        assertEquals(Xxhash64.hash(whole.toByteArray()), done.xxhash64(), "xxhash64 over the whole object");
        ObjectInfo head = store.head("mpu", "movies/big.mp4");
        assertEquals(done.etag(), head.etag());
        assertEquals("video/mp4", head.contentType());
        assertEquals(Map.of("color", "red"), head.userMetadata());
        assertEquals(Map.of("t", "1"), head.tags());
        assertArrayEquals(whole.toByteArray(), get(store, "mpu", "movies/big.mp4"));
        failsWith(Code.NO_SUCH_UPLOAD, () -> m.listParts("mpu", "movies/big.mp4", id, 0, 10));
        for (DirectoryMountpath mp : StoreFixture.dirs(store)) {
            Path uploads = mp.objectsDir(MultipartUploads.UPLOADS_BUCKET);
            if (Files.exists(uploads)) assertEquals(0, StoreFixture.filesUnder(uploads), "state and parts deleted");
        }
        assertEquals(List.of("mpu"), store.listBuckets().stream().map(b -> b.name()).toList());
        assertFalse(store.bucketExists(MultipartUploads.UPLOADS_BUCKET));
        failsWith(Code.NO_SUCH_BUCKET, () -> store.head(MultipartUploads.UPLOADS_BUCKET, "s/mpu/" + id));
        failsWith(Code.INVALID_BUCKET_NAME, () -> store.createBucket(MultipartUploads.UPLOADS_BUCKET));
    }

    @Test
    void completeRefusesBadPartListsAndKeepsTheUpload() throws Exception {
        MountpathStore store = store(dir, 1, true, false);
        store.createBucket("mpu");
        Multipart m = store.multipart();
        String id = m.create("mpu", "k", PutOptions.none()).uploadId();
        String e1 = part(m, "mpu", "k", id, 1, random(5 * MIB, 1));
        String e2 = part(m, "mpu", "k", id, 2, random(100, 2));
        String e3 = part(m, "mpu", "k", id, 3, random(100, 3));
        failsWith(Code.INVALID_PART_ORDER, () -> m.complete("mpu", "k", id,
                List.of(new PartRef(2, e2), new PartRef(1, e1)), null));
        failsWith(Code.INVALID_PART_ORDER, () -> m.complete("mpu", "k", id,
                List.of(new PartRef(1, e1), new PartRef(1, e1)), null));
        failsWith(Code.INVALID_PART, () -> m.complete("mpu", "k", id, List.of(new PartRef(1, e2)), null));
        failsWith(Code.INVALID_PART, () -> m.complete("mpu", "k", id, List.of(new PartRef(4, e1)), null));
        failsWith(Code.ENTITY_TOO_SMALL, () -> m.complete("mpu", "k", id,
                List.of(new PartRef(1, e1), new PartRef(2, e2), new PartRef(3, e3)), null));
        failsWith(Code.INVALID_ARGUMENT, () -> m.uploadPart("mpu", "k", id, 0, null));
        failsWith(Code.INVALID_ARGUMENT, () -> m.uploadPart("mpu", "k", id, Multipart.PART_NUMBER_MAX + 1, null));
        failsWith(Code.NO_SUCH_UPLOAD, () -> m.uploadPart("mpu", "other-key", id, 1, null));
        failsWith(Code.NO_SUCH_UPLOAD, () -> m.uploadPart("mpu", "k", "../../x", 1, null));
        failsWith(Code.NO_SUCH_KEY, () -> store.head("mpu", "k"));
        // a part may be as small as it likes when it is the last; skipping numbers is allowed
        ObjectInfo info = m.complete("mpu", "k", id, List.of(new PartRef(1, e1), new PartRef(3, e3)), null);
        assertTrue(info.etag().endsWith("-2"), info.etag());
        assertEquals(5 * MIB + 100, store.head("mpu", "k").sizeBytes());
        failsWith(Code.NO_SUCH_UPLOAD, () -> m.abort("mpu", "k", id));
    }

    @Test
    void abortDropsTheUploadAndAPartUploadStartedBeforeItCannotLand() throws Exception {
        MountpathStore store = store(dir, 2, true, false);
        store.createBucket("mpu");
        Multipart m = store.multipart();
        String id = m.create("mpu", "k", PutOptions.none()).uploadId();
        part(m, "mpu", "k", id, 1, random(10, 1));
        ObjectWriter late = m.uploadPart("mpu", "k", id, 2, null);
        late.write(ByteBuffer.wrap(random(10, 2)));
        m.abort("mpu", "k", id);
        failsWith(Code.NO_SUCH_UPLOAD, late::commit);
        failsWith(Code.NO_SUCH_UPLOAD, () -> m.listParts("mpu", "k", id, 0, 10));
        assertEquals(List.of(), m.list("mpu", "", null, null, 10));
    }

    @Test
    void uploadsSurviveARestartAndAreListedByKeyThenUploadId() throws Exception {
        MountpathStore store = store(dir, 2, true, true);
        store.createBucket("mpu");
        Multipart m = store.multipart();
        String b1 = m.create("mpu", "b", PutOptions.none()).uploadId();
        String a = m.create("mpu", "a", PutOptions.none()).uploadId();
        Thread.sleep(2); // upload ids start with the time in ms: a later upload of a key sorts after
        String b2 = m.create("mpu", "b", PutOptions.none()).uploadId();
        m.create("mpu", "other/c", PutOptions.none());
        String e1 = part(m, "mpu", "b", b1, 1, random(5 * MIB, 1));
        store.close();

        MountpathStore again = store(dir, 2, true, true);
        Multipart m2 = again.multipart();
        List<String> all = m2.list("mpu", "", null, null, 10).stream().map(u -> u.key() + ":" + u.uploadId()).toList();
        assertEquals(List.of("a:" + a, "b:" + b1, "b:" + b2), all.subList(0, 3));
        assertEquals(4, all.size());
        assertEquals(List.of("b:" + b2), m2.list("mpu", "", "b", b1, 1).stream()
                .map(u -> u.key() + ":" + u.uploadId()).toList(), "key-marker b, upload-id-marker b1");
        assertEquals(List.of("other/c"), m2.list("mpu", "", "b", null, 10).stream().map(Multipart.Upload::key).toList());
        assertEquals(List.of("other/c"), m2.list("mpu", "other/", null, null, 10).stream()
                .map(Multipart.Upload::key).toList());
        String e2 = part(m2, "mpu", "b", b1, 2, random(7, 2));
        m2.complete("mpu", "b", b1, List.of(new PartRef(1, e1), new PartRef(2, e2)), null);
        assertEquals(5 * MIB + 7, again.head("mpu", "b").sizeBytes());
        failsWith(Code.BUCKET_NOT_EMPTY, () -> again.deleteBucket("mpu"));
        again.delete("mpu", "b");
        again.deleteBucket("mpu"); // its uploads in progress go with it
        again.createBucket("mpu");
        assertEquals(List.of(), m2.list("mpu", "", null, null, 10));
    }

    @Test
    void completeHonoursIfNoneMatch() throws Exception {
        MountpathStore store = store(dir, 1, true, false);
        store.createBucket("mpu");
        Multipart m = store.multipart();
        put(store, "mpu", "k", new byte[] {1});
        String id = m.create("mpu", "k", PutOptions.none()).uploadId();
        String e1 = part(m, "mpu", "k", id, 1, random(10, 1));
        failsWith(Code.PRECONDITION_FAILED, () -> m.complete("mpu", "k", id, List.of(new PartRef(1, e1)),
                new Condition(true, null)));
        assertArrayEquals(new byte[] {1}, get(store, "mpu", "k"));
    }
}
