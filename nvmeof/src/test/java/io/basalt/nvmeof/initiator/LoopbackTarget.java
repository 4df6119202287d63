package io.basalt.nvmeof.initiator;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.nvmeof.NvmeTcpServer;
import io.basalt.nvmeof.target.NamespaceIds;
import io.basalt.nvmeof.target.Subsystem;
import io.basalt.nvmeof.target.Target;
import io.basalt.nvmeof.target.TargetConfig;
import io.basalt.nvmeof.tcp.TcpConfig;

import java.util.List;

/** Basalt's own target on 127.0.0.1 (port 0) serving a memory namespace, on a reactor of its own. */
final class LoopbackTarget implements AutoCloseable {
    static final String NQN = "nqn.2026-01.io.basalt:initiator-test";
    final Reactor reactor = Reactor.start(ReactorConfig.defaults("nvmf-loop-target"));
    final BlockDevice memory;
    final NvmeTcpServer server;
    final int port;
    private final boolean ownsNamespace;

    LoopbackTarget(long sizeBytes, int blockBytes) {
        this(new MemoryBlockDevice("m0", sizeBytes, blockBytes), NamespaceIds.random(), 0, true);
    }

    /** Serves {@code namespace} (kept open on close unless owned) with {@code ids} on {@code port} (0: any). */
    LoopbackTarget(BlockDevice namespace, NamespaceIds ids, int port, boolean ownsNamespace) {
        this(namespace, ids, port, ownsNamespace, TargetConfig.defaults().inCapsuleDataBytes());
    }

    /** As above, taking (and reporting in IOCCSZ) {@code inCapsuleBytes} of in-capsule data on I/O queues. */
    LoopbackTarget(BlockDevice namespace, NamespaceIds ids, int port, boolean ownsNamespace, int inCapsuleBytes) {
        TargetConfig d = TargetConfig.defaults();
        Target target = new Target(new TargetConfig(d.vendorId(), d.firmware(), inCapsuleBytes, d.maxTransferBytes(),
                d.ioQueueEntriesMax(), d.adminQueueEntries(), d.ioQueuesMax(), d.errorLogEntries(), d.discoveryKeepAliveMs()));
        TcpConfig t = TcpConfig.DEFAULT;
        TcpConfig tcp = new TcpConfig(t.commandsMax(), t.maxH2cDataBytes(), t.c2hDataBytes(), t.dataBytesMax(), inCapsuleBytes,
                t.bufferBytesMax());
        Subsystem subsystem = target.addSubsystem(NQN, "BASALT0001", "Basalt volume");
        subsystem.allowAnyHost(true);
        memory = namespace;
        this.ownsNamespace = ownsNamespace;
        subsystem.addNamespace(1, memory, ids);
        server = new NvmeTcpServer(List.of(reactor), target, io.basalt.engine.net.TcpConfig.defaults(), tcp);
        server.start();
        this.port = server.listen("127.0.0.1", port);
        target.addListener("127.0.0.1:" + port, null, false);
    }

    String spec(String extra) {
        return "nvme-tcp://127.0.0.1:" + port + "/" + NQN + "?nsid=1" + extra;
    }

    @Override
    public void close() {
        try {
            server.close();
        } finally {
            reactor.close();
            if (ownsNamespace) memory.close();
        }
    }
}
