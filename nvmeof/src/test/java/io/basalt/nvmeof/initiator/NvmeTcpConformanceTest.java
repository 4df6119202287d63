package io.basalt.nvmeof.initiator;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.conformance.BlockDeviceConformance;

/** The engine's conformance suite on an nvme-tcp drive served by Basalt's own target over loopback. */
class NvmeTcpConformanceTest extends BlockDeviceConformance {
    protected LoopbackTarget target;

    @Override
    protected BlockDevice createDevice() throws Exception {
        target = new LoopbackTarget(64L << 20, 4096);
        return DeviceSpec.open("remote", target.spec(""));
    }

    @Override
    protected void afterDeviceClosed() throws Exception {
        target.close();
    }
}
