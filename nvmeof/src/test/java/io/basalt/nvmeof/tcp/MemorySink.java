package io.basalt.nvmeof.tcp;

import io.basalt.nvmeof.ByteSink;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;

/**
 * An in-memory {@link ByteSink}: keeps every byte sent, in order. Acknowledges each send at once (from inside
 * send, the hardest case for the caller) or, with {@code deferAcks}, when the test calls {@link #ackAll};
 * {@code refuseNext} refuses that many sends made while some are unacknowledged.
 */
final class MemorySink implements ByteSink {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    boolean deferAcks;
    int refuseNext;
    int closeCalls;
    boolean closedNow;
    boolean sendAfterClose;
    private final ArrayDeque<long[]> acks = new ArrayDeque<>();
    private final ArrayDeque<Sent> ackTargets = new ArrayDeque<>();

    @Override
    public boolean send(MemorySegment segment, long token, Sent done) {
        if (refuseNext > 0 && !acks.isEmpty()) {  // a real sink refuses only while full, so a sent() will follow
            refuseNext--;
            return false;
        }
        if (closeCalls > 0) sendAfterClose = true;
        bytes.writeBytes(segment.toArray(ValueLayout.JAVA_BYTE));
        if (deferAcks) {
            acks.add(new long[] {token});
            ackTargets.add(done);
        } else {
            done.sent(token, 0);
        }
        return true;
    }

    @Override
    public void close(boolean now) {
        closeCalls++;
        closedNow |= now;
    }

    int pendingAcks() {
        return acks.size();
    }

    void ackAll() {
        while (!acks.isEmpty()) ackTargets.poll().sent(acks.poll()[0], 0);
    }

    /** Acknowledges everything, however many more sends the acknowledgements cause. */
    void ackUntilQuiet() {
        for (int round = 0; round < 1_000_000 && (!acks.isEmpty()); round++) ackAll();
    }

    byte[] taken() {
        byte[] all = bytes.toByteArray();
        bytes.reset();
        return all;
    }
}
