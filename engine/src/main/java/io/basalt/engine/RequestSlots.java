package io.basalt.engine;

import io.basalt.shims.Check;

/**
 * The in-flight requests of one channel: preallocated slots holding the caller's completion and tag, with a
 * generation per slot so that a stale or forged identifier is caught. A request identifier packs the
 * generation (32 bits) over the slot (16 bits) and fits io_uring's user_data next to a sink index.
 */
public final class RequestSlots {
    public static final int SLOTS_MAX = 1 << 16;

    private final IoCompletion[] completions;
    private final long[] tags;
    private final int[] generations;
    private final int[] freeStack;
    private int freeCount;

    public RequestSlots(int capacity) {
        Check.that(capacity > 0 && capacity <= SLOTS_MAX, "slot capacity in (0, 65536]", capacity);
        completions = new IoCompletion[capacity];
        tags = new long[capacity];
        generations = new int[capacity];
        freeStack = new int[capacity];
        for (int i = 0; i < capacity; i++) freeStack[i] = capacity - 1 - i;
        freeCount = capacity;
    }

    public int capacity() { return completions.length; }
    public int inUse() { return completions.length - freeCount; }

    /** A slot for a new request, or -1 when all are in use. */
    public int acquire(IoCompletion completion, long tag) {
        if (freeCount == 0) return -1;
        int slot = freeStack[--freeCount];
        completions[slot] = completion;
        tags[slot] = tag;
        return slot;
    }

    /** The completion of the request in {@code slot} (a channel that hands the request on to another slot). */
    public IoCompletion completion(int slot) {
        return completions[slot];
    }

    /** The caller's tag of the request in {@code slot}. */
    public long tag(int slot) {
        return tags[slot];
    }

    /** The identifier of the request now in {@code slot}. */
    public long id(int slot) {
        return ((long) generations[slot] << 16) | slot;
    }

    /** The slot an identifier names; throws if the identifier is stale (a programmer or kernel error). */
    public int slotOf(long id) {
        int slot = (int) (id & 0xFFFF);
        Check.that(slot < completions.length && completions[slot] != null
                && generations[slot] == (int) (id >>> 16), "completion for a request not in flight", id);
        return slot;
    }

    /** Frees the slot, then runs the caller's completion (which may submit again). */
    public void finish(int slot, int status) {
        IoCompletion completion = completions[slot];
        Check.that(completion != null, "finishing a free slot", slot);
        long tag = tags[slot];
        release(slot);
        completion.complete(tag, status);
    }

    /** Frees a slot without completing it (the request was never submitted). */
    public void release(int slot) {
        completions[slot] = null;
        generations[slot]++;
        freeStack[freeCount++] = slot;
    }
}
