package io.basalt.nvmeof.target;

import io.basalt.nvmeof.nvme.LogPages;
import io.basalt.nvmeof.nvme.Sqe;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A controller's error log (log page 01h): the last N failed commands of all its queues. Lock-free, as I/O queues
 * on several reactors record into it: a counter numbers each entry and a ring keeps the newest. An entry is an
 * immutable record, allocated on the error path only.
 */
final class ErrorLog {
    record Entry(long errorCount, int sqid, int commandId, int status, long lba, int nsid) {}

    private final AtomicLong count = new AtomicLong();
    private final AtomicReferenceArray<Entry> ring;

    ErrorLog(int entries) {
        ring = new AtomicReferenceArray<>(entries);
    }

    void record(int sqid, int commandId, int status, long lba, int nsid) {
        long n = count.incrementAndGet();
        ring.set((int) (n % ring.length()), new Entry(n, sqid, commandId, status, lba, nsid));
    }

    long count() {
        return count.get();
    }

    int capacity() {
        return ring.length();
    }

    /** Writes the log page: newest entry first, unused entries zero. {@code out} holds capacity() entries. */
    void write(MemorySegment out) {
        out.fill((byte) 0);
        long newest = count.get();
        int written = 0;
        for (long n = newest; n > 0 && n > newest - ring.length(); n--) {
            Entry e = ring.get((int) (n % ring.length()));
            if (e == null || e.errorCount() != n) continue; // overwritten by a newer one meanwhile
            long at = (long) written * LogPages.ERROR_ENTRY_BYTES;
            Sqe.putU64(out, at + LogPages.ERROR_COUNT_OFFSET, e.errorCount());
            Sqe.putU16(out, at + LogPages.ERROR_SQID_OFFSET, e.sqid());
            Sqe.putU16(out, at + LogPages.ERROR_CID_OFFSET, e.commandId());
            Sqe.putU16(out, at + LogPages.ERROR_STATUS_OFFSET, e.status() << 1);
            Sqe.putU16(out, at + LogPages.ERROR_PARAM_LOCATION_OFFSET, LogPages.ERROR_LOCATION_NONE);
            Sqe.putU64(out, at + LogPages.ERROR_LBA_OFFSET, e.lba());
            Sqe.putU32(out, at + LogPages.ERROR_NSID_OFFSET, e.nsid());
            written++;
        }
    }
}
