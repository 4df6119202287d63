package io.basalt.objectlayer.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HrwTest {
    private static final int KEYS = 100_000;
    private static final long[] IDS = {0x1111L, 0x2222L, 0x3333L, 0x4444L, 0x5555L};

    @Test
    void weightsAreHonouredWithinOnePercent() {
        double[] weights = {1, 2, 3, 4};
        long[] ids = {IDS[0], IDS[1], IDS[2], IDS[3]};
        Hrw hrw = new Hrw(ids, weights);
        int[] counts = new int[ids.length];
        for (int i = 0; i < KEYS; i++) counts[hrw.select("bucket", "key-" + i)]++;
        for (int m = 0; m < ids.length; m++) {
            double share = (double) counts[m] / KEYS;
            assertEquals(weights[m] / 10.0, share, 0.01, "mountpath " + m);
        }
    }

    @Test
    void addingAMountpathMovesAboutItsShareAndOnlyToIt() {
        long[] four = {IDS[0], IDS[1], IDS[2], IDS[3]};
        Hrw before = new Hrw(four, new double[] {1, 1, 1, 1});
        Hrw after = new Hrw(IDS, new double[] {1, 1, 1, 1, 1});
        int moved = 0;
        for (int i = 0; i < KEYS; i++) {
            int a = before.select("b", "k" + i);
            int b = after.select("b", "k" + i);
            if (a != b) {
                moved++;
                assertEquals(4, b, "a key moves only to the new mountpath");
            }
        }
        assertEquals(1.0 / 5, (double) moved / KEYS, 0.01);
    }

    @Test
    void placementDependsOnIdsNotOrder() {
        Hrw forward = new Hrw(new long[] {IDS[0], IDS[1], IDS[2]}, new double[] {1, 2, 3});
        Hrw reversed = new Hrw(new long[] {IDS[2], IDS[1], IDS[0]}, new double[] {3, 2, 1});
        for (int i = 0; i < 10_000; i++) {
            assertEquals(forward.select("b", "k" + i), 2 - reversed.select("b", "k" + i));
        }
        assertTrue(Hrw.score(0L, 1) > 0 && Hrw.score(-1L, 1) > 0, "u stays inside (0, 1) at both ends");
    }
}
