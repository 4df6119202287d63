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
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import io.basalt.raid.volume.Raid5Volume;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Compaction's bounded-memory scan of a victim segment, and its checkpoint when space is short. */
class VolumeCompactionTest {
    private static final int CHUNK_BYTES = 16 * 1024;
    private static final int OBJECTS = 150;
    /** User metadata this long makes a COMMIT header of 3 blocks, which often runs past its stripe-sized piece. */
    private static final int LONG_META_CHARS = 9000;
    private static final long NO_PERIODIC_CHECKPOINT = 1L << 50;
    private static final int FILL_OBJECT_BYTES = 200_000;
    /** A liveness bound for a loaded machine, not a timing: a round runs every 200 ms. */
    private static final long ROOM_DEADLINE_NS = 120_000_000_000L;
    private static final long RETRY_MS = 50;

    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.started("volcompact");
    private final List<BlockDevice> devices = new ArrayList<>();

    @AfterEach
    void closeDevices() {
        for (BlockDevice d : devices) d.close();
    }

    /** A RAID5 of 4 memory members and 16 KiB chunks: stripes of 48 KiB, segments of 22 stripes. */
    private Raid5Volume raid5() {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < 4; i++) members.add(DeviceSpec.open("c" + devices.size() + "m" + i, "memory:16M"));
        Raid5Volume raid = new Raid5Volume("r5c" + devices.size(), members, CHUNK_BYTES);
        devices.add(raid);
        return raid;
    }

    private static int size(int i) {
        return i % 5 == 0 ? 0 : 3000 + 41_000 * (i % 9); // up to ~330 KB: several DATA records, most crossing pieces
    }

    private static Map<String, String> meta(int i) {
        return i % 4 == 0 ? Map.of("long", "m".repeat(LONG_META_CHARS) + i) : Map.of("n", Integer.toString(i));
    }

    @Test
    void compactionReadsAVictimAStripeAtATimeAndMovesEveryLiveObjectIntact() throws Exception {
        Raid5Volume raid = raid5();
        try (VolumeMountpath mp = VolumeFixture.open(raid, fixture.reactor(), false)) {
            int stripe = mp.layout().stripeBytes();
            assertEquals(3 * CHUNK_BYTES, stripe);
            assertTrue(mp.segmentBytes() >= 8L * stripe, "segments of several pieces: " + mp.segmentBytes());
            mp.createBucket("b", 1);
            for (int i = 0; i < OBJECTS; i++) {
                try (ObjectWriter w = mp.create("b", "k" + i, new PutOptions("x/y", meta(i), null))) {
                    w.write(ByteBuffer.wrap(data(i, size(i))));
                    w.commit();
                }
            }
            for (int i = 0; i < OBJECTS; i += 3) mp.delete("b", "k" + i);
            int[] crossing = crossingPieces(mp, stripe);
            assertTrue(crossing[0] > 10, "live records crossing a piece boundary: " + crossing[0]);
            assertTrue(crossing[1] > 0, "live COMMIT headers crossing a piece boundary: " + crossing[1]);
            assertTrue(mp.maintain() > 0, "segments released");
            long largest = mp.compactor().largestScanReadBytes();
            assertTrue(largest > 0 && largest <= stripe, "the scan read at most a stripe at a time: " + largest);
            checkCompacted(mp);
        }
        try (VolumeMountpath mp = VolumeFixture.open(raid, fixture.reactor(), false)) {
            checkCompacted(mp);
        }
    }

    /** Live records (any, and long-metadata COMMIT headers) running past the stripe-sized piece they start in. */
    private static int[] crossingPieces(VolumeMountpath mp, int stripe) {
        int blockBytes = mp.layout().blockBytes();
        int[] out = new int[2];
        for (int i = 0; i < OBJECTS; i++) {
            VolumeIndex.Entry e = mp.index().objects.get(VolumeIndex.indexKey(1, ("k" + i).getBytes()));
            if (e == null) continue;
            long commitAt = (long) VolumeLayout.blockOf(e.location) * blockBytes;
            if (crosses(commitAt, e.recordBlocks, blockBytes, stripe)) out[0]++;
            if (i % 4 == 0 && commitAt % stripe + LONG_META_CHARS > stripe) out[1]++;
            for (LogRecord.Extent x : e.extents()) {
                long at = (long) VolumeLayout.blockOf(x.location()) * blockBytes;
                if (crosses(at, x.recordBlocks(), blockBytes, stripe)) out[0]++;
            }
        }
        return out;
    }

    private static boolean crosses(long atBytes, int blocks, int blockBytes, int stripe) {
        return atBytes / stripe != (atBytes + (long) blocks * blockBytes - 1) / stripe;
    }

    /** A 32 MiB memory device with 1 MiB segments and no periodic checkpoint. */
    private VolumeMountpath openRarelyCheckpointed(BlockDevice dev, boolean background) throws Exception {
        return VolumeMountpath.open(dev, fixture.reactor(), VolumeMountpath.Options.defaults()
                .withSegmentBytes(VolumeFixture.SEGMENT_BYTES).withBackground(background)
                .withCheckpointEveryBytes(NO_PERIODIC_CHECKPOINT));
    }

    private BlockDevice memory() {
        BlockDevice d = DeviceSpec.open("vm" + devices.size(), "memory:32M");
        devices.add(d);
        return d;
    }

    /** PUTs objects until the store is full: the keys stored. */
    private static List<String> fill(VolumeMountpath mp) {
        List<String> stored = new ArrayList<>();
        for (int i = 0; ; i++) {
            try {
                put(mp, "b", "k" + i, data(i, FILL_OBJECT_BYTES));
                stored.add("k" + i);
            } catch (StoreException e) {
                assertEquals(Code.STORAGE_FULL, e.code(), e.getMessage());
                return stored;
            }
        }
    }

    @Test
    void whenSpaceIsShortAndTheGarbageIsPastTheLastCheckpointMaintenanceCheckpointsThenCompacts() throws Exception {
        BlockDevice dev = memory();
        List<String> stored;
        try (VolumeMountpath mp = openRarelyCheckpointed(dev, false)) {
            mp.createBucket("b", 1);
            stored = fill(mp);
            for (int i = 0; i < stored.size(); i++) if (i % 4 != 3) mp.delete("b", stored.get(i));
            assertEquals(0, mp.compactor().compact(), "every segment is past the open's checkpoint: no victim yet");
            long checkpoints = mp.compactor().checkpointSeq();
            assertTrue(mp.compactor().pass() > 0, "the maintenance round released segments");
            assertTrue(mp.compactor().checkpointSeq() > checkpoints, "it wrote a checkpoint to get there");
            for (int i = 0; i < stored.size() / 2; i++) put(mp, "b", "again" + i, data(1000 + i, FILL_OBJECT_BYTES));
            mp.closeWithoutCheckpoint();
        }
        try (VolumeMountpath mp = openRarelyCheckpointed(dev, false)) {
            checkFilledAndRefilled(mp, stored);
        }
    }

    @Test
    void aStoreFullOfLiveDataWritesNoCheckpointPerRoundWhileTheLogStandsStill() throws Exception {
        try (VolumeMountpath mp = openRarelyCheckpointed(memory(), false)) {
            mp.createBucket("b", 1);
            List<String> stored = fill(mp);
            mp.compactor().pass();
            long checkpoints = mp.compactor().checkpointSeq();
            for (int round = 0; round < 3; round++) mp.compactor().pass();
            assertEquals(checkpoints, mp.compactor().checkpointSeq(), "no checkpoint while nothing changed");
            for (String k : stored) {
                assertArrayEquals(data(Integer.parseInt(k.substring(1)), FILL_OBJECT_BYTES), get(mp, "b", k), k);
            }
        }
    }

    @Test
    void theMaintenanceThreadMakesRoomAgainWithoutAPeriodicOrManualCheckpoint() throws Exception {
        BlockDevice dev = memory();
        List<String> stored;
        try (VolumeMountpath mp = openRarelyCheckpointed(dev, true)) {
            mp.createBucket("b", 1);
            stored = fill(mp);
            for (int i = 0; i < stored.size(); i++) if (i % 4 != 3) mp.delete("b", stored.get(i));
            for (int i = 0; i < stored.size() / 2; i++) {
                putOnceThereIsRoom(mp, "again" + i, data(1000 + i, FILL_OBJECT_BYTES));
            }
        }
        try (VolumeMountpath mp = openRarelyCheckpointed(dev, false)) {
            checkFilledAndRefilled(mp, stored);
        }
    }

    /** PUTs, retrying while the store is full: the maintenance thread is expected to make room within the deadline. */
    private static void putOnceThereIsRoom(VolumeMountpath mp, String key, byte[] body) throws Exception {
        long deadlineNs = System.nanoTime() + ROOM_DEADLINE_NS;
        while (true) {
            try {
                put(mp, "b", key, body);
                return;
            } catch (StoreException e) {
                assertEquals(Code.STORAGE_FULL, e.code(), e.getMessage());
                assertTrue(System.nanoTime() < deadlineNs, "the maintenance thread made no room for " + key);
                Thread.sleep(RETRY_MS);
            }
        }
    }

    private static void checkFilledAndRefilled(VolumeMountpath mp, List<String> stored) throws Exception {
        for (int i = 0; i < stored.size(); i++) {
            String k = stored.get(i);
            if (i % 4 != 3) {
                failsWith(Code.NO_SUCH_KEY, () -> mp.head("b", k));
            } else {
                assertArrayEquals(data(Integer.parseInt(k.substring(1)), FILL_OBJECT_BYTES), get(mp, "b", k), k);
            }
        }
        for (int i = 0; i < stored.size() / 2; i++) {
            assertArrayEquals(data(1000 + i, FILL_OBJECT_BYTES), get(mp, "b", "again" + i), "again" + i);
        }
    }

    private static void checkCompacted(VolumeMountpath mp) throws Exception {
        for (int i = 0; i < OBJECTS; i++) {
            if (i % 3 == 0) {
                assertFalse(keys(mp, "b", "k" + i, null).contains("k" + i), "k" + i + " deleted");
            } else {
                assertArrayEquals(data(i, size(i)), get(mp, "b", "k" + i), "k" + i);
                assertEquals(meta(i), mp.head("b", "k" + i).userMetadata(), "k" + i);
            }
        }
    }
}
