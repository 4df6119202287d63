package io.basalt.nvmeof.initiator;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.spi.BackendProvider;

import java.util.List;
import java.util.Map;

/** Registers {@code nvme-tcp://HOST:PORT/SUBNQN?nsid=N[&queues=Q][&hostnqn=NQN][&hostid=UUID][&timeout_ms=T][&reconnect_max_ms=R]}
 * with DeviceSpec. */
public final class NvmeTcpBackendProvider implements BackendProvider {
    public static final String KIND = "nvme-tcp";

    @Override
    public List<String> kinds() {
        return List.of(KIND);
    }

    @Override
    public BlockDevice open(String name, String kind, String target, Map<String, String> options) {
        return NvmeTcpDevice.open(name, NvmeTcpSpec.parse(target, options));
    }
}
