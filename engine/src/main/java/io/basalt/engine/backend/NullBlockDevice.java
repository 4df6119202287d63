package io.basalt.engine.backend;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Capabilities;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;

/**
 * SPDK's null bdev: every request succeeds at once; writes are dropped and reads leave the buffer as it was
 * (no memset), so it measures the engine's own cost per I/O. {@link Geometry#persistent()} is false.
 */
public final class NullBlockDevice implements BlockDevice, SyncBackend {
    public static final int QUEUE_DEPTH_MAX = 1024;

    private final String name;
    private final Geometry geometry;
    private volatile boolean closed;

    public NullBlockDevice(String name, long sizeBytes, int blockBytes) {
        if (blockBytes < 512 || Integer.bitCount(blockBytes) != 1) {
            throw new IllegalArgumentException("block size " + blockBytes + " is not a power of two >= 512");
        }
        if (sizeBytes <= 0 || sizeBytes % blockBytes != 0) {
            throw new IllegalArgumentException("null device size " + sizeBytes + " is not a positive multiple of the " + blockBytes + "-byte block");
        }
        this.name = name;
        this.geometry = new Geometry(blockBytes, sizeBytes / blockBytes, 1, (8 << 20) / blockBytes, 256, false,
                new Capabilities(true, false, 1, true, false)); // both accepted and dropped; reads never zero a buffer
    }

    @Override public String name() { return name; }
    @Override public Geometry geometry() { return geometry; }
    @Override public String describe() { return "null:" + geometry.sizeBytes(); }

    @Override
    public BlockChannel openChannel(Reactor reactor) {
        Check.that(reactor.isOwnerThread(), "openChannel on the reactor's thread");
        Check.that(!closed, "device " + name + " is closed");
        return new SyncChannel(this, this, reactor, QUEUE_DEPTH_MAX, false);
    }

    private int status() {
        return closed ? Status.DEVICE_GONE : Status.OK;
    }

    @Override public int read(long offsetBytes, MemorySegment destination) { return status(); }
    @Override public int write(long offsetBytes, MemorySegment source) { return status(); }
    @Override public int flush() { return status(); }
    @Override public int discard(long offsetBytes, long lengthBytes) { return status(); }
    @Override public int writeZeroes(long offsetBytes, long lengthBytes) { return status(); }

    @Override
    public void close() {
        closed = true;
    }
}
