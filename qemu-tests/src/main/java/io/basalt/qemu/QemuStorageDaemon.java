package io.basalt.qemu;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * qemu-storage-daemon exporting a raw image file over vhost-user-blk: the reference backend Basalt is tested and
 * measured against. The image is opened with io_uring and O_DIRECT (cache.direct=on), as platform.md records, and
 * the export runs in an iothread of its own (QEMU's advice for vhost-user-blk exports; without one it shares the
 * main loop with the monitor and timers): its fair set-up.
 * <pre>{@code
 * try (QemuStorageDaemon qsd = QemuStorageDaemon.start(image, dir.resolve("qsd.sock"), 2)) {
 *     Guest.builder(GuestTools.guest()).vhostUserBlk(qsd.socket(), 2).script("...").run().assertSuccess();
 * }
 * }</pre>
 */
public final class QemuStorageDaemon implements VhostBackend {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(20);
    private final ProcessBackend process;

    private QemuStorageDaemon(ProcessBackend process) {
        this.process = process;
    }

    /** Exports {@code image} (an existing raw file) on {@code socket}; logs to SOCKET.log. */
    public static QemuStorageDaemon start(Path image, Path socket, int numQueues) {
        return start(image, socket, numQueues, socket.resolveSibling(socket.getFileName() + ".log"));
    }

    public static QemuStorageDaemon start(Path image, Path socket, int numQueues, Path log) {
        if (!Files.isRegularFile(image)) throw new IllegalArgumentException("no image file at " + image);
        return new QemuStorageDaemon(ProcessBackend.start("qemu-storage-daemon",
                command(GuestTools.storageDaemon(), image, socket, numQueues), socket, log, START_TIMEOUT));
    }

    /** The command line, for benchmarks that launch it themselves. */
    public static List<String> command(Path binary, Path image, Path socket, int numQueues) {
        if (numQueues < 1) throw new IllegalArgumentException("numQueues >= 1: " + numQueues);
        return commandTemplate(binary, Guest.qemuEscape(image.toAbsolutePath().toString()),
                Guest.qemuEscape(socket.toAbsolutePath().toString()), String.valueOf(numQueues));
    }

    /** The command line with the image, socket and queue count given as text (placeholders in a template). */
    public static List<String> commandTemplate(Path binary, String image, String socket, String numQueues) {
        return commandForBlockdev(binary, "driver=file,filename=" + image + ",aio=io_uring,cache.direct=on", socket, numQueues);
    }

    /**
     * Any block node ({@code blockdev}: QEMU's --blockdev options without node-name, e.g. "driver=null-co,size=N"
     * or "driver=host_device,filename=/dev/zram1,aio=io_uring,cache.direct=on") exported the same way.
     */
    public static List<String> commandForBlockdev(Path binary, String blockdev, String socket, String numQueues) {
        return List.of(binary.toString(),
                "--object", "iothread,id=io0",
                "--blockdev", "node-name=f0," + blockdev,
                "--export", "type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=" + socket
                        + ",writable=on,num-queues=" + numQueues + ",iothread=io0");
    }

    @Override
    public String name() {
        return "qemu-storage-daemon";
    }

    @Override
    public Path socket() {
        return process.socket();
    }

    @Override
    public long pid() {
        return process.pid();
    }

    public String logText() {
        return process.logText();
    }

    @Override
    public void close() {
        process.close();
    }
}
