package io.basalt.qemu;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

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

    /**
     * A guest run shared by several tests of a class (a TCG boot costs seconds): computed by the first test that asks,
     * then handed to the others. A failure is kept too, so every test that shares the run fails with it.
     */
    static <T> Supplier<T> once(Callable<T> run) {
        return new Supplier<>() {
            private T value;
            private Throwable failure;
            private boolean done;

            @Override
            public synchronized T get() {
                if (!done) {
                    done = true;
                    try {
                        value = run.call();
                    } catch (Throwable t) {
                        failure = t;
                    }
                }
                if (failure != null) throw new AssertionError("the shared guest run failed: " + failure.getMessage(), failure);
                return value;
            }
        };
    }

    static void timing(String what, long millis) {
        System.out.printf("[timing] %s: %d ms%n", what, millis);
    }
}
