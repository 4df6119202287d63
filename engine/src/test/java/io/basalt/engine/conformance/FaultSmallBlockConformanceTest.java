package io.basalt.engine.conformance;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;

/** 512-byte blocks under the fault wrapper: the inner spec's own option sits among the fault options. */
class FaultSmallBlockConformanceTest extends BlockDeviceConformance {
    @Override
    protected BlockDevice createDevice() {
        return DeviceSpec.open("f2", "fault:memory:16M,fault_seed=44,block=512");
    }
}
