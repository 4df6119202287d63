package io.basalt.jmh;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The reactor's own cost, with a device that costs nothing: a {@code null:} device completes every request in the
 * next cycle, so one op (one {@code doWork()} cycle with {@code depth} reads in flight, each resubmitted from its
 * completion) is the submit path, the completion path and the cycle's bookkeeping, per {@code depth} I/Os. The
 * reactor runs on the benchmark thread ({@code initOnCurrentThread}), as the bench's prefill and ppl-cost do.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class ReactorCycleBenchmark {
    static final int BLOCK_BYTES = 4096;
    static final long DEVICE_BLOCKS = 1L << 18; // 1 GiB of null device

    @Param({"1", "32"})
    public int depth;

    private Reactor reactor;
    private BlockDevice device;
    private BlockChannel channel;
    private Arena arena;
    private MemorySegment buffer;
    private long completed;
    private long nextLba;
    private boolean stopping;

    private final IoCompletion resubmit = new IoCompletion() {
        @Override
        public void complete(long tag, int status) {
            if (status != Status.OK) throw new IllegalStateException("null read failed: " + Status.name(status));
            completed++;
            if (!stopping) submit();
        }
    };

    @Setup(Level.Trial)
    public void setUp() {
        reactor = new Reactor(ReactorConfig.defaults("jmh"));
        reactor.initOnCurrentThread();
        device = DeviceSpec.open("null", "null:1G");
        channel = device.openChannel(reactor);
        arena = Arena.ofConfined();
        buffer = arena.allocate(BLOCK_BYTES, BLOCK_BYTES);
        for (int i = 0; i < depth; i++) submit();
    }

    private void submit() {
        nextLba = (nextLba + 1) & (DEVICE_BLOCKS - 1);
        if (!channel.read(nextLba, 1, buffer, 0, resubmit)) throw new IllegalStateException("null channel refused a read");
    }

    /** One reactor cycle; returns the completions so far so the JIT keeps the work. */
    @Benchmark
    public long cycle() {
        reactor.doWork();
        return completed;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        stopping = true; // the reads in flight finish without resubmitting
        for (int i = 0; i < 1000; i++) reactor.doWork();
        channel.close();
        reactor.close();
        device.close();
        arena.close();
    }
}
