package io.basalt.nvmeof.initiator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Map;

/**
 * The counters of one queue of an {@link NvmeTcpDevice}: qid 0 (the admin queue and the control thread's
 * reconnects) or one I/O queue. One writer at a time: the control thread for qid 0, the reactor of the channel that
 * holds the qid for an I/O queue (a qid changes hands only through the device's synchronized takeQid/releaseQid,
 * which orders the last writes of one owner before the first of the next). Memory-ordering rule (as IoStats and the
 * target's QueueCounters): the owner writes with setOpaque after a plain read of its own value, so no atomic add
 * and no fence on the data path; any thread reads with getOpaque, never a torn long, each value recent.
 */
final class InitiatorCounters {
    static final int COMMANDS_SUBMITTED = 0;
    static final int COMMANDS_COMPLETED = 1;
    static final int READ_BYTES = 2;
    static final int WRITTEN_BYTES = 3;
    static final int STATUS_ERRORS = 4;
    static final int TRANSPORT_ERRORS = 5;
    static final int DATA_DIGEST_ERRORS = 6;
    static final int HEADER_DIGEST_ERRORS = 7;
    static final int PROTOCOL_ERRORS = 8;
    static final int TIMEOUTS = 9;
    static final int QUEUE_RESETS = 10;
    static final int REJECTED_WHILE_GONE = 11;
    static final int RECONNECTS = 12;
    static final int RECONNECT_FAILURES = 13;
    /** Wire names in index order (stat_get's {@code backend} object, docs/rpc.md and docs/nvmeof.md). */
    static final String[] NAMES = {"commands_submitted", "commands_completed", "read_bytes", "written_bytes",
            "status_errors", "transport_errors", "data_digest_errors", "header_digest_errors", "protocol_errors",
            "timeouts", "queue_resets", "rejected_while_gone", "reconnects", "reconnect_failures"};
    static final int COUNT = NAMES.length;

    private static final VarHandle VALUES = MethodHandles.arrayElementVarHandle(long[].class);
    private final long[] values = new long[COUNT];

    /** Owner thread only. */
    void add(int counter, long delta) {
        VALUES.setOpaque(values, counter, (long) VALUES.getOpaque(values, counter) + delta);
    }

    void increment(int counter) {
        add(counter, 1);
    }

    /** Any thread. */
    long get(int counter) {
        return (long) VALUES.getOpaque(values, counter);
    }

    /** Sums every queue's counters by wire name, in index order (any thread; allocates). */
    static Map<String, Long> sum(InitiatorCounters[] queues) {
        long[] sums = new long[COUNT];
        for (InitiatorCounters q : queues) for (int i = 0; i < COUNT; i++) sums[i] += q.get(i);
        Map<String, Long> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < COUNT; i++) m.put(NAMES[i], sums[i]);
        return m;
    }
}
