package io.basalt.engine.backend;

import io.basalt.engine.conformance.TestFiles;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** When a uring device may answer FLUSH without an fsync (docs/decisions.md 28): only write-through block devices. */
class UringFlushTest {
    @Test
    void aFileAlwaysFlushesEvenWithODirect() throws Exception {
        Path folder = TestFiles.directIoFolder("uring-flush");
        try (UringBlockDevice d = UringBlockDevice.open("f", folder.resolve("f.img").toString(),
                new UringBlockDevice.Options(true, 4096, 1 << 20, false))) {
            assertFalse(d.flushIsNoOp(), "a file's fdatasync also syncs the allocation of its O_DIRECT writes");
        } finally {
            TestFiles.deleteTree(folder);
        }
    }

    @Test
    void aBlockDeviceWhoseQueueCannotBeReadIsAssumedToHaveAVolatileCache() {
        assertTrue(FileCapabilities.volatileWriteCache(0xFFFF_FFFFL), "no /sys/dev/block entry: flush as usual");
    }
}
