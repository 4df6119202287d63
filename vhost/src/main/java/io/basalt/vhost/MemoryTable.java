package io.basalt.vhost;

import io.basalt.shims.Libc;
import io.basalt.vhost.memory.GuestMemory;
import io.basalt.vhost.protocol.ProtocolException;

import java.util.ArrayList;
import java.util.List;

/**
 * A session's guest memory table: the regions the front-end sent (owning their fds) and the mapped
 * {@link GuestMemory} snapshot that rings read. A change builds a new snapshot; the session stops the rings
 * around it, so no reactor holds a slice of a mapping that goes away.
 */
final class MemoryTable implements AutoCloseable {
    record Region(long guestPhysAddr, long sizeBytes, long userAddr, long mmapOffset, int fd) {}

    private final List<Region> regions = new ArrayList<>();
    private GuestMemory snapshot;

    int regionCount() { return regions.size(); }
    boolean mapped() { return snapshot != null; }
    GuestMemory snapshot() { return snapshot; }

    /** SET_MEM_TABLE: the new table replaces the old one. */
    void replaceAll(Region[] table) {
        closeRegionFds();
        regions.clear();
        regions.addAll(List.of(table));
    }

    /** ADD_MEM_REG. */
    void add(Region region) {
        regions.add(region);
    }

    /** REM_MEM_REG: the region is named by guest address, size and user address (the mmap offset is ignored). */
    boolean remove(long guestPhysAddr, long sizeBytes, long userAddr) {
        for (int i = 0; i < regions.size(); i++) {
            Region r = regions.get(i);
            if (r.guestPhysAddr() == guestPhysAddr && r.sizeBytes() == sizeBytes && r.userAddr() == userAddr) {
                Libc.close(r.fd());
                regions.remove(i);
                return true;
            }
        }
        return false;
    }

    /** Maps the current table (rings must be stopped); refuses a table that overlaps or cannot be mapped. */
    void rebuild() {
        if (snapshot != null) snapshot.close();
        snapshot = null;
        if (regions.isEmpty()) return;
        List<GuestMemory.Region> list = new ArrayList<>();
        for (Region r : regions) list.add(new GuestMemory.Region(r.guestPhysAddr(), r.sizeBytes(), r.userAddr(), r.mmapOffset(), r.fd()));
        try {
            snapshot = GuestMemory.map(list);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new ProtocolException("memory table refused: " + e.getMessage());
        }
    }

    private void closeRegionFds() {
        for (Region r : regions) Libc.close(r.fd());
    }

    @Override
    public void close() {
        if (snapshot != null) snapshot.close();
        snapshot = null;
        closeRegionFds();
        regions.clear();
    }
}
