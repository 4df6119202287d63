package io.basalt.engine.conformance;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;

import java.nio.file.Path;

/** The uring backend on a sparse file opened with O_DIRECT (on a file system that takes it). */
class UringConformanceTest extends BlockDeviceConformance {
    private Path folder;

    @Override
    protected BlockDevice createDevice() {
        folder = TestFiles.directIoFolder("uring-conformance");
        return DeviceSpec.open("u0", "uring:" + folder.resolve("disk") + ",size=64M" + options());
    }

    protected String options() {
        return "";
    }

    @Override
    protected void afterDeviceClosed() throws Exception {
        TestFiles.deleteTree(folder);
    }
}
