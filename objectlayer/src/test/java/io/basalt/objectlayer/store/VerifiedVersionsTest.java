package io.basalt.objectlayer.store;

import static io.basalt.objectlayer.store.StoreFixture.failsWith;
import static io.basalt.objectlayer.store.StoreFixture.get;
import static io.basalt.objectlayer.store.StoreFixture.put;
import static io.basalt.objectlayer.store.StoreFixture.store;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

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
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A GET that skips re-reading a version it checked must never hide a later change of the file. */
class VerifiedVersionsTest {
    @TempDir
    Path dir;

    @Test
    void aVersionCheckedBeforeAByteWasFlippedInPlaceIsCheckedAgain() throws Exception {
        MountpathStore store = store(dir, 1, true, true);
        store.createBucket("bkt");
        byte[] data = "settled object bytes".repeat(100).getBytes(StandardCharsets.UTF_8);
        put(store, "bkt", "k", data);
        DirectoryMountpath mp = StoreFixture.dirs(store).getFirst();
        Path file = mp.objectPath("bkt", Names.segments(Names.keyBytes("k")));
        Thread.sleep(VerifiedVersions.SETTLED_NS / 1_000_000 + 100); // old enough to be remembered
        assertArrayEquals(data, get(store, "bkt", "k"));
        assertArrayEquals(data, get(store, "bkt", "k"), "served again (from the remembered check)");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {(byte) (data[7] ^ 0x40)}), 7); // same size, new mtime/ctime
        }
        failsWith(Code.INTERNAL_ERROR, () -> get(store, "bkt", "k"));
    }

    @Test
    void freshVersionsAreNotRememberedAndOldOnesExpire() throws Exception {
        Path file = Files.writeString(dir.resolve("f"), "x");
        VerifiedVersions v = new VerifiedVersions();
        VerifiedVersions.Version fresh = VerifiedVersions.Version.of(file);
        v.remember(fresh, 42);
        assertNull(v.xxhash64(fresh), "a version made within the clock's granularity could still change unseen");
        VerifiedVersions.Version settled = new VerifiedVersions.Version(fresh.device(), fresh.inode(), 1, 0, 0);
        v.remember(settled, 42);
        assertEquals(42L, v.xxhash64(settled));
        assertNull(v.xxhash64(new VerifiedVersions.Version(fresh.device(), fresh.inode(), 1, 0, 1)), "ctime moved");
    }

    @Test
    void aRememberedXattrRecordNeverHidesNewTags() throws Exception {
        MountpathStore store = store(dir, 1, true, true);
        DirectoryMountpath mp = StoreFixture.dirs(store).getFirst();
        Assumptions.assumeTrue(mp.usesXattrs(), "the file system has user xattrs");
        store.createBucket("bkt");
        byte[] data = "tagged object".repeat(50).getBytes(StandardCharsets.UTF_8);
        put(store, "bkt", "k", data);
        Path file = mp.objectPath("bkt", Names.segments(Names.keyBytes("k")));
        Thread.sleep(VerifiedVersions.SETTLED_NS / 1_000_000 + 100);
        assertEquals(Map.of(), tagsOfGet(store));
        assertNotNull(mp.verifiedVersions().xattrRecord(VerifiedVersions.Version.of(file)), "remembered with its record");
        for (int i = 0; i < 3; i++) {
            store.setTags("bkt", "k", Map.of("round", Integer.toString(i)));
            assertEquals(Map.of("round", Integer.toString(i)), tagsOfGet(store), "a GET right after setTags");
            Thread.sleep(VerifiedVersions.SETTLED_NS / 1_000_000 + 100);
            assertEquals(Map.of("round", Integer.toString(i)), tagsOfGet(store), "read and remembered again");
            assertEquals(Map.of("round", Integer.toString(i)), tagsOfGet(store), "from the remembered record");
        }
        assertArrayEquals(data, get(store, "bkt", "k"));
    }

    @Test
    void aSidecarRecordIsNeverRemembered() throws Exception {
        MountpathStore store = store(dir, 1, true, true);
        DirectoryMountpath mp = StoreFixture.dirs(store).getFirst();
        store.createBucket("bkt");
        byte[] data = "object with a large record".getBytes(StandardCharsets.UTF_8);
        String big = "v".repeat(DirectoryMountpath.XATTR_VALUE_BYTES_MAX); // the record outgrows an xattr
        try (ObjectWriter w = store.create("bkt", "k", new PutOptions("text/plain", Map.of("big", big), null))) {
            w.write(ByteBuffer.wrap(data));
            w.commit();
        }
        Path file = mp.objectPath("bkt", Names.segments(Names.keyBytes("k")));
        Thread.sleep(VerifiedVersions.SETTLED_NS / 1_000_000 + 100);
        assertEquals(Map.of(), tagsOfGet(store));
        VerifiedVersions.Version v = VerifiedVersions.Version.of(file);
        assertNotNull(mp.verifiedVersions().xxhash64(v), "the content check is remembered");
        assertNull(mp.verifiedVersions().xattrRecord(v), "but not the sidecar's record");
        store.setTags("bkt", "k", Map.of("color", "red")); // a new sidecar; the data file's ctime stays
        assertEquals(v, VerifiedVersions.Version.of(file), "the data file's version did not move");
        assertEquals(Map.of("color", "red"), tagsOfGet(store));
        assertEquals(big, store.head("bkt", "k").userMetadata().get("big"));
    }

    private static Map<String, String> tagsOfGet(MountpathStore store) throws Exception {
        try (ObjectReader r = store.open("bkt", "k")) {
            return r.info().tags();
        }
    }
}
