package io.basalt.engine.conformance;

import io.basalt.shims.Errno;
import io.basalt.shims.Libc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Folders for test files that uring devices open with O_DIRECT. /tmp may be a tmpfs, which refuses
 * O_DIRECT (EINVAL): then the files go under the build folder (target/test-files) instead.
 */
public final class TestFiles {
    private TestFiles() {}

    /** A new empty folder on a file system that takes O_DIRECT. */
    public static Path directIoFolder(String prefix) {
        try {
            Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
            if (supportsDirectIo(tmp)) return Files.createTempDirectory(tmp, prefix);
            Path build = Path.of("target", "test-files").toAbsolutePath();
            Files.createDirectories(build);
            return Files.createTempDirectory(build, prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether a file in {@code folder} opens with O_DIRECT. */
    public static boolean supportsDirectIo(Path folder) throws IOException {
        Path probe = Files.createTempFile(folder, "odirect", ".probe");
        try {
            int fd = Libc.open(probe.toString(), Libc.O_RDWR | Libc.O_DIRECT | Libc.O_CLOEXEC, 0600);
            if (fd >= 0) Libc.close(fd);
            else if (fd != -Errno.EINVAL) throw new IOException("probing O_DIRECT in " + folder + ": " + Errno.name(fd));
            return fd >= 0;
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    public static void deleteTree(Path folder) throws IOException {
        if (folder == null || !Files.exists(folder)) return;
        try (Stream<Path> paths = Files.walk(folder)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
