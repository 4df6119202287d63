package io.basalt.qemu;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;

/** Shared helpers for guest tests: per-test work folders under target/ (kept for post-mortems) and disk images. */
final class GuestTests {
    private GuestTests() {}

    /** target/qemu-tests/NAME, emptied: test.sh, console.log, qemu.log, backend logs and images of one test. */
    static Path workDir(String name) {
        Path dir = Path.of("target", "qemu-tests", name).toAbsolutePath();
        try {
            if (Files.exists(dir)) {
                try (var walk = Files.walk(dir)) {
                    walk.sorted(java.util.Comparator.reverseOrder()).filter(p -> !p.equals(dir)).forEach(p -> p.toFile().delete());
                }
            }
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A raw image of {@code sizeBytes}, every block written with seeded pseudo-random bytes: reads then hit real
     * extents (a sparse or fallocated file reads zeros without touching the disk and flatters any backend).
     */
    static Path filledImage(Path file, long sizeBytes, long seed) {
        int chunk = 1 << 20;
        if (sizeBytes % chunk != 0) throw new IllegalArgumentException("image size must be whole MiB: " + sizeBytes);
        SplittableRandom random = new SplittableRandom(seed);
        ByteBuffer buf = ByteBuffer.allocateDirect(chunk);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            for (long off = 0; off < sizeBytes; off += chunk) {
                buf.clear();
                while (buf.hasRemaining()) buf.putLong(random.nextLong());
                buf.flip();
                while (buf.hasRemaining()) ch.write(buf, off + buf.position());
            }
            ch.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void timing(String what, long millis) {
        System.out.printf("[timing] %s: %d ms%n", what, millis);
    }
}
