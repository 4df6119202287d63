package io.basalt.raid.jmh;

import io.basalt.raid.parity.ChunkAddress;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.parity.Raid5Layout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * raid5 address mapping, array sector to (stripe, data index, disk), as every volume request does once per chunk it
 * touches: random sectors of a 4-member array with 128 KiB chunks, in each of md's four layouts.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class Raid5LayoutBenchmark {
    static final int MEMBERS = 4;
    static final int CHUNK_SECTORS = 256; // 128 KiB
    static final int SECTORS_COUNT = 4096; // a power of two: the index wraps with a mask
    static final long ARRAY_SECTORS = 3L << 31; // 3 TiB of data

    @Param({"LEFT_SYMMETRIC", "LEFT_ASYMMETRIC", "RIGHT_SYMMETRIC", "RIGHT_ASYMMETRIC"})
    public String algorithm;

    private Raid5Layout layout;
    private final ChunkAddress address = new ChunkAddress();
    private final long[] sectors = new long[SECTORS_COUNT];
    private int next;

    @Setup
    public void setUp() {
        layout = new Raid5Layout(Raid5Algorithm.valueOf(algorithm), MEMBERS, CHUNK_SECTORS);
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < SECTORS_COUNT; i++) sectors[i] = random.nextLong(ARRAY_SECTORS);
    }

    /** One mapping; returns the disk so the JIT keeps the work. */
    @Benchmark
    public int map() {
        layout.map(sectors[next++ & (SECTORS_COUNT - 1)], address);
        return address.disk();
    }
}
