package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon as {@code ./basalt serve} starts it with no config (the embedded default: RAID5 vol0 over four 1 GiB
 * file drives, exported as vol0) and a QEMU started the plain way: {@code -smp 4} and a vhost-user-blk-pci device
 * without num-queues, so QEMU 7.2 asks for one queue per vCPU. One boot checks that the guest attaches with four
 * queues, that fio verifies, and that a file system's discards (mkfs.ext4 discards its area first, fstrim trims the
 * free space) succeed: the guest's kernel log shows no I/O error and no "operation not supported". Meanwhile
 * {@code ./basalt stat} runs beside it as a user would: the guest's reads show on the export within 2 s of starting.
 */
class DefaultExportGuestTest {
    private static final String FIO = "fio --filename=/dev/vda --ioengine=libaio --direct=1 --verify=crc32c --output-format=terse ";

    /**
     * An idle guest with its disk attached must cost the daemon (2 reactors, default idle policy) almost nothing: the
     * issue-12 goal is under 1% of a core, measured here over 10 s (docs/vhost.md, "Idle cost"). The bound is 5% so
     * that JIT or GC housekeeping on a loaded runner cannot fail it; a spinning reactor costs 100%.
     */
    private static final double IDLE_CORE_SHARE_MAX = 0.05;

    /** basalt stat reports every second: the guest's I/O must be in the first or second report after it starts. */
    private static final long STAT_SHOWS_IO_NS_MAX = 2_000_000_000L;

    @TempDir
    Path sockets; // short: the daemon's data dir (its RPC and vhost sockets) lives here

    @Test
    void fourVcpusWithoutNumQueuesAttachVerifyAndMakeAFileSystemWithDiscards() {
        Path dir = GuestTests.workDir("defaultExport");
        GuestResult r;
        long[] statIoStartNs = {-1};
        long[] idle = {-1, -1, -1, -1}; // wall and daemon CPU ns at the idle phase's start and end
        StatWatcher.Row shown;
        String statOutput;
        try (BasaltDaemon basalt = BasaltDaemon.builder(sockets.resolve("data")).embeddedDefault().log(dir.resolve("basalt.log")).start();
             StatWatcher stat = StatWatcher.start(sockets.resolve("data"), "vol0", "export")) {
            r = Guest.builder(GuestTools.guest()).workDir(dir).cpus(4).vhostUserBlkQemuDefaultQueues(basalt.socket())
                    .consoleListener(line -> {
                        if (line.contains("stat_io=start")) statIoStartNs[0] = System.nanoTime();
                        if (line.contains("idle=start")) {
                            idle[0] = System.nanoTime();
                            idle[1] = ProcessBackend.cpuNanos(basalt.pid());
                        }
                        if (line.contains("idle=end")) {
                            idle[2] = System.nanoTime();
                            idle[3] = ProcessBackend.cpuNanos(basalt.pid());
                        }
                    })
                    .script("""
                            set -e
                            up() { cut -d' ' -f1 /proc/uptime; }
                            [ -b /dev/vda ] || { echo "no /dev/vda"; ls /sys/block; exit 2; }
                            Q=/sys/block/vda/queue
                            echo "BASALT-RESULT mq=$(ls /sys/block/vda/mq | wc -l) cpus=$(nproc) sectors=$(cat /sys/block/vda/size) \\
                                discard_max=$(cat $Q/discard_max_bytes) discard_granularity=$(cat $Q/discard_granularity)"
                            FIO --name=mq --rw=randwrite --bs=4k --iodepth=16 --numjobs=4 --size=4M --offset_increment=4M \\
                                --verify_fatal=1 --group_reporting >/tmp/o || { cat /tmp/o; exit 3; }
                            echo "BASALT-RESULT verify=ok t_verify=$(up)"
                            # basalt stat on the host must show this: direct reads (no page cache) for 4 s, after 2 s of
                            # quiet so that no report mixes them with fio's I/O.
                            dd if=/dev/vda of=/dev/null bs=64k count=1 iflag=direct 2>/dev/null || exit 7
                            sleep 2
                            ( while [ ! -f /tmp/stop ]; do dd if=/dev/vda of=/dev/null bs=64k count=256 iflag=direct 2>/dev/null; done ) &
                            echo "BASALT-RESULT stat_io=start"
                            sleep 4; touch /tmp/stop; wait
                            # mkfs discards the file system's area first (no -E nodiscard); 256 MiB keeps TCG time down.
                            /usr/sbin/mkfs.ext4 -q -F /dev/vda 256M || exit 4
                            echo "BASALT-RESULT t_mkfs=$(up)"
                            loadmod ext4
                            mkdir -p /mnt && mount -t ext4 /dev/vda /mnt
                            dd if=/dev/urandom of=/mnt/f bs=1M count=16 2>/dev/null && sync && rm /mnt/f && sync
                            /usr/sbin/fstrim -v /mnt >/tmp/trim 2>&1 || { cat /tmp/trim; exit 5; }
                            echo "BASALT-RESULT trimmed_bytes=$(sed -n 's/.*(\\([0-9]*\\) bytes).*/\\1/p' /tmp/trim) t_trim=$(up)"
                            umount /mnt
                            if dmesg | grep -iE "I/O error|operation not supported|print_req_error" >/tmp/bad; then cat /tmp/bad; exit 6; fi
                            echo "BASALT-RESULT dmesg=clean"
                            # The disk stays attached and idle for 10 s: the host measures the daemon's CPU meanwhile.
                            sleep 1; echo "BASALT-RESULT idle=start"; sleep 10; echo "BASALT-RESULT idle=end"
                            """.replace("FIO ", FIO))
                    .timeout(Duration.ofMinutes(4)).run();
            shown = statIoStartNs[0] < 0 ? null : stat.firstActiveSince(statIoStartNs[0]);
            statOutput = stat.output();
        }
        GuestTests.write(dir.resolve("basalt-stat.log"), statOutput); // kept for post-mortems, as the console
        GuestTests.timing("basalt default export: -smp 4 without num-queues, fio verify, mkfs.ext4 + fstrim", r.elapsed().toMillis());
        r.assertSuccess();
        assertEquals(4, r.markerLong("cpus"));
        assertEquals(4, r.markerLong("mq"), "QEMU asked one queue per vCPU and got them: " + r.describe());
        assertTrue(r.markerLong("sectors") > (2L << 30 >> 9), "vol0: RAID5 over four 1 GiB drives, about 3 GiB");
        assertTrue(r.markerLong("discard_max") > 0, "RAID5 vol0 over files advertises DISCARD");
        assertEquals(3 * 128 * 1024, r.markerLong("discard_granularity"), "a whole stripe: 3 data chunks of 128 KiB");
        assertEquals("ok", r.marker("verify"));
        assertTrue(r.markerLong("trimmed_bytes") > 0, "fstrim trimmed the free space");
        assertEquals("clean", r.marker("dmesg"));
        assertTrue(idle[2] > idle[0] && idle[0] > 0, "the guest's idle phase was seen: " + r.describe());
        double idleShare = (double) (idle[3] - idle[1]) / (idle[2] - idle[0]);
        GuestTests.timing(String.format("daemon CPU with an idle guest attached: %.2f%% of a core over", 100 * idleShare),
                (idle[2] - idle[0]) / 1_000_000);
        assertTrue(idleShare < IDLE_CORE_SHARE_MAX, String.format("an idle guest cost the daemon %.1f%% of a core", 100 * idleShare));
        assertTrue(statIoStartNs[0] > 0, "the guest started its reads for basalt stat: " + r.describe());
        assertNotNull(shown, "basalt stat never showed the guest's reads on export vol0:\n" + statOutput);
        assertEquals(0.0, shown.writesPerSecond(), "the guest only read then: " + shown.line());
        long delayNs = shown.arrivedNs() - statIoStartNs[0];
        GuestTests.timing("basalt stat shows the guest's I/O on export vol0 (" + shown.line().trim() + ") after", delayNs / 1_000_000);
        assertTrue(delayNs <= STAT_SHOWS_IO_NS_MAX, "basalt stat showed the guest's reads " + delayNs / 1_000_000 + " ms after they began:\n" + statOutput);
    }
}
