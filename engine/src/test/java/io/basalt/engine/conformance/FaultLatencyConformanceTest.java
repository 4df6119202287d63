package io.basalt.engine.conformance;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.fault.FaultBlockDevice;

/** The fault wrapper holding every completion 1..50 us by the reactor clock: the poller path. */
class FaultLatencyConformanceTest extends BlockDeviceConformance {
    @Override
    protected BlockDevice createDevice() {
        BlockDevice d = DeviceSpec.open("f1", "fault:memory:64M,fault_seed=43,fault_latency_us=1-50");
        if (!(d instanceof FaultBlockDevice f) || !f.config().hasLatency()) throw new AssertionError("latency not configured: " + d.describe());
        return d;
    }
}
