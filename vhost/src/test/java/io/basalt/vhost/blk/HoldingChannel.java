package io.basalt.vhost.blk;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A channel whose device does the I/O but whose completions are held while {@link #holding}: the request's data
 * reached the device and the queue has not heard of it, the state a back-end crash catches after the device write.
 * {@link #release} delivers one held completion; a crash simply never delivers the rest.
 */
final class HoldingChannel implements BlockChannel {
    final BlockChannel inner;
    boolean holding = true;
    /** Completions the device gave and the queue has not seen: {tag, status} with its target. */
    final List<long[]> held = new ArrayList<>();
    private final List<IoCompletion> heldTargets = new ArrayList<>();

    HoldingChannel(BlockChannel inner) {
        this.inner = inner;
    }

    private IoCompletion hold(IoCompletion target) {
        if (!holding) return target;
        return (tag, status) -> {
            held.add(new long[] {tag, status});
            heldTargets.add(target);
        };
    }

    /** Delivers the held completion of the request tagged {@code tag} (the queue's slot). */
    void release(long tag) {
        for (int i = 0; i < held.size(); i++) {
            if (held.get(i)[0] == tag) {
                long[] c = held.remove(i);
                heldTargets.remove(i).complete(c[0], (int) c[1]);
                return;
            }
        }
        throw new IllegalStateException("no held completion for tag " + tag);
    }

    @Override public BlockDevice device() { return inner.device(); }
    @Override public boolean read(long lba, int n, MemorySegment b, long tag, IoCompletion c) { return inner.read(lba, n, b, tag, hold(c)); }
    @Override public boolean write(long lba, int n, MemorySegment b, long tag, IoCompletion c) { return inner.write(lba, n, b, tag, hold(c)); }
    @Override public boolean readv(long lba, int n, IoVector b, long tag, IoCompletion c) { return inner.readv(lba, n, b, tag, hold(c)); }
    @Override public boolean writev(long lba, int n, IoVector b, int flags, long tag, IoCompletion c) { return inner.writev(lba, n, b, flags, tag, hold(c)); }
    @Override public boolean flush(long tag, IoCompletion c) { return inner.flush(tag, hold(c)); }
    @Override public boolean discard(long lba, long n, long tag, IoCompletion c) { return inner.discard(lba, n, tag, hold(c)); }
    @Override public boolean writeZeroes(long lba, long n, long tag, IoCompletion c) { return inner.writeZeroes(lba, n, tag, hold(c)); }
    @Override public int inFlight() { return inner.inFlight(); }
    @Override public int queueDepthMax() { return inner.queueDepthMax(); }
    @Override public void close() { inner.close(); }
}
