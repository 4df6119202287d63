package io.basalt.raid.model;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;

import java.lang.foreign.MemorySegment;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Many channels per reactor over one channel of the device below. A {@code FaultBlockDevice} in power-cut mode
 * allows one open channel at a time (its write-back cache is per channel), but a volume under a sync job opens
 * two on the same reactor (the foreground channel's members and the job's own channel's), and the bitmap
 * store flushes the members from a third: each gets a view of the one real channel of its reactor, counted,
 * closed with the last view. A flush through any view flushes the device, as a real drive's cache flush does.
 * Never closes the device below (the harness owns the media).
 *
 * <p>It may also advertise a smaller maximum transfer than the device below (a drive with small transfers): the
 * raid1 volume over it then syncs in windows of that size, so that a rebuild of the model's small volumes has
 * several units, not one.
 */
final class SharedChannelDevice implements BlockDevice {
    private final BlockDevice inner;
    private final Geometry geometry;
    private final Map<Reactor, Shared> shared = new IdentityHashMap<>();

    private static final class Shared {
        final BlockChannel channel;
        int views;

        Shared(BlockChannel channel) {
            this.channel = channel;
        }
    }

    SharedChannelDevice(BlockDevice inner) {
        this(inner, inner.geometry().maxTransferBlocks());
    }

    SharedChannelDevice(BlockDevice inner, int maxTransferBlocks) {
        this.inner = inner;
        Geometry g = inner.geometry();
        this.geometry = new Geometry(g.logicalBlockBytes(), g.blockCount(), Math.min(g.optimalTransferBlocks(), maxTransferBlocks),
                Math.min(g.maxTransferBlocks(), maxTransferBlocks), g.maxSegments(), g.persistent());
    }

    @Override public String name() { return inner.name(); }
    @Override public Geometry geometry() { return geometry; }
    @Override public String describe() { return "shared channels over " + inner.describe(); }
    @Override public void close() {}

    @Override
    public synchronized BlockChannel openChannel(Reactor reactor) {
        Shared s = shared.get(reactor);
        if (s == null) {
            s = new Shared(inner.openChannel(reactor));
            shared.put(reactor, s);
        }
        s.views++;
        return new View(reactor, s);
    }

    private synchronized void closed(Reactor reactor, Shared s) {
        if (--s.views > 0) return;
        shared.remove(reactor);
        s.channel.close();
    }

    private final class View implements BlockChannel {
        private final Reactor reactor;
        private final Shared s;
        private final BlockChannel channel;
        private int inFlight;
        private boolean closed;

        View(Reactor reactor, Shared s) {
            this.reactor = reactor;
            this.s = s;
            this.channel = s.channel;
        }

        /** Counts this view's request (test code: a completion per request is fine here). */
        private IoCompletion counted(IoCompletion completion) {
            inFlight++;
            return (tag, status) -> {
                inFlight--;
                completion.complete(tag, status);
            };
        }

        private boolean accepted(boolean accepted) {
            if (!accepted) inFlight--;
            return accepted;
        }

        @Override public BlockDevice device() { return SharedChannelDevice.this; }
        @Override public int inFlight() { return inFlight; }
        @Override public int queueDepthMax() { return channel.queueDepthMax(); }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            closed(reactor, s);
        }

        @Override public boolean read(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
            return accepted(channel.read(lba, blockCount, buffer, tag, counted(completion)));
        }
        @Override public boolean write(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
            return accepted(channel.write(lba, blockCount, buffer, tag, counted(completion)));
        }
        @Override public boolean readv(long lba, int blockCount, IoVector buffers, long tag, IoCompletion completion) {
            return accepted(channel.readv(lba, blockCount, buffers, tag, counted(completion)));
        }
        @Override public boolean writev(long lba, int blockCount, IoVector buffers, int flags, long tag, IoCompletion completion) {
            return accepted(channel.writev(lba, blockCount, buffers, flags, tag, counted(completion)));
        }
        @Override public boolean flush(long tag, IoCompletion completion) {
            return accepted(channel.flush(tag, counted(completion)));
        }
        @Override public boolean discard(long lba, long blockCount, long tag, IoCompletion completion) {
            return accepted(channel.discard(lba, blockCount, tag, counted(completion)));
        }
        @Override public boolean writeZeroes(long lba, long blockCount, long tag, IoCompletion completion) {
            return accepted(channel.writeZeroes(lba, blockCount, tag, counted(completion)));
        }
    }
}
