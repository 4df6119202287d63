package io.basalt.nvmeof.tcp;

import io.basalt.nvmeof.ByteSink;
import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;

/**
 * The queue pair's outgoing byte stream, in order: hands segments to the {@link ByteSink} and keeps those it
 * refuses in a fixed ring (sized from the limits, never grown) until a {@code sent} makes room. Reactor thread
 * only.
 *
 * <p>A PDU may be several segments (a C2HData header, its data, its digest), and they must reach the stream
 * back to back. A {@code sent} can come from inside {@code sink.send}; acting on it there could free a slot,
 * start a waiting command and send its PDUs between two segments of another. So a {@code sent} that arrives
 * inside a batch ({@link #beginBatch} ... {@link #endBatch}, and every send is one) is held, and the owner
 * hears it when the outermost batch ends.
 */
final class TxQueue implements ByteSink.Sent {
    private final ByteSink sink;
    private final ByteSink.Sent owner;
    private final MemorySegment[] backlog;
    private final long[] backlogTokens;
    private int head;
    private int count;
    private final long[] heldTokens;
    private final int[] heldStatus;
    private int heldHead;
    private int heldCount;
    private int batchDepth;
    private boolean releasingHeld;
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
        this.heldTokens = new long[capacity];
        this.heldStatus = new int[capacity];
    }

    /** Sends {@code bytes} after everything sent before; the owner hears {@code sent(token, ...)} for it. */
    void send(MemorySegment bytes, long token) {
        if (closed || closeWhenDrained) return;
        beginBatch();
        try {
            if (count == 0 && !draining && sink.send(bytes, token, this)) return;
            Check.that(count < backlog.length, "transmit backlog within its bound", count);
            int tail = (head + count) % backlog.length;
            backlog[tail] = bytes;
            backlogTokens[tail] = token;
            count++;
            refusals++;
        } finally {
            endBatch();
        }
    }

    /** Segments sent until the matching {@link #endBatch} go out back to back. */
    void beginBatch() {
        batchDepth++;
    }

    void endBatch() {
        Check.that(batchDepth > 0, "endBatch after beginBatch");
        if (--batchDepth > 0) return;
        releaseHeld();
        drain();
    }

    /** Passes held acknowledgements on, once no batch is open. */
    private void releaseHeld() {
        if (batchDepth > 0 || releasingHeld) return;
        releasingHeld = true;
        try {
            while (heldCount > 0) {
                long token = heldTokens[heldHead];
                int status = heldStatus[heldHead];
                heldHead = (heldHead + 1) % heldTokens.length;
                heldCount--;
                owner.sent(token, status);
            }
        } finally {
            releasingHeld = false;
        }
    }

    @Override
    public void sent(long token, int status) {
        if (batchDepth > 0 || releasingHeld) {
            Check.that(heldCount < heldTokens.length, "held acknowledgements within their bound", heldCount);
            int tail = (heldHead + heldCount) % heldTokens.length;
            heldTokens[tail] = token;
            heldStatus[tail] = status;
            heldCount++;
            return;
        }
        owner.sent(token, status);
        drain();
    }

    /**
     * Offers the backlog again, oldest first, until it is empty or the sink refuses one (the sink then calls
     * {@code sent} later). Acknowledgements that come meanwhile may queue more: the loop sends those too.
     */
    void drain() {
        if (draining) return;
        draining = true;
        try {
            boolean refused = false;
            while (count > 0 && !closed && !refused) {
                batchDepth++;
                try {
                    while (count > 0 && !closed) {
                        if (!sink.send(backlog[head], backlogTokens[head], this)) {
                            refused = true;
                            break;
                        }
                        backlog[head] = null;
                        head = (head + 1) % backlog.length;
                        count--;
                    }
                } finally {
                    batchDepth--;
                }
                releaseHeld();
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
