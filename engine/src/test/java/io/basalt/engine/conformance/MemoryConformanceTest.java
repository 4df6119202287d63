package io.basalt.engine.conformance;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;

class MemoryConformanceTest extends BlockDeviceConformance {
    @Override
    protected BlockDevice createDevice() {
        return DeviceSpec.open("m0", "memory:64M");
    }
}
