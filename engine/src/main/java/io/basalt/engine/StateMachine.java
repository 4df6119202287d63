package io.basalt.engine;

import io.basalt.shims.Check;

/**
 * A per-request state machine's legal moves and its move counters, after SPDK's {@code nvmf_tcp_req_set_state}
 * (lib/nvmf/tcp.c), which counts every move of a request; Basalt also checks it. The states are small int
 * constants {@code 0 .. n-1} (kept in the owner's per-slot byte or int arrays, so a move allocates nothing) with a
 * name table; the legal moves are a {@link Table} built once, at the owner's class init; each owner (a channel, a
 * queue: one thread) has its own {@code StateMachine} with its own counters.
 *
 * <p>Cost of a move: one bounds test, a load of the from-state's bitmask of allowed to-states, a bit test and a
 * counter increment. No string is made unless the move is illegal, which is a programmer error: {@link Check}
 * stops with the machine, the slot and both state names.
 *
 * <p>Counters: one per (from, to) pair, written by the owner's thread, read racily by tests and status.
 */
public final class StateMachine {
    /** Most states of one machine: a from-state's allowed to-states are one long. */
    public static final int STATES_MAX = 64;

    /** The states' names and the legal moves of one kind of machine; shared by all its instances once built. */
    public static final class Table {
        final String machine;
        final String[] names;
        final long[] allowed;

        private Table(String machine, String[] names) {
            Check.that(names.length > 0 && names.length <= STATES_MAX, "1 to 64 states per machine", names.length);
            this.machine = machine;
            this.names = names.clone();
            this.allowed = new long[names.length];
        }

        /** Allows the moves from {@code from} to each of {@code to} (call at class init, before any instance moves). */
        public Table allow(int from, int... to) {
            checkState(from);
            for (int t : to) {
                checkState(t);
                allowed[from] |= 1L << t;
            }
            return this;
        }

        public boolean allows(int from, int to) {
            return from >= 0 && from < names.length && to >= 0 && to < names.length && (allowed[from] >>> to & 1) != 0;
        }

        public String machine() { return machine; }
        public int stateCount() { return names.length; }
        public String name(int state) { return state >= 0 && state < names.length ? names[state] : "state " + state; }

        private void checkState(int state) {
            Check.that(state >= 0 && state < names.length, machine + ": a state of the table", state);
        }
    }

    /** A table for {@code machine} whose states are {@code 0 .. names.length - 1}, named in that order. */
    public static Table table(String machine, String... names) {
        return new Table(machine, names);
    }

    private final Table table;
    private final int stateCount;
    private final long[] allowed;
    private final long[] counts;

    public StateMachine(Table table) {
        this.table = table;
        this.stateCount = table.names.length;
        this.allowed = table.allowed;
        this.counts = new long[stateCount * stateCount];
    }

    /** Checks and counts the move of {@code slot} from {@code from} to {@code to}; returns {@code to}. */
    public int move(int slot, int from, int to) {
        if (from < 0 || from >= stateCount || to < 0 || to >= stateCount || (allowed[from] >>> to & 1) == 0) illegal(slot, from, to);
        counts[from * stateCount + to]++;
        return to;
    }

    /** {@code states[slot] = to}, checked and counted. */
    public void move(byte[] states, int slot, int to) {
        states[slot] = (byte) move(slot, states[slot], to);
    }

    /** {@code states[slot] = to}, checked and counted. */
    public void move(int[] states, int slot, int to) {
        states[slot] = move(slot, states[slot], to);
    }

    private void illegal(int slot, int from, int to) {
        Check.that(false, table.machine + " slot " + slot + ": illegal move " + table.name(from) + " -> " + table.name(to));
    }

    public Table table() {
        return table;
    }

    /** Moves from {@code from} to {@code to} so far. */
    public long count(int from, int to) {
        return counts[from * stateCount + to];
    }

    /** Every move so far. */
    public long total() {
        long sum = 0;
        for (long c : counts) sum += c;
        return sum;
    }

    /** A copy of the counters, index {@code from * stateCount + to}. */
    public long[] counts() {
        return counts.clone();
    }

    /** The moves made so far, "FROM->TO=count" separated by spaces (for status and test messages). */
    public String describe() {
        StringBuilder out = new StringBuilder(table.machine).append(':');
        for (int from = 0; from < stateCount; from++) {
            for (int to = 0; to < stateCount; to++) {
                long c = counts[from * stateCount + to];
                if (c != 0) out.append(' ').append(table.names[from]).append("->").append(table.names[to]).append('=').append(c);
            }
        }
        return out.toString();
    }
}
