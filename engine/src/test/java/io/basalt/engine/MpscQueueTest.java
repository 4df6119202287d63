package io.basalt.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MpscQueueTest {
    @Test
    void singleThreadFifoAcrossManyWraps() {
        MpscQueue<Integer> q = new MpscQueue<>(8);
        List<Integer> out = new ArrayList<>();
        int next = 0;
        for (int round = 0; round < 100; round++) {
            int n = 1 + round % 8;
            for (int i = 0; i < n; i++) assertTrue(q.offer(next++));
            assertEquals(n, q.size());
            assertEquals(n, q.drain(out::add, 64));
            assertTrue(q.isEmpty());
        }
        for (int i = 0; i < next; i++) assertEquals(i, out.get(i));
    }

    @Test
    void boundedOfferFailsWhenFullAndDrainRespectsMax() {
        MpscQueue<String> q = new MpscQueue<>(4);
        assertEquals(4, q.capacity());
        for (int i = 0; i < 4; i++) assertTrue(q.offer("e" + i));
        assertFalse(q.offer("e4"), "full");
        assertEquals(4, q.size());
        List<String> out = new ArrayList<>();
        assertEquals(1, q.drain(out::add, 1));
        assertEquals(List.of("e0"), out);
        assertTrue(q.offer("e4"), "one slot free again");
        assertFalse(q.offer("e5"));
        assertEquals(4, q.drain(out::add, 100));
        assertEquals(List.of("e0", "e1", "e2", "e3", "e4"), out);
        assertEquals(0, q.drain(out::add, 100));
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> new MpscQueue<>(6));
        assertThrows(IllegalArgumentException.class, () -> new MpscQueue<>(0));
        assertThrows(IllegalStateException.class, () -> new MpscQueue<String>(4).offer(null));
    }

    /**
     * 4 producers x 250,000 items through a small queue (so it is full most of the time and wraps often), one
     * consumer: every item arrives exactly once and each producer's items arrive in the order it offered them.
     */
    @Test
    @Timeout(120)
    void concurrentProducersKeepEveryItemOnceAndInProducerOrder() throws Exception {
        int producers = 4;
        int perProducer = 250_000;
        MpscQueue<Long> q = new MpscQueue<>(256);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            long producer = p;
            threads.add(Thread.ofPlatform().name("producer-" + p).start(() -> {
                for (int seq = 0; seq < perProducer && failure.get() == null; seq++) {
                    Long item = (producer << 32) | seq;
                    while (!q.offer(item)) Thread.yield(); // full: 2 cores, let the consumer run
                }
            }));
        }
        int[] nextSeq = new int[producers];
        long[] received = {0};
        long deadline = System.nanoTime() + 100_000_000_000L;
        while (received[0] < (long) producers * perProducer && failure.get() == null && System.nanoTime() < deadline) {
            int n = q.drain(item -> {
                int producer = (int) (item >>> 32);
                int seq = (int) (long) item;
                if (seq != nextSeq[producer]) {
                    failure.compareAndSet(null, new AssertionError("producer " + producer + ": got " + seq + ", expected " + nextSeq[producer]));
                }
                nextSeq[producer] = seq + 1;
                received[0]++;
            }, 128);
            if (n == 0) Thread.yield();
        }
        for (Thread t : threads) t.join();
        assertNull(failure.get());
        assertEquals((long) producers * perProducer, received[0]);
        for (int p = 0; p < producers; p++) assertEquals(perProducer, nextSeq[p], "producer " + p);
        assertTrue(q.isEmpty());
        assertEquals(0, q.drain(item -> { throw new AssertionError("extra item " + item); }, 10));
    }
}
