package io.basalt.vhost.frontend;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.spi.BackendProvider;

import java.util.List;
import java.util.Map;

/** Registers {@code vhost-user:/path.sock[,queues=Q][,queue_size=N][,packed=0|1][,max_transfer=SIZE]} with DeviceSpec. */
public final class VhostUserBackendProvider implements BackendProvider {
    public static final String KIND = "vhost-user";

    @Override
    public List<String> kinds() {
        return List.of(KIND);
    }

    @Override
    public BlockDevice open(String name, String kind, String target, Map<String, String> options) {
        return VhostUserBlkDevice.open(name, target, FrontendOptions.parse(options));
    }
}
