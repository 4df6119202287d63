package io.basalt.qemu;

import java.nio.file.Path;

/**
 * A running vhost-user-blk server a guest can attach to: qemu-storage-daemon today, {@code basalt serve} later.
 * The guest side needs only {@link #socket()}; benchmarks also read the server's CPU time.
 */
public interface VhostBackend extends AutoCloseable {
    String name();

    /** The listening unix socket (pass it to {@link Guest.Builder#vhostUserBlk}). */
    Path socket();

    /** The server's process id, whose /proc/PID/stat CPU time the benchmark samples. */
    long pid();

    /** User plus system CPU time of the server process (all its threads), in nanoseconds. */
    default long cpuNanos() {
        return ProcessBackend.cpuNanos(pid());
    }

    /** Stops the server (SIGTERM, then SIGKILL after a grace period). */
    @Override
    void close();
}
