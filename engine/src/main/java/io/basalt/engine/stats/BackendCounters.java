package io.basalt.engine.stats;

import java.util.Map;

/**
 * A backend's own counters, beyond the I/O counters {@link StatBlockDevice} keeps for every device: what only the
 * backend sees, such as a network backend's queue resets, reconnects and digest errors. A {@link
 * io.basalt.engine.BlockDevice} that has some implements this; the daemon's {@code stat_get} shows them under the
 * drive as {@code backend} (docs/rpc.md) without knowing the backend's classes.
 *
 * <p>The counters are written on the backend's own threads (each by one owner) and read here from any thread
 * without a lock: each value is recent and monotonic, the set of them not from one instant (as {@link IoStats}).
 */
public interface BackendCounters {
    /** Counter name (snake_case, the wire name) to value, in a fixed order. Any thread; may allocate. */
    Map<String, Long> backendCounters();
}
