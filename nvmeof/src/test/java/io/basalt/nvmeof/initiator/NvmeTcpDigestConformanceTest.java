package io.basalt.nvmeof.initiator;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;

/** The conformance suite again with header and data digests on every queue ({@code digest=hd,dd}). */
class NvmeTcpDigestConformanceTest extends NvmeTcpConformanceTest {
    @Override
    protected BlockDevice createDevice() throws Exception {
        target = new LoopbackTarget(64L << 20, 4096);
        return DeviceSpec.open("remote", target.spec("&digest=hd,dd"));
    }
}
