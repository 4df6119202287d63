package io.basalt.engine;

import io.basalt.engine.conformance.TestFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * One device, channels on several reactors running on their own threads at once (the daemon's set-up):
 * each reactor writes its own block range, then every reactor reads back the ranges the others wrote.
 */
class MultiReactorTest {
    private static final int REACTORS = 3;
    private static final int BLOCKS_PER_REACTOR = 512;
    private static final int QUEUE_DEPTH = 16;

    private final List<Reactor> reactors = new ArrayList<>();
    private Path folder;

    @AfterEach
    void stop() throws Exception {
        for (Reactor r : reactors) r.close();
        TestFiles.deleteTree(folder);
    }

    static long word(long lba, int index) {
        return (lba * 0x9E3779B97F4A7C15L) ^ index;
    }

    /** Runs on one reactor: moves a block range through QUEUE_DEPTH pool buffers, writing or verifying. */
    static final class RangeJob implements IoCompletion {
        final Reactor reactor;
        final BlockDevice device;
        final long firstLba;
        final boolean write;
        final CountDownLatch done;
        BlockChannel channel;
        MemorySegment[] buffers = new MemorySegment[QUEUE_DEPTH];
        long[] slotLba = new long[QUEUE_DEPTH];
        int[] bufferIndexes = new int[QUEUE_DEPTH];
        long next, completed, errors, mismatches;

        RangeJob(Reactor reactor, BlockDevice device, long firstLba, boolean write, CountDownLatch done) {
            this.reactor = reactor;
            this.device = device;
            this.firstLba = firstLba;
            this.write = write;
            this.done = done;
        }

        void start() {
            channel = device.openChannel(reactor);
            int blockBytes = device.geometry().logicalBlockBytes();
            for (int i = 0; i < QUEUE_DEPTH; i++) {
                bufferIndexes[i] = reactor.bufferPool().acquire();
                buffers[i] = reactor.bufferPool().buffer(bufferIndexes[i]).asSlice(0, blockBytes);
            }
            for (int i = 0; i < QUEUE_DEPTH; i++) submit(i);
        }

        void submit(int slot) {
            long lba = firstLba + next++;
            slotLba[slot] = lba;
            MemorySegment b = buffers[slot];
            if (write) {
                for (int w = 0; w < b.byteSize() / 8; w++) b.setAtIndex(ValueLayout.JAVA_LONG, w, word(lba, w));
                assertTrue(channel.write(lba, 1, b, slot, this));
            } else {
                b.fill((byte) 0);
                assertTrue(channel.read(lba, 1, b, slot, this));
            }
        }

        @Override
        public void complete(long tag, int status) {
            int slot = (int) tag;
            completed++;
            if (status != Status.OK) errors++;
            if (!write && device.geometry().persistent()) {
                MemorySegment b = buffers[slot];
                for (int w = 0; w < b.byteSize() / 8; w++) {
                    if (b.getAtIndex(ValueLayout.JAVA_LONG, w) != word(slotLba[slot], w)) {
                        mismatches++;
                        break;
                    }
                }
            }
            if (next < BLOCKS_PER_REACTOR) {
                submit(slot);
            } else if (completed == BLOCKS_PER_REACTOR) {
                channel.close();
                for (int index : bufferIndexes) reactor.bufferPool().release(index);
                done.countDown();
            }
        }
    }

    private void exercise(String spec) throws Exception {
        for (int i = 0; i < REACTORS; i++) reactors.add(Reactor.start(ReactorConfig.defaults("multi-" + i)));
        try (BlockDevice device = DeviceSpec.open("shared", spec)) {
            for (boolean write : new boolean[] {true, false}) {
                CountDownLatch done = new CountDownLatch(REACTORS);
                List<RangeJob> jobs = new ArrayList<>();
                for (int i = 0; i < REACTORS; i++) {
                    // Readers read the range the next reactor wrote.
                    int range = write ? i : (i + 1) % REACTORS;
                    RangeJob job = new RangeJob(reactors.get(i), device, (long) range * BLOCKS_PER_REACTOR, write, done);
                    jobs.add(job);
                    CompletableFuture<Void> started = reactors.get(i).call(() -> { job.start(); return null; });
                    started.get(10, TimeUnit.SECONDS);
                }
                assertTrue(done.await(60, TimeUnit.SECONDS), spec + ": jobs finished");
                for (RangeJob job : jobs) {
                    assertEquals(0, job.errors, spec + ": errors");
                    assertEquals(0, job.mismatches, spec + ": blocks read back wrong");
                    assertEquals(BLOCKS_PER_REACTOR, job.completed);
                }
            }
        }
    }

    @Test
    void memoryDeviceSharedByThreeReactors() throws Exception {
        exercise("memory:16M");
    }

    @Test
    void uringFileSharedByThreeReactors() throws Exception {
        folder = TestFiles.directIoFolder("multi");
        exercise("uring:" + folder.resolve("disk") + ",size=16M");
    }

    @Test
    void faultWrapperWithLatencySharedByThreeReactors() throws Exception {
        exercise("fault:memory:16M,fault_seed=3,fault_latency_us=5-50");
    }

    @Test
    void nullDeviceSharedByThreeReactors() throws Exception {
        exercise("null:1G");
    }
}
