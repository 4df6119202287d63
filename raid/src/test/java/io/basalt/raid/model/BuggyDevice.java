package io.basalt.raid.model;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A deliberately wrong device, to prove the model test can fail: it passes everything through except one
 * write (the {@code victim}-th WRITE it sees), which it either corrupts (one byte of the buffer flipped on
 * its way down) or drops (answered OK, never written). Over a volume it is a RAID bug that corrupts data;
 * under a volume, as a member, it is a lost member write (a dropped parity write shows only when a member is
 * lost and the stripe is rebuilt from the bad parity).
 */
final class BuggyDevice implements BlockDevice {
    /**
     * CORRUPT_ONE_WRITE and DROP_ONE_WRITE are this device's; REBUILD_SKIPS_ITS_LAST_UNIT is the harness's (a
     * rebuild job given every unit but the last, so the member is declared in sync with a blank tail).
     */
    enum Bug { CORRUPT_ONE_WRITE, DROP_ONE_WRITE, REBUILD_SKIPS_ITS_LAST_UNIT }

    private final BlockDevice inner;
    private final Bug bug;
    private final long victim;
    private final AtomicLong writes;

    /** {@code writes} is shared between devices that stand for one medium across reopenings. */
    BuggyDevice(BlockDevice inner, Bug bug, long victim, AtomicLong writes) {
        this.inner = inner;
        this.bug = bug;
        this.victim = victim;
        this.writes = writes;
    }

    @Override public String name() { return inner.name(); }
    @Override public Geometry geometry() { return inner.geometry(); }
    @Override public String describe() { return "buggy(" + bug + ") over " + inner.describe(); }
    @Override public void close() { inner.close(); }

    @Override
    public BlockChannel openChannel(Reactor reactor) {
        BlockChannel channel = inner.openChannel(reactor);
        return new BlockChannel() {
            @Override public BlockDevice device() { return BuggyDevice.this; }
            @Override public int inFlight() { return channel.inFlight(); }
            @Override public int queueDepthMax() { return channel.queueDepthMax(); }
            @Override public void close() { channel.close(); }

            @Override
            public boolean write(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
                if (writes.incrementAndGet() != victim) return channel.write(lba, blockCount, buffer, tag, completion);
                if (bug == Bug.DROP_ONE_WRITE) {
                    reactor.completeLater(completion, tag, Status.OK);
                    return true;
                }
                buffer.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 17, (byte) (buffer.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 17) ^ 0x5A));
                return channel.write(lba, blockCount, buffer, tag, completion);
            }

            @Override public boolean read(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
                return channel.read(lba, blockCount, buffer, tag, completion);
            }
            @Override public boolean readv(long lba, int blockCount, IoVector buffers, long tag, IoCompletion completion) {
                return channel.readv(lba, blockCount, buffers, tag, completion);
            }
            @Override public boolean writev(long lba, int blockCount, IoVector buffers, int flags, long tag, IoCompletion completion) {
                return channel.writev(lba, blockCount, buffers, flags, tag, completion);
            }
            @Override public boolean flush(long tag, IoCompletion completion) {
                return channel.flush(tag, completion);
            }
            @Override public boolean discard(long lba, long blockCount, long tag, IoCompletion completion) {
                return channel.discard(lba, blockCount, tag, completion);
            }
            @Override public boolean writeZeroes(long lba, long blockCount, long tag, IoCompletion completion) {
                return channel.writeZeroes(lba, blockCount, tag, completion);
            }
        };
    }
}
