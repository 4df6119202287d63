package io.basalt.shims;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The libc downcalls against the real kernel: results, -errno on failure, and errno captured per thread. */
class LibcTest {
    private static final int RW_CREATE = Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC;

    @TempDir Path dir;

    @Test
    void openOfAMissingFileReturnsMinusEnoent() {
        assertEquals(-Errno.ENOENT, Libc.open(dir.resolve("missing").toString(), Libc.O_RDONLY, 0));
    }

    @Test
    void closeOfABadFdReturnsMinusEbadf() {
        assertEquals(-Errno.EBADF, Libc.close(-1));
        int fd = NativeException.check(Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC, 0), "open /dev/null");
        assertEquals(0, Libc.close(fd));
        assertEquals(-Errno.EBADF, Libc.close(fd), "second close of the same fd");
    }

    @Test
    void eventfdWriteThenReadRoundTrip() {
        int fd = NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cell = arena.allocate(JAVA_LONG);
            assertEquals(-Errno.EAGAIN, Libc.read(fd, cell, 8), "empty non-blocking eventfd");
            cell.set(JAVA_LONG, 0, 5);
            assertEquals(8, Libc.write(fd, cell, 8));
            cell.set(JAVA_LONG, 0, 37);
            assertEquals(8, Libc.write(fd, cell, 8));
            cell.set(JAVA_LONG, 0, 0);
            assertEquals(8, Libc.read(fd, cell, 8));
            assertEquals(42, cell.get(JAVA_LONG, 0), "the counter sums the writes");
            assertEquals(-Errno.EAGAIN, Libc.read(fd, cell, 8), "a read resets the counter");
            assertEquals(-Errno.EINVAL, Libc.read(fd, cell, 4), "eventfd reads are 8 bytes");
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void memfdCreateFtruncateFstatSize() {
        int fd = NativeException.check(Libc.memfdCreate("basalt-test", Libc.MFD_CLOEXEC), "memfd_create");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment stat = arena.allocate(Stat.SIZE, 8);
            assertEquals(0, Libc.fstat(fd, stat));
            assertEquals(0, stat.get(JAVA_LONG, Stat.ST_SIZE_OFFSET));
            long sizeBytes = 3L * 1024 * 1024 + 512;
            assertEquals(0, Libc.ftruncate(fd, sizeBytes));
            assertEquals(0, Libc.fstat(fd, stat));
            assertEquals(sizeBytes, stat.get(JAVA_LONG, Stat.ST_SIZE_OFFSET));
            assertEquals(Stat.S_IFREG, stat.get(JAVA_INT, Stat.ST_MODE_OFFSET) & Stat.S_IFMT, "a memfd is a regular file");
            assertTrue(stat.get(JAVA_LONG, Stat.ST_BLKSIZE_OFFSET) > 0, "st_blksize");
            assertEquals(-Errno.EBADF, Libc.fstat(-1, stat));
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void mmapAndMunmapOfAnonymousMemory() {
        long lengthBytes = 1 << 20;
        long address = Libc.mmap(0, lengthBytes, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        assertTrue(address > 0, "mmap returned " + address);
        assertEquals(0, address & 4095, "page aligned");
        MemorySegment memory = Libc.segment(address, lengthBytes);
        assertEquals(0, memory.get(JAVA_LONG, lengthBytes - 8), "anonymous memory starts zeroed");
        memory.fill((byte) 0x5A);
        assertEquals((byte) 0x5A, memory.get(JAVA_BYTE, 12345));
        // MADV_DONTNEED on private anonymous memory drops the pages: they read back as zeroes.
        assertEquals(0, Libc.madvise(address, 4096, Libc.MADV_DONTNEED));
        assertEquals(0, memory.get(JAVA_LONG, 0));
        assertEquals((byte) 0x5A, memory.get(JAVA_BYTE, 4096));
        assertEquals(0, Libc.munmap(address, lengthBytes));
        assertEquals(-Errno.EINVAL, Libc.munmap(address + 1, 4096), "unaligned munmap");
        assertEquals(-Errno.EINVAL, Libc.mmap(0, 0, Libc.PROT_READ, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0),
                "zero-length mmap");
    }

    @Test
    void fallocatePunchHoleZeroesTheRangeAndKeepsTheSize() {
        int fd = NativeException.check(Libc.open(dir.resolve("holes").toString(), RW_CREATE, 0644), "open");
        int fileBytes = 1 << 20;
        int holeOffsetBytes = 64 * 1024;
        int holeBytes = 128 * 1024;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(fileBytes, 4096);
            data.fill((byte) 0xAB);
            assertEquals(fileBytes, Libc.write(fd, data, fileBytes));
            int r = Libc.fallocate(fd, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, holeOffsetBytes, holeBytes);
            assertEquals(0, r, "punch hole on " + dir + ": " + Errno.name(r));
            assertEquals(-Errno.EOPNOTSUPP, Libc.fallocate(fd, Libc.FALLOC_FL_PUNCH_HOLE, 0, 4096),
                    "PUNCH_HOLE without KEEP_SIZE is refused");

            MemorySegment stat = arena.allocate(Stat.SIZE, 8);
            assertEquals(0, Libc.fstat(fd, stat));
            assertEquals(fileBytes, stat.get(JAVA_LONG, Stat.ST_SIZE_OFFSET), "KEEP_SIZE");

            int readFd = NativeException.check(Libc.open(dir.resolve("holes").toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0), "open");
            try {
                MemorySegment back = arena.allocate(fileBytes, 4096);
                assertEquals(fileBytes, Libc.read(readFd, back, fileBytes));
                for (int i = 0; i < fileBytes; i += 512) {
                    boolean inHole = i >= holeOffsetBytes && i < holeOffsetBytes + holeBytes;
                    assertEquals(inHole ? 0 : (byte) 0xAB, back.get(JAVA_BYTE, i), "byte " + i);
                }
            } finally {
                Libc.close(readFd);
            }
        } finally {
            Libc.close(fd);
        }
    }

    /**
     * Two threads fail at the same time with different errnos, many times over: each must see its own, since
     * the capture buffer is per thread. A shared buffer would mix them up under this interleaving.
     */
    @Test
    @Timeout(60)
    void errnoIsPerThread() throws Exception {
        int rounds = 20_000;
        CyclicBarrier barrier = new CyclicBarrier(2);
        AtomicReference<String> error = new AtomicReference<>();
        String missing = dir.resolve("missing").toString();
        Thread enoent = Thread.ofPlatform().start(() -> repeat(rounds, barrier, error,
                () -> Libc.open(missing, Libc.O_RDONLY, 0), -Errno.ENOENT));
        Thread ebadf = Thread.ofPlatform().start(() -> repeat(rounds, barrier, error,
                () -> Libc.close(-1), -Errno.EBADF));
        enoent.join();
        ebadf.join();
        assertNull(error.get());
    }

    private static void repeat(int rounds, CyclicBarrier barrier, AtomicReference<String> error,
                               java.util.function.IntSupplier call, int expected) {
        try {
            for (int i = 0; i < rounds && error.get() == null; i++) {
                if (i % 100 == 0) barrier.await(10, java.util.concurrent.TimeUnit.SECONDS); // line the threads up now and then, so the calls overlap
                int r = call.getAsInt();
                if (r != expected) error.compareAndSet(null, "round " + i + ": expected " + Errno.name(expected) + ", got " + r);
            }
        } catch (Exception e) {
            error.compareAndSet(null, e.toString());
        } finally {
            barrier.reset(); // releases the other thread if this one stopped early
        }
    }
}
