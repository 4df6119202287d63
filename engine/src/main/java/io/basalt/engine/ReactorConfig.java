package io.basalt.engine;

import io.basalt.shims.Check;

/**
 * How one reactor is built. Every limit is fixed at start-up.
 *
 * @param name            thread name
 * @param ringEntries     io_uring SQ size (power of two); the CQ is twice as large
 * @param idle            idle policy (copied per reactor)
 * @param bufferBytes     size of each pool buffer
 * @param bufferCount     number of pool buffers (0: no pool)
 * @param registeredFiles slots in the ring's fixed-file table
 * @param commandQueueCapacity bound on posted commands (power of two)
 * @param deferredCapacity bound on completions delivered on the next cycle (power of two)
 * @param submitBatch     SQEs prepared before they are submitted without waiting for the cycle's end
 *                        ({@link #SUBMIT_PER_CYCLE}, the default: once per cycle, with the enter that reaps;
 *                        1: each at once, as fio does, one system call per request; see docs/engine.md)
 */
public record ReactorConfig(String name, int ringEntries, IdleStrategy idle, int bufferBytes, int bufferCount,
                            int registeredFiles, int commandQueueCapacity, int deferredCapacity, int submitBatch) {
    /** submitBatch: what the handlers of a cycle's completions prepare is submitted by the next cycle's one enter. */
    public static final int SUBMIT_PER_CYCLE = 0;

    public ReactorConfig {
        Check.powerOfTwo(ringEntries, "ringEntries");
        Check.powerOfTwo(commandQueueCapacity, "commandQueueCapacity");
        Check.powerOfTwo(deferredCapacity, "deferredCapacity");
        Check.that(bufferCount >= 0, "bufferCount not negative", bufferCount);
        Check.that(submitBatch >= 0 && submitBatch <= ringEntries, "submitBatch in [0 (per cycle), ringEntries]", submitBatch);
        Check.that(registeredFiles >= 0 && registeredFiles <= 32768, "registeredFiles in [0, 32768]", registeredFiles);
    }

    public static ReactorConfig defaults(String name) {
        return new ReactorConfig(name, 1024, IdleStrategy.parse("sleep"), 128 * 1024, 256, 256, 1024, 8192, SUBMIT_PER_CYCLE);
    }

    public ReactorConfig withIdle(IdleStrategy idle) {
        return new ReactorConfig(name, ringEntries, idle, bufferBytes, bufferCount, registeredFiles, commandQueueCapacity, deferredCapacity, submitBatch);
    }

    public ReactorConfig withBuffers(int bufferBytes, int bufferCount) {
        return new ReactorConfig(name, ringEntries, idle, bufferBytes, bufferCount, registeredFiles, commandQueueCapacity, deferredCapacity, submitBatch);
    }

    public ReactorConfig withSubmitBatch(int submitBatch) {
        return new ReactorConfig(name, ringEntries, idle, bufferBytes, bufferCount, registeredFiles, commandQueueCapacity, deferredCapacity, submitBatch);
    }

    public ReactorConfig withName(String name) {
        return new ReactorConfig(name, ringEntries, idle, bufferBytes, bufferCount, registeredFiles, commandQueueCapacity, deferredCapacity, submitBatch);
    }
}
