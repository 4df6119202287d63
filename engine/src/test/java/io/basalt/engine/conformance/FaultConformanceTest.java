package io.basalt.engine.conformance;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;

/**
 * The fault wrapper with no fault configured must be indistinguishable from the device below it. See also
 * {@link FaultLatencyConformanceTest} and {@link FaultSmallBlockConformanceTest}.
 */
class FaultConformanceTest extends BlockDeviceConformance {
    @Override
    protected BlockDevice createDevice() {
        return DeviceSpec.open("f0", "fault:memory:64M,fault_seed=42");
    }
}
