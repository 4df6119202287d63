package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guests against qemu-storage-daemon, the reference vhost-user-blk backend. Basalt's own server plugs into the same
 * tests later: only the backend that creates the socket changes.
 */
class QemuStorageDaemonGuestTest {
    private static final long MiB = 1L << 20;

    @TempDir
    Path sockets; // short paths: a unix socket path must fit in 108 bytes

    /** fio writes with crc32c verify headers, caches are dropped, fio reads back and verifies; the host checks too. */
    @Test
    void dataWrittenByTheGuestReadsBackIntact() throws Exception {
        Path dir = GuestTests.workDir("dataIntegrity");
        Path image = GuestTests.filledImage(dir.resolve("disk.raw"), 256 * MiB, 1);
        String fio = "fio --filename=/dev/vda --ioengine=libaio --direct=1 --verify=crc32c --output-format=terse ";
        String script = """
                set -e
                [ -b /dev/vda ] || { echo "no /dev/vda"; ls /sys/block; exit 2; }
                echo "BASALT-RESULT sectors=$(cat /sys/block/vda/size)"
                SEQ="--name=seq --rw=write --bs=128k --iodepth=8 --offset=0 --size=64M"
                RND="--name=rnd --rw=randwrite --bs=4k --iodepth=32 --offset=64M --size=32M --randrepeat=1"
                FIO $SEQ --do_verify=0 >/dev/null
                FIO $RND --do_verify=0 >/dev/null
                echo 3 > /proc/sys/vm/drop_caches
                FIO $SEQ --verify_only --verify_fatal=1 >/tmp/v1 || { cat /tmp/v1; exit 3; }
                FIO $RND --verify_only --verify_fatal=1 >/tmp/v2 || { cat /tmp/v2; exit 4; }
                echo "BASALT-RESULT fio_verify=ok"
                # The verifier is live: the image's own random bytes past the written range must fail it.
                if FIO --name=neg --rw=write --bs=128k --iodepth=8 --offset=160M --size=8M --verify_only \
                     --verify_fatal=1 >/dev/null 2>&1; then echo "fio verify passed on never-written data"; exit 6; fi
                # A pattern the host checks in the image file: the data reached the backend, not just the guest.
                dd if=/dev/urandom of=/tmp/pat bs=1M count=4 2>/dev/null
                dd if=/tmp/pat of=/dev/vda bs=1M seek=128 conv=fsync 2>/dev/null
                echo 3 > /proc/sys/vm/drop_caches
                dd if=/dev/vda of=/tmp/back bs=1M skip=128 count=4 2>/dev/null
                cmp /tmp/pat /tmp/back || exit 5
                echo "BASALT-RESULT pattern_sha256=$(sha256sum /tmp/pat | cut -d' ' -f1)"
                """.replace("FIO ", fio);
        GuestResult r;
        try (QemuStorageDaemon qsd = QemuStorageDaemon.start(image, sockets.resolve("qsd.sock"), 2, dir.resolve("qsd.log"))) {
            r = Guest.builder(GuestTools.guest()).workDir(dir).vhostUserBlk(qsd.socket(), 2).script(script)
                    .timeout(Duration.ofMinutes(3)).run();
        }
        GuestTests.timing("data integrity (fio verify 96 MiB + host check)", r.elapsed().toMillis());
        r.assertSuccess();
        assertEquals(256 * MiB / 512, r.markerLong("sectors"));
        assertEquals("ok", r.marker("fio_verify"));
        assertEquals(r.marker("pattern_sha256"), sha256(image, 128 * MiB, 4 * MiB), "the image file holds what the guest wrote");
    }

    /** num-queues=4 becomes four blk-mq hardware queues (the guest caps them at its CPU count: 4 vCPUs here). */
    @Test
    void fourQueues() {
        Path dir = GuestTests.workDir("fourQueues");
        Path image = GuestTests.filledImage(dir.resolve("disk.raw"), 16 * MiB, 2);
        GuestResult r;
        try (QemuStorageDaemon qsd = QemuStorageDaemon.start(image, sockets.resolve("qsd.sock"), 4, dir.resolve("qsd.log"))) {
            r = Guest.builder(GuestTools.guest()).workDir(dir).cpus(4).vhostUserBlk(qsd.socket(), 4)
                    .script("""
                            echo "BASALT-RESULT mq=$(ls /sys/block/vda/mq | wc -l) cpus=$(nproc)"
                            dd if=/dev/vda of=/dev/null bs=1M count=16 2>/dev/null
                            """)
                    .timeout(Duration.ofMinutes(3)).run();
        }
        GuestTests.timing("4 queues (4 vCPUs)", r.elapsed().toMillis());
        r.assertSuccess();
        assertEquals(4, r.markerLong("cpus"));
        assertEquals(4, r.markerLong("mq"), r::describe);
    }

    /** The benchmark's shape in miniature: 4 KiB random reads at queue depth 32 for 5 s; IOPS come back as a marker. */
    @Test
    void randomReadIops() {
        Path dir = GuestTests.workDir("randread");
        Path image = GuestTests.filledImage(dir.resolve("disk.raw"), 256 * MiB, 3);
        GuestResult r;
        try (QemuStorageDaemon qsd = QemuStorageDaemon.start(image, sockets.resolve("qsd.sock"), 2, dir.resolve("qsd.log"))) {
            r = Guest.builder(GuestTools.guest()).workDir(dir).vhostUserBlk(qsd.socket(), 2)
                    .script("""
                            set -e
                            fio --name=rr --filename=/dev/vda --ioengine=libaio --direct=1 --rw=randread --bs=4k \\
                                --iodepth=32 --runtime=5 --time_based --norandommap --output-format=terse \\
                                --terse-version=3 >/tmp/out
                            echo "BASALT-RESULT randread_iops=$(cut -d';' -f8 /tmp/out) read_kib=$(cut -d';' -f6 /tmp/out)"
                            """)
                    .timeout(Duration.ofMinutes(3)).run();
        }
        GuestTests.timing("randread 4k QD32 5 s", r.elapsed().toMillis());
        r.assertSuccess();
        long iops = r.markerLong("randread_iops");
        System.out.printf("[result] qemu-storage-daemon randread 4k QD32: %d IOPS%n", iops);
        assertTrue(iops > 500, () -> "implausibly few IOPS: " + iops + "\n" + r.describe());
    }

    private static String sha256(Path file, long offsetBytes, long lengthBytes) throws IOException, Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            in.skipNBytes(offsetBytes);
            md.update(in.readNBytes((int) lengthBytes));
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
