package io.basalt.nvmeof.tcp;

import io.basalt.nvmeof.ByteSink;
import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;

/**
 * The queue pair's outgoing byte stream, in order: hands segments to the {@link ByteSink} and keeps those it
 * refuses in a fixed ring (sized from the limits, never grown) until a {@code sent} makes room. Reactor thread
 * only; safe when the sink calls {@code sent} from inside {@code send}.
 */
final class TxQueue implements ByteSink.Sent {
    private final ByteSink sink;
    private final ByteSink.Sent owner;
    private final MemorySegment[] backlog;
    private final long[] backlogTokens;
    private int head;
    private int count;
    private boolean draining;
    private boolean closed;
    private boolean closeWhenDrained;
    private long refusals;

    TxQueue(ByteSink sink, ByteSink.Sent owner, int capacity) {
        Check.positive(capacity, "capacity");
        this.sink = sink;
        this.owner = owner;
        this.backlog = new MemorySegment[capacity];
        this.backlogTokens = new long[capacity];
    }

    /** Sends {@code bytes} after everything sent before; the owner hears {@code sent(token, ...)} for it. */
    void send(MemorySegment bytes, long token) {
        if (closed || closeWhenDrained) return;
        if (count == 0 && !draining && sink.send(bytes, token, this)) return;
        Check.that(count < backlog.length, "transmit backlog within its bound", count);
        int tail = (head + count) % backlog.length;
        backlog[tail] = bytes;
        backlogTokens[tail] = token;
        count++;
        refusals++;
    }

    @Override
    public void sent(long token, int status) {
        owner.sent(token, status);
        drain();
    }

    /** Offers the backlog again, oldest first, until the sink refuses one. */
    void drain() {
        if (draining) return;
        draining = true;
        try {
            while (count > 0 && !closed) {
                if (!sink.send(backlog[head], backlogTokens[head], this)) break;
                backlog[head] = null;
                head = (head + 1) % backlog.length;
                count--;
            }
        } finally {
            draining = false;
        }
        if (closeWhenDrained && count == 0 && !closed) {
            closed = true;
            sink.close(false);
        }
    }

    /** Takes nothing more; closes the sink (gracefully) once the backlog is in it. */
    void closeWhenDrained() {
        closeWhenDrained = true;
        drain();
    }

    /** Stops sending at once: what is still in the backlog is dropped (the connection is going away). */
    void close() {
        closed = true;
        for (int i = 0; i < backlog.length; i++) backlog[i] = null;
        count = 0;
    }

    int backlogged() {
        return count;
    }

    long refusals() {
        return refusals;
    }
}
