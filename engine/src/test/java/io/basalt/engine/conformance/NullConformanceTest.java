package io.basalt.engine.conformance;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;

/** The null device keeps nothing (Geometry.persistent() is false): the suite checks statuses only. */
class NullConformanceTest extends BlockDeviceConformance {
    @Override
    protected BlockDevice createDevice() {
        return DeviceSpec.open("n0", "null:1G");
    }
}
