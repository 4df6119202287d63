package io.basalt.objectlayer.volume;

import static io.basalt.objectlayer.volume.VolumeFixture.data;
import static io.basalt.objectlayer.volume.VolumeFixture.failsWith;
import static io.basalt.objectlayer.volume.VolumeFixture.get;
import static io.basalt.objectlayer.volume.VolumeFixture.keys;
import static io.basalt.objectlayer.volume.VolumeFixture.put;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.fixtures.ReactorFixture;
import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The volume mountpath on a memory device: round trips, reopen, tombstones, ENOSPC, compaction, bad media. */
class VolumeMountpathTest {
    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.started("volstore");
    private final List<BlockDevice> devices = new ArrayList<>();

    private BlockDevice memory(String size) {
        BlockDevice d = DeviceSpec.open("vol" + devices.size(), "memory:" + size);
        devices.add(d);
        return d;
    }

    @AfterEach
    void closeDevices() {
        for (BlockDevice d : devices) d.close();
    }

    @Test
    void objectsRoundTripWithMetadataListingsAndDeletes() throws Exception {
        BlockDevice dev = memory("64M");
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            mp.createBucket("b", 1234);
            assertTrue(mp.hasBucket("b"));
            assertEquals(1234, mp.bucketCreatedMs("b"));
            int[] sizes = {0, 1, 4095, 4096, 300_000, 2_600_000}; // the last spans segments of 1 MiB
            for (int i = 0; i < sizes.length; i++) {
                ObjectInfo info = put(mp, "b", "dir/k" + i, data(i, sizes[i]));
                assertEquals(sizes[i], info.sizeBytes());
            }
            for (int i = 0; i < sizes.length; i++) assertArrayEquals(data(i, sizes[i]), get(mp, "b", "dir/k" + i));
            try (ObjectWriter w = mp.create("b", "meta", new PutOptions("text/plain", Map.of("color", "blue"), null))) {
                w.write(ByteBuffer.wrap("hello".getBytes()));
                w.commit();
            }
            ObjectInfo head = mp.head("b", "meta");
            assertEquals("text/plain", head.contentType());
            assertEquals(Map.of("color", "blue"), head.userMetadata());
            assertEquals("5d41402abc4b2a76b9719d911017c592", head.etag());
            assertEquals(List.of("dir/k0", "dir/k1", "dir/k2", "dir/k3", "dir/k4", "dir/k5"), keys(mp, "b", "dir/", null));
            assertEquals(List.of("dir/k4", "dir/k5"), keys(mp, "b", "dir/", "dir/k3"));
            assertEquals(List.of("meta"), keys(mp, "b", "", "dir/k5"));
            mp.delete("b", "dir/k4");
            mp.delete("b", "never-there");
            failsWith(Code.NO_SUCH_KEY, () -> mp.open("b", "dir/k4"));
            failsWith(Code.NO_SUCH_BUCKET, () -> mp.create("nope", "k", PutOptions.none()));
            try (ObjectWriter w = mp.create("b", "aborted", PutOptions.none())) {
                w.write(ByteBuffer.wrap(data(9, 3_000_000)));
            }
            failsWith(Code.NO_SUCH_KEY, () -> mp.head("b", "aborted"));
            failsWith(Code.BAD_DIGEST, () -> {
                try (ObjectWriter w = mp.create("b", "md5", new PutOptions("x/y", Map.of(), new byte[16]))) {
                    w.write(ByteBuffer.wrap(new byte[10]));
                    w.commit();
                }
            });
        }
    }

    @Test
    void reopenRebuildsTheIndexFromTheCheckpointAndTheLog() throws Exception {
        BlockDevice dev = memory("64M");
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            mp.createBucket("b", 1);
            for (int i = 0; i < 20; i++) put(mp, "b", "before/" + i, data(i, 10_000 * i));
            mp.checkpoint();
            for (int i = 0; i < 20; i++) put(mp, "b", "after/" + i, data(100 + i, 7_000 * i));
            mp.delete("b", "before/3");
            mp.delete("b", "after/4");
            put(mp, "b", "before/5", data(55, 1234));
            mp.closeWithoutCheckpoint(); // the replay covers "after/" and the deletes
        }
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            assertTrue(mp.recovered().fromCheckpoint());
            assertTrue(mp.recovered().replayedRecords() >= 23, "replayed " + mp.recovered().replayedRecords());
            checkAfterReopen(mp);
        }
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            assertTrue(mp.recovered().fromCheckpoint());
            assertEquals(0, mp.recovered().replayedRecords(), "the checkpoint written at the last close covers all");
            checkAfterReopen(mp);
        }
    }

    @Test
    void withNoCheckpointTheWholeLogIsReplayed() throws Exception {
        BlockDevice dev = memory("64M");
        VolumeLayout layout;
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            layout = mp.layout();
            mp.createBucket("b", 1);
            for (int i = 0; i < 20; i++) put(mp, "b", "before/" + i, data(i, 10_000 * i));
            for (int i = 0; i < 20; i++) put(mp, "b", "after/" + i, data(100 + i, 7_000 * i));
            mp.delete("b", "before/3");
            mp.delete("b", "after/4");
            put(mp, "b", "before/5", data(55, 1234));
            mp.closeWithoutCheckpoint();
        }
        try (VolumeIo io = new VolumeIo(fixture.reactor(), dev)) { // wipe both checkpoint slots' headers
            MemorySegment zero = io.buffer(layout.stripeBytes());
            io.write(layout.checkpointAOffset(), zero);
            io.write(layout.checkpointBOffset(), zero);
        }
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            assertFalse(mp.recovered().fromCheckpoint());
            checkAfterReopen(mp);
        }
    }

    private static void checkAfterReopen(VolumeMountpath mp) throws Exception {
        assertEquals(List.of("b"), mp.bucketNames());
        for (int i = 0; i < 20; i++) {
            if (i == 3) {
                failsWith(Code.NO_SUCH_KEY, () -> mp.head("b", "before/3"));
            } else {
                assertArrayEquals(i == 5 ? data(55, 1234) : data(i, 10_000 * i), get(mp, "b", "before/" + i));
            }
            if (i == 4) {
                failsWith(Code.NO_SUCH_KEY, () -> mp.head("b", "after/4"));
            } else {
                assertArrayEquals(data(100 + i, 7_000 * i), get(mp, "b", "after/" + i));
            }
        }
        assertEquals(38, mp.objectCount());
    }

    @Test
    void bucketRecordsSurviveRestart() throws Exception {
        BlockDevice dev = memory("64M");
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            mp.createBucket("keep", 5);
            mp.createBucket("gone", 6);
            put(mp, "gone", "x", data(1, 10));
            mp.deleteBucket("gone");
            mp.closeWithoutCheckpoint();
        }
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            assertEquals(List.of("keep"), mp.bucketNames());
            mp.createBucket("gone", 7);
            assertEquals(List.of(), keys(mp, "gone", "", null), "a new bucket of the old name is empty");
        }
    }

    @Test
    void aFullVolumeRefusesPutsKeepsWhatItHasAndCompactionMakesRoomAgain() throws Exception {
        BlockDevice dev = memory("32M");
        List<String> stored = new ArrayList<>();
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            mp.createBucket("b", 1);
            StoreException full = null;
            for (int i = 0; full == null; i++) {
                try {
                    put(mp, "b", "k" + i, data(i, 200_000));
                    stored.add("k" + i);
                } catch (StoreException e) {
                    full = e;
                }
            }
            assertEquals(Code.STORAGE_FULL, full.code(), full.getMessage());
            for (String k : stored) assertArrayEquals(data(Integer.parseInt(k.substring(1)), 200_000), get(mp, "b", k));
            for (int i = 0; i < stored.size(); i += 2) mp.delete("b", stored.get(i)); // deletes work when full
            int freed = mp.maintain();
            assertTrue(freed > 0, "compaction freed segments");
            for (int i = 0; i < stored.size() / 3; i++) put(mp, "b", "again" + i, data(1000 + i, 200_000));
            mp.closeWithoutCheckpoint();
        }
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            for (int i = 0; i < stored.size(); i++) {
                String k = stored.get(i);
                if (i % 2 == 0) {
                    failsWith(Code.NO_SUCH_KEY, () -> mp.head("b", k));
                } else {
                    assertArrayEquals(data(Integer.parseInt(k.substring(1)), 200_000), get(mp, "b", k), k);
                }
            }
            for (int i = 0; i < stored.size() / 3; i++) assertArrayEquals(data(1000 + i, 200_000), get(mp, "b", "again" + i));
        }
    }

    @Test
    void compactionMovesLiveObjectsWhichReadBackAfterReopen() throws Exception {
        BlockDevice dev = memory("64M");
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            mp.createBucket("b", 1);
            for (int i = 0; i < 40; i++) put(mp, "b", "k" + i, data(i, 60_000 + 50_000 * (i % 7)));
            put(mp, "b", "big", data(77, 3_000_000)); // extents in several segments
            for (int i = 0; i < 40; i += 3) mp.delete("b", "k" + i);
            int freeBefore = mp.freeSegments();
            assertTrue(mp.maintain() > 0, "segments released");
            assertTrue(mp.freeSegments() > freeBefore);
            checkCompacted(mp);
        }
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            checkCompacted(mp);
        }
    }

    private static void checkCompacted(VolumeMountpath mp) throws Exception {
        for (int i = 0; i < 40; i++) {
            if (i % 3 == 0) {
                assertFalse(keys(mp, "b", "k" + i, null).contains("k" + i));
            } else {
                assertArrayEquals(data(i, 60_000 + 50_000 * (i % 7)), get(mp, "b", "k" + i), "k" + i);
            }
        }
        assertArrayEquals(data(77, 3_000_000), get(mp, "b", "big"));
    }

    @Test
    void corruptDataOnTheMediumIsAnErrorNeverBadBytes() throws Exception {
        BlockDevice dev = memory("64M");
        VolumeLayout layout;
        long smallAt;
        long bigExtentAt;
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            layout = mp.layout();
            mp.createBucket("b", 1);
            put(mp, "b", "small", data(1, 5000));
            put(mp, "b", "big", data(2, 1_000_000));
            put(mp, "b", "fine", data(3, 5000));
            smallAt = layout.byteOffset(mp.index().objects.get(VolumeIndex.indexKey(1, "small".getBytes())).location);
            bigExtentAt = layout.byteOffset(mp.index().objects.get(VolumeIndex.indexKey(1, "big".getBytes()))
                    .extents()[1].location());
            mp.close();
        }
        try (VolumeIo io = new VolumeIo(fixture.reactor(), dev)) { // flip a byte in each object's data
            for (long at : new long[] {smallAt, bigExtentAt}) {
                MemorySegment block = io.buffer(layout.blockBytes());
                io.read(at + layout.blockBytes(), block);
                block.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 7, (byte) (block.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 7) ^ 1));
                io.write(at + layout.blockBytes(), block);
            }
        }
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            failsWith(Code.INTERNAL_ERROR, () -> mp.open("b", "small"));
            try (var r = mp.open("b", "big")) {
                ByteBuffer first = ByteBuffer.allocate(100);
                r.read(0, first); // the first extent is intact
                assertArrayEquals(java.util.Arrays.copyOf(data(2, 1_000_000), 100), first.array());
                org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                        () -> r.read(mp.chunkBytes() + 10, ByteBuffer.allocate(100)));
            }
            assertArrayEquals(data(3, 5000), get(mp, "b", "fine"));
        }
    }

    /**
     * GET and HEAD read records into pooled native buffers: once warm, sequential reads allocate none, and readers
     * on several threads at once (each holding its commit and one extent) stay correct and allocate only a few more.
     */
    @Test
    void readsReuseTheirBuffers() throws Exception {
        BlockDevice dev = memory("64M");
        try (VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false)) {
            mp.createBucket("b", 1);
            for (int i = 0; i < 4; i++) put(mp, "b", "small" + i, data(i, 5000 + i * 30_000));
            put(mp, "b", "large", data(9, 2_600_000)); // three extents
            mp.setTags("b", "small0", Map.of("t", "1")); // and a METADATA record to read
            checkAll(mp);
            long warm = mp.readBuffers().allocations();
            for (int round = 0; round < 5; round++) checkAll(mp);
            assertEquals(warm, mp.readBuffers().allocations(), "sequential reads reuse the buffers");
            int threads = 4;
            List<Thread> readers = new ArrayList<>();
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            for (int t = 0; t < threads; t++) {
                readers.add(Thread.ofVirtual().start(() -> {
                    try {
                        for (int round = 0; round < 10; round++) checkAll(mp);
                    } catch (Exception | AssertionError e) {
                        failures.add(e);
                    }
                }));
            }
            for (Thread r : readers) r.join();
            assertTrue(failures.isEmpty(), "concurrent reads: " + failures);
            long extra = mp.readBuffers().allocations() - warm;
            assertTrue(extra <= 2L * threads * 2, "at most a commit and an extent buffer per reader, a few times: "
                    + extra + " (without the pool: " + threads * 10 * 8 + ")");
        }
    }

    private static void checkAll(VolumeMountpath mp) throws Exception {
        for (int i = 0; i < 4; i++) assertArrayEquals(data(i, 5000 + i * 30_000), get(mp, "b", "small" + i));
        assertArrayEquals(data(9, 2_600_000), get(mp, "b", "large"));
        assertEquals(Map.of("t", "1"), mp.head("b", "small0").tags());
    }

    /** Heap per index entry with 32-byte keys, measured roughly (docs/objects.md states the budget). */
    @Test
    void indexMemoryPerObjectWithin200Bytes() {
        VolumeIndex index = new VolumeIndex();
        int n = 500_000;
        long before = usedHeap();
        for (int i = 0; i < n; i++) {
            byte[] key = String.format("objects/%024d", i).getBytes();
            index.objects.put(VolumeIndex.indexKey(1, key), VolumeIndex.entry(i, i, 1000, 1, i,
                    "0123456789abcdef0123456789abcdef", 1, VolumeIndex.NO_EXTENTS));
        }
        long perObject = (usedHeap() - before) / n;
        System.out.println("volume index: ~" + perObject + " heap bytes per object (32-byte keys)");
        assertEquals(n, index.objects.size());
        assertTrue(perObject < 200, "bytes per object: " + perObject);
    }

    private static long usedHeap() {
        for (int i = 0; i < 3; i++) System.gc();
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }
}
