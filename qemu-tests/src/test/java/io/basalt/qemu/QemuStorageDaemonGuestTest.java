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
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest against qemu-storage-daemon, the reference vhost-user-blk backend (BasaltVhostGuestTest makes the same
 * kinds of checks against Basalt). The three checks share one boot; each reports its own status and console lines.
 */
class QemuStorageDaemonGuestTest {
    private static final long MiB = 1L << 20;

    @TempDir
    static Path sockets; // short paths: a unix socket path must fit in 108 bytes

    /**
     * The three checks share one boot (4 vCPUs, three disks, each on its own qemu-storage-daemon): /dev/vda the data
     * check (2 queues), /dev/vdb the 4-queue disk, /dev/vdc the random-read disk (2 queues).
     */
    private static final Supplier<Shared> GUEST = GuestTests.once(QemuStorageDaemonGuestTest::runShared);

    private record Shared(GuestResult result, Path dataImage) {}

    private static Shared runShared() {
        Path dir = GuestTests.workDir("qsdShared");
        Path dataImage = GuestTests.filledImage(dir.resolve("data.raw"), 256 * MiB, 1);
        Path queuesImage = GuestTests.filledImage(dir.resolve("queues.raw"), 16 * MiB, 2);
        Path readImage = GuestTests.filledImage(dir.resolve("randread.raw"), 256 * MiB, 3);
        String fio = "fio --filename=/dev/vda --ioengine=libaio --direct=1 --verify=crc32c --output-format=terse ";
        String data = """
                set -e
                [ -b /dev/vda ] || { echo "no /dev/vda"; ls /sys/block; exit 2; }
                echo "BASALT-RESULT sectors=$(cat /sys/block/vda/size)"
                SEQ="--name=seq --rw=write --bs=128k --iodepth=8 --offset=0 --size=32M"
                RND="--name=rnd --rw=randwrite --bs=4k --iodepth=32 --offset=64M --size=16M --randrepeat=1"
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
        String script = new GuestChecks()
                .add("data", data)
                .add("fourQueues", """
                        echo "BASALT-RESULT mq=$(ls /sys/block/vdb/mq | wc -l) cpus=$(nproc)"
                        dd if=/dev/vdb of=/dev/null bs=1M count=16 2>/dev/null
                        """)
                .add("randread", """
                        set -e
                        fio --name=rr --filename=/dev/vdc --ioengine=libaio --direct=1 --rw=randread --bs=4k \
                            --iodepth=32 --runtime=5 --time_based --norandommap --output-format=terse \
                            --terse-version=3 >/tmp/out
                        echo "BASALT-RESULT randread_iops=$(cut -d';' -f8 /tmp/out) read_kib=$(cut -d';' -f6 /tmp/out)"
                        """)
                .script();
        GuestResult r;
        try (QemuStorageDaemon d = QemuStorageDaemon.start(dataImage, sockets.resolve("d.sock"), 2, dir.resolve("qsd-data.log"));
             QemuStorageDaemon q = QemuStorageDaemon.start(queuesImage, sockets.resolve("q.sock"), 4, dir.resolve("qsd-queues.log"));
             QemuStorageDaemon rr = QemuStorageDaemon.start(readImage, sockets.resolve("r.sock"), 2, dir.resolve("qsd-randread.log"))) {
            r = Guest.builder(GuestTools.guest()).workDir(dir).cpus(4)
                    .vhostUserBlk(d.socket(), 2).vhostUserBlk(q.socket(), 4).vhostUserBlk(rr.socket(), 2)
                    .script(script).timeout(Duration.ofMinutes(4)).run();
        }
        GuestTests.timing("qsd: one boot, data integrity (fio verify 48 MiB + host check) + 4 queues + randread 4k QD32 5 s",
                r.elapsed().toMillis());
        return new Shared(r, dataImage);
    }

    /** fio writes with crc32c verify headers, caches are dropped, fio reads back and verifies; the host checks too. */
    @Test
    void dataWrittenByTheGuestReadsBackIntact() throws Exception {
        Shared shared = GUEST.get();
        GuestCheck c = shared.result().check("data").assertSuccess();
        assertEquals(256 * MiB / 512, c.markerLong("sectors"));
        assertEquals("ok", c.marker("fio_verify"));
        assertEquals(c.marker("pattern_sha256"), sha256(shared.dataImage(), 128 * MiB, 4 * MiB), "the image file holds what the guest wrote");
    }

    /** num-queues=4 becomes four blk-mq hardware queues (the guest caps them at its CPU count: 4 vCPUs here). */
    @Test
    void fourQueues() {
        GuestCheck c = GUEST.get().result().check("fourQueues").assertSuccess();
        assertEquals(4, c.markerLong("cpus"));
        assertEquals(4, c.markerLong("mq"), c::describe);
    }

    /** The benchmark's shape in miniature: 4 KiB random reads at queue depth 32 for 5 s; IOPS come back as a marker. */
    @Test
    void randomReadIops() {
        GuestCheck c = GUEST.get().result().check("randread").assertSuccess();
        long iops = c.markerLong("randread_iops");
        System.out.printf("[result] qemu-storage-daemon randread 4k QD32: %d IOPS%n", iops);
        assertTrue(iops > 500, () -> "implausibly few IOPS: " + iops + "\n" + c.describe());
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
