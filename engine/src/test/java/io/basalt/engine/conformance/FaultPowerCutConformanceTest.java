package io.basalt.engine.conformance;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;

/**
 * The fault wrapper in power-cut mode, with no cut: writes land in its volatile cache, reads see the cache
 * over the memory device, flushes write the cache down. Behaves as a plain device.
 */
class FaultPowerCutConformanceTest extends BlockDeviceConformance {
    @Override
    protected BlockDevice createDevice() {
        return DeviceSpec.open("p0", "fault:memory:64M,fault_seed=7,fault_power_cut=1,fault_torn=1");
    }
}
