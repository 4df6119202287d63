package io.basalt.nvmeof;

import io.basalt.engine.Reactor;

/** Makes the controller side of a new connection; the target (subsystems, controllers, discovery) implements it. */
public interface QueueHandlerFactory {
    /**
     * A host connected to a listener; called on the reactor that will own the connection.
     *
     * @param reactor   the owning reactor (for BlockChannels and timers)
     * @param peer      the host's address, for logs and counters, e.g. "10.0.2.15:53422"
     * @param listener  the listener's address, e.g. "0.0.0.0:4420" (a discovery-only listener answers only the
     *                  discovery subsystem)
     */
    QueueHandler newQueue(Reactor reactor, String peer, String listener);
}
