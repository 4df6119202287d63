package io.basalt.vhost.memory;

import io.basalt.engine.IoVector;
import io.basalt.shims.Check;
import io.basalt.shims.Libc;
import io.basalt.shims.NativeException;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/**
 * A guest's RAM as this process sees it: an immutable snapshot of the regions of one vhost-user
 * SET_MEM_TABLE (qemu docs/interop/vhost-user.rst, "Memory regions description"), each mapped MAP_SHARED.
 * Built on the control thread, then read (never changed) by every reactor serving the session; a new memory
 * table makes a new snapshot, and the old one is closed only after every queue using it stopped.
 *
 * <p>Three address spaces meet here: guest-physical addresses (GPA: what descriptors carry), the
 * front-end's virtual addresses (UVA: what SET_VRING_ADDR carries), and our own mapping. Every lookup
 * answers "outside guest memory" (null or {@link #OUT_OF_RANGE}) for any byte not inside one region; range
 * ends are computed so that {@code gpa + length} never overflows.
 *
 * <p>File descriptors: {@link #map} does not take ownership of the region fds. The mapping keeps the file
 * alive, so the caller (the session) closes them as soon as {@code map} returned. Only the memfd-backed
 * snapshots made by {@link #ofMemfd} own their fds (closed by {@link #close}).
 */
public final class GuestMemory implements AutoCloseable {
    /** One region of SET_MEM_TABLE. {@code mmapOffset} is where the region starts inside {@code fd}. */
    public record Region(long guestPhysAddr, long sizeBytes, long userAddr, long mmapOffset, int fd) {}

    /** Result codes of {@link #gpaToVector}: OK, a byte outside guest memory, or the vector ran out of room. */
    public static final int OK = 0;
    public static final int OUT_OF_RANGE = -1;
    public static final int VECTOR_FULL = -2;

    /** Most regions in one table: VHOST_USER_MAX_RAM_SLOTS in QEMU (with CONFIGURE_MEM_SLOTS). */
    public static final int REGIONS_MAX = 512;

    // Sorted by guest-physical start. End addresses are exclusive and computed overflow-free at build time.
    private final long[] gpaStart;
    private final long[] gpaEnd;
    private final long[] uvaStart;
    private final long[] uvaEnd;
    private final MemorySegment[] regions; // the region's bytes (mapping sliced at mmapOffset)
    private final long[] mappingAddress;
    private final long[] mappingBytes;
    private final int[] ownedFds;
    private final long totalBytes;
    private boolean closed;

    private GuestMemory(List<Region> input, int[] ownedFds) {
        Check.that(input.size() <= REGIONS_MAX, "at most " + REGIONS_MAX + " regions", input.size());
        Region[] sorted = input.toArray(Region[]::new);
        Arrays.sort(sorted, (a, b) -> Long.compareUnsigned(a.guestPhysAddr(), b.guestPhysAddr()));
        int n = sorted.length;
        gpaStart = new long[n];
        gpaEnd = new long[n];
        uvaStart = new long[n];
        uvaEnd = new long[n];
        regions = new MemorySegment[n];
        mappingAddress = new long[n];
        mappingBytes = new long[n];
        this.ownedFds = ownedFds;
        long total = 0;
        for (int i = 0; i < n; i++) {
            Region r = sorted[i];
            validate(r);
            if (i > 0 && r.guestPhysAddr() < gpaEnd[i - 1]) {
                unmapFirst(i);
                throw new IllegalArgumentException("guest memory regions overlap at gpa 0x" + Long.toHexString(r.guestPhysAddr()));
            }
            long bytes = r.mmapOffset() + r.sizeBytes();
            long address = Libc.mmap(0, bytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, r.fd(), 0);
            if (address < 0) {
                unmapFirst(i);
                throw new NativeException("mmap guest region gpa 0x" + Long.toHexString(r.guestPhysAddr()), (int) address);
            }
            mappingAddress[i] = address;
            mappingBytes[i] = bytes;
            regions[i] = Libc.segment(address + r.mmapOffset(), r.sizeBytes());
            gpaStart[i] = r.guestPhysAddr();
            gpaEnd[i] = r.guestPhysAddr() + r.sizeBytes();
            uvaStart[i] = r.userAddr();
            uvaEnd[i] = r.userAddr() + r.sizeBytes();
            total += r.sizeBytes();
        }
        totalBytes = total;
    }

    /** Rejects regions whose ends would overflow or that make no sense; the front-end is not trusted. */
    private static void validate(Region r) {
        if (r.sizeBytes() <= 0 || r.guestPhysAddr() < 0 || r.userAddr() < 0 || r.mmapOffset() < 0
                || r.guestPhysAddr() > Long.MAX_VALUE - r.sizeBytes()
                || r.userAddr() > Long.MAX_VALUE - r.sizeBytes()
                || r.mmapOffset() > Long.MAX_VALUE - r.sizeBytes() || r.fd() < 0) {
            throw new IllegalArgumentException("bad guest memory region " + r);
        }
    }

    private void unmapFirst(int count) {
        for (int i = 0; i < count; i++) Libc.munmap(mappingAddress[i], mappingBytes[i]);
    }

    /** Maps every region (MAP_SHARED, read-write). The fds stay the caller's (see the class comment). */
    public static GuestMemory map(List<Region> regions) {
        return new GuestMemory(regions, new int[0]);
    }

    /**
     * For tests that play the guest: one memfd per region (as QEMU's memory-backend-memfd), with user
     * addresses at {@code uvaBase + gpa} so that UVA and GPA differ. Closing the snapshot closes the fds.
     */
    public static GuestMemory ofMemfd(long uvaBase, long[] gpaStarts, long[] sizesBytes) {
        Check.that(gpaStarts.length == sizesBytes.length && gpaStarts.length > 0, "one size per region");
        Region[] rs = new Region[gpaStarts.length];
        int[] fds = new int[gpaStarts.length];
        Arrays.fill(fds, -1);
        try {
            for (int i = 0; i < rs.length; i++) {
                int fd = (int) NativeException.check(Libc.memfdCreate("basalt-guest", Libc.MFD_CLOEXEC), "memfd_create");
                fds[i] = fd;
                NativeException.check(Libc.ftruncate(fd, sizesBytes[i]), "ftruncate");
                rs[i] = new Region(gpaStarts[i], sizesBytes[i], uvaBase + gpaStarts[i], 0, fd);
            }
            return new GuestMemory(List.of(rs), fds);
        } catch (RuntimeException e) {
            for (int fd : fds) if (fd >= 0) Libc.close(fd);
            throw e;
        }
    }

    public int regionCount() { return regions.length; }
    public long totalBytes() { return totalBytes; }

    /** Index of the region holding {@code gpa}, or -1. Binary search over the sorted starts. */
    public int regionOf(long gpa) {
        int lo = 0, hi = gpaStart.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (gpa < gpaStart[mid]) hi = mid - 1;
            else if (gpa >= gpaEnd[mid]) lo = mid + 1;
            else return mid;
        }
        return -1;
    }

    /** True when every byte of [gpa, gpa + lengthBytes) lies inside one region. */
    public boolean containsInOneRegion(long gpa, long lengthBytes) {
        if (lengthBytes < 0) return false;
        int r = regionOf(gpa);
        return r >= 0 && lengthBytes <= gpaEnd[r] - gpa; // gpaEnd - gpa > 0: no overflow
    }

    /** The bytes [gpa, gpa + lengthBytes) as one slice of one region, or null when any byte is outside one region. */
    public MemorySegment gpa(long gpa, long lengthBytes) {
        if (!containsInOneRegion(gpa, lengthBytes)) return null;
        int r = regionOf(gpa);
        return regions[r].asSlice(gpa - gpaStart[r], lengthBytes);
    }

    /** The whole mapped region {@code index} (for readers that index into it without slicing). */
    public MemorySegment region(int index) { return regions[index]; }
    public long regionGpaStart(int index) { return gpaStart[index]; }
    public long regionGpaEnd(int index) { return gpaEnd[index]; }

    /**
     * Appends [gpa, gpa + lengthBytes) to {@code out}, one slice per region crossed (regions adjacent in GPA
     * may be far apart in our mapping). {@code cache} (may be null) reuses slices made before, so a guest
     * that reuses its buffers costs no allocation. Returns OK, OUT_OF_RANGE (nothing usable: some byte is not
     * guest memory), or VECTOR_FULL; on failure {@code out} may hold part of the range.
     */
    public int gpaToVector(long gpa, long lengthBytes, IoVector out, SliceCache cache) {
        if (lengthBytes < 0) return OUT_OF_RANGE;
        long left = lengthBytes;
        long at = gpa;
        while (left > 0) {
            int r = regionOf(at);
            if (r < 0) return OUT_OF_RANGE;
            long chunk = Math.min(left, gpaEnd[r] - at);
            MemorySegment s = cache != null ? cache.slice(this, r, at, chunk) : regions[r].asSlice(at - gpaStart[r], chunk);
            if (!out.add(s)) return VECTOR_FULL;
            left -= chunk;
            at += chunk; // at + chunk <= gpaEnd[r]: no overflow
        }
        return OK;
    }

    public int gpaToVector(long gpa, long lengthBytes, IoVector out) {
        return gpaToVector(gpa, lengthBytes, out, null);
    }

    /** Slice of region {@code r} at {@code gpa}; the caller checked the range. For {@link SliceCache}. */
    MemorySegment sliceUnchecked(int r, long gpa, long lengthBytes) {
        return regions[r].asSlice(gpa - gpaStart[r], lengthBytes);
    }

    /** The guest-physical address of the front-end's virtual address {@code uva}, or -1 when unmapped. */
    public long uvaToGpa(long uva) {
        for (int i = 0; i < uvaStart.length; i++) {
            if (uva >= uvaStart[i] && uva < uvaEnd[i]) return gpaStart[i] + (uva - uvaStart[i]);
        }
        return -1;
    }

    /** The bytes [uva, uva + lengthBytes) of the front-end's address space as one slice, or null. */
    public MemorySegment uva(long uva, long lengthBytes) {
        if (lengthBytes < 0) return null;
        for (int i = 0; i < uvaStart.length; i++) {
            if (uva >= uvaStart[i] && uva < uvaEnd[i]) {
                if (lengthBytes > uvaEnd[i] - uva) return null;
                return regions[i].asSlice(uva - uvaStart[i], lengthBytes);
            }
        }
        return null;
    }

    /** Unmaps every region (and closes the fds this snapshot owns). Queues using it must have stopped. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        unmapFirst(regions.length);
        for (int fd : ownedFds) Libc.close(fd);
    }
}
