package io.basalt.vhost;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Control-path counters of one export (data-path counters live in each queue, owned by its reactor). */
final class VhostCounters {
    final LongAdder connections = new LongAdder();
    final LongAdder refusedConnections = new LongAdder();
    final LongAdder messages = new LongAdder();
    final LongAdder unsupportedMessages = new LongAdder();
    final LongAdder protocolErrors = new LongAdder();
    final LongAdder queuesStarted = new LongAdder();
    /** Rings started while the session holds an inflight buffer made for another ring size or layout (untracked). */
    final LongAdder inflightIgnored = new LongAdder();

    Map<String, Object> snapshot() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("connections", connections.sum());
        m.put("refused_connections", refusedConnections.sum());
        m.put("messages", messages.sum());
        m.put("unsupported_messages", unsupportedMessages.sum());
        m.put("protocol_errors", protocolErrors.sum());
        m.put("queues_started", queuesStarted.sum());
        m.put("inflight_ignored", inflightIgnored.sum());
        return m;
    }
}
