package io.basalt.nvmeof.target;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;

import java.lang.foreign.MemorySegment;

/**
 * A device over another that misbehaves on demand: its channels refuse every other submission (busy), or answer
 * every request with {@link #failStatus}. Counts the refusals so a test can see the retry path ran.
 */
final class TestDevice implements BlockDevice {
    private final BlockDevice inner;
    private final Geometry geometry;
    volatile boolean refuseEveryOther;
    volatile int failStatus = Status.OK;
    int refusals;
    int channelsOpen;

    TestDevice(BlockDevice inner, Geometry geometry) {
        this.inner = inner;
        this.geometry = geometry;
    }

    @Override public String name() { return "test:" + inner.name(); }
    @Override public Geometry geometry() { return geometry; }
    @Override public String describe() { return name(); }
    @Override public void close() { inner.close(); }

    @Override
    public BlockChannel openChannel(Reactor reactor) {
        BlockChannel channel = inner.openChannel(reactor);
        channelsOpen++;
        return new BlockChannel() {
            private boolean refuseNext = true;

            private boolean gate(long tag, IoCompletion completion) {
                if (refuseEveryOther) {
                    refuseNext = !refuseNext;
                    if (!refuseNext) {
                        refusals++;
                        return false;
                    }
                }
                return true;
            }

            private boolean failing(long tag, IoCompletion completion) {
                if (failStatus == Status.OK) return false;
                reactor.completeLater(completion, tag, failStatus);
                return true;
            }

            @Override public BlockDevice device() { return TestDevice.this; }

            @Override
            public boolean read(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
                return gate(tag, completion) && (failing(tag, completion) || channel.read(lba, blockCount, buffer, tag, completion));
            }

            @Override
            public boolean write(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
                return gate(tag, completion) && (failing(tag, completion) || channel.write(lba, blockCount, buffer, tag, completion));
            }

            @Override
            public boolean readv(long lba, int blockCount, IoVector buffers, long tag, IoCompletion completion) {
                return channel.readv(lba, blockCount, buffers, tag, completion);
            }

            @Override
            public boolean writev(long lba, int blockCount, IoVector buffers, int flags, long tag, IoCompletion completion) {
                return channel.writev(lba, blockCount, buffers, flags, tag, completion);
            }

            @Override
            public boolean flush(long tag, IoCompletion completion) {
                return gate(tag, completion) && (failing(tag, completion) || channel.flush(tag, completion));
            }

            @Override
            public boolean discard(long lba, long blockCount, long tag, IoCompletion completion) {
                return gate(tag, completion) && (failing(tag, completion) || channel.discard(lba, blockCount, tag, completion));
            }

            @Override
            public boolean writeZeroes(long lba, long blockCount, long tag, IoCompletion completion) {
                return gate(tag, completion) && (failing(tag, completion) || channel.writeZeroes(lba, blockCount, tag, completion));
            }

            @Override public int inFlight() { return channel.inFlight(); }
            @Override public int queueDepthMax() { return channel.queueDepthMax(); }

            @Override
            public void close() {
                channelsOpen--;
                channel.close();
            }
        };
    }
}
