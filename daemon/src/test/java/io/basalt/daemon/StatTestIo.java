package io.basalt.daemon;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * I/O on a daemon's device from one of its reactors, one request at a time (what an export's queue does, minus the
 * guest): for the stat tests, which check that the counters move by exactly what was done.
 */
final class StatTestIo implements IoCompletion {
    private final Reactor reactor;
    private final BlockDevice device;
    private final boolean write;
    private final int blockCount;
    private final long requestsMax;
    private final CompletableFuture<Long> done = new CompletableFuture<>();
    private final Arena arena = Arena.ofShared();
    private volatile boolean stopRequested;
    private BlockChannel channel;
    private MemorySegment buffer;
    private long submitted, errors;

    private StatTestIo(Reactor reactor, BlockDevice device, boolean write, int blockCount, long requestsMax) {
        this.reactor = reactor;
        this.device = device;
        this.write = write;
        this.blockCount = blockCount;
        this.requestsMax = requestsMax;
    }

    /** Runs {@code requests} reads or writes of {@code blockCount} blocks at LBA 0, 1 x blockCount, ...; returns the errors. */
    static long run(Reactor reactor, BlockDevice device, boolean write, int blockCount, long requests) throws Exception {
        StatTestIo io = start(reactor, device, write, blockCount, requests);
        return io.await();
    }

    /** Starts I/O that runs until {@link #stop} (or {@code requestsMax}). */
    static StatTestIo start(Reactor reactor, BlockDevice device, boolean write, int blockCount, long requestsMax) {
        StatTestIo io = new StatTestIo(reactor, device, write, blockCount, requestsMax);
        if (!reactor.post(io::begin)) throw new IllegalStateException("reactor refused the command");
        return io;
    }

    void stop() {
        stopRequested = true;
    }

    long await() throws Exception {
        long e = done.get(30, TimeUnit.SECONDS);
        arena.close();
        return e;
    }

    private void begin() {
        channel = device.openChannel(reactor);
        buffer = arena.allocate((long) blockCount * device.geometry().logicalBlockBytes(), 4096);
        submit();
    }

    private void submit() {
        long lba = (submitted * blockCount) % (device.geometry().blockCount() - blockCount);
        boolean accepted = write ? channel.write(lba, blockCount, buffer, submitted, this) : channel.read(lba, blockCount, buffer, submitted, this);
        if (!accepted) throw new IllegalStateException("a channel with nothing in flight refused a request");
        submitted++;
    }

    @Override
    public void complete(long tag, int status) {
        if (status != Status.OK) errors++;
        if (submitted < requestsMax && !stopRequested) {
            submit();
            return;
        }
        channel.close();
        done.complete(errors);
    }
}
