package io.basalt.engine;

import io.basalt.engine.conformance.AllocationProbe;
import io.basalt.engine.conformance.TestFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * House habit 3: no allocation on the data path after start-up. Random 4 KiB reads and writes at queue
 * depth 32, driven by hand; each completion resubmits through one pre-created callback object. After a
 * warm-up (so that classes are loaded and the hot methods compiled) a measured window of 100,000 I/Os
 * must allocate exactly nothing on the reactor thread (see {@link #MEASURED_WINDOWS_MIN}).
 */
class AllocationTest {
    private static final int QUEUE_DEPTH = 32;
    private static final int WARM_UP_IOS = 20_000;
    private static final int MEASURED_IOS = 100_000;
    /**
     * The measured window is repeated (this many times, then for AllocationWindows.BUDGET) until one allocates exactly 0 bytes; that
     * window is the proof. Earlier windows may show one-time noise: right after warm-up, or under the load of
     * the whole suite, some hot methods still run C1-compiled, where escape analysis does not remove the FFM
     * downcall's temporary objects (seen: 48 B, 23 KB, 1 MB). An allocation per I/O can never give a 0 window.
     */
    private static final int MEASURED_WINDOWS_MIN = 8;

    private final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private Reactor reactor;
    private Path folder;

    @BeforeEach
    void start() {
        assertTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled(), "allocation counting available");
        reactor = new Reactor(ReactorConfig.defaults("alloc"));
        reactor.initOnCurrentThread();
    }

    @AfterEach
    void stop() throws Exception {
        reactor.close();
        TestFiles.deleteTree(folder);
    }

    private long run(String spec) {
        try (BlockDevice device = DeviceSpec.open("a", spec)) {
            return AllocationProbe.measure(spec, reactor, device, QUEUE_DEPTH, WARM_UP_IOS, MEASURED_IOS, MEASURED_WINDOWS_MIN);
        }
    }

    @Test
    void memoryDevicePathAllocatesNothing() {
        assertEquals(0, run("memory:64M"));
    }

    @Test
    void nullDevicePathAllocatesNothing() {
        assertEquals(0, run("null:1G"));
    }

    @Test
    void uringDirectPathAllocatesNothing() {
        folder = TestFiles.directIoFolder("alloc");
        assertEquals(0, run("uring:" + folder.resolve("disk") + ",size=64M"));
    }

    @Test
    void statWrapperAllocatesNothing() {
        try (BlockDevice device = new io.basalt.engine.stats.StatBlockDevice(DeviceSpec.open("s", "memory:64M"), true)) {
            assertEquals(0, AllocationProbe.measure("stat:memory:64M", reactor, device, QUEUE_DEPTH, WARM_UP_IOS, MEASURED_IOS,
                    MEASURED_WINDOWS_MIN));
        }
    }

    @Test
    void faultWrapperWithoutFaultsAllocatesNothing() {
        assertEquals(0, run("fault:memory:64M,fault_seed=1"));
    }
}
