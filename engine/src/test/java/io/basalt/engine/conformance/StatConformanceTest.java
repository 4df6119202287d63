package io.basalt.engine.conformance;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.stats.StatBlockDevice;

/** The counting wrapper the daemon puts around every drive, volume and export must change nothing a user sees. */
class StatConformanceTest extends BlockDeviceConformance {
    @Override
    protected BlockDevice createDevice() {
        return new StatBlockDevice(DeviceSpec.open("s0", "memory:64M"), true);
    }
}
