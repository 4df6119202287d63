package io.basalt.objectlayer.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Blocking block I/O for the store's threads (PUTs' virtual threads, the log writer, maintenance): each request is
 * posted to the {@link Reactor}, submitted there on the store's one channel (opened on the reactor, owned by it), and
 * the calling thread parks until the completion. Nothing blocks the reactor. Requests larger than the device's
 * maximum transfer go as several pieces, all in flight together.
 */
final class VolumeIo implements AutoCloseable {
    static final long TIMEOUT_S = 60;
    /** Buffers are aligned for any logical block up to 4 KiB (and to the device's block). */
    private static final int ALIGN_BYTES = 4096;

    private final Reactor reactor;
    private final BlockDevice device;
    private final BlockChannel channel;
    private final int blockBytes;
    private final int maxTransferBlocks;

    VolumeIo(Reactor reactor, BlockDevice device) throws IOException {
        this.reactor = reactor;
        this.device = device;
        this.blockBytes = device.geometry().logicalBlockBytes();
        this.maxTransferBlocks = device.geometry().maxTransferBlocks();
        this.channel = await(reactor.call(() -> device.openChannel(reactor)), "open a channel");
    }

    /** A native buffer aligned for the device; GC-managed, so a request that outlives its caller keeps it. */
    MemorySegment buffer(long bytes) {
        return Arena.ofAuto().allocate(Math.max(bytes, blockBytes), Math.max(ALIGN_BYTES, blockBytes));
    }

    int blockBytes() {
        return blockBytes;
    }

    void read(long offsetBytes, MemorySegment buffer) throws IOException {
        run(false, offsetBytes, buffer);
    }

    void write(long offsetBytes, MemorySegment buffer) throws IOException {
        run(true, offsetBytes, buffer);
    }

    void flush() throws IOException {
        Request r = new Request(null, false, 0, 1);
        r.flush = true;
        finish(r, "flush");
    }

    private void run(boolean write, long offsetBytes, MemorySegment buffer) throws IOException {
        long blocks = buffer.byteSize() / blockBytes;
        int pieces = (int) ((blocks + maxTransferBlocks - 1) / maxTransferBlocks);
        Request r = new Request(buffer, write, offsetBytes / blockBytes, pieces);
        finish(r, (write ? "write " : "read ") + blocks + " blocks at byte " + offsetBytes);
    }

    private void finish(Request r, String what) throws IOException {
        if (!reactor.post(r::submit)) throw new IOException(what + " on " + device.name() + ": reactor stopped");
        int status = await(r.done, what);
        if (status != Status.OK) throw new IOException(what + " on " + device.name() + " failed: " + Status.name(status));
    }

    private <T> T await(CompletableFuture<T> future, String what) throws IOException {
        try {
            return future.get(TIMEOUT_S, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new IOException(what + " on " + device.name() + ": no answer in " + TIMEOUT_S + " s", e);
        } catch (ExecutionException e) {
            throw new IOException(what + " on " + device.name() + ": " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(what + " on " + device.name() + ": interrupted", e);
        }
    }

    /** One caller's request: its pieces are submitted on the reactor; a full queue re-posts the rest. */
    private final class Request implements IoCompletion {
        final MemorySegment buffer;
        final boolean write;
        final long lba;
        final int pieces;
        final CompletableFuture<Integer> done = new CompletableFuture<>();
        boolean flush;
        int submitted;
        int completed;
        int firstBadStatus = Status.OK;

        Request(MemorySegment buffer, boolean write, long lba, int pieces) {
            this.buffer = buffer;
            this.write = write;
            this.lba = lba;
            this.pieces = pieces;
        }

        /** On the reactor: submits what the channel takes; the rest is posted again. */
        void submit() {
            while (submitted < pieces) {
                boolean accepted;
                if (flush) {
                    accepted = channel.flush(0, this);
                } else {
                    long first = (long) submitted * maxTransferBlocks;
                    int blocks = (int) Math.min(maxTransferBlocks, buffer.byteSize() / blockBytes - first);
                    MemorySegment piece = buffer.asSlice(first * blockBytes, (long) blocks * blockBytes);
                    accepted = write ? channel.write(lba + first, blocks, piece, 0, this)
                            : channel.read(lba + first, blocks, piece, 0, this);
                }
                if (!accepted) {
                    if (!reactor.post(this::submit)) complete(0, Status.DEVICE_GONE);
                    return;
                }
                submitted++;
            }
        }

        @Override
        public void complete(long tag, int status) {
            if (status != Status.OK && firstBadStatus == Status.OK) firstBadStatus = status;
            if (++completed == pieces || status == Status.DEVICE_GONE && submitted < pieces) {
                done.complete(firstBadStatus == Status.OK ? status : firstBadStatus);
            }
        }
    }

    @Override
    public String toString() {
        return device.name();
    }

    @Override
    public void close() {
        try {
            await(reactor.call(() -> {
                channel.close();
                return Boolean.TRUE;
            }), "close the channel");
        } catch (IOException e) {
            // the reactor is gone: its channels went with it
        }
    }
}
