package io.basalt.nvmeof.target;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The counters of one queue pair: written by its reactor only (setOpaque, so a reader on another thread never
 * sees a torn value and the owner pays no fence), read racily by the control plane and by SMART log reads.
 */
final class QueueCounters {
    static final int COMMANDS = 0;
    static final int ERRORS = 1;
    static final int READ_COMMANDS = 2;
    static final int WRITE_COMMANDS = 3;
    static final int READ_BYTES = 4;
    static final int WRITTEN_BYTES = 5;
    static final int BUSY_RETRIES = 6;
    static final int COUNT = 7;

    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(long[].class);
    private final long[] values = new long[COUNT];

    /** Owner thread only. */
    void add(int counter, long delta) {
        SLOTS.setOpaque(values, counter, (long) SLOTS.getOpaque(values, counter) + delta);
    }

    /** Any thread. */
    long get(int counter) {
        return (long) SLOTS.getOpaque(values, counter);
    }

    /** Adds this queue's values into {@code sums} (any thread). */
    void addTo(long[] sums) {
        for (int i = 0; i < COUNT; i++) sums[i] += get(i);
    }
}
