package io.basalt.objectlayer.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.basalt.objectlayer.ObjectStore;
import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectReader;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.function.Executable;

/** Helpers shared by the store tests. */
final class StoreFixture {
    private StoreFixture() {}

    static MountpathStore store(Path dir, int mountpaths, boolean xattrs, boolean sync) throws IOException {
        List<DirectoryMountpath> list = new ArrayList<>();
        for (int i = 0; i < mountpaths; i++) {
            Path root = dir.resolve("mp" + i);
            Files.createDirectories(root);
            list.add(DirectoryMountpath.open(root, 1, xattrs, sync));
        }
        return new MountpathStore(list);
    }

    static ObjectInfo put(ObjectStore store, String bucket, String key, byte[] data) throws StoreException {
        try (ObjectWriter w = store.create(bucket, key, PutOptions.none())) {
            w.write(ByteBuffer.wrap(data));
            return w.commit();
        }
    }

    static byte[] get(ObjectStore store, String bucket, String key) throws StoreException, IOException {
        try (ObjectReader r = store.open(bucket, key)) {
            return readAll(r);
        }
    }

    static byte[] readAll(ObjectReader r) throws IOException {
        ByteBuffer out = ByteBuffer.allocate((int) r.info().sizeBytes());
        long position = 0;
        for (int n; out.hasRemaining() && (n = r.read(position, out)) > 0; ) position += n;
        assertEquals(-1, r.read(position, ByteBuffer.allocate(1)), "end of the object");
        return out.array();
    }

    static StoreException.Code failsWith(StoreException.Code expected, Executable call) {
        StoreException e = assertThrows(StoreException.class, call);
        assertEquals(expected, e.code(), e.getMessage());
        return e.code();
    }

    static long filesUnder(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    /** The store's mountpaths as the directories these tests make them. */
    static List<DirectoryMountpath> dirs(MountpathStore store) {
        return store.mountpaths().stream().map(DirectoryMountpath.class::cast).toList();
    }
}
