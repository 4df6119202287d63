package io.basalt.daemon;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import io.basalt.raid.array.ControlIo;

/**
 * Makes a drive's completed writes durable at shutdown: a FLUSH through a channel on a reactor (closing a
 * uring device only closes its fd, which does not fsync). The control plane's one flush: {@link ControlIo}.
 */
final class DriveFlusher {
    private DriveFlusher() {}

    /** Flushes {@code device} on {@code reactor} and waits; returns a Status, or -1 when it could not run. */
    static int flush(Reactor reactor, BlockDevice device, long timeoutNs) {
        return ControlIo.flushStatus(reactor, device, timeoutNs);
    }
}
