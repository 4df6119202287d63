package io.basalt.bench;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.shims.Libc;
import io.basalt.shims.Stat;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Reading a hole costs the file system nothing, so a read benchmark on a sparse file measures nothing real
 * (fio lays its files out for the same reason). A file target with unallocated blocks, and a memory device
 * (whose untouched pages all map the zero page), are written once first.
 */
public final class Prefill {
    private Prefill() {}

    static void ifSparse(DeviceSpec spec, BlockDevice device, PrintStream err) {
        if (spec.kind().equals("memory")) { // untouched RAM reads from the shared zero page: not a real read
            err.printf("bench: writing the memory device once before reading%n");
            BenchCli.sweepWrite(device);
            return;
        }
        if (!spec.kind().equals("uring")) return;
        long allocated = allocatedBytes(spec.target());
        if (allocated < 0 || allocated >= device.geometry().sizeBytes()) return;
        err.printf("bench: %s is sparse (%d of %d bytes allocated): writing it once before reading%n",
                spec.target(), allocated, device.geometry().sizeBytes());
        BenchCli.sweepWrite(device);
    }

    /** Whether reading this device before writing it reads holes: a memory device, or a file not fully allocated. */
    public static boolean readsHoles(DeviceSpec spec, BlockDevice device) {
        if (spec.kind().equals("memory")) return true;
        if (spec.kind().equals("fault")) return readsHoles(DeviceSpec.parse(spec.target()), device);
        if (!spec.kind().equals("uring")) return false;
        long allocated = allocatedBytes(spec.target());
        return allocated >= 0 && allocated < device.geometry().sizeBytes();
    }

    /** Bytes the file system has allocated to {@code path}, or -1 if it cannot be told. */
    public static long allocatedBytes(String path) {
        int fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0) return -1;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment stat = arena.allocate(Stat.SIZE, 8);
            if (Libc.fstat(fd, stat) < 0) return -1;
            if ((stat.get(ValueLayout.JAVA_INT, Stat.ST_MODE_OFFSET) & Stat.S_IFMT) != Stat.S_IFREG) return -1;
            return stat.get(ValueLayout.JAVA_LONG, Stat.ST_BLOCKS_OFFSET) * 512;
        } finally {
            Libc.close(fd);
        }
    }
}
