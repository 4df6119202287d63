package io.basalt.objectlayer.store;

import static io.basalt.objectlayer.store.StoreFixture.failsWith;
import static io.basalt.objectlayer.store.StoreFixture.get;
import static io.basalt.objectlayer.store.StoreFixture.put;
import static io.basalt.objectlayer.store.StoreFixture.store;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.basalt.objectlayer.StoreException.Code;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
}
