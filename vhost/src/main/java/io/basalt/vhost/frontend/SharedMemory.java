package io.basalt.vhost.frontend;

import io.basalt.shims.Check;
import io.basalt.shims.Libc;
import io.basalt.shims.NativeException;

import java.lang.foreign.MemorySegment;

/**
 * The front-end's "guest memory": one memfd mapped shared here and passed to the back-end in SET_MEM_TABLE. Guest
 * physical addresses (what descriptors carry) are {@link #GPA_BASE} + the offset; user addresses (what
 * SET_VRING_ADDR carries) are this process's mapping. The memfd is sparse: pages cost only when touched.
 */
final class SharedMemory implements AutoCloseable {
    /** Where the region starts in "guest physical" space: any value works; 4 GiB keeps it clear of zero. */
    static final long GPA_BASE = 1L << 32;

    final int fd;
    final long address;
    final long bytes;
    private final MemorySegment all;
    private boolean closed;

    SharedMemory(String name, long bytes) {
        this.bytes = bytes;
        this.fd = (int) NativeException.check(Libc.memfdCreate("basalt-vhost-user-" + name, Libc.MFD_CLOEXEC), "memfd_create");
        int r = Libc.ftruncate(fd, bytes);
        if (r < 0) {
            Libc.close(fd);
            NativeException.check(r, "ftruncate memfd to " + bytes);
        }
        long a = Libc.mmap(0, bytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        if (a < 0) {
            Libc.close(fd);
            NativeException.check(a, "mmap memfd");
        }
        this.address = a;
        this.all = Libc.segment(a, bytes);
    }

    MemorySegment at(long offset, long length) {
        Check.that(offset >= 0 && length >= 0 && offset + length <= bytes, "shared memory slice in range", offset);
        return all.asSlice(offset, length);
    }

    long gpa(long offset) { return GPA_BASE + offset; }
    long uva(long offset) { return address + offset; }

    /** Unmaps: nothing may touch the memory afterwards (the device makes sure no channel is still attached). */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Libc.munmap(address, bytes);
        Libc.close(fd);
    }
}
