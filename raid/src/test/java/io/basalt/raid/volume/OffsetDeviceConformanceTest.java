package io.basalt.raid.volume;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.conformance.BlockDeviceConformance;
import org.junit.jupiter.api.Nested;

import java.util.List;

/** The engine's BlockDevice conformance suite on a slice of a device, and on raid1 over slices (what the daemon builds). */
class OffsetDeviceConformanceTest {
    @Nested
    class SliceOfAMemoryDrive extends BlockDeviceConformance {
        @Override
        protected BlockDevice createDevice() {
            BlockDevice base = DeviceSpec.open("m0", "memory:40M");
            return new OffsetDevice("m0", base, 256, (32L << 20) / 4096); // 1 MiB in, 32 MiB long, 7 MiB left after
        }
    }

    @Nested
    class Raid1OverSlices extends BlockDeviceConformance {
        @Override
        protected BlockDevice createDevice() {
            BlockDevice a = DeviceSpec.open("m0", "memory:20M"), b = DeviceSpec.open("m1", "memory:20M");
            return new Raid1Volume("r1", List.of(new OffsetDevice("m0", a, 256, 4096), new OffsetDevice("m1", b, 512, 4096)));
        }
    }
}
