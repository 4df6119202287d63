package io.basalt.qemu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;

/** The Linux kernel's NVMe/TCP initiator in a guest against Basalt's target (issue 10). */
class NvmfGuestTest {
    @TempDir
    Path sockets;

    @Test
    void theKernelInitiatorDiscoversConnectsAndVerifies() {
        Path dir = GuestTests.workDir("nvmf");
        GuestResult r;
        try (BasaltDaemon basalt = BasaltDaemon.builder(sockets.resolve("data")).embeddedDefault().log(dir.resolve("basalt.log")).start()) {
            r = Guest.builder(GuestTools.guest()).workDir(dir).cpus(2).userNetwork()
                    .script("""
                            set -e
                            loadmod nvme-tcp
                            nvme discover -t tcp -a 10.0.2.2 -s 8009 >/tmp/d 2>&1 || { cat /tmp/d; exit 2; }
                            cat /tmp/d
                            nvme connect -t tcp -a 10.0.2.2 -s 4420 -n nqn.2026-12.io.basalt:vol0 >/tmp/c 2>&1 || { cat /tmp/c; dmesg | tail -20; exit 3; }
                            sleep 1
                            ls /sys/block
                            nvme list || true
                            fio --name=v --filename=/dev/nvme0n1 --ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=16 --size=8M --verify=crc32c --verify_fatal=1 >/tmp/o || { cat /tmp/o; dmesg | tail -30; exit 4; }
                            echo "BASALT-RESULT verify=ok"
                            nvme disconnect -n nqn.2026-12.io.basalt:vol0
                            dmesg | grep -i nvme | tail -20
                            """)
                    .timeout(Duration.ofMinutes(3)).run();
        }
        System.out.println(r.describe());
        r.assertSuccess();
    }
}
