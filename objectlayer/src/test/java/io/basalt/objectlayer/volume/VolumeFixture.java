package io.basalt.objectlayer.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectReader;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.store.Mountpath;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.function.Executable;

/** Helpers of the volume-mountpath tests. */
final class VolumeFixture {
    /** Small segments, so a 64 MiB device has ~60 and large objects span several. */
    static final long SEGMENT_BYTES = 1 << 20;

    private VolumeFixture() {}

    static VolumeMountpath open(BlockDevice device, Reactor reactor, boolean background) throws IOException {
        return VolumeMountpath.open(device, reactor, VolumeMountpath.Options.defaults().withSegmentBytes(SEGMENT_BYTES)
                .withBackground(background).withCheckpointEveryBytes(4L << 20));
    }

    static byte[] data(long seed, int size) {
        byte[] out = new byte[size];
        new SplittableRandom(seed).nextBytes(out);
        return out;
    }

    /** PUTs {@code data} in pieces of up to 100 KB, as the S3 front end hands bodies on. */
    static ObjectInfo put(Mountpath mp, String bucket, String key, byte[] data) throws StoreException {
        try (ObjectWriter w = mp.create(bucket, key, PutOptions.none())) {
            for (int at = 0; at < data.length; at += 100_000) {
                w.write(ByteBuffer.wrap(data, at, Math.min(100_000, data.length - at)));
            }
            return w.commit();
        }
    }

    static byte[] get(Mountpath mp, String bucket, String key) throws StoreException, IOException {
        try (ObjectReader r = mp.open(bucket, key)) {
            ByteBuffer out = ByteBuffer.allocate((int) r.info().sizeBytes());
            long position = 0;
            for (int n; out.hasRemaining() && (n = r.read(position, out)) > 0; ) position += n;
            assertEquals(-1, r.read(position, ByteBuffer.allocate(1)), "end of the object");
            return out.array();
        }
    }

    static List<String> keys(Mountpath mp, String bucket, String prefix, String startAfter) throws IOException {
        List<String> out = new ArrayList<>();
        try (Mountpath.Walk w = mp.list(bucket, prefix.getBytes(), startAfter == null ? null : startAfter.getBytes())) {
            while (w.hasNext()) out.add(w.next().info().key());
        }
        return out;
    }

    static void failsWith(StoreException.Code expected, Executable call) {
        StoreException e = assertThrows(StoreException.class, call);
        assertEquals(expected, e.code(), e.getMessage());
    }
}
