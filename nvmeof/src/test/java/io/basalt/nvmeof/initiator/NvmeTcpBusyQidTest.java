package io.basalt.nvmeof.initiator;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Connect for a qid the target still holds (a channel just closed on our side, not yet torn down on the target's)
 * is refused with Command Sequence Error; the initiator waits and tries again a few times, then reports it.
 */
class NvmeTcpBusyQidTest {
    private static final int BLOCK_BYTES = 4096;
    /** Well inside the retries' total wait (10 + 20 + 40 + 80 ms) and long enough for the first attempt to meet it. */
    private static final long HOLD_MS = 40;

    @Test
    void aQidFreedWhileTheInitiatorWaitsIsConnected() throws Exception {
        try (LoopbackTarget target = new LoopbackTarget(16L << 20, BLOCK_BYTES);
             BlockDevice device = DeviceSpec.open("remote", target.spec("&queues=1"))) {
            NvmeTcpDevice nvme = (NvmeTcpDevice) device;
            SyncQueue holder = nvme.connectIoQueue(1); // qid 1 attached at the target
            CompletableFuture<Void> released = CompletableFuture.runAsync(() -> {
                sleep(HOLD_MS);
                holder.close();
            });
            long startNs = System.nanoTime();
            SyncQueue second = nvme.connectIoQueue(1);
            long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            released.get(5, TimeUnit.SECONDS);
            second.close();
            assertTrue(waitedMs >= HOLD_MS / 2, "the first Connect met the held qid and was retried (waited " + waitedMs + " ms)");
        }
    }

    @Test
    void aQidHeldThroughEveryRetryIsReportedAsRefused() {
        try (LoopbackTarget target = new LoopbackTarget(16L << 20, BLOCK_BYTES);
             BlockDevice device = DeviceSpec.open("remote", target.spec("&queues=1"))) {
            NvmeTcpDevice nvme = (NvmeTcpDevice) device;
            SyncQueue holder = nvme.connectIoQueue(1);
            try {
                SyncQueue.ConnectRefused e = assertThrows(SyncQueue.ConnectRefused.class, () -> nvme.connectIoQueue(1));
                assertTrue(e.qidStillAttached(), e.getMessage());
                assertTrue(e.getMessage().contains("qid 1"), e.getMessage());
            } finally {
                holder.close();
            }
            nvme.connectIoQueue(1).close(); // and connects once the holder is gone
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
