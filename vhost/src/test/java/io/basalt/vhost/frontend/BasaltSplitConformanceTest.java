package io.basalt.vhost.frontend;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.conformance.BlockDeviceConformance;

/** The engine's conformance suite on a vhost-user drive (split rings) served by Basalt's own export of a memory device. */
class BasaltSplitConformanceTest extends BlockDeviceConformance {
    private BasaltServer server;

    protected String options() {
        return "";
    }

    @Override
    protected BlockDevice createDevice() throws Exception {
        server = new BasaltServer("memory:64M", 1);
        return DeviceSpec.open("fe", "vhost-user:" + server.socketPath + options());
    }

    @Override
    protected void afterDeviceClosed() throws Exception {
        server.close();
    }
}
