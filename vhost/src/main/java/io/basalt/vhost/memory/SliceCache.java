package io.basalt.vhost.memory;

import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;

/**
 * A set-associative cache of guest-memory slices, owned by one queue (one reactor thread). A MemorySegment
 * is an immutable object, so every new slice of guest memory is an allocation; guests reuse the same
 * buffers (page cache pages, an application's O_DIRECT buffers, the per-tag request headers and status bytes of
 * Linux virtio-blk), so remembering the slice for a (gpa, length) pair makes the steady-state data path
 * allocation-free, as a TLB does for translations. A miss costs one slice.
 *
 * <p>Four ways per set: a direct-mapped table thrashed whenever two keys of the working set shared an entry, and
 * with a hundred keys (32 requests x header, data, status) in 1,024 entries some pair always did, so every request
 * allocated (found with Basalt's own front-end: 50 bytes per request, `FrontendAllocationTest`). Five keys of the
 * working set must now meet in one set to thrash. Bound to one {@link GuestMemory} snapshot: a new memory table
 * means new queues.
 */
public final class SliceCache {
    private static final int WAYS = 4;
    private final long[] gpas;
    private final long[] lengths;
    private final MemorySegment[] slices;
    /** Per set, the way the next miss replaces (round robin). */
    private final byte[] victims;
    /** 64 - log2(sets): the set is the top bits of a multiplicative (Fibonacci) hash of the whole key. */
    private final int shift;
    private long hits, misses;

    public SliceCache(int entries) {
        Check.powerOfTwo(entries, "entries");
        Check.that(entries >= WAYS, "at least one set of " + WAYS + " ways", entries);
        gpas = new long[entries];
        lengths = new long[entries];
        slices = new MemorySegment[entries];
        victims = new byte[entries / WAYS];
        shift = 64 - Integer.numberOfTrailingZeros(entries / WAYS);
    }

    MemorySegment slice(GuestMemory memory, int region, long gpa, long lengthBytes) {
        int set = victims.length == 1 ? 0 : (int) (((gpa ^ (lengthBytes << 40)) * 0x9E3779B97F4A7C15L) >>> shift);
        int base = set * WAYS;
        for (int w = base; w < base + WAYS; w++) {
            MemorySegment s = slices[w];
            if (s != null && gpas[w] == gpa && lengths[w] == lengthBytes) {
                hits++;
                return s;
            }
        }
        misses++;
        int w = base + victims[set];
        victims[set] = (byte) ((victims[set] + 1) & (WAYS - 1));
        MemorySegment s = memory.sliceUnchecked(region, gpa, lengthBytes);
        gpas[w] = gpa;
        lengths[w] = lengthBytes;
        slices[w] = s;
        return s;
    }

    public long hits() { return hits; }
    public long misses() { return misses; }
}
