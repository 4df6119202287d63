package io.basalt.raid.array;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.raid.volume.PplRecovery;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Blocking reads, writes and flushes of a few blocks for the control plane (md superblocks, bitmaps, PPL
 * headers): each request runs on a reactor through a channel opened for it ({@code reactor.call}); the calling
 * thread (an RPC connection, start-up, the array layer's recorder) waits for the completion. Buffers are
 * GC-managed native memory ({@link Arena#ofAuto}) held by the completion, so a request that outlives its
 * timeout still has its buffer.
 */
public final class ControlIo {
    public static final long TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);
    /** Alignment of every control buffer: any block size up to 4 KiB. */
    private static final int ALIGN_BYTES = 4096;

    private ControlIo() {}

    /** A native buffer aligned for any block size up to 4 KiB (and to the device's block). */
    public static MemorySegment buffer(long bytes, int blockBytes) {
        return Arena.ofAuto().allocate(bytes, Math.max(ALIGN_BYTES, blockBytes));
    }

    public static void read(Reactor reactor, BlockDevice device, long lba, int blocks, MemorySegment buffer) throws IOException {
        run(reactor, device, false, lba, blocks, buffer);
    }

    public static void write(Reactor reactor, BlockDevice device, long lba, int blocks, MemorySegment buffer) throws IOException {
        run(reactor, device, true, lba, blocks, buffer);
    }

    public static void flush(Reactor reactor, BlockDevice device) throws IOException {
        int status = flushStatus(reactor, device, TIMEOUT_NS);
        if (status != Status.OK) throw new IOException("flush of " + device.name() + " failed: " + (status < 0 ? "no reactor" : Status.name(status)));
    }

    /** Flushes {@code device} on {@code reactor} and waits; returns a Status, or -1 when it could not run (reported on stderr). */
    public static int flushStatus(Reactor reactor, BlockDevice device, long timeoutNs) {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        reactor.call(() -> startFlush(reactor, device, done)).whenComplete((accepted, failure) -> {
            if (failure != null) done.completeExceptionally(failure);
        });
        try {
            return done.get(timeoutNs, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            System.err.println("basalt: flush of drive " + device.name() + " did not finish in " + TimeUnit.NANOSECONDS.toSeconds(timeoutNs) + " s");
        } catch (ExecutionException e) {
            System.err.println("basalt: flush of drive " + device.name() + " failed: " + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return -1;
    }

    /** Runs on the reactor thread: opens a channel and submits the FLUSH; the completion closes the channel. */
    private static Boolean startFlush(Reactor reactor, BlockDevice device, CompletableFuture<Integer> done) {
        BlockChannel channel = device.openChannel(reactor);
        IoCompletion onFlushed = (tag, status) -> {
            channel.close();
            done.complete(status);
        };
        if (!channel.flush(0, onFlushed)) {
            // A fresh channel has its whole queue depth free, so this is not expected; report it, not loop.
            channel.close();
            done.complete(Status.INVALID);
            return false;
        }
        return true;
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

    /** Blocking member I/O through {@code reactor}, for the PPL's control path (staged through aligned buffers). */
    static PplRecovery.SyncIo syncIo(Reactor reactor) {
        return new PplRecovery.SyncIo() {
            @Override
            public void read(BlockDevice device, long lba, int blocks, MemorySegment buffer) throws IOException {
                MemorySegment staging = buffer((long) blocks * device.geometry().logicalBlockBytes(), device.geometry().logicalBlockBytes());
                ControlIo.read(reactor, device, lba, blocks, staging);
                MemorySegment.copy(staging, 0, buffer, 0, staging.byteSize());
            }

            @Override
            public void write(BlockDevice device, long lba, int blocks, MemorySegment buffer) throws IOException {
                MemorySegment staging = buffer((long) blocks * device.geometry().logicalBlockBytes(), device.geometry().logicalBlockBytes());
                MemorySegment.copy(buffer, 0, staging, 0, staging.byteSize());
                ControlIo.write(reactor, device, lba, blocks, staging);
            }

            @Override
            public void flush(BlockDevice device) throws IOException {
                ControlIo.flush(reactor, device);
            }
        };
    }
}
