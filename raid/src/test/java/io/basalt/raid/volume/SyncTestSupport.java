package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static io.basalt.engine.conformance.ConformanceHarness.blockMatches;
import static io.basalt.engine.conformance.ConformanceHarness.fill;

/** Helpers for sync-job tests on real reactor threads: blocking I/O by posted command, and a foreground load. */
final class SyncTestSupport {
    static final int BLOCK = 4096;

    private SyncTestSupport() {}

    /** One request on {@code channel} (owned by {@code reactor}'s thread), submitted there; waits for its status. */
    static int io(Reactor reactor, BlockChannel channel, boolean write, long lba, int blocks, MemorySegment buffer) throws Exception {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        IoCompletion completion = (tag, status) -> done.complete(status);
        Runnable submit = new Runnable() {
            @Override
            public void run() {
                boolean accepted = write ? channel.write(lba, blocks, buffer, 0, completion) : channel.read(lba, blocks, buffer, 0, completion);
                if (!accepted) reactor.post(this);
            }
        };
        reactor.post(submit);
        return done.get(30, TimeUnit.SECONDS);
    }

    /** Reads a whole device (a member, directly: tests only) on {@code reactor}. */
    static MemorySegment readAll(Reactor reactor, BlockDevice device, long blocks, Arena arena) throws Exception {
        MemorySegment buffer = arena.allocate(blocks * BLOCK, BLOCK);
        BlockChannel channel = reactor.call(() -> device.openChannel(reactor)).get();
        for (long at = 0; at < blocks; at += 64) {
            int n = (int) Math.min(64, blocks - at);
            int status = io(reactor, channel, false, at, n, buffer.asSlice(at * BLOCK, (long) n * BLOCK));
            if (status != Status.OK) throw new AssertionError("direct read of " + device.name() + " at " + at + ": " + Status.name(status));
        }
        reactor.call(() -> {
            channel.close();
            return null;
        }).get();
        return buffer;
    }

    /** Writes blocks directly on a member (tests only: to corrupt it). */
    static void writeDirect(Reactor reactor, BlockDevice device, long lba, MemorySegment data) throws Exception {
        BlockChannel channel = reactor.call(() -> device.openChannel(reactor)).get();
        int status = io(reactor, channel, true, lba, (int) (data.byteSize() / BLOCK), data);
        reactor.call(() -> {
            channel.close();
            return null;
        }).get();
        if (status != Status.OK) throw new AssertionError("direct write: " + Status.name(status));
    }

    /** Fills the whole volume with blocks of {@code seed} through {@code channel}. */
    static void fillVolume(Reactor reactor, BlockChannel channel, long blocks, long seed, Arena arena) throws Exception {
        int per = 48;
        MemorySegment buffer = arena.allocate((long) per * BLOCK, BLOCK);
        for (long at = 0; at < blocks; at += per) {
            int n = (int) Math.min(per, blocks - at);
            MemorySegment slice = buffer.asSlice(0, (long) n * BLOCK);
            fill(slice, at, BLOCK, seed);
            int status = io(reactor, channel, true, at, n, slice);
            if (status != Status.OK) throw new AssertionError("fill at " + at + ": " + Status.name(status));
        }
    }

    /** Reads the volume and returns the first block that does not hold its reference seed, or -1. */
    static long firstWrongBlock(Reactor reactor, BlockChannel channel, long[] seeds, Arena arena) throws Exception {
        int per = 48;
        MemorySegment buffer = arena.allocate((long) per * BLOCK, BLOCK);
        for (long at = 0; at < seeds.length; at += per) {
            int n = (int) Math.min(per, seeds.length - at);
            int status = io(reactor, channel, false, at, n, buffer.asSlice(0, (long) n * BLOCK));
            if (status != Status.OK) throw new AssertionError("read at " + at + ": " + Status.name(status));
            for (int i = 0; i < n; i++) if (!blockMatches(buffer, i, at + i, BLOCK, seeds[(int) (at + i)])) return at + i;
        }
        return -1;
    }

    /**
     * Foreground load on one reactor until stopped: writer chains each own the chunks {@code chunk % chains == c}, the
     * the written rows (row in chunk below half) and write them with new seeds, recorded in {@code seeds} when they
     * complete; reader chains read random blocks of the other rows (never written meanwhile) and check them
     * against {@code seeds}. So writes and reads hit stripes below, at and above any rebuild position.
     */
    static final class Load implements IoCompletion {
        private static final int WRITERS = 16, READERS = 8;
        private final Reactor reactor;
        private final BlockChannel channel;
        final long[] seeds;
        private final int chunkBlocks;
        private final MemorySegment[] buffers;
        private final long[] lbas;
        private final SplittableRandom random;
        private final CountDownLatch stopped = new CountDownLatch(1);
        private volatile boolean stopping;
        private int running;
        private long nextSeed;
        volatile long writes; // read by tests that wait for the load to have written (Await)
        long reads, errors, wrongReads;

        Load(Reactor reactor, BlockChannel channel, long[] seeds, int chunkBlocks, long seed, Arena arena) {
            this.reactor = reactor;
            this.channel = channel;
            this.seeds = seeds;
            this.chunkBlocks = chunkBlocks;
            this.random = new SplittableRandom(seed);
            this.nextSeed = seed * 1000;
            buffers = new MemorySegment[WRITERS + READERS];
            lbas = new long[WRITERS + READERS];
            for (int i = 0; i < buffers.length; i++) buffers[i] = arena.allocate(BLOCK, BLOCK);
        }

        void start() {
            reactor.post(() -> {
                running = WRITERS + READERS;
                for (int c = 0; c < WRITERS + READERS; c++) next(c);
            });
        }

        /** Stops the chains and waits until every one has completed its last request. */
        void stop() throws InterruptedException {
            stopping = true;
            if (!stopped.await(30, TimeUnit.SECONDS)) throw new AssertionError("load did not stop");
        }

        private void next(int chain) {
            if (stopping) {
                if (--running == 0) stopped.countDown();
                return;
            }
            long lba;
            do {
                lba = random.nextLong(seeds.length);
            } while ((lba % chunkBlocks < chunkBlocks / 2) != (chain < WRITERS)
                    || (chain < WRITERS && lba / chunkBlocks % WRITERS != chain));
            lbas[chain] = lba;
            submit(chain);
        }

        private void submit(int chain) {
            long lba = lbas[chain];
            boolean accepted;
            if (chain < WRITERS) {
                fill(buffers[chain], lba, BLOCK, nextSeed);
                accepted = channel.write(lba, 1, buffers[chain], chain | (nextSeed << 8), this);
                if (accepted) nextSeed++;
            } else {
                accepted = channel.read(lba, 1, buffers[chain], chain, this);
            }
            if (!accepted) reactor.post(() -> submit(chain));
        }

        @Override
        public void complete(long tag, int status) {
            int chain = (int) (tag & 0xff);
            if (status != Status.OK) {
                errors++;
            } else if (chain < WRITERS) {
                seeds[(int) lbas[chain]] = tag >>> 8;
                writes++;
            } else {
                reads++;
                if (!blockMatches(buffers[chain], 0, lbas[chain], BLOCK, seeds[(int) lbas[chain]])) wrongReads++;
            }
            next(chain);
        }
    }
}
