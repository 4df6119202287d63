package io.basalt.qemu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Linux kernel's NVMe/TCP initiator (nvme-tcp, nvme-cli) in a guest against Basalt's target (issue 10). The
 * guest reaches the host's loopback as 10.0.2.2 over QEMU's user-mode network; the daemon runs its embedded default
 * (RAID5 vol0 as nqn.2026-12.io.basalt:vol0) plus, by RPC, a listener on a free port that advertises 10.0.2.2 (so
 * that discovery hands the guest an address it can reach) and a subsystem that admits one host NQN only.
 * One boot runs the checks in turn: discovery, queues, digests, refusal, a file system, keep-alive expiry (the
 * guest paused over QMP), then a target killed mid-write and restarted.
 */
class NvmfGuestTest {
    private static final String NQN = "nqn.2026-12.io.basalt:vol0";
    private static final String LOCKED_NQN = "nqn.2026-12.io.basalt:locked";
    private static final String ALLOWED_HOST = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555";
    /** How long the guest stays paused: well over the 5 s keep-alive timeout the guest's host connects with. */
    private static final long PAUSE_MS = 10_000;
    private static final Pattern PORT = Pattern.compile("\"port\"\\s*:\\s*(\\d+)");

    @TempDir
    Path sockets; // short: the daemon's data dir (RPC socket, vhost socket) lives here

    /** Shell helpers every script starts with: the namespace's block device, waiting for it, reading dmesg counts. */
    private static final String COMMON = """
            set -e
            loadmod nvme-tcp
            loadmod crc32c_generic # the digests' crc32c: the guest has no modprobe for the kernel to call
            A=10.0.2.2; N=%s
            dev() { for d in /sys/block/nvme*n1; do case ${d##*/} in nvme*c*) continue ;; esac; [ -e "$d" ] && { echo /dev/${d##*/}; return 0; }; done; return 1; }
            wait_dev() { for i in $(seq 100); do D=$(dev) && [ -b "$D" ] && return 0; sleep 0.2; done; echo "no namespace device"; ls /sys/block; dmesg | tail -20; return 1; }
            gone() { for i in $(seq 100); do dev >/dev/null || return 0; sleep 0.2; done; return 1; }
            queues() { dmesg | grep -o 'creating [0-9]* I/O queues' | tail -1 | cut -d' ' -f2; }
            FIO="fio --ioengine=libaio --direct=1 --output-format=terse --verify=crc32c --verify_fatal=1"
            """.formatted(NQN);

    @Test
    void discoveryQueuesDigestsRefusalFileSystemKeepAliveExpiryAndATargetKilledMidWrite() throws Exception {
        Path dir = GuestTests.workDir("nvmf");
        Path data = sockets.resolve("data");
        Path qmp = sockets.resolve("qmp.sock");
        GuestResult r;
        String log;
        try (BasaltDaemon basalt = BasaltDaemon.builder(data).embeddedDefault().log(dir.resolve("basalt.log")).start()) {
            int port = guestListener(data);
            rpc(data, "nvmf_subsystem_create", "{\"nqn\":\"" + LOCKED_NQN + "\"}");
            rpc(data, "drive_create", "{\"name\":\"lockedm\",\"spec\":\"memory:64M\"}");
            rpc(data, "nvmf_namespace_add", "{\"nqn\":\"" + LOCKED_NQN + "\",\"drive\":\"lockedm\"}");
            rpc(data, "nvmf_host_allow", "{\"nqn\":\"" + LOCKED_NQN + "\",\"host\":\"" + ALLOWED_HOST + "\"}");
            List<String> pauses = new ArrayList<>();
            r = Guest.builder(GuestTools.guest()).workDir(dir).cpus(4).userNetwork()
                    .qemuArgs("-qmp", "unix:" + qmp + ",server=on,wait=off")
                    .consoleListener(line -> {
                        if (line.contains("BASALT-RESULT pause=now")) pauseInBackground(qmp, pauses);
                        if (line.contains("BASALT-RESULT writing=1")) killAndRestartInBackground(basalt, pauses);
                    })
                    .script(COMMON + """
                            P=%d
                            # 1. discovery, then connect-all: four I/O queues for four vCPUs
                            nvme discover -t tcp -a $A -s $P >/tmp/d 2>&1 || { cat /tmp/d; exit 2; }
                            grep -q "subnqn:  $N" /tmp/d || { cat /tmp/d; exit 2; }
                            grep -q "traddr:  $A" /tmp/d || { cat /tmp/d; exit 2; }
                            echo "BASALT-RESULT discovered=ok"
                            nvme connect-all -t tcp -a $A -s $P >/tmp/c 2>&1 || { cat /tmp/c; exit 3; }
                            wait_dev || exit 3
                            echo "BASALT-RESULT queues_all=$(queues) dev=$D"
                            $FIO --name=mq --filename=$D --rw=randwrite --bs=4k --iodepth=16 --numjobs=4 --size=4M \\
                                --offset_increment=4M --group_reporting >/tmp/o || { cat /tmp/o; exit 4; }
                            dd if=/dev/urandom of=/tmp/pat bs=1M count=8 2>/dev/null
                            dd if=/tmp/pat of=$D bs=1M seek=64 oflag=direct conv=fsync 2>/dev/null
                            echo 3 >/proc/sys/vm/drop_caches
                            echo "BASALT-RESULT verify4=ok"
                            nvme disconnect -n $N >/dev/null; gone || exit 5
                            # 2. one I/O queue, header and data digests: what was written reads back
                            nvme connect -t tcp -a $A -s $P -n $N -i 1 -g -G >/tmp/c 2>&1 || { cat /tmp/c; exit 6; }
                            wait_dev || exit 6
                            echo "BASALT-RESULT queues_one=$(queues)"
                            dd if=$D of=/tmp/back bs=1M skip=64 count=8 iflag=direct 2>/dev/null
                            cmp /tmp/pat /tmp/back || exit 7
                            $FIO --name=dg --filename=$D --rw=randwrite --bs=16k --iodepth=8 --size=8M --offset=128M >/tmp/o || { cat /tmp/o; exit 7; }
                            echo "BASALT-RESULT digests=ok"
                            nvme disconnect -n $N >/dev/null; gone || exit 8
                            # 3. a host NQN the subsystem does not admit: refused at once, no retries
                            t0=$(cut -d. -f1 /proc/uptime)
                            if nvme connect -t tcp -a $A -s $P -n %s --hostnqn nqn.2014-08.org.nvmexpress:uuid:99999999-0000-0000-0000-000000000000 >/tmp/e 2>&1; then
                              echo "refused host got in"; exit 9
                            fi
                            t1=$(cut -d. -f1 /proc/uptime)
                            dmesg | grep -qiE "invalid host|is not allowed" || { dmesg | tail; exit 9; }
                            echo "BASALT-RESULT refused_s=$((t1 - t0))"
                            nvme connect -t tcp -a $A -s $P -n %s --hostnqn %s >/tmp/c 2>&1 || { cat /tmp/c; exit 9; }
                            nvme disconnect -n %s >/dev/null
                            echo "BASALT-RESULT allowed_host=ok"
                            # 4. ext4 with file churn on the namespace over RAID5 vol0, checked after a remount
                            nvme connect -t tcp -a $A -s $P -n $N --reconnect-delay=1 --ctrl-loss-tmo=120 --keep-alive-tmo=5 >/tmp/c 2>&1 || { cat /tmp/c; exit 10; }
                            wait_dev || exit 10
                            /usr/sbin/mkfs.ext4 -q -F $D 256M || exit 10
                            loadmod ext4; mkdir -p /mnt; mount -t ext4 $D /mnt
                            i=0; while [ $i -lt 60 ]; do dd if=/dev/urandom of=/mnt/f$i bs=4k count=$((i %% 13 + 1)) 2>/dev/null; i=$((i + 1)); done
                            sync; i=0; while [ $i -lt 60 ]; do rm /mnt/f$i; i=$((i + 3)); done; sync
                            (cd /mnt && md5sum f* >/tmp/sums)
                            umount /mnt; echo 3 >/proc/sys/vm/drop_caches; mount -t ext4 $D /mnt
                            (cd /mnt && md5sum -c /tmp/sums >/dev/null) || exit 11
                            umount /mnt
                            echo "BASALT-RESULT ext4=ok files=$(wc -l </tmp/sums)"
                            # 5. keep-alive expiry: the guest is paused past the timeout, the target drops the
                            #    controller, the host reconnects and the data is intact
                            dd if=/tmp/pat of=$D bs=1M seek=300 oflag=direct conv=fsync 2>/dev/null
                            echo "BASALT-RESULT pause=now"
                            sleep 3
                            for i in $(seq 150); do grep -q live /sys/class/nvme/nvme*/state 2>/dev/null && dmesg | grep -q -i "reconnect" && break; sleep 0.2; done
                            dd if=$D of=/tmp/back bs=1M skip=300 count=8 iflag=direct 2>/dev/null || { dmesg | tail -20; exit 12; }
                            cmp /tmp/pat /tmp/back || exit 12
                            echo "BASALT-RESULT after_pause=ok reconnects=$(dmesg | grep -ci 'reconnected')"
                            if dmesg | grep -iE "I/O error|blk_update_request|critical" >/tmp/bad; then cat /tmp/bad; exit 13; fi
                            echo "BASALT-RESULT dmesg=clean"
                            # 6. the target SIGKILLed mid-write and restarted: fio's writes, acknowledged before the
                            #    kill or retried by the host after its reconnect, all read back
                            W="--name=w --filename=$D --rw=write --bs=64k --iodepth=8 --size=48M --offset=512M"
                            $FIO $W --do_verify=0 >/tmp/o 2>&1 &
                            sleep 1
                            echo "BASALT-RESULT writing=1"
                            wait $! || { cat /tmp/o; dmesg | tail -20; exit 14; }
                            echo 3 >/proc/sys/vm/drop_caches
                            $FIO $W --verify_only >/tmp/v 2>&1 || { cat /tmp/v; exit 15; }
                            echo "BASALT-RESULT killed_verified=ok reconnects_total=$(dmesg | grep -ci 'reconnected')"
                            nvme disconnect -n $N >/dev/null
                            """.formatted(port, LOCKED_NQN, LOCKED_NQN, ALLOWED_HOST, LOCKED_NQN))
                    .timeout(Duration.ofMinutes(7)).run();
            log = basalt.logText();
            assertTrue(pauses.contains("resumed"), "the guest was paused and resumed over QMP: " + pauses);
            assertTrue(pauses.contains("restarted"), "the daemon was killed and restarted during the writes: " + pauses);
        }
        GuestTests.timing("nvmf: discovery, queues, digests, refusal, ext4, keep-alive expiry, kill mid-write", r.elapsed().toMillis());
        r.assertSuccess();
        assertEquals("ok", r.marker("discovered"));
        assertEquals(4, r.markerLong("queues_all"), "Linux asks one I/O queue per vCPU: " + r.describe());
        assertEquals(1, r.markerLong("queues_one"));
        assertEquals("ok", r.marker("digests"));
        assertTrue(r.markerLong("refused_s") <= 3, "a refused host is told at once (DNR), it does not retry: " + r.describe());
        assertEquals("ok", r.marker("allowed_host"));
        assertEquals("ok", r.marker("ext4"));
        assertTrue(log.contains("keep-alive timeout"), "the target saw the keep-alive expire:\n" + log);
        assertEquals("ok", r.marker("after_pause"));
        assertTrue(r.markerLong("reconnects") >= 1, r.describe());
        assertEquals("clean", r.marker("dmesg"));
        assertEquals("ok", r.marker("killed_verified"), "every block fio wrote (acknowledged, or retried by the host) reads back");
        assertTrue(r.markerLong("reconnects_total") > r.markerLong("reconnects"), "the host reconnected to the restarted target: " + r.describe());
    }

    /** Moves the daemon's NVMe/TCP service to a free port that advertises 10.0.2.2; returns the port. */
    private static int guestListener(Path data) {
        rpc(data, "nvmf_listener_remove", "{\"address\":\"127.0.0.1\",\"port\":4420}");
        rpc(data, "nvmf_listener_remove", "{\"address\":\"127.0.0.1\",\"port\":8009}");
        Matcher m = PORT.matcher(rpc(data, "nvmf_listener_add", "{\"address\":\"127.0.0.1\",\"port\":0,\"advertise\":\"10.0.2.2\"}"));
        assertTrue(m.find(), "nvmf_listener_add answers its port");
        return Integer.parseInt(m.group(1));
    }

    /** {@code ./basalt rpc --data-dir DATA METHOD PARAMS}; its output, or AssertionError naming the failure. */
    static String rpc(Path data, String method, String params) {
        ProcessBuilder pb = new ProcessBuilder("bash", GuestTools.repoRoot().resolve("basalt").toString(), "rpc", "--data-dir", data.toString(),
                method, params).redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("BASALT_NO_BUILD", "1");
        try {
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) throw new AssertionError("basalt rpc " + method + " " + params + " failed: " + out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Pauses the guest over QMP for PAUSE_MS, then resumes it; records what happened in {@code events}. */
    private static void pauseInBackground(Path qmpSocket, List<String> events) {
        Thread.ofPlatform().daemon(true).name("qmp-pause").start(() -> {
            try (SocketChannel qmp = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                qmp.connect(UnixDomainSocketAddress.of(qmpSocket));
                qmpCall(qmp, "{\"execute\":\"qmp_capabilities\"}");
                qmpCall(qmp, "{\"execute\":\"stop\"}");
                synchronized (events) { events.add("paused"); }
                Thread.sleep(PAUSE_MS);
                qmpCall(qmp, "{\"execute\":\"cont\"}");
                synchronized (events) { events.add("resumed"); }
            } catch (IOException | InterruptedException e) {
                synchronized (events) { events.add("failed: " + e); }
            }
        });
    }

    /** Sends one QMP command and reads until its {"return": ...} (events before it are skipped). */
    private static void qmpCall(SocketChannel qmp, String command) throws IOException {
        qmp.write(ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.UTF_8)));
        ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
        StringBuilder seen = new StringBuilder();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            buffer.clear();
            int n = qmp.read(buffer);
            if (n < 0) throw new IOException("QMP closed; seen: " + seen);
            seen.append(new String(buffer.array(), 0, n, StandardCharsets.UTF_8));
            if (seen.indexOf("\"return\"") >= 0) return;
            if (seen.indexOf("\"error\"") >= 0) throw new IOException("QMP " + command + ": " + seen);
        }
        throw new IOException("QMP " + command + ": no answer; seen: " + seen);
    }

    /** SIGKILLs the daemon, waits 2 s, starts it again (it replays its saved state); records it in {@code events}. */
    private static void killAndRestartInBackground(BasaltDaemon basalt, List<String> events) {
        Thread.ofPlatform().daemon(true).name("kill-restart").start(() -> {
            try {
                basalt.kill();
                synchronized (events) { events.add("killed"); }
                Thread.sleep(2000);
                basalt.restart();
                synchronized (events) { events.add("restarted"); }
            } catch (RuntimeException | InterruptedException e) {
                synchronized (events) { events.add("failed: " + e); }
            }
        });
    }
}
