package io.basalt.jmh;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The uncontended cost of one element through each queue, on one thread: offer a batch of
 * {@link MpscQueueBenchmark#DRAIN_MAX}, then drain it, as a reactor that posts to itself does. Unlike
 * {@link MpscQueueBenchmark} it does not depend on producer and consumer running at the same time, which an
 * oversubscribed machine cannot promise; it measures the instructions and fences, not the cache-line traffic.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 2, jvmArgsAppend = {"--sun-misc-unsafe-memory-access=allow"})
public class MpscQueueCostBenchmark {
    @Param({"basalt", "basaltUnpadded", "jctools", "jctoolsVarHandle"})
    public String queue;

    private MpscQueueBenchmark.Queue q;
    private Consumer<Integer> sink;

    @Setup(Level.Trial)
    public void setUp(Blackhole blackhole) {
        MpscQueueBenchmark holder = new MpscQueueBenchmark();
        holder.queue = queue;
        holder.setUp();
        q = holder.queueUnderTest();
        sink = blackhole::consume;
    }

    @Benchmark
    @OperationsPerInvocation(MpscQueueBenchmark.DRAIN_MAX)
    public int offerThenDrain() {
        for (int i = 0; i < MpscQueueBenchmark.DRAIN_MAX; i++) q.offer(MpscQueueBenchmark.ELEMENT);
        return q.drain(sink, MpscQueueBenchmark.DRAIN_MAX);
    }
}
