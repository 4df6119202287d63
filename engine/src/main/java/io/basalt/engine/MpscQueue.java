package io.basalt.engine;

import io.basalt.shims.Check;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.Consumer;

/**
 * Bounded multi-producer, single-consumer queue (the JCTools MpscArrayQueue scheme): producers claim an index
 * with a CAS on the producer index, then publish the element with a store-release into its slot; the consumer
 * sees the element with a load-acquire, clears the slot, and advances its own index with a store-release that
 * frees the slot for producers. Used for commands posted to a reactor; never blocks, never allocates.
 *
 * <p>The producer index (CAS by every producer) and the consumer index (written by the consumer) sit on cache lines
 * of their own, padded as JCTools pads them: through a chain of superclasses, because the JVM lays out a
 * superclass's fields before its subclass's but may reorder the fields of one class. Unpadded, each consumer store
 * invalidated the line the producers CAS on (false sharing); docs/decisions.md has the JMH numbers.
 */
public final class MpscQueue<E> extends MpscQueueConsumerPad {
    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(Object[].class);
    private static final VarHandle PRODUCER;
    private static final VarHandle CONSUMER;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            PRODUCER = l.findVarHandle(MpscQueueProducerIndex.class, "producerIndex", long.class);
            CONSUMER = l.findVarHandle(MpscQueueConsumerIndex.class, "consumerIndex", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Object[] slots;
    private final int mask;

    public MpscQueue(int capacity) {
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

/*
 * The padding chain. 128 bytes a side, not 64: adjacent-line prefetch pulls cache lines in pairs on x86. Only
 * MpscQueue above uses these classes.
 */

/** Keeps the producer index off the line of the object header and whatever precedes the object. */
abstract class MpscQueueHeadPad {
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}

abstract class MpscQueueProducerIndex extends MpscQueueHeadPad {
    volatile long producerIndex;
}

abstract class MpscQueueMiddlePad extends MpscQueueProducerIndex {
    long p20, p21, p22, p23, p24, p25, p26, p27, p28, p29, p30, p31, p32, p33, p34, p35;
}

abstract class MpscQueueConsumerIndex extends MpscQueueMiddlePad {
    volatile long consumerIndex;
}

/** Keeps the consumer index off the line of the queue's own fields (read by every producer). */
abstract class MpscQueueConsumerPad extends MpscQueueConsumerIndex {
    long p40, p41, p42, p43, p44, p45, p46, p47, p48, p49, p50, p51, p52, p53, p54, p55;
}
