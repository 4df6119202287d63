package io.basalt.jmh;

import io.basalt.shims.Check;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.Consumer;

/**
 * The engine's MpscQueue as it was before its indexes were padded (producer and consumer index side by side in one
 * cache line), kept as the baseline that MpscQueueBenchmark measures the padding against. Not used by Basalt.
 *
 * <p>Bounded multi-producer, single-consumer queue (the JCTools MpscArrayQueue scheme): producers claim an index
 * with a CAS on the producer index, then publish the element with a store-release into its slot; the consumer
 * sees the element with a load-acquire, clears the slot, and advances its own index with a store-release that
 * frees the slot for producers. Used for commands posted to a reactor; never blocks, never allocates.
 */
public final class UnpaddedMpscQueue<E> {
    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(Object[].class);
    private static final VarHandle PRODUCER;
    private static final VarHandle CONSUMER;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            PRODUCER = l.findVarHandle(UnpaddedMpscQueue.class, "producerIndex", long.class);
            CONSUMER = l.findVarHandle(UnpaddedMpscQueue.class, "consumerIndex", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Object[] slots;
    private final int mask;
    @SuppressWarnings("unused") private volatile long producerIndex;
    @SuppressWarnings("unused") private volatile long consumerIndex;

    public UnpaddedMpscQueue(int capacity) {
        Check.powerOfTwo(capacity, "capacity");
        this.slots = new Object[capacity];
        this.mask = capacity - 1;
    }

    public int capacity() { return slots.length; }

    /** Any thread. False when full. */
    public boolean offer(E element) {
        Check.that(element != null, "no null elements");
        long index;
        do {
            index = (long) PRODUCER.getVolatile(this);
            long consumer = (long) CONSUMER.getAcquire(this);
            if (index - consumer >= slots.length) return false;
        } while (!PRODUCER.compareAndSet(this, index, index + 1));
        SLOTS.setRelease(slots, (int) (index & mask), element);
        return true;
    }

    /** Consumer thread only. Hands at most {@code max} elements to {@code sink}; returns how many. */
    @SuppressWarnings("unchecked")
    public int drain(Consumer<? super E> sink, int max) {
        long consumer = (long) CONSUMER.getOpaque(this);
        int count = 0;
        while (count < max) {
            int slot = (int) (consumer & mask);
            Object e = SLOTS.getAcquire(slots, slot);
            if (e == null) break; // empty, or a producer claimed the index but has not published yet
            SLOTS.setOpaque(slots, slot, null);
            consumer++;
            CONSUMER.setRelease(this, consumer); // frees the slot for producers
            count++;
            sink.accept((E) e);
        }
        return count;
    }

    /** Any thread; exact only on the consumer thread. */
    public boolean isEmpty() {
        return (long) CONSUMER.getVolatile(this) == (long) PRODUCER.getVolatile(this);
    }

    public int size() {
        return (int) Math.max(0, (long) PRODUCER.getVolatile(this) - (long) CONSUMER.getVolatile(this));
    }
}
