package io.basalt.vhost.frontend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * qemu-storage-daemon exporting one block node as vhost-user-blk on a unix socket: the reference back-end for the
 * front-end tests. Tests using it are skipped (with the reason in their name) where it is not installed.
 */
final class QsdServer implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/bin/qemu-storage-daemon");
    private static final long START_TIMEOUT_MS = 10_000;

    final Path dir;
    final String socketPath;
    final Process process;

    static boolean available() {
        return Files.isExecutable(BINARY);
    }

    /** Starts QSD with {@code blockdev} (the --blockdev value, node name n0) exported writable with {@code queues} queues. */
    QsdServer(String blockdev, int queues) throws IOException, InterruptedException {
        dir = Files.createTempDirectory("basalt-qsd");
        socketPath = dir.resolve("qsd.sock").toString();
        List<String> cmd = new ArrayList<>(List.of(BINARY.toString(), "--blockdev", blockdev + ",node-name=n0",
                "--export", "type=vhost-user-blk,id=e0,node-name=n0,addr.type=unix,addr.path=" + socketPath + ",writable=on,num-queues=" + queues));
        process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("qsd.log").toFile()).start();
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        while (!Files.exists(Path.of(socketPath))) {
            if (!process.isAlive() || System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("qemu-storage-daemon did not start: " + Files.readString(dir.resolve("qsd.log")));
            }
            Thread.sleep(10);
        }
    }

    /** A file of {@code bytes} in the server's directory, for blockdevs whose data the tests check. */
    static Path dataFile(Path dir, long bytes) throws IOException {
        Path f = dir.resolve("disk.img");
        try (var raf = new java.io.RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(bytes);
        }
        return f;
    }

    /** SIGKILL: the back-end dies with requests in flight, as a crash would. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) kill();
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) Files.deleteIfExists(p);
        }
        Files.deleteIfExists(dir);
    }
}
