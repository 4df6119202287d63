package io.basalt.vhost.memory;

import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;

/**
 * A direct-mapped cache of guest-memory slices, owned by one queue (one reactor thread). A MemorySegment
 * is an immutable object, so every new slice of guest memory is an allocation; guests reuse the same
 * buffers (page cache pages, an application's O_DIRECT buffers), so remembering the slice for a
 * (gpa, length) pair makes the steady-state data path allocation-free, as a TLB does for translations.
 * A miss costs one slice. Bound to one {@link GuestMemory} snapshot: a new memory table means new queues.
 */
public final class SliceCache {
    private final long[] gpas;
    private final long[] lengths;
    private final MemorySegment[] slices;
    private final int mask;
    private long hits, misses;

    public SliceCache(int entries) {
        Check.powerOfTwo(entries, "entries");
        gpas = new long[entries];
        lengths = new long[entries];
        slices = new MemorySegment[entries];
        mask = entries - 1;
    }

    MemorySegment slice(GuestMemory memory, int region, long gpa, long lengthBytes) {
        long h = (gpa >>> 9) * 0x9E3779B97F4A7C15L ^ lengthBytes;
        int i = (int) (h ^ (h >>> 32)) & mask;
        MemorySegment s = slices[i];
        if (s != null && gpas[i] == gpa && lengths[i] == lengthBytes) {
            hits++;
            return s;
        }
        misses++;
        s = memory.sliceUnchecked(region, gpa, lengthBytes);
        gpas[i] = gpa;
        lengths[i] = lengthBytes;
        slices[i] = s;
        return s;
    }

    public long hits() { return hits; }
    public long misses() { return misses; }
}
