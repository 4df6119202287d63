package io.basalt.engine.backend;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Capabilities;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.shims.Check;
import io.basalt.shims.Libc;
import io.basalt.shims.NativeException;

import java.lang.foreign.MemorySegment;

/**
 * A RAM disk: an anonymous private mapping (pages appear on first touch, so a large idle device costs
 * nothing; transparent huge pages are asked for). Data lives as long as the device. Channels on several reactors may use it at once; like a disk,
 * it orders nothing between overlapping requests in flight together.
 */
public final class MemoryBlockDevice implements BlockDevice, SyncBackend {
    public static final int QUEUE_DEPTH_MAX = 1024;

    private final String name;
    private final Geometry geometry;
    private final long address;
    private final MemorySegment store;
    private volatile boolean closed;

    public MemoryBlockDevice(String name, long sizeBytes, int blockBytes) {
        if (blockBytes < 512 || Integer.bitCount(blockBytes) != 1) {
            throw new IllegalArgumentException("block size " + blockBytes + " is not a power of two >= 512");
        }
        if (sizeBytes <= 0 || sizeBytes % blockBytes != 0) {
            throw new IllegalArgumentException("memory device size " + sizeBytes + " is not a positive multiple of the " + blockBytes + "-byte block");
        }
        this.name = name;
        this.geometry = new Geometry(blockBytes, sizeBytes / blockBytes, 1, (8 << 20) / blockBytes, 256, true,
                Capabilities.zeroingDiscard());
        this.address = NativeException.check(Libc.mmap(0, sizeBytes, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0), "mmap of " + sizeBytes + " bytes for memory device " + name);
        // Huge pages where the kernel has them (THP in madvise mode here): fewer TLB misses on random access.
        // A refusal changes nothing but speed, so its result is not checked.
        Libc.madvise(address, sizeBytes, Libc.MADV_HUGEPAGE);
        this.store = Libc.segment(address, sizeBytes);
    }

    @Override public String name() { return name; }
    @Override public Geometry geometry() { return geometry; }
    @Override public String describe() { return "memory:" + geometry.sizeBytes(); }

    @Override
    public BlockChannel openChannel(Reactor reactor) {
        Check.that(reactor.isOwnerThread(), "openChannel on the reactor's thread");
        Check.that(!closed, "device " + name + " is closed");
        return new SyncChannel(this, this, reactor, QUEUE_DEPTH_MAX, false);
    }

    @Override
    public int read(long offsetBytes, MemorySegment destination) {
        if (closed) return Status.DEVICE_GONE;
        MemorySegment.copy(store, offsetBytes, destination, 0, destination.byteSize());
        return Status.OK;
    }

    @Override
    public int write(long offsetBytes, MemorySegment source) {
        if (closed) return Status.DEVICE_GONE;
        MemorySegment.copy(source, 0, store, offsetBytes, source.byteSize());
        return Status.OK;
    }

    @Override
    public int flush() {
        return closed ? Status.DEVICE_GONE : Status.OK;
    }

    @Override
    public int discard(long offsetBytes, long lengthBytes) {
        return writeZeroes(offsetBytes, lengthBytes);
    }

    @Override
    public int writeZeroes(long offsetBytes, long lengthBytes) {
        if (closed) return Status.DEVICE_GONE;
        store.asSlice(offsetBytes, lengthBytes).fill((byte) 0);
        return Status.OK;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Libc.munmap(address, geometry.sizeBytes());
    }
}
