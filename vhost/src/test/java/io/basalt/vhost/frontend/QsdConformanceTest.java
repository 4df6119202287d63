package io.basalt.vhost.frontend;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.conformance.BlockDeviceConformance;
import org.junit.jupiter.api.condition.EnabledIf;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The engine's conformance suite on a vhost-user drive served by qemu-storage-daemon over a 64 MiB file (so that
 * data is checked). Skipped where /usr/bin/qemu-storage-daemon is not installed.
 */
@EnabledIf(value = "io.basalt.vhost.frontend.QsdServer#available", disabledReason = "skipped: qemu-storage-daemon not installed")
class QsdConformanceTest extends BlockDeviceConformance {
    private static final long DISK_BYTES = 64L << 20;
    private QsdServer server;
    private Path dataDir;

    protected String options() {
        return "";
    }

    @Override
    protected BlockDevice createDevice() throws Exception {
        dataDir = Files.createTempDirectory("basalt-qsd-data");
        Path file = QsdServer.dataFile(dataDir, DISK_BYTES);
        server = new QsdServer("driver=file,filename=" + file + ",cache.direct=off", 1);
        return DeviceSpec.open("qsd", "vhost-user:" + server.socketPath + options());
    }

    @Override
    protected void afterDeviceClosed() throws Exception {
        server.close();
        try (var files = Files.list(dataDir)) {
            for (Path p : files.toList()) Files.deleteIfExists(p);
        }
        Files.deleteIfExists(dataDir);
    }
}
