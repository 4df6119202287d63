package io.basalt.nvmeof.initiator;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.nvmeof.target.NamespaceIds;

/**
 * The conformance suite against a target that takes no in-capsule data on I/O queues (IOCCSZ 4: the SQE alone), with
 * both digests: every write, and every discard's Dataset Management range, goes as H2CData after an R2T.
 */
class NvmeTcpNoInCapsuleConformanceTest extends NvmeTcpConformanceTest {
    @Override
    protected BlockDevice createDevice() throws Exception {
        target = new LoopbackTarget(new MemoryBlockDevice("m0", 64L << 20, 4096), NamespaceIds.random(), 0, true, 0);
        NvmeTcpDevice device = (NvmeTcpDevice) DeviceSpec.open("remote", target.spec("&digest=hd,dd"));
        if (device.inCapsuleBytes() != 0) throw new AssertionError("the target offers in-capsule data: " + device.inCapsuleBytes());
        return device;
    }
}
