package io.basalt.qemu;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.conformance.ConformanceHarness;
import io.basalt.engine.stats.BackendCounters;
import java.util.Map;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Status;
import io.basalt.engine.conformance.BlockDeviceConformance;
import io.basalt.nvmeof.initiator.NvmeTcpDevice;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's conformance suite on an {@code nvme-tcp:} drive served by the Linux kernel's NVMe/TCP target
 * (nvmet-tcp) in a guest (issue 13): the initiator against a target Basalt did not write. One guest for the whole
 * class (a TCG boot costs seconds): it backs namespace 1 with a loop device on a 64 MiB tmpfs file (512-byte
 * blocks, unlike Basalt's 4096), listens on 4420, reached from the host through slirp's hostfwd on a free loopback
 * port, and stays up until the host connects to a second forwarded port. Each test then connects its own
 * controller (two I/O queues), as against Basalt's target in NvmeTcpConformanceTest.
 *
 * <p>What nvmet offers differently (no MDTS, 16 KiB in-capsule data for TCP, 1023-entry queues, ONCS, a volatile
 * write cache always reported; DLFEAT and NPDG, from the loop device) the initiator reads from Identify; a capability the target lacks is skipped by the
 * suite's own checks, never here.
 *
 * <p>{@link #headerAndDataDigestsAgainstTheKernelTarget} runs writes and reads with {@code digest=hd,dd}: nvmet-tcp
 * checks both CRC32C digests on what we send (and closes the queue on a wrong one) and sends its own.
 */
class NvmetConformanceGuestTest extends BlockDeviceConformance {
    private static final String NQN = "nqn.2026-12.io.basalt:nvmet-conformance";
    private static final int NVMET_PORT = 4420;
    private static final int STOP_PORT = 5001;
    private static final int DISK_MIB = 64;
    /** A loop device's default logical block size (losetup without --sector-size). */
    private static final int LOOP_BLOCK_BYTES = 512;
    /** A guest that never got ready fails the class within this; booting and configuring takes well under it. */
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
    /** The guest ends itself this long after it got ready, should the host never tell it to stop. */
    private static final Duration GUEST_STAY_MAX = Duration.ofMinutes(5);
    private static final Duration STOP_WAIT = Duration.ofSeconds(60);

    /** Target set-up in configfs (nvmet's documented layout): subsystem, namespace 1, TCP port 1 linked to it. */
    private static final String SCRIPT = """
            set -e
            loadmod nvmet-tcp loop
            loadmod crc32c_generic # the digests' crc32c: the guest has no modprobe for the kernel to call (without it
                                   # this kernel's nvmet-tcp oopses releasing a queue that asked for digests)
            mount -t configfs none /sys/kernel/config
            dd if=/dev/zero of=/tmp/disk bs=1M count=%d 2>/dev/null
            L=$(losetup -f); losetup $L /tmp/disk
            S=/sys/kernel/config/nvmet/subsystems/%s
            mkdir $S; echo 1 >$S/attr_allow_any_host
            mkdir $S/namespaces/1; echo -n $L >$S/namespaces/1/device_path; echo 1 >$S/namespaces/1/enable
            P=/sys/kernel/config/nvmet/ports/1
            mkdir $P
            echo tcp >$P/addr_trtype; echo ipv4 >$P/addr_adrfam; echo 0.0.0.0 >$P/addr_traddr; echo %d >$P/addr_trsvcid
            ln -s $S $P/subsystems/
            timeout %d nc -l -p %d </dev/null >/tmp/stop &
            W=$!
            echo "BASALT-RESULT ready=1 loop=$L"
            wait $W || true
            echo "BASALT-RESULT stop=$(cat /tmp/stop)"
            echo "BASALT-RESULT controllers=$(dmesg | grep -c 'nvmet: creating nvm controller')"
            dmesg | grep -iE 'nvmet.*(error|fail|unexpected|invalid)' >/tmp/bad || true
            echo "BASALT-RESULT target_errors=$(wc -l </tmp/bad)"
            cat /tmp/bad
            """.formatted(DISK_MIB, NQN, NVMET_PORT, GUEST_STAY_MAX.toSeconds(), STOP_PORT);

    private static final CountDownLatch ready = new CountDownLatch(1);
    private static int hostPort;
    private static int stopPort;
    private static Thread guestThread;
    private static volatile GuestResult result;
    private static volatile Throwable guestFailure;
    private static long classStartNs;
    private static int devicesOpened;

    @BeforeAll
    static void bootTheKernelTarget() throws Exception {
        classStartNs = System.nanoTime();
        GuestImage image = GuestTools.guest();
        Path dir = GuestTests.workDir("nvmet-conformance");
        hostPort = freeLoopbackPort();
        stopPort = freeLoopbackPort();
        Guest guest = Guest.builder(image).workDir(dir).cpus(1).memoryMiB(512)
                .hostForward(hostPort, NVMET_PORT).hostForward(stopPort, STOP_PORT)
                .timeout(READY_TIMEOUT.plus(GUEST_STAY_MAX))
                .consoleListener(line -> {
                    if (line.contains("BASALT-RESULT ready=1")) ready.countDown();
                })
                .script(SCRIPT)
                .build();
        guestThread = Thread.ofPlatform().daemon().name("nvmet-guest").start(() -> {
            try {
                result = guest.run();
            } catch (Throwable t) {
                guestFailure = t;
            } finally {
                ready.countDown(); // a guest that ended before it was ready must not keep the class waiting
            }
        });
        boolean inTime = ready.await(READY_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(inTime && result == null && guestFailure == null, "the guest's nvmet target came up: "
                + (guestFailure != null ? guestFailure : result != null ? result.describe() : "not within " + READY_TIMEOUT));
        GuestTests.timing("nvmet: guest boot and target set-up", elapsedMs());
    }

    @AfterAll
    static void stopTheKernelTarget() throws Exception {
        if (guestThread == null) return;
        if (result == null && guestFailure == null) tellTheGuestToStop();
        guestThread.join(STOP_WAIT.toMillis());
        GuestTests.timing("nvmet: conformance class, boot to guest exit", elapsedMs());
        if (guestFailure != null) throw new AssertionError("the nvmet guest failed", guestFailure);
        assertTrue(result != null, "the nvmet guest ended within " + STOP_WAIT + " of being told to stop");
        result.assertSuccess();
        assertEquals("stop", result.marker("stop"), "the guest stayed up until the host was done: " + result.describe());
        assertTrue(result.markerLong("controllers") >= devicesOpened, "every device was a controller of the kernel's target ("
                + devicesOpened + " opened): " + result.describe());
        assertEquals(0, result.markerLong("target_errors"), "nvmet logged no errors: " + result.describe());
    }

    /** The drive is nvmet's namespace over the guest's loop device, as the kernel describes it in Identify. */
    @Test
    void theDriveIsTheKernelTargetsNamespaceWithItsOwnLimits() {
        String identity = ((NvmeTcpDevice) device).identity();
        System.out.println("nvmet namespace: " + geometry + ", " + identity);
        assertEquals(LOOP_BLOCK_BYTES, blockBytes, "nvmet's LBA format is the loop device's logical block size");
        assertEquals(((long) DISK_MIB << 20) / LOOP_BLOCK_BYTES, geometry.blockCount(), "NSZE is the loop device's size");
        assertTrue(geometry.capabilities().writeZeroes(), "nvmet's ONCS has Write Zeroes, so the drive offers it");
        assertTrue(geometry.capabilities().discard(),
                "nvmet's ONCS has Dataset Management (the loop device punches holes), so the drive offers discard");
        assertTrue(identity.contains("UUID "), "nvmet gives each namespace a UUID (descriptor list): " + identity);
        roundTrip(geometry.blockCount() - 3, 3, SEED + 99);
    }

    /**
     * Header and data digests on every PDU, both ways, against a target that checks them: in-capsule writes (up to
     * nvmet's 16 KiB), writes through R2T/H2CData above it, reads as C2HData with data digests. A wrong digest from
     * us would close nvmet's queue (a DEVICE_GONE here, and an error in its dmesg, checked at the end); a wrong one
     * from nvmet would show in the drive's counters. A discard's Dataset Management range goes in the capsule with
     * its data digest too.
     */
    @Test
    void headerAndDataDigestsAgainstTheKernelTarget() {
        io.drain();
        channel.close();
        device.close();
        devicesOpened++;
        device = DeviceSpec.open("remote-digests", spec() + "&digest=hd,dd");
        channel = device.openChannel(reactor);
        io = new ConformanceHarness(reactor, channel);
        assertTrue(device.describe().contains("digest"), "the drive says its digests: " + device.describe());
        int[] sizesBytes = {512, 4096, 16384, 16896, 65536, 262144, 1 << 20};
        long lba = 0;
        for (int i = 0; i < sizesBytes.length; i++) {
            int blocks = sizesBytes[i] / blockBytes;
            roundTrip(lba, blocks, SEED + 200 + i);
            lba += blocks;
        }
        assertEquals(Status.OK, io.discard(0, 8), "Dataset Management with its range's data digest");
        Map<String, Long> counters = ((BackendCounters) device).backendCounters();
        assertEquals(0L, counters.get("data_digest_errors"), counters::toString);
        assertEquals(0L, counters.get("header_digest_errors"), counters::toString);
        assertEquals(0L, counters.get("queue_resets"), counters::toString);
    }

    @Override
    protected BlockDevice createDevice() {
        devicesOpened++;
        return DeviceSpec.open("remote", spec());
    }

    private static String spec() {
        return "nvme-tcp://127.0.0.1:" + hostPort + "/" + NQN + "?nsid=1&queues=2";
    }

    private static void tellTheGuestToStop() {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), stopPort); OutputStream out = s.getOutputStream()) {
            out.write("stop\n".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException("could not tell the nvmet guest to stop (it ends by itself after "
                    + GUEST_STAY_MAX + ")", e);
        }
    }

    /** A port nothing listens on now (the guest's slirp binds it a moment later: a race other tests could lose). */
    private static int freeLoopbackPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static long elapsedMs() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - classStartNs);
    }
}
