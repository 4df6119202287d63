package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;

/**
 * A slice of a device: blocks {@code [offset, offset + length)} of {@code base}, addressed from 0. What a RAID
 * volume sees of a member whose md superblock puts data at {@code data_offset}: the volume cannot reach the
 * superblock or bitmap area. The slice does not own {@code base}: closing it leaves the base open (its owner,
 * the daemon's registry, closes it).
 *
 * <p>A slice made by {@link #missing} stands for a member that is absent (a degraded array): it has the
 * geometry the member would have, and {@link #openChannel} throws, which a {@link Raid1Volume} takes as a
 * failed member.
 */
public final class OffsetDevice implements BlockDevice {
    private final String name;
    private final BlockDevice base;
    private final long offsetBlocks;
    private final Geometry geometry;
    private volatile boolean closed;

    public OffsetDevice(String name, BlockDevice base, long offsetBlocks, long lengthBlocks) {
        Geometry g = base.geometry();
        if (offsetBlocks < 0 || lengthBlocks <= 0 || offsetBlocks > g.blockCount() || lengthBlocks > g.blockCount() - offsetBlocks) {
            throw new IllegalArgumentException("slice " + name + " [" + offsetBlocks + ", +" + lengthBlocks + ") does not fit "
                    + base.name() + " (" + g.blockCount() + " blocks)");
        }
        this.name = name;
        this.base = base;
        this.offsetBlocks = offsetBlocks;
        this.geometry = new Geometry(g.logicalBlockBytes(), lengthBlocks, g.optimalTransferBlocks(), g.maxTransferBlocks(),
                g.maxSegments(), g.persistent(), g.capabilities());
    }

    private OffsetDevice(String name, Geometry geometry) {
        this.name = name;
        this.base = null;
        this.offsetBlocks = 0;
        this.geometry = geometry;
    }

    /** A placeholder for an absent member with the given geometry: every channel open fails. */
    public static OffsetDevice missing(String name, Geometry geometry) {
        return new OffsetDevice(name, geometry);
    }

    public boolean isMissing() { return base == null; }
    public BlockDevice base() { return base; }
    public long offsetBlocks() { return offsetBlocks; }

    @Override public String name() { return name; }
    @Override public Geometry geometry() { return geometry; }

    @Override
    public BlockChannel openChannel(Reactor reactor) {
        Check.that(reactor.isOwnerThread(), "openChannel on the reactor's thread");
        if (base == null) throw new IllegalStateException("member " + name + " is missing");
        if (closed) throw new IllegalStateException("slice " + name + " is closed");
        return new Channel(reactor, base.openChannel(reactor));
    }

    /** Closes the slice only (later requests get DEVICE_GONE); the base stays open. */
    @Override
    public void close() {
        closed = true;
    }

    @Override
    public String describe() {
        if (base == null) return name + " (missing)";
        return base.describe() + "+" + offsetBlocks;
    }

    private final class Channel implements BlockChannel {
        private final Reactor reactor;
        private final BlockChannel inner;

        Channel(Reactor reactor, BlockChannel inner) {
            this.reactor = reactor;
            this.inner = inner;
        }

        /**
         * Out of the slice, or the slice closed: a deferred OUT_OF_RANGE or DEVICE_GONE (never inside the submit),
         * or busy when that queue is full.
         */
        private boolean refuse(long tag, IoCompletion completion) {
            if (reactor.deferredSpace() == 0) return false;
            reactor.completeLater(completion, tag, closed ? Status.DEVICE_GONE : Status.OUT_OF_RANGE);
            return true;
        }

        @Override public BlockDevice device() { return OffsetDevice.this; }

        @Override
        public boolean read(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
            if (closed || geometry.checkRange(lba, blockCount) != Status.OK) return refuse(tag, completion);
            return inner.read(lba + offsetBlocks, blockCount, buffer, tag, completion);
        }

        @Override
        public boolean write(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
            if (closed || geometry.checkRange(lba, blockCount) != Status.OK) return refuse(tag, completion);
            return inner.write(lba + offsetBlocks, blockCount, buffer, tag, completion);
        }

        @Override
        public boolean readv(long lba, int blockCount, IoVector buffers, long tag, IoCompletion completion) {
            if (closed || geometry.checkRange(lba, blockCount) != Status.OK) return refuse(tag, completion);
            return inner.readv(lba + offsetBlocks, blockCount, buffers, tag, completion);
        }

        @Override
        public boolean writev(long lba, int blockCount, IoVector buffers, int flags, long tag, IoCompletion completion) {
            if (closed || geometry.checkRange(lba, blockCount) != Status.OK) return refuse(tag, completion);
            return inner.writev(lba + offsetBlocks, blockCount, buffers, flags, tag, completion);
        }

        @Override
        public boolean flush(long tag, IoCompletion completion) {
            if (closed) return refuse(tag, completion);
            return inner.flush(tag, completion);
        }

        @Override
        public boolean discard(long lba, long blockCount, long tag, IoCompletion completion) {
            if (closed || geometry.checkRange(lba, blockCount) != Status.OK) return refuse(tag, completion);
            return inner.discard(lba + offsetBlocks, blockCount, tag, completion);
        }

        @Override
        public boolean writeZeroes(long lba, long blockCount, long tag, IoCompletion completion) {
            if (closed || geometry.checkRange(lba, blockCount) != Status.OK) return refuse(tag, completion);
            return inner.writeZeroes(lba + offsetBlocks, blockCount, tag, completion);
        }

        @Override public int inFlight() { return inner.inFlight(); }
        @Override public int queueDepthMax() { return inner.queueDepthMax(); }
        @Override public void close() { inner.close(); }
    }
}
