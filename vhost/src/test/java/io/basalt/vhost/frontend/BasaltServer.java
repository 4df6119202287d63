package io.basalt.vhost.frontend;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.vhost.VhostBlkExport;
import io.basalt.vhost.VhostBlkExportConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Basalt's own vhost-user-blk server exporting a device, in-process on its own reactor: the back-end for front-end tests. */
final class BasaltServer implements AutoCloseable {
    final Path dir;
    final String socketPath;
    final Reactor reactor;
    final BlockDevice device;
    final VhostBlkExport export;

    BasaltServer(String deviceSpec, int queues) throws Exception {
        dir = Files.createTempDirectory("basalt-fe");
        socketPath = dir.resolve("blk.sock").toString();
        reactor = Reactor.start(ReactorConfig.defaults("server"));
        device = DeviceSpec.open("served", deviceSpec);
        export = new VhostBlkExport(new VhostBlkExportConfig("fe", socketPath, queues, false, 0600, -1, -1, "fe-test"), device, List.of(reactor));
        export.start();
    }

    @Override
    public void close() throws Exception {
        export.close();
        reactor.close();
        device.close();
        Files.deleteIfExists(Path.of(socketPath));
        Files.deleteIfExists(dir);
    }
}
