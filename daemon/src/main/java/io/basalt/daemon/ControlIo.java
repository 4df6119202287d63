package io.basalt.daemon;

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
 * Blocking reads and writes of a few blocks for the control plane (md superblocks): each request runs on a
 * reactor through a channel opened for it ({@code reactor.call}); the calling thread (an RPC connection,
 * start-up) waits for the completion. Buffers are GC-managed native memory ({@link Arena#ofAuto}) held by the
 * completion, so a request that outlives its timeout still has its buffer.
 */
final class ControlIo {
    static final long TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);

    private ControlIo() {}

    /** A native buffer aligned for any block size up to 4 KiB (and to the device's block). */
    static MemorySegment buffer(long bytes, int blockBytes) {
        return Arena.ofAuto().allocate(bytes, Math.max(4096, blockBytes));
    }

    static void read(Reactor reactor, BlockDevice device, long lba, int blocks, MemorySegment buffer) throws IOException {
        run(reactor, device, false, lba, blocks, buffer);
    }

    static void write(Reactor reactor, BlockDevice device, long lba, int blocks, MemorySegment buffer) throws IOException {
        run(reactor, device, true, lba, blocks, buffer);
    }

    static void flush(Reactor reactor, BlockDevice device) throws IOException {
        int status = DriveFlusher.flush(reactor, device, TIMEOUT_NS);
        if (status != Status.OK) throw new IOException("flush of " + device.name() + " failed: " + (status < 0 ? "no reactor" : Status.name(status)));
    }

    private static void run(Reactor reactor, BlockDevice device, boolean write, long lba, int blocks, MemorySegment buffer) throws IOException {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        reactor.call(() -> {
            BlockChannel channel = device.openChannel(reactor);
            IoCompletion completion = (tag, status) -> {
                channel.close();
                buffer.byteSize(); // the completion keeps the buffer reachable until the kernel is done with it
                done.complete(status);
            };
            boolean accepted = write ? channel.write(lba, blocks, buffer, 0, completion) : channel.read(lba, blocks, buffer, 0, completion);
            if (!accepted) { // a fresh channel has its whole queue free: not expected
                channel.close();
                done.complete(Status.INVALID);
            }
            return accepted;
        }).whenComplete((accepted, failure) -> {
            if (failure != null) done.completeExceptionally(failure);
        });
        String what = (write ? "writing" : "reading") + " " + blocks + " blocks at " + lba + " of " + device.name();
        int status;
        try {
            status = done.get(TIMEOUT_NS, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new IOException(what + ": no answer in " + TimeUnit.NANOSECONDS.toSeconds(TIMEOUT_NS) + " s");
        } catch (ExecutionException e) {
            throw new IOException(what + ": " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(what + ": interrupted");
        }
        if (status != Status.OK) throw new IOException(what + " failed: " + Status.name(status));
    }
}
