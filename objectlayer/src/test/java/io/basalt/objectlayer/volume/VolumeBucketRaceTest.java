package io.basalt.objectlayer.volume;

import static io.basalt.objectlayer.volume.VolumeFixture.data;
import static io.basalt.objectlayer.volume.VolumeFixture.put;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.fixtures.ReactorFixture;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * PUTs racing a bucket delete: each PUT either committed before the delete (and went with the bucket) or fails with
 * NoSuchBucket; no commit lands in the index under a deleted bucket's number (where nothing could reach or delete
 * it), live or after a replay of the log.
 */
class VolumeBucketRaceTest {
    private static final int ROUNDS = 12;
    private static final int THREADS = 4;
    /** Per thread and round, so the rounds' garbage stays well within the device whatever the timing. */
    private static final int PUTS_MAX = 40;

    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.started("volrace");

    @Test
    void aCommitIntoADeletedBucketFailsAndLeavesNoEntry() throws Exception {
        try (BlockDevice dev = DeviceSpec.open("race", "memory:64M")) {
            VolumeMountpath mp = VolumeFixture.open(dev, fixture.reactor(), false);
            SplittableRandom random = new SplittableRandom(7);
            AtomicInteger refusedCommits = new AtomicInteger();
            for (int round = 0; round < ROUNDS; round++) {
                AtomicInteger committed = new AtomicInteger();
                mp.createBucket("b", round);
                int id = mp.index().bucketId("b");
                ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    threads.add(Thread.ofVirtual().start(() -> putUntilRefused(mp, thread, committed,
                            refusedCommits, unexpected)));
                }
                // delete once a few PUTs committed, while the others are still in flight (on any machine's speed)
                int target = 2 + random.nextInt(THREADS * PUTS_MAX / 2);
                while (committed.get() < target && threads.stream().anyMatch(Thread::isAlive)) Thread.sleep(1);
                mp.deleteBucket("b");
                for (Thread th : threads) th.join();
                assertTrue(unexpected.isEmpty(), "PUTs failed otherwise: " + unexpected);
                assertFalse(mp.hasBucket("b"));
                assertEquals(0, entriesOf(mp, id), "round " + round + ": entries left under deleted bucket " + id);
                mp.maintain(); // the round's objects are garbage now
            }
            System.out.println("bucket race: " + refusedCommits.get() + " commits refused with NoSuchBucket");
            assertEquals(0, mp.objectCount(), "every bucket is gone, so is every object");
            mp.closeWithoutCheckpoint(); // the next open replays the whole log: the same outcome
            try (VolumeMountpath again = VolumeFixture.open(dev, fixture.reactor(), false)) {
                assertEquals(0, again.objectCount(), "no object of a deleted bucket after replay");
                assertTrue(again.bucketNames().isEmpty());
            }
        }
    }

    /** PUTs small objects until the bucket is gone (create or commit refused with NoSuchBucket). */
    private static void putUntilRefused(VolumeMountpath mp, int thread, AtomicInteger committed,
                                        AtomicInteger refusedCommits, ConcurrentLinkedQueue<Throwable> unexpected) {
        for (int n = 0; n < PUTS_MAX; n++) {
            boolean created = mp.hasBucket("b");
            try {
                put(mp, "b", "t" + thread + "/" + n, data(n, 3000 + n % 5 * 20_000));
                committed.incrementAndGet();
            } catch (StoreException e) {
                if (e.code() != Code.NO_SUCH_BUCKET) unexpected.add(e);
                if (created && e.getMessage().contains("deleted")) refusedCommits.incrementAndGet();
                return;
            } catch (RuntimeException e) {
                unexpected.add(e);
                return;
            }
        }
    }

    private static long entriesOf(VolumeMountpath mp, int bucketId) {
        return mp.index().objects.keySet().stream().filter(k -> VolumeIndex.bucketIdOf(k) == bucketId).count();
    }
}
