package io.basalt.raid.jmh;

import io.basalt.raid.parity.Xor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Parity throughput on one core. Each op writes one destination buffer: 64 KiB for the XOR of four 64 KiB data
 * chunks (RAID5 P over 5 members), 4 KiB for a read-modify-write parity update. raid/bench-xor.sh turns ops/s
 * into GB/s of destination written (and, for the 4-into-1 XOR, of sources read).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class XorBenchmark {
    static final int CHUNK_BYTES = 64 * 1024;
    static final int BLOCK_BYTES = 4096;
    static final int SOURCE_COUNT = 4;

    private Arena arena;
    private final MemorySegment[] sources = new MemorySegment[SOURCE_COUNT];
    private MemorySegment parity;
    private MemorySegment oldData;
    private MemorySegment newData;
    private MemorySegment blockParity;
    private final long[][] sourceArrays = new long[SOURCE_COUNT][CHUNK_BYTES / Long.BYTES];
    private final long[] parityArray = new long[CHUNK_BYTES / Long.BYTES];

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        java.util.SplittableRandom random = new java.util.SplittableRandom(1);
        for (int s = 0; s < SOURCE_COUNT; s++) {
            sources[s] = arena.allocate(CHUNK_BYTES, 64);
            for (int i = 0; i < CHUNK_BYTES / Long.BYTES; i++) {
                long value = random.nextLong();
                sources[s].setAtIndex(ValueLayout.JAVA_LONG, i, value);
                sourceArrays[s][i] = value;
            }
        }
        parity = arena.allocate(CHUNK_BYTES, 64);
        oldData = sources[0].asSlice(0, BLOCK_BYTES);
        newData = sources[1].asSlice(0, BLOCK_BYTES);
        blockParity = arena.allocate(BLOCK_BYTES, 64);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** P = D0 ^ D1 ^ D2 ^ D3 over 64 KiB, Vector API. */
    @Benchmark
    public MemorySegment parity4x64KiBVector() {
        Xor.parity(parity, sources, SOURCE_COUNT);
        return parity;
    }

    /** The same with a scalar long loop over the segments (int index; C2 may vectorize it by itself). */
    @Benchmark
    public MemorySegment parity4x64KiBScalarSegment() {
        MemorySegment a = sources[0], b = sources[1], c = sources[2], d = sources[3], p = parity;
        int longCount = CHUNK_BYTES / Long.BYTES;
        for (int i = 0; i < longCount; i++) {
            p.setAtIndex(ValueLayout.JAVA_LONG, i, a.getAtIndex(ValueLayout.JAVA_LONG, i)
                    ^ b.getAtIndex(ValueLayout.JAVA_LONG, i) ^ c.getAtIndex(ValueLayout.JAVA_LONG, i)
                    ^ d.getAtIndex(ValueLayout.JAVA_LONG, i));
        }
        return p;
    }

    /** The same over long[] on the heap (the platform notes' baseline; not usable for I/O buffers). */
    @Benchmark
    public long[] parity4x64KiBScalarArray() {
        long[] a = sourceArrays[0], b = sourceArrays[1], c = sourceArrays[2], d = sourceArrays[3], p = parityArray;
        for (int i = 0; i < p.length; i++) p[i] = a[i] ^ b[i] ^ c[i] ^ d[i];
        return p;
    }

    /** RMW: P ^= Dold ^ Dnew over one 4 KiB block, Vector API. */
    @Benchmark
    public MemorySegment rmw4KiBVector() {
        Xor.updateParity(blockParity, oldData, newData);
        return blockParity;
    }

    /** RMW with a scalar long loop over the segments. */
    @Benchmark
    public MemorySegment rmw4KiBScalarSegment() {
        MemorySegment p = blockParity, o = oldData, n = newData;
        int longCount = BLOCK_BYTES / Long.BYTES;
        for (int i = 0; i < longCount; i++) {
            p.setAtIndex(ValueLayout.JAVA_LONG, i, p.getAtIndex(ValueLayout.JAVA_LONG, i)
                    ^ o.getAtIndex(ValueLayout.JAVA_LONG, i) ^ n.getAtIndex(ValueLayout.JAVA_LONG, i));
        }
        return p;
    }
}
