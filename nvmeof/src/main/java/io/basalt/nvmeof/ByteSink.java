package io.basalt.nvmeof;

import java.lang.foreign.MemorySegment;

/**
 * Where a queue pair's transport puts the bytes it sends; the socket side implements it over io_uring send.
 * Reactor thread only.
 */
public interface ByteSink {
    /**
     * Queues {@code bytes} for sending, in order after everything queued before. The segment must stay valid
     * until {@code done.sent(token)} is called (the transport reuses the memory afterwards).
     *
     * @return false when the sink cannot take more now (the transport retries after a {@code sent})
     */
    boolean send(MemorySegment bytes, long token, Sent done);

    /** Closes the connection after what was queued is sent (or at once when {@code now}). */
    void close(boolean now);

    @FunctionalInterface
    interface Sent {
        /** The bytes of {@code token} left (status >= 0) or never will (negative errno; the connection is closing). */
        void sent(long token, int status);
    }
}
