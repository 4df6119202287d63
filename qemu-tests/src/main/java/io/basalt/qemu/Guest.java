package io.basalt.qemu;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One QEMU guest that runs one shell script and exits. TCG only (KVM does not work on these machines); guest RAM is
 * a shared memfd so vhost-user backends can map it. A disk is just a vhost-user-blk unix socket: qemu-storage-daemon
 * today, Basalt's own server later, through the same call. Disks appear in the guest as /dev/vda, /dev/vdb, ... in
 * the order they were added.
 * <pre>{@code
 * GuestResult r = Guest.builder(GuestTools.guest())
 *         .vhostUserBlk(daemon.socket(), 2)
 *         .script("fio --name=x --filename=/dev/vda ... && echo BASALT-RESULT iops=$n")
 *         .timeout(Duration.ofMinutes(2))
 *         .run()
 *         .assertSuccess();
 * }</pre>
 * Blocks until the guest exits; a guest still running at the timeout is killed and the run fails with the console's
 * last lines. One guest at a time on a 2-core machine: a TCG guest keeps a host core busy per vCPU.
 */
public final class Guest {
    /** The kernel command line every guest gets; extra arguments are appended. */
    public static final String KERNEL_ARGS = "console=ttyS0 panic=-1 quiet";
    private static final long POLL_MS = 20;

    private final Builder b;

    private Guest(Builder b) {
        this.b = b;
    }

    public static Builder builder(GuestImage image) {
        return new Builder(image);
    }

    /**
     * One vhost-user-blk disk: a listening unix socket, the virtqueue count the guest should use, and how many seconds
     * QEMU waits between attempts to reconnect when the backend goes away (0: never; the chardev's {@code reconnect=}).
     */
    /**
     * A vhost-user-blk disk; {@code numQueues} {@link #QEMU_DEFAULT_QUEUES}: no num-queues option (QEMU asks one per
     * vCPU); {@code packed}: the device offers packed virtqueues ({@code packed=on}, virtio 2.8), which the guest's
     * driver then uses.
     */
    public record VhostDisk(Path socket, int numQueues, int reconnectSeconds, boolean packed) {
        public static final int QEMU_DEFAULT_QUEUES = 0;

        public VhostDisk {
            Objects.requireNonNull(socket, "socket");
            if (numQueues < 0 || numQueues > 64) throw new IllegalArgumentException("numQueues 1..64, or 0 for QEMU's default: " + numQueues);
            if (reconnectSeconds < 0) throw new IllegalArgumentException("reconnectSeconds >= 0: " + reconnectSeconds);
        }

        public VhostDisk(Path socket, int numQueues) {
            this(socket, numQueues, 0, false);
        }
    }

    public static final class Builder {
        private final GuestImage image;
        private int memoryMiB = 1024;
        private int cpus = 2;
        private String machine = "q35";
        private final List<VhostDisk> disks = new ArrayList<>();
        private final List<String[]> files = new ArrayList<>();
        private final List<String> extraQemuArgs = new ArrayList<>();
        private boolean userNetwork;
        private final List<String> hostForwards = new ArrayList<>();
        private boolean allowReboot;
        private String script = "true";
        private String extraKernelArgs = "";
        private Duration timeout = Duration.ofMinutes(3);
        private Path workDir;
        private Consumer<String> consoleListener = line -> {};

        private Builder(GuestImage image) {
            this.image = Objects.requireNonNull(image, "image");
        }

        public Builder memoryMiB(int mib) {
            if (mib < 128) throw new IllegalArgumentException("guest memory below 128 MiB cannot hold the initramfs: " + mib);
            this.memoryMiB = mib;
            return this;
        }

        public Builder cpus(int count) {
            if (count < 1 || count > 16) throw new IllegalArgumentException("cpus 1..16: " + count);
            this.cpus = count;
            return this;
        }

        /** QEMU machine type, q35 by default (it takes intel-iommu for VFIO tests; pc boots as fast). */
        public Builder machine(String machine) {
            this.machine = Objects.requireNonNull(machine);
            return this;
        }

        /** Adds a vhost-user-blk disk; the socket must be listening before {@link #run()} (QEMU refuses otherwise). */
        public Builder vhostUserBlk(Path socket, int numQueues) {
            disks.add(new VhostDisk(socket, numQueues));
            return this;
        }

        /** Adds a vhost-user-blk disk without num-queues: QEMU 7.2 then asks the back-end for one queue per vCPU. */
        public Builder vhostUserBlkQemuDefaultQueues(Path socket) {
            disks.add(new VhostDisk(socket, VhostDisk.QEMU_DEFAULT_QUEUES));
            return this;
        }

        /**
         * A disk whose backend may go away and come back: QEMU's chardev gets {@code reconnect=SECONDS}, so QEMU
         * keeps the guest running when the socket closes, retries the connection, and hands the backend its
         * inflight buffer again (vhost-user INFLIGHT_SHMFD) when it is back.
         */
        public Builder vhostUserBlkReconnecting(Path socket, int numQueues, int reconnectSeconds) {
            return vhostUserBlkReconnecting(socket, numQueues, reconnectSeconds, false);
        }

        /** As {@link #vhostUserBlkReconnecting(Path, int, int)}, with packed virtqueues when {@code packed}. */
        public Builder vhostUserBlkReconnecting(Path socket, int numQueues, int reconnectSeconds, boolean packed) {
            if (reconnectSeconds < 1) throw new IllegalArgumentException("reconnectSeconds >= 1: " + reconnectSeconds);
            disks.add(new VhostDisk(socket, numQueues, reconnectSeconds, packed));
            return this;
        }

        /**
         * Lets a reboot inside the guest restart the VM instead of ending QEMU (no {@code -no-reboot}). /init and the
         * script then run again: the script must tell the boots apart itself (a marker on a disk). A kernel panic
         * then reboots too, so such a guest ends only through its script's exit status or the timeout.
         */
        public Builder allowReboot() {
            this.allowReboot = true;
            return this;
        }

        /** QEMU user-mode network: the guest is 10.0.2.15 and reaches the host's loopback at 10.0.2.2. */
        public Builder userNetwork() {
            this.userNetwork = true;
            return this;
        }

        /**
         * User-mode network with a host port forwarded into the guest: a TCP connection to 127.0.0.1:{@code hostPort}
         * on the host reaches the guest's {@code guestPort} (slirp's hostfwd; only the host's loopback listens).
         */
        public Builder hostForward(int hostPort, int guestPort) {
            if (hostPort < 1 || hostPort > 65535 || guestPort < 1 || guestPort > 65535) {
                throw new IllegalArgumentException("ports 1..65535: " + hostPort + " -> " + guestPort);
            }
            this.userNetwork = true;
            hostForwards.add(",hostfwd=tcp:127.0.0.1:" + hostPort + "-:" + guestPort);
            return this;
        }

        /** The shell script /init runs (busybox sh, in /tmp); its exit status becomes the result's status. */
        public Builder script(String script) {
            this.script = Objects.requireNonNull(script);
            return this;
        }

        /** A host file the guest finds as /tmp/basalt/NAME before the script starts (fw_cfg: keep it small). */
        public Builder file(String name, Path hostFile) {
            if (!name.matches("[A-Za-z0-9_.-]+")) throw new IllegalArgumentException("file name: " + name);
            files.add(new String[] {name, hostFile.toAbsolutePath().toString()});
            return this;
        }

        public Builder kernelArgs(String extra) {
            this.extraKernelArgs = Objects.requireNonNull(extra);
            return this;
        }

        /** Raw QEMU arguments appended last (devices the builder does not know yet). */
        public Builder qemuArgs(String... args) {
            extraQemuArgs.addAll(List.of(args));
            return this;
        }

        public Builder timeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout: " + timeout);
            this.timeout = timeout;
            return this;
        }

        /** Where test.sh, console.log and qemu.log go (kept after the run); a fresh temporary folder by default. */
        public Builder workDir(Path dir) {
            this.workDir = dir;
            return this;
        }

        /** Called with each console line as it arrives, on the thread that called {@link #run()}. */
        public Builder consoleListener(Consumer<String> listener) {
            this.consoleListener = Objects.requireNonNull(listener);
            return this;
        }

        public Guest build() {
            return new Guest(this);
        }

        public GuestResult run() {
            return build().run();
        }
    }

    /** The full QEMU command line for a given work folder (exposed for logs and tests). */
    public List<String> command(Path workDir) {
        List<String> c = new ArrayList<>(List.of(
                GuestTools.qemu().toString(), "-nodefaults", "-no-user-config",
                "-machine", b.machine, "-accel", "tcg", "-cpu", "max",
                "-smp", String.valueOf(b.cpus), "-m", b.memoryMiB + "M",
                // vhost-user backends map guest RAM: it must be a shared fd, one NUMA node over it.
                "-object", "memory-backend-memfd,id=mem,size=" + b.memoryMiB + "M,share=on",
                "-numa", "node,memdev=mem",
                "-kernel", b.image.kernel().toString(),
                "-initrd", b.image.initrd().toString(),
                "-append", (KERNEL_ARGS + " " + b.extraKernelArgs).strip(),
                "-fw_cfg", "name=opt/basalt/test.sh,file=" + qemuEscape(workDir.resolve("test.sh").toString()),
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                "-display", "none",
                "-serial", "file:" + workDir.resolve("console.log")));
        if (!b.allowReboot) c.add("-no-reboot");
        for (String[] f : b.files) {
            c.addAll(List.of("-fw_cfg", "name=opt/basalt/files/" + f[0] + ",file=" + qemuEscape(f[1])));
        }
        for (int i = 0; i < b.disks.size(); i++) {
            VhostDisk d = b.disks.get(i);
            c.addAll(List.of("-chardev", "socket,id=vu" + i + ",path=" + qemuEscape(d.socket().toAbsolutePath().toString())
                            + (d.reconnectSeconds() > 0 ? ",reconnect=" + d.reconnectSeconds() : ""),
                    "-device", "vhost-user-blk-pci,chardev=vu" + i
                            + (d.numQueues() == VhostDisk.QEMU_DEFAULT_QUEUES ? "" : ",num-queues=" + d.numQueues())
                            + (d.packed() ? ",packed=on" : "")));
        }
        if (b.userNetwork) c.addAll(List.of("-nic", "user,model=virtio-net-pci" + String.join("", b.hostForwards)));
        c.addAll(b.extraQemuArgs);
        return c;
    }

    /** QEMU option values double a comma to keep it literal. */
    static String qemuEscape(String value) {
        return value.replace(",", ",,");
    }

    public GuestResult run() {
        try {
            Path dir = b.workDir != null ? Files.createDirectories(b.workDir) : Files.createTempDirectory("basalt-guest");
            Files.writeString(dir.resolve("test.sh"), b.script + "\n", StandardCharsets.UTF_8);
            Path console = dir.resolve("console.log");
            Path qemuLog = dir.resolve("qemu.log");
            Files.deleteIfExists(console);
            Files.writeString(console, "");
            List<String> cmd = command(dir);
            Files.writeString(dir.resolve("qemu.cmdline"), String.join(" ", cmd) + "\n");
            long start = System.nanoTime();
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(qemuLog.toFile()).start();
            p.getOutputStream().close();
            int exit = waitWhileTailing(p, console, start);
            Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
            return new GuestResult(exit, Files.readString(console, StandardCharsets.ISO_8859_1),
                    Files.readString(qemuLog, StandardCharsets.ISO_8859_1), elapsed);
        } catch (IOException e) {
            throw new IllegalStateException("could not run QEMU: " + e.getMessage(), e);
        }
    }

    private int waitWhileTailing(Process p, Path console, long startNs) throws IOException {
        long deadlineNs = startNs + b.timeout.toNanos();
        try (RandomAccessFile in = new RandomAccessFile(console.toFile(), "r")) {
            StringBuilder partial = new StringBuilder();
            while (true) {
                boolean exited = p.waitFor(POLL_MS, TimeUnit.MILLISECONDS);
                deliver(in, partial);
                if (exited) {
                    if (!partial.isEmpty()) b.consoleListener.accept(partial.toString());
                    return p.exitValue();
                }
                if (System.nanoTime() > deadlineNs) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    String log = Files.readString(console.resolveSibling("qemu.log"), StandardCharsets.ISO_8859_1);
                    GuestResult partialResult = new GuestResult(-1, Files.readString(console, StandardCharsets.ISO_8859_1),
                            log, b.timeout);
                    throw new AssertionError("guest timed out after " + b.timeout.toSeconds() + " s and was killed: "
                            + partialResult.describe());
                }
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the guest ran", e);
        }
    }

    /** Reads what the console file gained and hands complete lines to the listener. */
    private void deliver(RandomAccessFile in, StringBuilder partial) throws IOException {
        long available = in.length() - in.getFilePointer();
        if (available <= 0) return;
        byte[] bytes = new byte[(int) Math.min(available, 1 << 20)];
        in.readFully(bytes);
        partial.append(new String(bytes, StandardCharsets.ISO_8859_1));
        int nl;
        while ((nl = partial.indexOf("\n")) >= 0) {
            b.consoleListener.accept(partial.substring(0, nl).replace("\r", ""));
            partial.delete(0, nl + 1);
        }
    }
}
