package io.basalt.engine;

import io.basalt.shims.Check;

/**
 * A reactor's queue of completions to deliver on its next cycle: how backends that finish a request during
 * submission (memory, null, rejected requests) keep the promise that a completion never runs inside the
 * submitting call. Single-threaded, preallocated, bounded.
 */
final class DeferredCompletions {
    private final IoCompletion[] completions;
    private final long[] tags;
    private final int[] statuses;
    private final int mask;
    private int head;
    private int tail;

    DeferredCompletions(int capacity) {
        Check.powerOfTwo(capacity, "capacity");
        completions = new IoCompletion[capacity];
        tags = new long[capacity];
        statuses = new int[capacity];
        mask = capacity - 1;
    }

    int space() {
        return completions.length - (tail - head);
    }

    int size() {
        return tail - head;
    }

    void add(IoCompletion completion, long tag, int status) {
        Check.that(space() > 0, "deferred completion queue overflow: callers must reserve space first");
        int slot = tail & mask;
        completions[slot] = completion;
        tags[slot] = tag;
        statuses[slot] = status;
        tail++;
    }

    /** Delivers the completions queued before this call (not those their callbacks queue). */
    int drain() {
        int end = tail;
        int count = 0;
        while (head != end) {
            int slot = head & mask;
            IoCompletion c = completions[slot];
            completions[slot] = null;
            head++;
            count++;
            c.complete(tags[slot], statuses[slot]);
        }
        return count;
    }
}
