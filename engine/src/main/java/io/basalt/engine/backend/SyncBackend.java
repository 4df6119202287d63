package io.basalt.engine.backend;

import java.lang.foreign.MemorySegment;

/**
 * A backend whose operations finish during the call (memory, null). {@link SyncChannel} turns it into a
 * {@link io.basalt.engine.BlockChannel} whose completions arrive on the reactor's next cycle. Requests reach
 * these methods already checked for range and alignment. Each returns a {@link io.basalt.engine.Status}.
 */
interface SyncBackend {
    int read(long offsetBytes, MemorySegment destination);

    int write(long offsetBytes, MemorySegment source);

    int flush();

    int discard(long offsetBytes, long lengthBytes);

    int writeZeroes(long offsetBytes, long lengthBytes);
}
