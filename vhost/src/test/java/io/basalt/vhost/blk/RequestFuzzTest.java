package io.basalt.vhost.blk;

import io.basalt.vhost.GuestDriver;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Garbage requests through the whole queue: random types, sectors, data layouts and flags on well-formed or
 * broken chains. Every published chain must come back in the used ring exactly once, with a status byte of
 * OK, IOERR or UNSUPP when it has one, and the queue must end with nothing in flight.
 */
class RequestFuzzTest {
    static final int CASES = 20_000;
    static final int BATCH = 16;

    @Test
    void everyChainCompletes() {
        SplittableRandom r = new SplittableRandom(77);
        long statusOk = 0, statusErr = 0, statusUnsupp = 0;
        try (BlkHarness h = new BlkHarness(4096, false)) {
            GuestDriver g = h.guest;
            for (int c = 0; c < CASES; c += BATCH) {
                g.resetAlloc();
                long[] statusGpas = new long[BATCH];
                int[] heads = new int[BATCH];
                for (int b = 0; b < BATCH; b++) {
                    int n = 2 + r.nextInt(5);
                    long[] gpas = new long[n];
                    int[] lens = new int[n];
                    boolean[] w = new boolean[n];
                    long header = g.alloc(16 + r.nextInt(64), 8);
                    MemorySegment hs = g.at(header, 16);
                    int[] types = {0, 1, 4, 8, 11, 13, r.nextInt()};
                    VirtioBlk.RequestHeader.type(hs, types[r.nextInt(types.length)]);
                    long sectors = (16 << 20) / 512;
                    long[] sectorChoices = {0, 8L * r.nextInt(4096), sectors - 8, sectors, r.nextLong(), r.nextInt(64)};
                    VirtioBlk.RequestHeader.sector(hs, sectorChoices[r.nextInt(sectorChoices.length)]);
                    gpas[0] = header;
                    lens[0] = r.nextInt(8) == 0 ? 1 + r.nextInt(40) : 16 + (r.nextBoolean() ? 0 : 16 * r.nextInt(3));
                    boolean writing = r.nextBoolean();
                    for (int i = 1; i < n - 1; i++) {
                        int[] lenChoices = {512, 4096, 8192, 1 + r.nextInt(9000), 16};
                        lens[i] = lenChoices[r.nextInt(lenChoices.length)];
                        gpas[i] = r.nextInt(20) == 0 ? r.nextLong() : g.alloc(lens[i], r.nextBoolean() ? 4096 : 512);
                        w[i] = r.nextInt(10) == 0 ? r.nextBoolean() : writing;
                        if (lens[i] >= 16 && r.nextInt(4) == 0) {
                            MemorySegment d = g.memory.gpa(gpas[i], 16);
                            if (d != null) VirtioBlk.DiscardSegment.set(d, 8L * r.nextInt(100), 8 * r.nextInt(4), r.nextInt(3));
                        }
                    }
                    gpas[n - 1] = g.alloc(1, 1);
                    lens[n - 1] = r.nextInt(30) == 0 ? 0 : 1;
                    w[n - 1] = r.nextInt(30) != 0;
                    statusGpas[b] = w[n - 1] && lens[n - 1] == 1 ? gpas[n - 1] : -1;
                    if (statusGpas[b] >= 0) g.at(statusGpas[b], 1).set(ValueLayout.JAVA_BYTE, 0, (byte) 0x55);
                    heads[b] = r.nextInt(4) == 0 ? g.indirectChain(gpas, lens, w) : g.chain(gpas, lens, w);
                    g.publish(heads[b]);
                }
                h.runUntilUsed(BATCH);
                long[][] usedById = new long[g.size][];
                for (int b = 0; b < BATCH; b++) {
                    long[] e = g.takeUsed();
                    assertNull(usedById[(int) e[0]], "each head used once");
                    usedById[(int) e[0]] = e;
                }
                for (int b = 0; b < BATCH; b++) {
                    long[] used = usedById[heads[b]]; // errors complete at once, device requests later: any order
                    assertNotNull(used, "head " + heads[b] + " used");
                    if (statusGpas[b] >= 0) {
                        assertTrue(used[1] > 0, "a reachable status byte is reported");
                        int s = g.at(statusGpas[b], 1).get(ValueLayout.JAVA_BYTE, 0);
                        assertTrue(s == 0 || s == 1 || s == 2, "status " + s);
                        if (s == 0) statusOk++;
                        else if (s == 1) statusErr++;
                        else statusUnsupp++;
                    }
                }
                assertEquals(0, g.newUsed());
                assertEquals(0, h.queue.inFlight());
            }
            System.out.println("request fuzz: ok " + statusOk + ", ioerr " + statusErr + ", unsupp " + statusUnsupp
                    + ", broken chains " + h.queue.counter("broken_chains"));
            assertTrue(statusOk > 100 && statusErr > 100 && statusUnsupp > 100);
        }
    }
}
