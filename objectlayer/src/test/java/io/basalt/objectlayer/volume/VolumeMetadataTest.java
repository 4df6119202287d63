package io.basalt.objectlayer.volume;

import static io.basalt.objectlayer.volume.VolumeFixture.data;
import static io.basalt.objectlayer.volume.VolumeFixture.failsWith;
import static io.basalt.objectlayer.volume.VolumeFixture.get;
import static io.basalt.objectlayer.volume.VolumeFixture.put;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.fault.FaultBlockDevice;
import io.basalt.engine.fault.FaultConfig;
import io.basalt.engine.fixtures.ReactorFixture;
import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException.Code;
import java.nio.ByteBuffer;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tagging on a volume mountpath writes a METADATA record (no copy of the data): the new tags are what HEAD and GET
 * see, with the same bytes, ETag and Last-Modified; they survive reopen by replay and by checkpoint, compaction
 * (which folds them into the COMMIT it writes), and a power cut right after setTags returned.
 */
class VolumeMetadataTest {
    private static final int SMALL_BYTES = 5_000;
    private static final int LARGE_BYTES = 2_600_000; // DATA extents in several segments

    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.started("volmeta");

    @Test
    void setTagsKeepsTheDataAndCopiesNone() throws Exception {
        try (BlockDevice dev = DeviceSpec.open("meta", "memory:64M");
             VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            mp.createBucket("b", 1);
            ObjectInfo small = put(mp, "b", "small", data(1, SMALL_BYTES));
            ObjectInfo large = put(mp, "b", "large", data(2, LARGE_BYTES));
            long appended = mp.log().bytesAppended.get();
            mp.setTags("b", "small", Map.of("color", "blue"));
            mp.setTags("b", "large", Map.of("size", "big", "x", "y z"));
            assertTrue(mp.log().bytesAppended.get() - appended <= 2L * mp.layout().blockBytes(),
                    "two METADATA records of a block each, no data: " + (mp.log().bytesAppended.get() - appended));
            checkTagged(mp, small, large);
            mp.setTags("b", "small", Map.of());
            assertEquals(Map.of(), mp.head("b", "small").tags(), "tags removed by an empty set");
            assertArrayEquals(data(1, SMALL_BYTES), get(mp, "b", "small"));
            failsWith(Code.NO_SUCH_KEY, () -> mp.setTags("b", "absent", Map.of("a", "1")));
            failsWith(Code.NO_SUCH_BUCKET, () -> mp.setTags("nobucket", "small", Map.of("a", "1")));
            put(mp, "b", "small", data(3, SMALL_BYTES));
            assertEquals(Map.of(), mp.head("b", "small").tags(), "a PUT replaces the version and its tags");
        }
    }

    @Test
    void tagsSurviveReopenByReplayByCheckpointAndAfterClose() throws Exception {
        try (BlockDevice dev = DeviceSpec.open("metare", "memory:64M")) {
            ObjectInfo small;
            ObjectInfo large;
            VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false);
            mp.createBucket("b", 1);
            small = put(mp, "b", "small", data(1, SMALL_BYTES));
            large = put(mp, "b", "large", data(2, LARGE_BYTES));
            mp.checkpoint(); // the objects in the checkpoint, the METADATA records only in the log after it
            tagBoth(mp);
            mp.closeWithoutCheckpoint();

            mp = VolumeFixture.open(dev, fixture.reactor(), false);
            assertTrue(mp.recovered().replayedRecords() > 0, "the METADATA records were replayed");
            checkTagged(mp, small, large);
            mp.setTags("b", "small", Map.of("round", "two"));
            mp.checkpoint(); // now the retagged entries are in the checkpoint body
            mp.closeWithoutCheckpoint();

            mp = VolumeFixture.open(dev, fixture.reactor(), false);
            assertEquals(0, mp.recovered().replayedRecords(), "everything came from the checkpoint");
            assertEquals(Map.of("round", "two"), mp.head("b", "small").tags());
            mp.setTags("b", "small", Map.of("color", "blue"));
            mp.close(); // with its checkpoint

            try (VolumeMountpath last = VolumeFixture.open(dev, fixture.reactor(), false)) {
                checkTagged(last, small, large);
            }
        }
    }

    @Test
    void compactionCarriesTheNewestTags() throws Exception {
        try (BlockDevice dev = DeviceSpec.open("metacomp", "memory:64M")) {
            try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
                mp.createBucket("b", 1);
                for (int i = 0; i < 30; i++) put(mp, "b", "k" + i, data(i, 100_000));
                for (int i = 0; i < 30; i++) mp.setTags("b", "k" + i, Map.of("v", "1"));
                for (int i = 1; i < 30; i += 2) mp.setTags("b", "k" + i, Map.of("v", "2", "i", "" + i));
                for (int i = 0; i < 30; i += 2) mp.delete("b", "k" + i);
                for (int i = 0; i < 15; i++) put(mp, "b", "filler" + i, data(100 + i, 100_000)); // the head moves on
                long taggedAt = entry(mp, "k1").location;
                assertNotEquals(VolumeIndex.NO_META, entry(mp, "k1").metaLocation());
                assertTrue(mp.maintain() > 0, "segments released");
                assertNotEquals(taggedAt, entry(mp, "k1").location, "k1 was moved");
                for (int i = 1; i < 30; i += 2) {
                    assertEquals(VolumeIndex.NO_META, entry(mp, "k" + i).metaLocation(),
                            "k" + i + ": the tags moved into the relocated COMMIT");
                }
                checkCompactedTags(mp);
            }
            try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
                checkCompactedTags(mp);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void tagsAcknowledgedBeforeAPowerCutSurviveIt(long seed) throws Exception {
        FaultBlockDevice dev = new FaultBlockDevice("metacut", new MemoryBlockDevice("metacut", 64L << 20, 4096),
                FaultConfig.none(seed).withPowerCut(true).withTornWrites(true));
        try {
            VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false);
            mp.createBucket("b", 1);
            ObjectInfo small = put(mp, "b", "small", data(1, SMALL_BYTES));
            ObjectInfo large = put(mp, "b", "large", data(2, LARGE_BYTES));
            if (seed % 2 == 0) mp.checkpoint();
            tagBoth(mp);
            ObjectWriter unfinished = mp.create("b", "after", PutOptions.none());
            unfinished.write(ByteBuffer.wrap(data(3, 300_000))); // DATA records no flush covers when the power goes
            fixture.reactor().call(() -> {
                dev.powerCut();
                dev.setFailed(true);
                return null;
            }).get();
            unfinished.abort();
            mp.closeWithoutCheckpoint();
            dev.setFailed(false);
            try (VolumeMountpath again = VolumeFixture.open(dev, fixture.reactor(), false)) {
                checkTagged(again, small, large);
            }
        } finally {
            dev.close();
        }
    }

    private static void tagBoth(VolumeMountpath mp) throws Exception {
        mp.setTags("b", "small", Map.of("color", "blue"));
        mp.setTags("b", "large", Map.of("size", "big", "x", "y z"));
    }

    /** Both objects with {@link #tagBoth}'s tags and everything else as their PUTs left it. */
    private static void checkTagged(VolumeMountpath mp, ObjectInfo small, ObjectInfo large) throws Exception {
        for (ObjectInfo put : new ObjectInfo[] {small, large}) {
            ObjectInfo now = mp.head("b", put.key());
            assertEquals(put.etag(), now.etag(), put.key());
            assertEquals(put.sizeBytes(), now.sizeBytes(), put.key());
            assertEquals(put.lastModifiedMs(), now.lastModifiedMs(), put.key() + ": tagging keeps Last-Modified");
            assertEquals(put.xxhash64(), now.xxhash64(), put.key());
        }
        assertEquals(Map.of("color", "blue"), mp.head("b", "small").tags());
        assertEquals(Map.of("size", "big", "x", "y z"), mp.head("b", "large").tags());
        assertArrayEquals(data(1, SMALL_BYTES), get(mp, "b", "small"));
        assertArrayEquals(data(2, LARGE_BYTES), get(mp, "b", "large"));
    }

    private static void checkCompactedTags(VolumeMountpath mp) throws Exception {
        for (int i = 1; i < 30; i += 2) {
            assertEquals(Map.of("v", "2", "i", "" + i), mp.head("b", "k" + i).tags(), "k" + i);
            assertArrayEquals(data(i, 100_000), get(mp, "b", "k" + i), "k" + i);
        }
        for (int i = 0; i < 30; i += 2) {
            String deleted = "k" + i;
            failsWith(Code.NO_SUCH_KEY, () -> mp.head("b", deleted));
        }
    }

    private static VolumeIndex.Entry entry(VolumeMountpath mp, String key) {
        return mp.index().objects.get(VolumeIndex.indexKey(1, key.getBytes()));
    }
}
