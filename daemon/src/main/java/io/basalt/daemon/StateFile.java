package io.basalt.daemon;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * A file replaced atomically: the new text goes to {@code NAME.tmp} in the same folder, which is fsynced, renamed
 * over {@code NAME}, and the folder fsynced (the rename is only durable once the directory entry is). A crash at
 * any point leaves the old file or the new one, whole, never a mix; a crash before the rename leaves a
 * {@code NAME.tmp} that nothing reads and the next write replaces.
 */
final class StateFile {
    static final String TEMP_SUFFIX = ".tmp";

    private StateFile() {}

    /** Replaces {@code file} with {@code bytes}, durably. */
    static void write(Path file, byte[] bytes) throws IOException {
        Path temp = writeTemp(file, bytes);
        commit(temp, file);
    }

    /** Step 1: the whole new text in {@code NAME.tmp}, on disk. Returns the temp file. */
    static Path writeTemp(Path file, byte[] bytes) throws IOException {
        Path temp = tempOf(file);
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) channel.write(buffer);
            channel.force(true);
        }
        return temp;
    }

    /** Step 2: rename over the old file (atomic on POSIX), then fsync the folder so the rename survives a crash. */
    static void commit(Path temp, Path file) throws IOException {
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Path folder = file.toAbsolutePath().getParent();
        try (FileChannel directory = FileChannel.open(folder, StandardOpenOption.READ)) {
            directory.force(true);
        }
    }

    static Path tempOf(Path file) {
        return file.resolveSibling(file.getFileName() + TEMP_SUFFIX);
    }
}
