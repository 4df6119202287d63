package io.basalt.objectlayer.volume;

import static io.basalt.objectlayer.volume.VolumeFixture.data;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.fixtures.ReactorFixture;
import io.basalt.objectlayer.Multipart;
import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectReader;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.store.MountpathStore;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the store layer builds over any mountpath, on a volume mountpath: multipart uploads (parts in the reserved
 * bucket, the md5-of-md5s ETag), tags (a METADATA record here), and the refusal to format a device holding data.
 */
class VolumeStoreFeaturesTest {
    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.started("volfeatures");

    @Test
    void multipartUploadsAndTagsWorkOnAVolumeAndSurviveReopen() throws Exception {
        try (BlockDevice dev = DeviceSpec.open("mpvol", "memory:64M")) {
            byte[] one = data(1, (int) Multipart.PART_BYTES_MIN);
            byte[] two = data(2, 12_345);
            String etag;
            try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false);
                 MountpathStore store = new MountpathStore(List.of(mp))) {
                store.createBucket("bkt");
                Multipart.Upload up = store.multipart().create("bkt", "big", PutOptions.none().withTags(Map.of("a", "1")));
                String e1 = part(store, up, 1, one);
                String e2 = part(store, up, 2, two);
                ObjectInfo done = store.multipart().complete("bkt", "big", up.uploadId(),
                        List.of(new Multipart.PartRef(1, e1), new Multipart.PartRef(2, e2)), null);
                MessageDigest md5 = MessageDigest.getInstance("MD5");
                md5.update(HexFormat.of().parseHex(e1));
                md5.update(HexFormat.of().parseHex(e2));
                etag = HexFormat.of().formatHex(md5.digest()) + "-2";
                assertEquals(etag, done.etag());
                assertEquals(Map.of("a", "1"), store.head("bkt", "big").tags());
                assertTrue(store.multipart().list("bkt", "", null, null, 10).isEmpty(), "the upload ended");

                store.setTags("bkt", "big", Map.of("b", "2"));
                ObjectInfo tagged = store.head("bkt", "big");
                assertEquals(Map.of("b", "2"), tagged.tags());
                assertEquals(etag, tagged.etag(), "tagging keeps the ETag");
            }
            try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false);
                 MountpathStore store = new MountpathStore(List.of(mp))) {
                assertEquals(List.of("bkt"), store.listBuckets().stream().map(b -> b.name()).toList(), "%uploads is hidden");
                ObjectInfo info = store.head("bkt", "big");
                assertEquals(etag, info.etag());
                assertEquals(Map.of("b", "2"), info.tags());
                assertArrayEquals(concat(one, two), read(store, "big"));
            }
        }
    }

    @Test
    void aDeviceHoldingOtherDataIsNotFormatted() throws Exception {
        try (BlockDevice dev = DeviceSpec.open("used", "memory:16M")) {
            VolumeIo io = new VolumeIo(fixture.reactor(), dev);
            MemorySegment buf = io.buffer(4096);
            buf.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 1080, (byte) 0x53); // where ext4 keeps its magic
            io.write(0, buf);
            io.close();
            IOException e = assertThrows(IOException.class, () -> VolumeFixture.open(dev, fixture.reactor(), false));
            assertTrue(e.getMessage().contains("holds data that is not a Basalt object store"), e.getMessage());
        }
    }

    private static String part(MountpathStore store, Multipart.Upload up, int number, byte[] bytes) throws Exception {
        try (ObjectWriter w = store.multipart().uploadPart("bkt", up.key(), up.uploadId(), number, null)) {
            w.write(ByteBuffer.wrap(bytes));
            return w.commit().etag();
        }
    }

    private static byte[] read(MountpathStore store, String key) throws Exception {
        try (ObjectReader r = store.open("bkt", key)) {
            ByteBuffer all = ByteBuffer.allocate((int) r.info().sizeBytes());
            while (all.hasRemaining() && r.read(all.position(), all) > 0) {
                // read until full
            }
            return all.array();
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
