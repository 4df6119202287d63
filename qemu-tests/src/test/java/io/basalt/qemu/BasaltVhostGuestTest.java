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
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TCG guests against Basalt's own vhost-user-blk server ({@code basalt serve} with a generated config): the same
 * kinds of checks QemuStorageDaemonGuestTest makes against the reference, plus flush/discard/write-zeroes, a guest
 * reboot, a backend crash with QEMU reconnecting, two guests at once and a read-only export. Every daemon is
 * stopped with SIGTERM at the end and must exit 0 (BasaltDaemon.close asserts it).
 */
class BasaltVhostGuestTest {
    private static final long MiB = 1L << 20;
    private static final String FIO = "fio --filename=/dev/vda --ioengine=libaio --direct=1 --verify=crc32c --output-format=terse ";

    @TempDir
    Path sockets; // short paths: a unix socket path must fit in 108 bytes (the daemon's data dir goes here too)

    private BasaltDaemon.Builder basalt(Path dir) {
        return BasaltDaemon.builder(sockets.resolve("data")).log(dir.resolve("basalt.log"));
    }

    /**
     * fio writes with crc32c verify headers (sequential 128k and random 4k), caches are dropped, fio reads back and
     * verifies; a dd pattern is compared in the guest, and against the image file after the daemon stopped.
     */
    @Test
    void dataWrittenByTheGuestReadsBackIntactAndReachesTheImage() throws Exception {
        Path dir = GuestTests.workDir("basaltDataIntegrity");
        Path image = GuestTests.filledImage(dir.resolve("disk.raw"), 256 * MiB, 1);
        String script = """
                set -e
                [ -b /dev/vda ] || { echo "no /dev/vda"; ls /sys/block; exit 2; }
                echo "BASALT-RESULT sectors=$(cat /sys/block/vda/size) serial=$(cat /sys/block/vda/serial 2>/dev/null)"
                SEQ="--name=seq --rw=write --bs=128k --iodepth=8 --offset=0 --size=64M"
                RND="--name=rnd --rw=randwrite --bs=4k --iodepth=32 --offset=64M --size=32M --randrepeat=1"
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
                dd if=/tmp/pat of=/dev/vda bs=1M seek=128 conv=fsync 2>/dev/null
                echo 3 > /proc/sys/vm/drop_caches
                dd if=/dev/vda of=/tmp/back bs=1M skip=128 count=4 2>/dev/null
                cmp /tmp/pat /tmp/back || exit 5
                # fio with verify in one job (write, then read back and check), O_DIRECT.
                FIO --name=wv --rw=randwrite --bs=16k --iodepth=16 --offset=192M --size=16M --verify_fatal=1 >/tmp/v3 \\
                    || { cat /tmp/v3; exit 7; }
                echo "BASALT-RESULT pattern_sha256=$(sha256sum /tmp/pat | cut -d' ' -f1)"
                """.replace("FIO ", FIO);
        GuestResult r;
        try (BasaltDaemon basalt = basalt(dir).export("v0", image, sockets.resolve("v0.sock"), 2).start()) {
            r = Guest.builder(GuestTools.guest()).workDir(dir).vhostUserBlk(basalt.socket(), 2).script(script)
                    .timeout(Duration.ofMinutes(3)).run();
        } // SIGTERM: the daemon flushes and exits 0 before the image is read below
        GuestTests.timing("basalt: data integrity (fio verify 112 MiB + dd pattern + host check)", r.elapsed().toMillis());
        r.assertSuccess();
        assertEquals(256 * MiB / 512, r.markerLong("sectors"));
        assertEquals("basalt-v0", r.marker("serial"), "GET_ID serial");
        assertEquals("ok", r.marker("fio_verify"));
        assertEquals(r.marker("pattern_sha256"), sha256(image, 128 * MiB, 4 * MiB), "the image file holds what the guest wrote");
    }

    /** num-queues=4 with 4 vCPUs: four blk-mq hardware queues, and four fio jobs verifying their own regions at once. */
    @Test
    void fourQueuesFourJobsVerify() {
        Path dir = GuestTests.workDir("basaltFourQueues");
        Path image = GuestTests.filledImage(dir.resolve("disk.raw"), 128 * MiB, 2);
        GuestResult r;
        try (BasaltDaemon basalt = basalt(dir).export("v0", image, sockets.resolve("v0.sock"), 4).start()) {
            r = Guest.builder(GuestTools.guest()).workDir(dir).cpus(4).vhostUserBlk(basalt.socket(), 4)
                    .script("""
                            set -e
                            echo "BASALT-RESULT mq=$(ls /sys/block/vda/mq | wc -l) cpus=$(nproc)"
                            FIO --name=mq --rw=randwrite --bs=4k --iodepth=16 --numjobs=4 --size=16M --offset_increment=16M \\
                                --verify_fatal=1 --group_reporting >/tmp/o || { cat /tmp/o; exit 3; }
                            echo "BASALT-RESULT verify=ok"
                            """.replace("FIO ", FIO))
                    .timeout(Duration.ofMinutes(3)).run();
        }
        GuestTests.timing("basalt: 4 queues, 4 vCPUs, fio numjobs=4 verify 64 MiB", r.elapsed().toMillis());
        r.assertSuccess();
        assertEquals(4, r.markerLong("cpus"));
        assertEquals(4, r.markerLong("mq"), r::describe);
        assertEquals("ok", r.marker("verify"));
    }

    /** FLUSH (fsync), DISCARD (blkdiscard) and WRITE ZEROES (blkdiscard -z): limits advertised, zeroes read back. */
    @Test
    void flushDiscardAndWriteZeroes() throws Exception {
        Path dir = GuestTests.workDir("basaltDiscard");
        Path image = GuestTests.filledImage(dir.resolve("disk.raw"), 64 * MiB, 4);
        GuestResult r;
        try (BasaltDaemon basalt = basalt(dir).export("v0", image, sockets.resolve("v0.sock"), 1).start()) {
            r = Guest.builder(GuestTools.guest()).workDir(dir).vhostUserBlk(basalt.socket(), 1)
                    .script("""
                            set -e
                            Q=/sys/block/vda/queue
                            echo "BASALT-RESULT discard_max=$(cat $Q/discard_max_bytes) write_zeroes_max=$(cat $Q/write_zeroes_max_bytes) \\
                                discard_granularity=$(cat $Q/discard_granularity) write_cache=$(cat $Q/write_cache | tr ' ' _)"
                            head -c 1048576 /dev/zero >/tmp/zero
                            # FLUSH: a write then fsync (dd conv=fsync), and sync of the whole device.
                            dd if=/dev/urandom of=/tmp/pat bs=1M count=4 2>/dev/null
                            dd if=/tmp/pat of=/dev/vda bs=1M seek=8 conv=fsync 2>/dev/null
                            sync
                            echo "BASALT-RESULT flush=ok"
                            # WRITE ZEROES over the second MiB of the pattern (util-linux blkdiscard -z: BLKZEROOUT).
                            /usr/sbin/blkdiscard -z -o $((9 << 20)) -l $((1 << 20)) /dev/vda
                            echo 3 > /proc/sys/vm/drop_caches
                            dd if=/dev/vda of=/tmp/z bs=1M skip=9 count=1 iflag=direct 2>/dev/null
                            cmp /tmp/z /tmp/zero || { echo "write zeroes: not zero"; exit 3; }
                            # The neighbours are untouched.
                            dd if=/dev/vda of=/tmp/b bs=1M skip=8 count=4 iflag=direct 2>/dev/null
                            dd if=/tmp/pat of=/tmp/expect bs=1M count=4 2>/dev/null
                            dd if=/tmp/zero of=/tmp/expect bs=1M seek=1 conv=notrunc 2>/dev/null
                            cmp /tmp/b /tmp/expect || { echo "write zeroes touched its neighbours"; exit 4; }
                            echo "BASALT-RESULT write_zeroes=ok"
                            # DISCARD 4 MiB at 32 MiB: must succeed; the data after it is intact; the range is
                            # then rewritten and reads back (discarded blocks are usable again).
                            dd if=/dev/vda of=/tmp/after bs=1M skip=36 count=1 iflag=direct 2>/dev/null
                            /usr/sbin/blkdiscard -o $((32 << 20)) -l $((4 << 20)) /dev/vda
                            busybox blkdiscard -o $((40 << 20)) -l $((1 << 20)) /dev/vda
                            dd if=/dev/vda of=/tmp/after2 bs=1M skip=36 count=1 iflag=direct 2>/dev/null
                            cmp /tmp/after /tmp/after2 || { echo "discard touched its neighbour"; exit 5; }
                            dd if=/tmp/pat of=/dev/vda bs=1M seek=32 oflag=direct conv=fsync 2>/dev/null
                            dd if=/dev/vda of=/tmp/b2 bs=1M skip=32 count=4 iflag=direct 2>/dev/null
                            cmp /tmp/b2 /tmp/pat || { echo "rewrite after discard"; exit 6; }
                            echo "BASALT-RESULT discard=ok"
                            """)
                    .timeout(Duration.ofMinutes(3)).run();
        }
        GuestTests.timing("basalt: flush, discard, write zeroes", r.elapsed().toMillis());
        r.assertSuccess();
        assertTrue(r.markerLong("discard_max") > 0, r::describe);
        assertTrue(r.markerLong("write_zeroes_max") > 0, r::describe);
        assertEquals("ok", r.marker("flush"));
        assertEquals("ok", r.marker("write_zeroes"));
        assertEquals("ok", r.marker("discard"));
        assertEquals(sha256(new byte[(int) MiB]), sha256(image, 9 * MiB, MiB), "zeroes reached the image file");
    }

    /**
     * The guest writes, reboots itself (QEMU resets the VM: the backend sees the device stop and start again on the
     * same connection) and the second boot reads back what the first wrote. A marker on the disk tells the boots apart.
     */
    @Test
    void dataSurvivesAGuestReboot() {
        Path dir = GuestTests.workDir("basaltReboot");
        Path image = GuestTests.filledImage(dir.resolve("disk.raw"), 64 * MiB, 5);
        GuestResult r;
        try (BasaltDaemon basalt = basalt(dir).export("v0", image, sockets.resolve("v0.sock"), 2).start()) {
            r = Guest.builder(GuestTools.guest()).workDir(dir).vhostUserBlk(basalt.socket(), 2).allowReboot()
                    .script("""
                            set -e
                            MAGIC=BASALT-REBOOT-01
                            if [ "$(dd if=/dev/vda bs=16 count=1 2>/dev/null | tr -d '\\000')" != "$MAGIC" ]; then
                                dd if=/dev/urandom of=/tmp/pat bs=1M count=8 2>/dev/null
                                dd if=/tmp/pat of=/dev/vda bs=1M seek=1 conv=fsync 2>/dev/null
                                SHA=$(sha256sum /tmp/pat | cut -d' ' -f1)
                                printf '%s%s' "$MAGIC" "$SHA" >/tmp/m
                                dd if=/tmp/m of=/dev/vda conv=notrunc,fsync 2>/dev/null
                                echo "BASALT-RESULT boot=first written=$SHA"
                                reboot -f
                                sleep 60; echo "reboot -f did not reboot"; exit 9
                            fi
                            SHA=$(dd if=/dev/vda bs=1 skip=16 count=64 2>/dev/null)
                            GOT=$(dd if=/dev/vda bs=1M skip=1 count=8 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
                            echo "BASALT-RESULT boot=second expected=$SHA read=$GOT"
                            [ "$SHA" = "$GOT" ]
                            """)
                    .timeout(Duration.ofMinutes(3)).run();
        }
        GuestTests.timing("basalt: write, guest reboot, read back", r.elapsed().toMillis());
        r.assertSuccess();
        List<String> boots = r.resultLines().stream().map(m -> m.get("boot")).toList();
        assertEquals(List.of("first", "second"), boots, r::describe);
        String written = r.resultLines().get(0).get("written");
        assertEquals(written, r.marker("expected"));
        assertEquals(written, r.marker("read"), r::describe);
        assertEquals(2, r.console().split("BASALT-BOOT", -1).length - 1, "two boots");
    }

    /**
     * Basalt is SIGKILLed while the guest runs fio with verify (random 4 KiB writes with crc32c headers, verified as
     * it goes and again after), and started again ~1.5 s later on the same socket. QEMU (chardev reconnect=1) keeps
     * the guest running, reconnects, hands the inflight buffer back (SET_INFLIGHT_FD) and Basalt resubmits what was
     * in flight: fio must see no error and no lost acknowledged write.
     */
    @Test
    void backendKilledAndRestartedMidRunGuestReconnectsWithoutLosingWrites() throws Exception {
        Path dir = GuestTests.workDir("basaltReconnect");
        Path image = GuestTests.filledImage(dir.resolve("disk.raw"), 256 * MiB, 6);
        String job = "--name=crash --rw=randwrite --bs=4k --iodepth=16 --offset=0 --size=128M --randrepeat=1 --verify_fatal=1";
        String script = """
                set -e
                echo "BASALT-FIO-START t=$(date +%s)"
                FIO JOB --verify_backlog=256 >/tmp/o 2>&1 || { cat /tmp/o; exit 3; }
                echo "BASALT-FIO-END t=$(date +%s)"
                echo "BASALT-RESULT fio_with_crash=ok"
                echo 3 > /proc/sys/vm/drop_caches
                FIO JOB --verify_only >/tmp/v 2>&1 || { cat /tmp/v; exit 4; }
                echo "BASALT-RESULT verify_after=ok"
                """.replace("FIO ", FIO).replace("JOB", job);
        AtomicReference<Throwable> chaosError = new AtomicReference<>();
        AtomicLong killedAt = new AtomicLong(), restartedAt = new AtomicLong(), fioEndedAt = new AtomicLong();
        GuestResult r;
        // Completions held 0.3-1.5 ms: the guest keeps ~16 requests inside the daemon, so the SIGKILL surely catches
        // some in flight and the restarted daemon must resubmit them from the inflight buffer.
        BasaltDaemon basalt = basalt(dir).export("v0", image, sockets.resolve("v0.sock"), 2).completionLatencyMicros("300-1500").start();
        try {
            Thread[] chaos = new Thread[1];
            r = Guest.builder(GuestTools.guest()).workDir(dir).vhostUserBlkReconnecting(basalt.socket(), 2, 1).script(script)
                    .timeout(Duration.ofMinutes(2))
                    .consoleListener(line -> {
                        if (line.contains("BASALT-FIO-START") && chaos[0] == null) {
                            chaos[0] = Thread.ofPlatform().name("chaos").start(() -> {
                                try {
                                    // Up to three crashes while fio runs, until one catches requests in flight
                                    // (a crash between two requests proves nothing about the inflight path).
                                    for (int crash = 0; crash < 3 && fioEndedAt.get() == 0; crash++) {
                                        // kept sleeps: crash timing against a running fio is the point, nothing to poll
                                        Thread.sleep(crash == 0 ? 3000 : 1000);
                                        if (fioEndedAt.get() != 0) break;
                                        basalt.kill();
                                        killedAt.set(System.nanoTime());
                                        Thread.sleep(1500); // down for a while: the guest sees the backend gone
                                        basalt.restart();
                                        restartedAt.set(System.nanoTime());
                                        if (basalt.logText().contains("resubmitting")) break;
                                    }
                                } catch (Throwable t) {
                                    chaosError.set(t);
                                }
                            });
                        }
                        if (line.contains("BASALT-FIO-END")) fioEndedAt.set(System.nanoTime());
                    })
                    .run();
            if (chaos[0] != null) chaos[0].join();
        } finally {
            basalt.close();
        }
        GuestTests.timing("basalt: SIGKILL + restart under fio verify (reconnect)", r.elapsed().toMillis());
        if (chaosError.get() != null) throw new AssertionError("kill/restart failed: " + chaosError.get(), chaosError.get());
        r.assertSuccess();
        assertNotEquals(0, killedAt.get(), "the daemon was killed");
        assertTrue(restartedAt.get() != 0 && fioEndedAt.get() > restartedAt.get(),
                () -> "fio must still be running when the daemon comes back, or the crash proves nothing:\n" + r.describe());
        assertEquals("ok", r.marker("fio_with_crash"));
        assertEquals("ok", r.marker("verify_after"));
        String resubmitted = basalt.logText().lines().filter(l -> l.contains("resubmitting")).reduce((a, b) -> a + "; " + b).orElse("none");
        System.out.printf("[result] reconnect: fio ran %d ms after the restart; resubmitted by the new daemon: %s%n",
                (fioEndedAt.get() - restartedAt.get()) / 1_000_000, resubmitted);
        assertNotEquals("none", resubmitted, () -> "no request was in flight at the crash: the inflight path went untested\n"
                + basalt.logText());
    }

    /** One daemon, two exports on two image files, two QEMU processes verifying at the same time. */
    @Test
    void twoGuestsOnTwoExportsAtOnce() throws Exception {
        Path dir = GuestTests.workDir("basaltTwoGuests");
        Path image0 = GuestTests.filledImage(dir.resolve("disk0.raw"), 128 * MiB, 7);
        Path image1 = GuestTests.filledImage(dir.resolve("disk1.raw"), 128 * MiB, 8);
        String script = """
                set -e
                echo "BASALT-RESULT serial=$(cat /sys/block/vda/serial)"
                FIO --name=two --rw=randwrite --bs=4k --iodepth=16 --offset=0 --size=24M --randrepeat=1 --verify_fatal=1 >/tmp/o \\
                    || { cat /tmp/o; exit 3; }
                dd if=/dev/urandom of=/tmp/pat bs=1M count=2 2>/dev/null
                dd if=/tmp/pat of=/dev/vda bs=1M seek=64 oflag=direct conv=fsync 2>/dev/null
                echo "BASALT-RESULT verify=ok pattern_sha256=$(sha256sum /tmp/pat | cut -d' ' -f1)"
                """.replace("FIO ", FIO);
        GuestResult r0, r1;
        long start = System.nanoTime();
        try (BasaltDaemon basalt = basalt(dir).export("v0", image0, sockets.resolve("v0.sock"), 1)
                .export("v1", image1, sockets.resolve("v1.sock"), 1).start();
             ExecutorService pool = Executors.newFixedThreadPool(2)) {
            Future<GuestResult> f0 = pool.submit(() -> Guest.builder(GuestTools.guest()).workDir(dir.resolve("guest0")).cpus(1)
                    .memoryMiB(512).vhostUserBlk(basalt.socket("v0"), 1).script(script).timeout(Duration.ofMinutes(4)).run());
            Future<GuestResult> f1 = pool.submit(() -> Guest.builder(GuestTools.guest()).workDir(dir.resolve("guest1")).cpus(1)
                    .memoryMiB(512).vhostUserBlk(basalt.socket("v1"), 1).script(script).timeout(Duration.ofMinutes(4)).run());
            r0 = f0.get();
            r1 = f1.get();
        }
        GuestTests.timing("basalt: two guests at once (1 vCPU each), fio verify 24 MiB each", (System.nanoTime() - start) / 1_000_000);
        r0.assertSuccess();
        r1.assertSuccess();
        assertEquals("basalt-v0", r0.marker("serial"));
        assertEquals("basalt-v1", r1.marker("serial"));
        assertEquals(r0.marker("pattern_sha256"), sha256(image0, 64 * MiB, 2 * MiB), "guest 0's data is in image 0");
        assertEquals(r1.marker("pattern_sha256"), sha256(image1, 64 * MiB, 2 * MiB), "guest 1's data is in image 1");
    }

    /** A read-only export: the guest sees a read-only disk, reads work, writes fail, and the image is unchanged. */
    @Test
    void readOnlyExportRefusesWrites() throws Exception {
        Path dir = GuestTests.workDir("basaltReadOnly");
        Path image = GuestTests.filledImage(dir.resolve("disk.raw"), 64 * MiB, 9);
        String before = sha256(image, 0, 64 * MiB);
        GuestResult r;
        try (BasaltDaemon basalt = basalt(dir).readOnlyExport("ro", image, sockets.resolve("ro.sock"), 1).start()) {
            r = Guest.builder(GuestTools.guest()).workDir(dir).vhostUserBlk(basalt.socket(), 1)
                    .script("""
                            echo "BASALT-RESULT ro=$(cat /sys/block/vda/ro)"
                            echo "BASALT-RESULT read_sha256=$(dd if=/dev/vda bs=1M count=4 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
                            if dd if=/dev/zero of=/dev/vda bs=4k count=1 oflag=direct conv=fsync 2>/tmp/err; then
                                echo "a write to the read-only disk succeeded"; exit 3
                            fi
                            echo "BASALT-RESULT write_error=$(head -1 /tmp/err | tr ' ' _)"
                            # Past the guest kernel's read-only flag: then the backend itself must refuse (IOERR).
                            if blockdev --setrw /dev/vda 2>/dev/null && [ "$(cat /sys/block/vda/ro)" = 0 ]; then
                                if dd if=/dev/zero of=/dev/vda bs=4k count=1 oflag=direct 2>/tmp/err2; then
                                    echo "BASALT-RESULT forced_write=accepted"; exit 4
                                fi
                                echo "BASALT-RESULT forced_write=refused forced_error=$(head -1 /tmp/err2 | tr ' ' _)"
                            else
                                echo "BASALT-RESULT forced_write=guest_refused_setrw"
                            fi
                            """)
                    .timeout(Duration.ofMinutes(3)).run();
        }
        GuestTests.timing("basalt: read-only export", r.elapsed().toMillis());
        r.assertSuccess();
        assertEquals(1, r.markerLong("ro"), r::describe);
        assertEquals(sha256(image, 0, 4 * MiB), r.marker("read_sha256"), "reads return the image's bytes");
        String err = r.marker("write_error");
        assertTrue(err.contains("Operation_not_permitted") || err.contains("Read-only") || err.contains("I/O_error"), err);
        assertEquals(before, sha256(image, 0, 64 * MiB), "the image is unchanged");
        System.out.printf("[result] read-only: write_error=%s forced_write=%s%n", err, r.marker("forced_write"));
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

    /** Issue 4: a guest on a degraded RAID5 volume (4 members, one failed) reads and writes correctly. */
    @Test
    void guestOnADegradedRaid5VolumeWritesAndReadsBack() throws Exception {
        Path dir = GuestTests.workDir("basaltDegradedRaid5");
        java.util.List<Path> members = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) members.add(GuestTests.filledImage(dir.resolve("m" + i + ".raw"), 64 * MiB, 20 + i));
        BasaltDaemon basalt = basalt(dir).export("v0", members.get(0), sockets.resolve("r5.sock"), 2)
                .raid5(members, "m1").start();
        GuestResult r;
        try {
            r = Guest.builder(GuestTools.guest()).workDir(dir).vhostUserBlk(basalt.socket(), 2).script("""
                    set -e
                    FIO --name=degraded --rw=randwrite --bs=4k --iodepth=16 --size=32M --randrepeat=1 --verify=crc32c \\
                        --verify_fatal=1 >/tmp/o 2>&1 || { cat /tmp/o; exit 3; }
                    echo 3 > /proc/sys/vm/drop_caches
                    FIO --name=degraded --rw=randwrite --bs=4k --iodepth=16 --size=32M --randrepeat=1 --verify=crc32c \\
                        --verify_only >/tmp/v 2>&1 || { cat /tmp/v; exit 4; }
                    echo "BASALT-RESULT degraded_raid5=ok"
                    """.replace("FIO ", FIO)).timeout(Duration.ofMinutes(2)).run();
        } finally {
            basalt.close();
        }
        GuestTests.timing("basalt: guest on a degraded RAID5 volume", r.elapsed().toMillis());
        r.assertSuccess();
        assertEquals("ok", r.marker("degraded_raid5"));
        assertTrue(basalt.logText().contains("r5"), basalt.logText());
    }
}
