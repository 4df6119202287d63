package io.basalt.jmh;

import io.basalt.engine.MpscQueue;
import org.jctools.queues.MpscArrayQueue;
import org.jctools.queues.varhandle.MpscVarHandleArrayQueue;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Throughput of a bounded MPSC queue as the reactor uses it: producers offer (a failed offer on a full queue is not
 * counted), one consumer drains up to {@link #DRAIN_MAX} at a time. Group {@code p1} runs one producer, {@code p2}
 * two, each with the consumer. The counters {@code offered} and {@code drained} are elements per microsecond.
 * Meaningful only when every thread of the group has a core of its own: on an oversubscribed machine producers
 * and consumer take turns, and the rate is one queue-full per scheduler time slice (see MpscQueueCostBenchmark).
 *
 * <p>Queues: {@code basalt} (engine MpscQueue, indexes padded), {@code basaltUnpadded} (the same before padding),
 * {@code jctools} (MpscArrayQueue, sun.misc.Unsafe) and {@code jctoolsVarHandle} (MpscVarHandleArrayQueue from
 * jctools-core-jdk11). Capacity 1024, the reactor's default command queue.
 */
@State(Scope.Group)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 2, jvmArgsAppend = {"--sun-misc-unsafe-memory-access=allow"})
public class MpscQueueBenchmark {
    static final int CAPACITY = 1024;
    static final int DRAIN_MAX = 64; // Reactor.runOnce drains at most 64 commands a cycle
    static final Integer ELEMENT = 1;

    /** The two operations under test, over each queue; one implementation is loaded per fork. */
    interface Queue {
        boolean offer(Integer e);

        int drain(Consumer<Integer> sink, int max);
    }

    @Param({"basalt", "basaltUnpadded", "jctools", "jctoolsVarHandle"})
    public String queue;

    private Queue q;

    @Setup(Level.Iteration)
    public void setUp() {
        q = switch (queue) {
            case "basalt" -> {
                MpscQueue<Integer> m = new MpscQueue<>(CAPACITY);
                yield new Queue() {
                    public boolean offer(Integer e) { return m.offer(e); }
                    public int drain(Consumer<Integer> sink, int max) { return m.drain(sink, max); }
                };
            }
            case "basaltUnpadded" -> {
                UnpaddedMpscQueue<Integer> m = new UnpaddedMpscQueue<>(CAPACITY);
                yield new Queue() {
                    public boolean offer(Integer e) { return m.offer(e); }
                    public int drain(Consumer<Integer> sink, int max) { return m.drain(sink, max); }
                };
            }
            case "jctools" -> {
                MpscArrayQueue<Integer> m = new MpscArrayQueue<>(CAPACITY);
                yield new Queue() {
                    public boolean offer(Integer e) { return m.offer(e); }
                    public int drain(Consumer<Integer> sink, int max) { return m.drain(sink::accept, max); }
                };
            }
            case "jctoolsVarHandle" -> {
                MpscVarHandleArrayQueue<Integer> m = new MpscVarHandleArrayQueue<>(CAPACITY);
                yield new Queue() {
                    public boolean offer(Integer e) { return m.offer(e); }
                    public int drain(Consumer<Integer> sink, int max) { return m.drain(sink::accept, max); }
                };
            }
            default -> throw new IllegalArgumentException("unknown queue " + queue);
        };
    }

    Queue queueUnderTest() {
        return q;
    }

    /** Per-thread counts, reported by JMH as rates. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Counts {
        public long offered;
        public long drained;

        @Setup(Level.Iteration)
        public void clear() {
            offered = 0;
            drained = 0;
        }
    }

    /** The consumer's sink: hands each element to the blackhole, as a reactor runs each command. */
    @State(Scope.Thread)
    public static class Sink {
        Consumer<Integer> consumer;

        @Setup(Level.Trial)
        public void setUp(Blackhole blackhole) {
            consumer = blackhole::consume;
        }
    }

    @Benchmark
    @Group("p1")
    @GroupThreads(1)
    public void offer1(Counts counts) {
        if (q.offer(ELEMENT)) counts.offered++;
    }

    @Benchmark
    @Group("p1")
    @GroupThreads(1)
    public void drain1(Counts counts, Sink sink) {
        counts.drained += q.drain(sink.consumer, DRAIN_MAX);
    }

    @Benchmark
    @Group("p2")
    @GroupThreads(2)
    public void offer2(Counts counts) {
        if (q.offer(ELEMENT)) counts.offered++;
    }

    @Benchmark
    @Group("p2")
    @GroupThreads(1)
    public void drain2(Counts counts, Sink sink) {
        counts.drained += q.drain(sink.consumer, DRAIN_MAX);
    }
}
