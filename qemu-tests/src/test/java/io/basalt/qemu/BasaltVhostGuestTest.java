package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TCG guests against Basalt's own vhost-user-blk server ({@code basalt serve} with a generated config): the same
 * kinds of checks QemuStorageDaemonGuestTest makes against the reference, plus flush/discard/write-zeroes, a guest
 * reboot, a backend crash with QEMU reconnecting (split and packed rings), two guests at once, a read-only export and a
 * degraded RAID5 volume.
 *
 * <p>A TCG boot costs seconds, so the checks share one guest ("A", 4 vCPUs, one disk per check, checks run one after
 * another in their own subshells: {@link GuestChecks}) and a second guest ("B") runs beside A's first check for the
 * two-guests case. Three daemons: the main one (every plain export), one serving the degraded RAID5 volume, and one
 * that is SIGKILLed and restarted under fio (its drive holds completions 0.3-1.5 ms). Guest A's disks:
 * <pre>
 *   vda v0    256 MiB, 2 queues   data integrity (serial basalt-v0)
 *   vdb mq    128 MiB, 4 queues   four queues, four fio jobs
 *   vdc disc   64 MiB, 1 queue    flush, discard, write zeroes
 *   vdd ro     64 MiB, 1 queue    read-only export
 *   vde v1    128 MiB, 1 queue    two guests at once (guest B has v2)
 *   vdf r5    RAID5 4 x 64 MiB, member m1 failed, 2 queues (own daemon)
 *   vdg crash 256 MiB, 2 queues, chardev reconnect=1 (own daemon, killed and restarted)
 *   vdh boot   64 MiB, 2 queues   written, guest reboots, read back after the reboot
 *   vdi crashp 128 MiB, 2 queues, packed=on, reconnect=1 (the crash daemon's second export, fio beside vdg's)
 * </pre>
 * Every daemon is stopped with SIGTERM after the guests and must exit 0 (BasaltDaemon.close asserts it); the host
 * then checks the image files. Each test asserts its own check's status and markers, so a failure names its check and
 * shows that check's console lines.
 */
class BasaltVhostGuestTest {
    private static final long MiB = 1L << 20;
    private static final String MAGIC = "BASALT-REBOOT-01";
    /**
     * The first SIGKILL, this long after fio started: fio (64 MiB of 4 KiB random writes, QD16, completions held
     * 0.3-1.5 ms) is well under way and still runs for seconds after the restart. 1.5 s was too early once: the
     * TCG guest had sent 33 requests on the packed disk by then, none in flight at the kill.
     */
    private static final long FIRST_CRASH_MS = 2500;
    /** Between a restart and the next kill: QEMU reconnects (reconnect=1: within 1 s) and the guest's I/O resumes. */
    private static final long NEXT_CRASH_MS = 2000;
    private static final int CRASHES_MAX = 5;
    /** How long a crash round waits for both exports to hold requests before it kills anyway. */
    private static final long IN_FLIGHT_WAIT_MS = 5000;
    private static final Pattern IN_FLIGHT = Pattern.compile("\"in_flight\"\\s*:\\s*(\\d+)");

    @TempDir
    static Path sockets; // short paths: a unix socket path must fit in 108 bytes (the daemons' data dirs go here too)

    private static final Supplier<Run> GUEST = GuestTests.once(BasaltVhostGuestTest::runShared);

    /** fio on one disk with crc32c verify headers, terse output. */
    private static String fio(String disk) {
        return "fio --filename=/dev/" + disk + " --ioengine=libaio --direct=1 --verify=crc32c --output-format=terse ";
    }

    /** What the shared run left for the tests: both guests, the images, the daemons (stopped) and how each stopped. */
    private static final class Run {
        Path dir;
        GuestResult a;
        GuestResult b;
        Path dataImage, discardImage, readOnlyImage, image1, image2;
        String readOnlyBefore;
        BasaltDaemon main, raid5, crash;
        final List<Throwable> mainStop = new ArrayList<>(), raid5Stop = new ArrayList<>(), crashStop = new ArrayList<>();
        final AtomicReference<Throwable> chaosError = new AtomicReference<>();
        final AtomicLong killedAt = new AtomicLong(), restartedAt = new AtomicLong(), fioEndedAt = new AtomicLong();

        static void rethrow(List<Throwable> stop) {
            if (!stop.isEmpty()) throw new AssertionError("the daemon did not stop cleanly: " + stop.getFirst().getMessage(), stop.getFirst());
        }
    }

    private static Run runShared() throws Exception {
        Run run = new Run();
        Path dir = run.dir = GuestTests.workDir("basaltShared");
        run.dataImage = GuestTests.filledImage(dir.resolve("v0.raw"), 256 * MiB, 1);
        Path mqImage = GuestTests.filledImage(dir.resolve("mq.raw"), 128 * MiB, 2);
        run.discardImage = GuestTests.filledImage(dir.resolve("disc.raw"), 64 * MiB, 4);
        run.readOnlyImage = GuestTests.filledImage(dir.resolve("ro.raw"), 64 * MiB, 9);
        run.readOnlyBefore = sha256(run.readOnlyImage, 0, 64 * MiB);
        run.image1 = GuestTests.filledImage(dir.resolve("v1.raw"), 128 * MiB, 7);
        run.image2 = GuestTests.filledImage(dir.resolve("v2.raw"), 128 * MiB, 8);
        Path bootImage = GuestTests.filledImage(dir.resolve("boot.raw"), 64 * MiB, 5);
        Path crashImage = GuestTests.filledImage(dir.resolve("crash.raw"), 256 * MiB, 6);
        Path crashPackedImage = GuestTests.filledImage(dir.resolve("crashp.raw"), 128 * MiB, 10);
        List<Path> members = new ArrayList<>();
        for (int i = 0; i < 4; i++) members.add(GuestTests.filledImage(dir.resolve("m" + i + ".raw"), 64 * MiB, 20 + i));

        run.main = BasaltDaemon.builder(sockets.resolve("main")).log(dir.resolve("basalt-main.log"))
                .export("v0", run.dataImage, sockets.resolve("v0.sock"), 2)
                .export("mq", mqImage, sockets.resolve("mq.sock"), 4)
                .export("disc", run.discardImage, sockets.resolve("disc.sock"), 1)
                .readOnlyExport("ro", run.readOnlyImage, sockets.resolve("ro.sock"), 1)
                .export("v1", run.image1, sockets.resolve("v1.sock"), 1)
                .export("v2", run.image2, sockets.resolve("v2.sock"), 1)
                .export("boot", bootImage, sockets.resolve("boot.sock"), 2).start();
        try {
            run.raid5 = BasaltDaemon.builder(sockets.resolve("r5")).log(dir.resolve("basalt-r5.log"))
                    .export("v0", members.get(0), sockets.resolve("r5.sock"), 2).raid5(members, "m1").start();
            try {
                // Completions held 0.3-1.5 ms: the guest keeps ~16 requests inside the daemon, so the SIGKILL surely
                // catches some in flight and the restarted daemon must resubmit them from the inflight buffer.
                run.crash = BasaltDaemon.builder(sockets.resolve("crash")).log(dir.resolve("basalt-crash.log"))
                        .export("v0", crashImage, sockets.resolve("crash.sock"), 2)
                        .export("p0", crashPackedImage, sockets.resolve("crashp.sock"), 2) // a packed-ring guest disk
                        .completionLatencyMicros("300-1500").start();
                try {
                    runGuests(run);
                } finally {
                    stop(run.crash, run.crashStop);
                }
            } finally {
                stop(run.raid5, run.raid5Stop);
            }
        } finally {
            stop(run.main, run.mainStop); // SIGTERM: the daemon flushes and exits 0 before the images are read
        }
        GuestTests.timing("basalt: guest A (8 checks, 2 boots) and guest B", run.a.elapsed().toMillis());
        run.a.checks().values().forEach(c -> GuestTests.timing("basalt: check " + c.name(), Math.round(c.seconds() * 1000)));
        return run;
    }

    private static void stop(BasaltDaemon daemon, List<Throwable> failures) {
        try {
            daemon.close();
        } catch (Throwable t) {
            failures.add(t);
        }
    }

    private static void runGuests(Run run) throws Exception {
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            Future<GuestResult> b = pool.submit(() -> Guest.builder(GuestTools.guest()).workDir(run.dir.resolve("guestB")).cpus(1)
                    .memoryMiB(512).vhostUserBlk(run.main.socket("v2"), 1).script(twoGuestsScript("vda"))
                    .timeout(Duration.ofMinutes(4)).run());
            Thread[] chaos = new Thread[1];
            run.a = Guest.builder(GuestTools.guest()).workDir(run.dir.resolve("guestA")).cpus(4).allowReboot()
                    .vhostUserBlk(run.main.socket("v0"), 2).vhostUserBlk(run.main.socket("mq"), 4)
                    .vhostUserBlk(run.main.socket("disc"), 1).vhostUserBlk(run.main.socket("ro"), 1)
                    .vhostUserBlk(run.main.socket("v1"), 1).vhostUserBlk(run.raid5.socket(), 2)
                    .vhostUserBlkReconnecting(run.crash.socket("v0"), 2, 1).vhostUserBlk(run.main.socket("boot"), 2)
                    .vhostUserBlkReconnecting(run.crash.socket("p0"), 2, 1, true)
                    .script(guestAScript())
                    .timeout(Duration.ofMinutes(6))
                    .consoleListener(line -> {
                        if (line.contains("BASALT-FIO-START") && chaos[0] == null) {
                            chaos[0] = Thread.ofPlatform().name("chaos").start(() -> crashAndRestart(run));
                        }
                        if (line.contains("BASALT-FIO-END")) run.fioEndedAt.set(System.nanoTime());
                    })
                    .run();
            if (chaos[0] != null) chaos[0].join();
            run.b = b.get();
        }
    }

    /** The restarted crash daemon's lines saying export {@code name} resubmitted requests ("none" when there are none). */
    private static String resubmitted(Run run, String name) {
        return run.crash.logText().lines().filter(l -> l.contains("vhost " + name + ":") && l.contains("resubmitting"))
                .reduce((x, y) -> x + "; " + y).orElse("none");
    }

    /**
     * Polls vhost_list (in_flight) until both crash exports hold requests at once, so the SIGKILL that follows catches
     * requests on the split and the packed ring: a kill timed by the clock alone once found none in flight (a TCG
     * guest's requests come in bursts). Gives up after IN_FLIGHT_WAIT_MS and lets the kill go ahead: the test's own
     * assertion on "resubmitting" then reports it, and the next round tries again.
     */
    private static boolean bothResubmitted(Run run) {
        return !resubmitted(run, "v0").equals("none") && !resubmitted(run, "p0").equals("none");
    }

    private static void awaitBothInFlight(BasaltDaemon daemon) throws InterruptedException {
        long deadline = System.nanoTime() + IN_FLIGHT_WAIT_MS * 1_000_000L;
        while (System.nanoTime() < deadline) {
            if (inFlight(daemon, "v0") > 0 && inFlight(daemon, "p0") > 0) return;
            Thread.sleep(1); // kept: polling a daemon's counter, nothing to wait on
        }
    }

    private static int inFlight(BasaltDaemon daemon, String export) {
        Matcher m = IN_FLIGHT.matcher(daemon.rpc("vhost_list", "{\"name\":\"" + export + "\"}"));
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    /**
     * Up to CRASHES_MAX crashes while fio runs, until the restarted daemon resubmitted requests on both the split and the
     * packed ring (one between two requests proves nothing).
     */
    private static void crashAndRestart(Run run) {
        try {
            for (int crash = 0; crash < CRASHES_MAX && run.fioEndedAt.get() == 0; crash++) {
                // kept sleeps: crash timing against a running fio is the point, nothing to poll
                Thread.sleep(crash == 0 ? FIRST_CRASH_MS : NEXT_CRASH_MS);
                if (run.fioEndedAt.get() != 0 || bothResubmitted(run)) break; // QEMU reconnected by now and the log says so
                awaitBothInFlight(run.crash);
                run.crash.kill();
                run.killedAt.set(System.nanoTime());
                Thread.sleep(1500); // down for a while: the guest sees the backend gone
                run.crash.restart();
                run.restartedAt.set(System.nanoTime());
            }
        } catch (Throwable t) {
            run.chaosError.set(t);
        }
    }

    /**
     * Guest A. First boot: the two-guests check (beside guest B) and rebootWrite, which reboots. Second boot (the
     * marker is on vdh): vdh read back, then every other check. The first boot stays short on purpose: a second boot
     * after the heavy checks spent 14-20 s unpacking the initramfs (2 s in a first boot), one after light checks does not.
     */
    private static String guestAScript() {
        String firstBoot = new GuestChecks()
                .add("twoGuests", twoGuestsScript("vde"))
                .add("rebootWrite", rebootWriteScript("vdh"))
                .script();
        String secondBoot = new GuestChecks()
                .add("data", dataScript("vda"))
                .add("fourQueues", fourQueuesScript("vdb"))
                .add("flushDiscard", flushDiscardScript("vdc"))
                .add("readOnly", readOnlyScript("vdd"))
                .add("raid5", raid5Script("vdf"))
                .add("reconnect", reconnectScript("vdg", "vdi"))
                .script();
        return "if [ \"$(dd if=/dev/vdh bs=16 count=1 2>/dev/null | tr -d '\\000')\" != \"" + MAGIC + "\" ]; then\n"
                + firstBoot + "fi\n" + GuestChecks.fragment("rebootRead", rebootReadScript("vdh")) + "read_rc=$rc\n"
                + secondBoot + "exit $read_rc\n"; // the status of rebootRead: every other check reports its own
    }

    private static String twoGuestsScript(String d) {
        return """
                set -e
                echo "BASALT-RESULT serial=$(cat /sys/block/D/serial)"
                FIO --name=two --rw=randwrite --bs=4k --iodepth=16 --offset=0 --size=12M --randrepeat=1 --verify_fatal=1 >/tmp/o \\
                    || { cat /tmp/o; exit 3; }
                dd if=/dev/urandom of=/tmp/pat bs=1M count=2 2>/dev/null
                dd if=/tmp/pat of=/dev/D bs=1M seek=64 oflag=direct conv=fsync 2>/dev/null
                echo "BASALT-RESULT verify=ok pattern_sha256=$(sha256sum /tmp/pat | cut -d' ' -f1)"
                """.replace("FIO ", fio(d)).replace("/D", "/" + d);
    }

    private static String dataScript(String d) {
        return """
                set -e
                [ -b /dev/D ] || { echo "no /dev/D"; ls /sys/block; exit 2; }
                echo "BASALT-RESULT sectors=$(cat /sys/block/D/size) serial=$(cat /sys/block/D/serial 2>/dev/null)"
                SEQ="--name=seq --rw=write --bs=128k --iodepth=8 --offset=0 --size=32M"
                RND="--name=rnd --rw=randwrite --bs=4k --iodepth=32 --offset=64M --size=16M --randrepeat=1"
                FIO $SEQ --do_verify=0 >/dev/null
                FIO $RND --do_verify=0 >/dev/null
                echo 3 > /proc/sys/vm/drop_caches
                FIO $SEQ --verify_only --verify_fatal=1 >/tmp/v1 || { cat /tmp/v1; exit 3; }
                FIO $RND --verify_only --verify_fatal=1 >/tmp/v2 || { cat /tmp/v2; exit 4; }
                echo "BASALT-RESULT fio_verify=ok"
                # The verifier is live: the image's own random bytes past the written range must fail it.
                if FIO --name=neg --rw=write --bs=128k --iodepth=8 --offset=160M --size=8M --verify_only \\
                     --verify_fatal=1 >/dev/null 2>&1; then echo "fio verify passed on never-written data"; exit 6; fi
                # A pattern through the page cache (dd, fsync = FLUSH), read back after dropping caches.
                dd if=/dev/urandom of=/tmp/pat bs=1M count=4 2>/dev/null
                dd if=/tmp/pat of=/dev/D bs=1M seek=128 conv=fsync 2>/dev/null
                echo 3 > /proc/sys/vm/drop_caches
                dd if=/dev/D of=/tmp/back bs=1M skip=128 count=4 2>/dev/null
                cmp /tmp/pat /tmp/back || exit 5
                # fio with verify in one job (write, then read back and check), O_DIRECT.
                FIO --name=wv --rw=randwrite --bs=16k --iodepth=16 --offset=192M --size=8M --verify_fatal=1 >/tmp/v3 \\
                    || { cat /tmp/v3; exit 7; }
                echo "BASALT-RESULT pattern_sha256=$(sha256sum /tmp/pat | cut -d' ' -f1)"
                """.replace("FIO ", fio(d)).replace("/D", "/" + d);
    }

    private static String fourQueuesScript(String d) {
        return """
                set -e
                echo "BASALT-RESULT mq=$(ls /sys/block/D/mq | wc -l) cpus=$(nproc)"
                FIO --name=mq --rw=randwrite --bs=4k --iodepth=16 --numjobs=4 --size=8M --offset_increment=16M \\
                    --verify_fatal=1 --group_reporting >/tmp/o || { cat /tmp/o; exit 3; }
                echo "BASALT-RESULT verify=ok"
                """.replace("FIO ", fio(d)).replace("/D", "/" + d);
    }

    private static String flushDiscardScript(String d) {
        return """
                set -e
                Q=/sys/block/D/queue
                echo "BASALT-RESULT discard_max=$(cat $Q/discard_max_bytes) write_zeroes_max=$(cat $Q/write_zeroes_max_bytes) \\
                    discard_granularity=$(cat $Q/discard_granularity) write_cache=$(cat $Q/write_cache | tr ' ' _)"
                head -c 1048576 /dev/zero >/tmp/zero
                # FLUSH: a write then fsync (dd conv=fsync), and sync of the whole device.
                dd if=/dev/urandom of=/tmp/pat bs=1M count=4 2>/dev/null
                dd if=/tmp/pat of=/dev/D bs=1M seek=8 conv=fsync 2>/dev/null
                sync
                echo "BASALT-RESULT flush=ok"
                # WRITE ZEROES over the second MiB of the pattern (util-linux blkdiscard -z: BLKZEROOUT).
                /usr/sbin/blkdiscard -z -o $((9 << 20)) -l $((1 << 20)) /dev/D
                echo 3 > /proc/sys/vm/drop_caches
                dd if=/dev/D of=/tmp/z bs=1M skip=9 count=1 iflag=direct 2>/dev/null
                cmp /tmp/z /tmp/zero || { echo "write zeroes: not zero"; exit 3; }
                # The neighbours are untouched.
                dd if=/dev/D of=/tmp/b bs=1M skip=8 count=4 iflag=direct 2>/dev/null
                dd if=/tmp/pat of=/tmp/expect bs=1M count=4 2>/dev/null
                dd if=/tmp/zero of=/tmp/expect bs=1M seek=1 conv=notrunc 2>/dev/null
                cmp /tmp/b /tmp/expect || { echo "write zeroes touched its neighbours"; exit 4; }
                echo "BASALT-RESULT write_zeroes=ok"
                # DISCARD 4 MiB at 32 MiB: must succeed; the data after it is intact; the range is
                # then rewritten and reads back (discarded blocks are usable again).
                dd if=/dev/D of=/tmp/after bs=1M skip=36 count=1 iflag=direct 2>/dev/null
                /usr/sbin/blkdiscard -o $((32 << 20)) -l $((4 << 20)) /dev/D
                busybox blkdiscard -o $((40 << 20)) -l $((1 << 20)) /dev/D
                dd if=/dev/D of=/tmp/after2 bs=1M skip=36 count=1 iflag=direct 2>/dev/null
                cmp /tmp/after /tmp/after2 || { echo "discard touched its neighbour"; exit 5; }
                dd if=/tmp/pat of=/dev/D bs=1M seek=32 oflag=direct conv=fsync 2>/dev/null
                dd if=/dev/D of=/tmp/b2 bs=1M skip=32 count=4 iflag=direct 2>/dev/null
                cmp /tmp/b2 /tmp/pat || { echo "rewrite after discard"; exit 6; }
                echo "BASALT-RESULT discard=ok"
                """.replace("/D", "/" + d);
    }

    private static String readOnlyScript(String d) {
        return """
                echo "BASALT-RESULT ro=$(cat /sys/block/D/ro)"
                echo "BASALT-RESULT read_sha256=$(dd if=/dev/D bs=1M count=4 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
                if dd if=/dev/zero of=/dev/D bs=4k count=1 oflag=direct conv=fsync 2>/tmp/err; then
                    echo "a write to the read-only disk succeeded"; exit 3
                fi
                echo "BASALT-RESULT write_error=$(head -1 /tmp/err | tr ' ' _)"
                # Past the guest kernel's read-only flag: then the backend itself must refuse (IOERR).
                if blockdev --setrw /dev/D 2>/dev/null && [ "$(cat /sys/block/D/ro)" = 0 ]; then
                    if dd if=/dev/zero of=/dev/D bs=4k count=1 oflag=direct 2>/tmp/err2; then
                        echo "BASALT-RESULT forced_write=accepted"; exit 4
                    fi
                    echo "BASALT-RESULT forced_write=refused forced_error=$(head -1 /tmp/err2 | tr ' ' _)"
                else
                    echo "BASALT-RESULT forced_write=guest_refused_setrw"
                fi
                """.replace("/D", "/" + d);
    }

    private static String raid5Script(String d) {
        return """
                set -e
                FIO --name=degraded --rw=randwrite --bs=4k --iodepth=16 --size=8M --randrepeat=1 --verify=crc32c \\
                    --verify_fatal=1 >/tmp/o 2>&1 || { cat /tmp/o; exit 3; }
                echo 3 > /proc/sys/vm/drop_caches
                FIO --name=degraded --rw=randwrite --bs=4k --iodepth=16 --size=8M --randrepeat=1 --verify=crc32c \\
                    --verify_only >/tmp/v 2>&1 || { cat /tmp/v; exit 4; }
                echo "BASALT-RESULT degraded_raid5=ok"
                """.replace("FIO ", fio(d));
    }

    /**
     * fio with verify on the split-ring disk {@code d} and, at the same time, on the packed-ring disk {@code p}: one
     * daemon serves both, so each crash catches both rings with requests in flight.
     */
    private static String reconnectScript(String d, String p) {
        String job = "--name=crash --rw=randwrite --bs=4k --iodepth=16 --offset=0 --size=64M --randrepeat=1 --verify_fatal=1";
        String packedJob = "--name=crashp --rw=randwrite --bs=4k --iodepth=16 --offset=0 --size=48M --randrepeat=1 --verify_fatal=1";
        return """
                set -e
                echo "BASALT-FIO-START t=$(date +%s)"
                FIOP PJOB --verify_backlog=256 >/tmp/op 2>&1 &
                packed=$!
                FIO JOB --verify_backlog=256 >/tmp/o 2>&1 || { cat /tmp/o; exit 3; }
                wait $packed || { cat /tmp/op; exit 5; }
                echo "BASALT-FIO-END t=$(date +%s)"
                echo "BASALT-RESULT fio_with_crash=ok packed_fio_with_crash=ok"
                echo 3 > /proc/sys/vm/drop_caches
                FIO JOB --verify_only >/tmp/v 2>&1 || { cat /tmp/v; exit 4; }
                FIOP PJOB --verify_only >/tmp/vp 2>&1 || { cat /tmp/vp; exit 6; }
                echo "BASALT-RESULT verify_after=ok packed_verify_after=ok"
                """.replace("FIOP ", fio(p)).replace("FIO ", fio(d)).replace("PJOB", packedJob).replace("JOB", job);
    }

    /** First boot: 8 MiB at 1 MiB and a marker block (MAGIC + the data's sha256) at 0, then reboot. */
    private static String rebootWriteScript(String d) {
        return """
                set -e
                dd if=/dev/urandom of=/tmp/pat bs=1M count=8 2>/dev/null
                dd if=/tmp/pat of=/dev/D bs=1M seek=1 conv=fsync 2>/dev/null
                SHA=$(sha256sum /tmp/pat | cut -d' ' -f1)
                printf '%s%s' "MAGIC" "$SHA" >/tmp/m
                dd if=/tmp/m of=/dev/D conv=notrunc,fsync 2>/dev/null
                echo "BASALT-RESULT boot=first written=$SHA"
                reboot -f
                sleep 60; echo "reboot -f did not reboot"; exit 9
                """.replace("/D", "/" + d).replace("MAGIC", MAGIC);
    }

    /** Second boot: the data read back (O_DIRECT) must hash as the marker block says. */
    private static String rebootReadScript(String d) {
        return """
                set -e
                SHA=$(dd if=/dev/D bs=1 skip=16 count=64 2>/dev/null)
                GOT=$(dd if=/dev/D bs=1M skip=1 count=8 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
                echo "BASALT-RESULT boot=second expected=$SHA read=$GOT"
                [ "$SHA" = "$GOT" ]
                """.replace("/D", "/" + d);
    }

    /**
     * fio writes with crc32c verify headers (sequential 128k and random 4k), caches are dropped, fio reads back and
     * verifies; a dd pattern is compared in the guest, and against the image file after the daemon stopped.
     */
    @Test
    void dataWrittenByTheGuestReadsBackIntactAndReachesTheImage() throws Exception {
        Run run = GUEST.get();
        GuestCheck c = run.a.check("data").assertSuccess();
        Run.rethrow(run.mainStop);
        assertEquals(256 * MiB / 512, c.markerLong("sectors"));
        assertEquals("basalt-v0", c.marker("serial"), "GET_ID serial");
        assertEquals("ok", c.marker("fio_verify"));
        assertEquals(c.marker("pattern_sha256"), sha256(run.dataImage, 128 * MiB, 4 * MiB), "the image file holds what the guest wrote");
    }

    /** num-queues=4 with 4 vCPUs: four blk-mq hardware queues, and four fio jobs verifying their own regions at once. */
    @Test
    void fourQueuesFourJobsVerify() {
        Run run = GUEST.get();
        GuestCheck c = run.a.check("fourQueues").assertSuccess();
        Run.rethrow(run.mainStop);
        assertEquals(4, c.markerLong("cpus"));
        assertEquals(4, c.markerLong("mq"), c::describe);
        assertEquals("ok", c.marker("verify"));
    }

    /** FLUSH (fsync), DISCARD (blkdiscard) and WRITE ZEROES (blkdiscard -z): limits advertised, zeroes read back. */
    @Test
    void flushDiscardAndWriteZeroes() throws Exception {
        Run run = GUEST.get();
        GuestCheck c = run.a.check("flushDiscard").assertSuccess();
        Run.rethrow(run.mainStop);
        assertTrue(c.markerLong("discard_max") > 0, c::describe);
        assertTrue(c.markerLong("write_zeroes_max") > 0, c::describe);
        assertEquals("ok", c.marker("flush"));
        assertEquals("ok", c.marker("write_zeroes"));
        assertEquals("ok", c.marker("discard"));
        assertEquals(sha256(new byte[(int) MiB]), sha256(run.discardImage, 9 * MiB, MiB), "zeroes reached the image file");
    }

    /**
     * The guest writes, reboots itself (QEMU resets the VM: the backend sees the device stop and start again on the
     * same connection) and the second boot reads back what the first wrote. A marker on the disk tells the boots apart.
     */
    @Test
    void dataSurvivesAGuestReboot() {
        Run run = GUEST.get();
        GuestResult r = run.a;
        GuestCheck read = r.check("rebootRead").assertSuccess();
        Run.rethrow(run.mainStop);
        assertEquals(0, r.status(), r::describe);
        GuestCheck write = r.check("rebootWrite");
        assertEquals(GuestResult.NO_STATUS, write.status(), () -> "the first boot's check ends in the reboot: " + write.describe());
        List<String> boots = r.resultLines().stream().filter(m -> m.containsKey("boot")).map(m -> m.get("boot")).toList();
        assertEquals(List.of("first", "second"), boots, r::describe);
        String written = write.marker("written");
        assertEquals(written, read.marker("expected"));
        assertEquals(written, read.marker("read"), read::describe);
        assertEquals(2, r.console().split("BASALT-BOOT", -1).length - 1, "two boots");
    }

    /**
     * Basalt is SIGKILLed while the guest runs fio with verify (random 4 KiB writes with crc32c headers, verified as
     * it goes and again after), and started again ~1.5 s later on the same socket. QEMU (chardev reconnect=1) keeps
     * the guest running, reconnects, hands the inflight buffer back (SET_INFLIGHT_FD) and Basalt resubmits what was
     * in flight: fio must see no error and no lost acknowledged write.
     */
    @Test
    void backendKilledAndRestartedMidRunGuestReconnectsWithoutLosingWrites() {
        Run run = GUEST.get();
        if (run.chaosError.get() != null) throw new AssertionError("kill/restart failed: " + run.chaosError.get(), run.chaosError.get());
        GuestCheck c = run.a.check("reconnect").assertSuccess();
        Run.rethrow(run.crashStop);
        assertNotEquals(0, run.killedAt.get(), "the daemon was killed");
        assertTrue(run.restartedAt.get() != 0 && run.fioEndedAt.get() > run.restartedAt.get(),
                () -> "fio must still be running when the daemon comes back, or the crash proves nothing:\n" + c.describe());
        assertEquals("ok", c.marker("fio_with_crash"));
        assertEquals("ok", c.marker("verify_after"));
        String resubmitted = resubmitted(run, "v0");
        System.out.printf("[result] reconnect: fio ran %d ms after the restart; resubmitted by the new daemon: %s%n",
                (run.fioEndedAt.get() - run.restartedAt.get()) / 1_000_000, resubmitted);
        assertNotEquals("none", resubmitted, () -> "no request was in flight at the crash: the inflight path went untested\n"
                + run.crash.logText());
    }

    /**
     * The same crash seen by a packed-ring disk (packed=on, fio beside the split one's): QEMU cannot read a packed
     * ring's position back, so after the restart it sends the vring base of the ring's first start; Basalt resumes
     * the ring from the inflight buffer (PackedInflightRegion) and resubmits what was in flight. fio verify must be
     * clean during and after.
     */
    @Test
    void packedRingBackendKilledAndRestartedMidRunGuestReconnectsWithoutLosingWrites() {
        Run run = GUEST.get();
        if (run.chaosError.get() != null) throw new AssertionError("kill/restart failed: " + run.chaosError.get(), run.chaosError.get());
        GuestCheck c = run.a.check("reconnect").assertSuccess();
        Run.rethrow(run.crashStop);
        assertEquals("ok", c.marker("packed_fio_with_crash"));
        assertEquals("ok", c.marker("packed_verify_after"));
        String resubmitted = resubmitted(run, "p0");
        String resumed = run.crash.logText().lines().filter(l -> l.contains("vhost p0:") && l.contains("packed ring resumes"))
                .reduce((x, y) -> x + "; " + y).orElse("none");
        System.out.printf("[result] packed reconnect: resubmitted: %s; resumed: %s%n", resubmitted, resumed);
        assertNotEquals("none", resubmitted, () -> "no packed-ring request was in flight at the crash: the packed inflight path went untested\n"
                + run.crash.logText());
    }

    /** One daemon, two exports on two image files, two QEMU processes verifying at the same time. */
    @Test
    void twoGuestsOnTwoExportsAtOnce() throws Exception {
        Run run = GUEST.get();
        GuestCheck a = run.a.check("twoGuests").assertSuccess();
        run.b.assertSuccess();
        Run.rethrow(run.mainStop);
        assertEquals("basalt-v1", a.marker("serial"));
        assertEquals("basalt-v2", run.b.marker("serial"));
        assertEquals(a.marker("pattern_sha256"), sha256(run.image1, 64 * MiB, 2 * MiB), "guest A's data is in image 1");
        assertEquals(run.b.marker("pattern_sha256"), sha256(run.image2, 64 * MiB, 2 * MiB), "guest B's data is in image 2");
    }

    /** A read-only export: the guest sees a read-only disk, reads work, writes fail, and the image is unchanged. */
    @Test
    void readOnlyExportRefusesWrites() throws Exception {
        Run run = GUEST.get();
        GuestCheck c = run.a.check("readOnly").assertSuccess();
        Run.rethrow(run.mainStop);
        assertEquals(1, c.markerLong("ro"), c::describe);
        assertEquals(sha256(run.readOnlyImage, 0, 4 * MiB), c.marker("read_sha256"), "reads return the image's bytes");
        String err = c.marker("write_error");
        assertTrue(err.contains("Operation_not_permitted") || err.contains("Read-only") || err.contains("I/O_error"), err);
        assertEquals(run.readOnlyBefore, sha256(run.readOnlyImage, 0, 64 * MiB), "the image is unchanged");
        System.out.printf("[result] read-only: write_error=%s forced_write=%s%n", err, c.marker("forced_write"));
    }

    /** Issue 4: a guest on a degraded RAID5 volume (4 members, one failed) reads and writes correctly. */
    @Test
    void guestOnADegradedRaid5VolumeWritesAndReadsBack() {
        Run run = GUEST.get();
        GuestCheck c = run.a.check("raid5").assertSuccess();
        Run.rethrow(run.raid5Stop);
        assertEquals("ok", c.marker("degraded_raid5"));
        assertTrue(run.raid5.logText().contains("r5"), run.raid5.logText());
    }

    static String sha256(Path file, long offsetBytes, long lengthBytes) throws IOException, Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            in.skipNBytes(offsetBytes);
            byte[] buf = new byte[1 << 20];
            long left = lengthBytes;
            while (left > 0) {
                int n = in.readNBytes(buf, 0, (int) Math.min(buf.length, left));
                if (n <= 0) throw new IOException("short file " + file);
                md.update(buf, 0, n);
                left -= n;
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
