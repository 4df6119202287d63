package io.basalt.objectlayer.volume;

import static io.basalt.objectlayer.volume.VolumeFixture.data;
import static io.basalt.objectlayer.volume.VolumeFixture.get;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.fault.FaultBlockDevice;
import io.basalt.engine.fault.FaultConfig;
import io.basalt.engine.fixtures.ReactorFixture;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Power cuts (FaultBlockDevice, fault_power_cut=1 and fault_torn=1: unflushed blocks survive a cut or not, each on a
 * seeded coin) at a random moment of concurrent PUTs and DELETEs, with background checkpoints: after reopening,
 * every acknowledged PUT is there with its exact bytes (unless a later op on its key may have happened), every
 * acknowledged DELETE holds, and no key shows anything but one of its possible versions, whole.
 */
class VolumePowerCutTest {
    private static final int THREADS = 4;
    private static final int KEYS_PER_THREAD = 6;
    private static final int SIZE_MAX = 600_000;

    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.started("volstore-cut");

    /** The states a key may be in: seeds of PUTs (their data), or -1 for absent. */
    private final ConcurrentHashMap<String, Set<Long>> possible = new ConcurrentHashMap<>();

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void everyAcknowledgedWriteSurvivesACutAndNoTornObjectIsVisible(long seed) throws Exception {
        FaultBlockDevice dev = new FaultBlockDevice("cut", new MemoryBlockDevice("cut", 64L << 20, 4096),
                FaultConfig.none(seed).withPowerCut(true).withTornWrites(true));
        try {
            VolumeMountpath mp = VolumeMountpath.open(dev, fixture.reactor(), VolumeMountpath.Options.defaults()
                    .withSegmentBytes(VolumeFixture.SEGMENT_BYTES).withCheckpointEveryBytes(2L << 20));
            mp.createBucket("b", 1);
            AtomicBoolean cut = new AtomicBoolean();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                threads.add(Thread.ofVirtual().start(() -> work(mp, thread, seed, cut)));
            }
            Thread.sleep(100 + new SplittableRandom(seed).nextInt(600));
            fixture.reactor().call(() -> {
                dev.powerCut();
                dev.setFailed(true); // nothing after the cut reaches the medium: no op acknowledged after it
                cut.set(true);
                return null;
            }).get();
            for (Thread th : threads) th.join();
            mp.closeWithoutCheckpoint();
            dev.setFailed(false);
            try (VolumeMountpath again = VolumeFixture.open(dev, fixture.reactor(), false)) {
                check(again);
            }
        } finally {
            dev.close();
        }
    }

    private void work(VolumeMountpath mp, int thread, long seed, AtomicBoolean cut) {
        SplittableRandom random = new SplittableRandom(seed * 1000 + thread);
        for (int op = 0; !cut.get(); op++) {
            String key = "t" + thread + "/k" + random.nextInt(KEYS_PER_THREAD);
            Set<Long> states = possible.computeIfAbsent(key, k -> new HashSet<>(Set.of(-1L)));
            boolean delete = random.nextInt(4) == 0;
            long version = delete ? -1 : seed << 40 | (long) thread << 32 | op;
            synchronized (states) {
                states.add(version); // in flight: it may or may not have happened
            }
            try {
                if (delete) {
                    mp.delete("b", key);
                } else {
                    put(mp, key, version);
                }
            } catch (StoreException e) {
                if (!cut.get()) fail("an op failed before the cut: " + e);
                return;
            }
            if (cut.get()) return; // acknowledged after the cut: its flush may not have been whole
            synchronized (states) {
                states.clear(); // acknowledged: the key's only possible state until its next op
                states.add(version);
            }
        }
    }

    private static void put(VolumeMountpath mp, String key, long version) throws StoreException {
        VolumeFixture.put(mp, "b", key, data(version, size(version)));
    }

    private static int size(long version) {
        return new SplittableRandom(version).nextInt(SIZE_MAX);
    }

    private void check(VolumeMountpath mp) throws Exception {
        assertTrue(mp.hasBucket("b"), "the bucket was acknowledged before any PUT");
        for (var e : possible.entrySet()) {
            String key = e.getKey();
            Set<Long> states = e.getValue();
            byte[] found;
            try {
                found = get(mp, "b", key);
            } catch (StoreException ex) {
                assertEquals(Code.NO_SUCH_KEY, ex.code(), key + ": " + ex.getMessage());
                assertTrue(states.contains(-1L), key + " is gone but was acknowledged as " + states);
                continue;
            }
            boolean matches = false;
            for (long v : states) {
                if (v >= 0 && found.length == size(v)) {
                    assertArrayEquals(data(v, size(v)), found, key + " holds version " + v + " with other bytes");
                    matches = true;
                }
            }
            assertTrue(matches, key + " holds " + found.length + " bytes, none of the versions " + states);
        }
    }
}
