package io.basalt.vhost;

import io.basalt.shims.Errno;
import io.basalt.shims.Libc;
import io.basalt.shims.NativeException;
import io.basalt.vhost.blk.InflightRegion;
import io.basalt.vhost.blk.PackedInflightRegion;
import io.basalt.vhost.protocol.ProtocolException;

import java.lang.foreign.MemorySegment;

/**
 * The INFLIGHT_SHMFD buffer of a session (vhost-user.rst, "Inflight I/O tracking"): we create it on
 * GET_INFLIGHT_FD (a memfd QEMU keeps while we restart) and take it back on SET_INFLIGHT_FD after a
 * reconnect. One region per queue, back to back: {@link InflightRegion} for split rings,
 * {@link PackedInflightRegion} for packed ones (the session's features when the buffer was made say which).
 */
final class InflightArea implements AutoCloseable {
    private int fd = -1;
    private long address;
    private long mappedBytes;
    private long offsetBytes;
    private int numQueues;
    private int queueSize;
    private boolean packed;

    static long bytesFor(int numQueues, int queueSize, boolean packed) {
        return packed ? PackedInflightRegion.totalBytes(numQueues, queueSize) : InflightRegion.totalBytes(numQueues, queueSize);
    }

    private static long queueRegionBytes(int queueSize, boolean packed) {
        return packed ? PackedInflightRegion.queueRegionBytes(queueSize) : InflightRegion.queueRegionBytes(queueSize);
    }

    boolean present() { return fd >= 0; }

    long sizeBytes() { return mappedBytes - offsetBytes; }

    /** A fresh zeroed buffer; returns its fd (still ours: sending it over the socket duplicates it). */
    int create(int numQueues, int queueSize, boolean packed) {
        close();
        long bytes = bytesFor(numQueues, queueSize, packed);
        int memfd = (int) NativeException.check(Libc.memfdCreate("basalt-inflight", Libc.MFD_CLOEXEC), "memfd_create");
        int r = Libc.ftruncate(memfd, bytes);
        if (r < 0) {
            Libc.close(memfd);
            throw new NativeException("ftruncate of the inflight buffer", r);
        }
        map(memfd, bytes, 0, numQueues, queueSize, packed);
        return memfd;
    }

    /** SET_INFLIGHT_FD: maps what a previous back-end wrote. */
    void adopt(int memfd, long sizeBytes, long offset, int numQueues, int queueSize, boolean packed) {
        close();
        map(memfd, sizeBytes, offset, numQueues, queueSize, packed);
    }

    private void map(int memfd, long sizeBytes, long offset, int numQueues, int queueSize, boolean packed) {
        long length = offset + sizeBytes;
        long a = Libc.mmap(0, length, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, memfd, 0);
        if (a < 0) {
            Libc.close(memfd);
            throw new ProtocolException("cannot map the inflight buffer of " + sizeBytes + " bytes: " + Errno.name(a));
        }
        this.fd = memfd;
        this.address = a;
        this.mappedBytes = length;
        this.offsetBytes = offset;
        this.numQueues = numQueues;
        this.queueSize = queueSize;
        this.packed = packed;
    }

    /** Queue {@code index}'s region, or null when there is no buffer or it was made for another ring size or layout. */
    MemorySegment queueRegion(int index, int ringSize, boolean packedRing) {
        if (fd < 0 || index >= numQueues || ringSize != queueSize || packedRing != packed) return null;
        long regionBytes = queueRegionBytes(queueSize, packed);
        return Libc.segment(address + offsetBytes + index * regionBytes, regionBytes);
    }

    @Override
    public void close() {
        if (fd < 0) return;
        Libc.munmap(address, mappedBytes);
        Libc.close(fd);
        fd = -1;
    }
}
