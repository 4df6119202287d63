package io.basalt.shims;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * UnixSocket against the real kernel: a listener, a client and the accepted connection in a temporary directory,
 * messages with and without fds, refused fd floods, peer close, partial reads and allocation-free receives.
 */
@Timeout(30)
class UnixSocketTest {
    private static final int PAGE_BYTES = 4096;

    @TempDir Path dir;

    private final Arena arena = Arena.ofConfined();
    private final List<Integer> openFds = new ArrayList<>();
    private final UnixSocket.Receiver receiver = new UnixSocket.Receiver();
    private final int[] fdsOut = new int[UnixSocket.FDS_MAX];
    private int listenFd = -1;
    private int server = -1;
    private int client = -1;

    @AfterEach
    void closeEverything() {
        for (int fd : openFds) Libc.close(fd);
        receiver.close();
        arena.close();
    }

    private int track(int fd) {
        openFds.add(fd);
        return fd;
    }

    /** listen, connect (completes against the backlog), accept. */
    private void connectPair() {
        String path = dir.resolve("vhost.sock").toString();
        listenFd = track(NativeException.check(UnixSocket.listen(path, 4), "listen"));
        client = track(NativeException.check(UnixSocket.connect(path), "connect"));
        server = track(NativeException.check(UnixSocket.accept(listenFd), "accept"));
    }

    private MemorySegment text(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        MemorySegment segment = arena.allocate(bytes.length);
        MemorySegment.copy(bytes, 0, segment, JAVA_BYTE, 0, bytes.length);
        return segment;
    }

    private static String text(MemorySegment segment, long lengthBytes) {
        return new String(segment.asSlice(0, lengthBytes).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
    }

    /** A one-page memfd holding {@code content} at offset 0. */
    private int memfd(String name, String content) {
        int fd = track(NativeException.check(Libc.memfdCreate(name, Libc.MFD_CLOEXEC), "memfd_create"));
        assertEquals(0, Libc.ftruncate(fd, PAGE_BYTES));
        MemorySegment bytes = text(content);
        assertEquals(bytes.byteSize(), Libc.write(fd, bytes, bytes.byteSize()));
        return fd;
    }

    /** Reads the first bytes of the file behind fd through a shared mapping (independent of the file offset). */
    private static String mapped(int fd, int lengthBytes) {
        long address = Libc.mmap(0, PAGE_BYTES, Libc.PROT_READ, Libc.MAP_SHARED, fd, 0);
        assertTrue(address > 0, "mmap: " + Errno.name(address));
        try {
            return text(Libc.segment(address, PAGE_BYTES), lengthBytes);
        } finally {
            Libc.munmap(address, PAGE_BYTES);
        }
    }

    private static String target(int fd) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
    }

    /** /proc/self/fd entries whose target contains {@code part} (the listing's own fd comes and goes: skipped). */
    private static long fdsNamed(String part) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(p -> {
                try {
                    return Files.readSymbolicLink(p).toString().contains(part);
                } catch (IOException gone) {
                    return false;
                }
            }).count();
        }
    }

    private static boolean closeOnExec(int fd) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
            if (line.startsWith("flags:")) return (Long.parseLong(line.substring(6).trim(), 8) & Libc.O_CLOEXEC) != 0;
        }
        throw new AssertionError("no flags line for fd " + fd);
    }

    private long receive(int fd, MemorySegment buffer) {
        return receiver.receive(fd, buffer, buffer.byteSize(), fdsOut);
    }

    private void trackReceived() {
        for (int i = 0; i < receiver.fdCount(); i++) track(fdsOut[i]);
    }

    // ---------------------------------------------------------------- connections

    @Test
    void listenConnectAcceptRoundTripBothWays() throws IOException {
        connectPair();
        assertTrue(closeOnExec(listenFd) && closeOnExec(client) && closeOnExec(server), "sockets are close-on-exec");
        MemorySegment hello = text("hello, backend");
        assertEquals(hello.byteSize(), UnixSocket.send(client, hello, hello.byteSize(), new int[0], 0));
        MemorySegment buffer = arena.allocate(256);
        assertEquals(hello.byteSize(), receive(server, buffer));
        assertEquals("hello, backend", text(buffer, hello.byteSize()));
        assertEquals(0, receiver.fdCount());

        MemorySegment reply = text("ack");
        assertEquals(3, UnixSocket.send(server, reply, 3, new int[0], 0));
        assertEquals(3, receive(client, buffer));
        assertEquals("ack", text(buffer, 3));
    }

    @Test
    void pathRules() {
        String base = dir.toString() + "/";
        assertTrue(base.length() < 100, "temporary directory too deep for this test: " + base);
        String longest = base + "s".repeat(SocketAbi.SUN_PATH_SIZE - 1 - base.length());
        assertEquals(107, longest.length());
        assertEquals(-Errno.ENAMETOOLONG, UnixSocket.listen(longest + "x", 1), "108 bytes leave no room for the NUL");
        assertEquals(-Errno.ENAMETOOLONG, UnixSocket.connect(longest + "x"));
        assertEquals(-Errno.ENAMETOOLONG, UnixSocket.listen(base + "é".repeat(60), 1), "the limit is in UTF-8 bytes");
        assertEquals(-Errno.EINVAL, UnixSocket.listen("", 1));
        assertEquals(-Errno.EINVAL, UnixSocket.connect("\0abstract"));

        listenFd = track(NativeException.check(UnixSocket.listen(longest, 1), "listen on a 107-byte path"));
        client = track(NativeException.check(UnixSocket.connect(longest), "connect to a 107-byte path"));
        assertTrue(Files.exists(Path.of(longest)));
    }

    @Test
    void listenOnAnExistingPathFailsAndUnlinksNothing() throws IOException {
        connectPair();
        String path = dir.resolve("vhost.sock").toString();
        assertEquals(-Errno.EADDRINUSE, UnixSocket.listen(path, 1), "a live socket file");
        Path plain = Files.writeString(dir.resolve("plain"), "keep me");
        assertEquals(-Errno.EADDRINUSE, UnixSocket.listen(plain.toString(), 1), "a regular file");
        assertEquals("keep me", Files.readString(plain));
        assertEquals(-Errno.ENOENT, UnixSocket.connect(dir.resolve("missing").toString()));
    }

    @Test
    void connectToAStaleSocketFileIsRefused() {
        String path = dir.resolve("stale.sock").toString();
        int fd = NativeException.check(UnixSocket.listen(path, 1), "listen");
        assertEquals(0, Libc.close(fd));
        assertEquals(-Errno.ECONNREFUSED, UnixSocket.connect(path), "the file outlives its listener");
        assertEquals(0, Libc.unlink(path));
        assertEquals(-Errno.ENOENT, UnixSocket.connect(path));
        assertEquals(-Errno.ENOENT, Libc.unlink(path));
    }

    @Test
    void chmodAndChownOfTheSocketFile() throws IOException {
        connectPair();
        String path = dir.resolve("vhost.sock").toString();
        assertEquals(0, Libc.chmod(path, 0600));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of(path))));
        assertEquals(0, Libc.chown(path, Libc.getuid(), Libc.getgid()), "to ourselves is always allowed");
        assertEquals(0, Libc.chown(path, -1, -1), "-1 leaves both unchanged");
        assertEquals(Libc.getuid(), (int) Files.getAttribute(Path.of(path), "unix:uid"));
        assertEquals(-Errno.ENOENT, Libc.chmod(dir.resolve("missing").toString(), 0600));
    }

    // ---------------------------------------------------------------- fds

    @Test
    void threeMemfdsArriveAsNewFdsForTheSameFiles() throws IOException {
        connectPair();
        int[] sent = {memfd("basalt-three-0", "zero"), memfd("basalt-three-1", "one"), memfd("basalt-three-2", "two")};
        MemorySegment message = text("SET_MEM_TABLE");
        assertEquals(message.byteSize(), UnixSocket.send(client, message, message.byteSize(), sent, 3));

        MemorySegment buffer = arena.allocate(64);
        assertEquals(message.byteSize(), receive(server, buffer));
        trackReceived();
        assertEquals(3, receiver.fdCount());
        Set<Integer> numbers = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            int received = fdsOut[i];
            for (int s : sent) assertNotEquals(s, received, "a received fd is a new number");
            numbers.add(received);
            assertEquals(target(sent[i]), target(received), "fd " + i + " names the same file");
            assertTrue(closeOnExec(received), "MSG_CMSG_CLOEXEC");
        }
        assertEquals(3, numbers.size());

        // Written through the sender's fd, read through the receiver's; and the other way round.
        assertEquals("zero", mapped(fdsOut[0], 4));
        assertEquals("one", mapped(fdsOut[1], 3));
        MemorySegment more = text("+two");
        assertEquals(4, Libc.write(fdsOut[2], more, 4), "appends: the open file description (and offset) is shared");
        assertEquals("two+two", mapped(sent[2], 7));
    }

    @Test
    void eightFdsAtOnce() throws IOException {
        connectPair();
        int[] sent = new int[8];
        for (int i = 0; i < 8; i++) sent[i] = memfd("basalt-eight-" + i, "region " + i);
        MemorySegment message = text("eight");
        assertEquals(5, UnixSocket.send(client, message, 5, sent, 8));
        MemorySegment buffer = arena.allocate(64);
        assertEquals(5, receive(server, buffer));
        trackReceived();
        assertEquals(8, receiver.fdCount());
        for (int i = 0; i < 8; i++) {
            assertEquals(target(sent[i]), target(fdsOut[i]), "order kept");
            assertEquals("region " + i, mapped(fdsOut[i], 8));
        }
        assertThrows(IllegalStateException.class, () -> UnixSocket.send(client, message, 5, new int[9], 9),
                "send takes at most FDS_MAX fds");
    }

    @Test
    void moreFdsThanTheRoomAreRefusedAndNothingLeaks() throws IOException {
        connectPair();
        for (int count : new int[] {9, 16}) {
            String name = "basalt-flood-" + count + "-";
            int[] sent = new int[count];
            for (int i = 0; i < count; i++) sent[i] = memfd(name + i, "x");
            assertEquals(count, fdsNamed(name));
            MemorySegment message = text("flood");
            try (UnixSocket.Sender bigSender = new UnixSocket.Sender(count)) {
                assertEquals(5, bigSender.send(client, message, 5, sent, count), "the kernel takes up to 253 fds");
            }
            Arrays.fill(fdsOut, 12345);
            long before = receiver.truncatedCount();
            assertEquals(-Errno.EMSGSIZE, receive(server, arena.allocate(64)));
            assertEquals(0, receiver.fdCount());
            assertEquals(before + 1, receiver.truncatedCount());
            for (int fd : fdsOut) assertTrue(fd == -1 || fd == 12345, "no live fd is handed out: " + fd);
            for (int fd : sent) {
                assertEquals(0, Libc.close(fd));
                openFds.remove(Integer.valueOf(fd));
            }
            assertEquals(0, fdsNamed(name), "every received fd was closed: /proc/self/fd has none of " + name);
        }
    }

    @Test
    void aMessageWithNoFdsLeavesFdsOutAlone() {
        connectPair();
        Arrays.fill(fdsOut, 777);
        MemorySegment message = text("GET_FEATURES");
        assertEquals(message.byteSize(), UnixSocket.send(client, message, message.byteSize(), new int[UnixSocket.FDS_MAX], 0));
        assertEquals(message.byteSize(), receive(server, arena.allocate(64)));
        assertEquals(0, receiver.fdCount());
        for (int fd : fdsOut) assertEquals(777, fd);
    }

    // ---------------------------------------------------------------- stream behaviour

    @Test
    void peerCloseReadsAsZeroAndSendingToItIsEpipe() {
        connectPair();
        MemorySegment last = text("bye");
        assertEquals(3, UnixSocket.send(client, last, 3, new int[0], 0));
        assertEquals(0, Libc.close(client));
        openFds.remove(Integer.valueOf(client));
        MemorySegment buffer = arena.allocate(64);
        assertEquals(3, receive(server, buffer), "data sent before the close still arrives");
        assertEquals(0, receive(server, buffer), "then end of stream");
        assertEquals(0, receive(server, buffer), "and it stays there");
        assertEquals(-Errno.EPIPE, UnixSocket.send(server, last, 3, new int[0], 0), "MSG_NOSIGNAL: no SIGPIPE");
    }

    @Test
    void partialReadsReturnWhatIsThere() {
        connectPair();
        MemorySegment buffer = arena.allocate(1000);
        MemorySegment small = text("x".repeat(100));
        assertEquals(100, UnixSocket.send(client, small, 100, new int[0], 0));
        assertEquals(100, receive(server, buffer), "fewer bytes than asked: what is there");

        // A 300-byte message read 128 bytes at a time; its fd comes with the first piece.
        int memfd = memfd("basalt-piece", "p");
        MemorySegment message = arena.allocate(300);
        for (int i = 0; i < 300; i++) message.set(JAVA_BYTE, i, (byte) i);
        assertEquals(300, UnixSocket.send(client, message, 300, new int[] {memfd}, 1));
        long[] pieces = new long[3];
        int[] fdCounts = new int[3];
        for (int i = 0; i < 3; i++) {
            pieces[i] = receiver.receive(server, buffer.asSlice(128L * i), 128, fdsOut);
            fdCounts[i] = receiver.fdCount();
            trackReceived();
        }
        assertArrayEquals(new long[] {128, 128, 44}, pieces);
        assertArrayEquals(new int[] {1, 0, 0}, fdCounts);
        assertEquals(-1, buffer.asSlice(0, 300).mismatch(message), "the pieces join up to the message");
    }

    @Test
    void aBigMessageArrivesInPieces() throws InterruptedException {
        connectPair();
        try (Arena shared = Arena.ofShared()) {
            bigMessage(shared);
        }
    }

    private void bigMessage(Arena shared) throws InterruptedException {
        long totalBytes = 4L << 20; // far beyond the socket buffer: the sender blocks until the reader catches up
        MemorySegment outgoing = shared.allocate(totalBytes, 8);
        for (long i = 0; i < totalBytes; i += 8) outgoing.set(JAVA_LONG, i, i);
        AtomicLong sentBytes = new AtomicLong();
        Thread sender = Thread.ofPlatform().start(() -> {
            long done = 0;
            while (done < totalBytes) {
                long n = UnixSocket.send(client, outgoing.asSlice(done), totalBytes - done, new int[0], 0);
                if (n < 0) break;
                done += n;
            }
            sentBytes.set(done);
        });
        MemorySegment incoming = shared.allocate(totalBytes, 8);
        long readBytes = 0;
        int pieces = 0;
        long pieceBytes = 64 * 1024;
        while (readBytes < totalBytes) {
            long want = Math.min(pieceBytes, totalBytes - readBytes);
            long n = receiver.receive(server, incoming.asSlice(readBytes), want, fdsOut);
            assertTrue(n > 0 && n <= want, "piece " + pieces + ": " + n);
            readBytes += n;
            pieces++;
        }
        sender.join();
        assertEquals(totalBytes, sentBytes.get());
        assertTrue(pieces >= totalBytes / pieceBytes, "pieces: " + pieces);
        assertEquals(-1, incoming.mismatch(outgoing));
    }

    @Test
    void dontWaitOnAnEmptySocketIsEagain() {
        connectPair();
        MemorySegment buffer = arena.allocate(16);
        assertEquals(-Errno.EAGAIN, receiver.receive(server, buffer, 16, fdsOut, SocketAbi.MSG_DONTWAIT));
        assertThrows(IllegalStateException.class, () -> receiver.receive(server, buffer, 16, fdsOut, SocketAbi.MSG_NOSIGNAL));
        assertThrows(IllegalStateException.class, () -> receiver.receive(server, buffer, 0, fdsOut),
                "a zero-length receive would look like end of stream");
        assertThrows(IllegalStateException.class, () -> receiver.receive(server, buffer, 16, new int[7]));
        assertThrows(IllegalStateException.class, () -> receiver.receive(server, MemorySegment.ofArray(new byte[16]), 16, fdsOut));
    }

    @Test
    void pollWaitsWithATimeout() {
        String path = dir.resolve("poll.sock").toString();
        listenFd = track(NativeException.check(UnixSocket.listen(path, 1), "listen"));
        assertEquals(0, Libc.poll(listenFd, Libc.POLLIN, 20), "no connection yet: timeout");
        client = track(NativeException.check(UnixSocket.connect(path), "connect"));
        assertEquals(Libc.POLLIN, Libc.poll(listenFd, Libc.POLLIN, 1000) & Libc.POLLIN, "a connection to accept");
        server = track(NativeException.check(UnixSocket.accept(listenFd), "accept"));

        assertEquals(0, Libc.poll(server, Libc.POLLIN, 0), "no data");
        assertEquals(Libc.POLLOUT, Libc.poll(server, Libc.POLLOUT, 0), "room to write");
        MemorySegment one = text("1");
        assertEquals(1, UnixSocket.send(client, one, 1, new int[0], 0));
        assertEquals(Libc.POLLIN, Libc.poll(server, Libc.POLLIN, 1000));
        assertEquals(1, receive(server, arena.allocate(8)));
        assertEquals(0, UnixSocket.shutdown(client));
        assertTrue((Libc.poll(server, Libc.POLLIN, 1000) & (Libc.POLLIN | Libc.POLLHUP)) != 0, "peer shut down");
    }

    @Test
    void shutdownWakesABlockedAcceptAndABlockedReceive() throws InterruptedException {
        connectPair();
        AtomicLong acceptResult = new AtomicLong(Long.MIN_VALUE);
        AtomicLong receiveResult = new AtomicLong(Long.MIN_VALUE);
        Thread acceptor = Thread.ofPlatform().start(() -> acceptResult.set(UnixSocket.accept(listenFd)));
        Thread reader = Thread.ofPlatform().start(() -> {
            try (UnixSocket.Receiver own = new UnixSocket.Receiver(); Arena local = Arena.ofConfined()) {
                receiveResult.set(own.receive(server, local.allocate(16), 16, new int[UnixSocket.FDS_MAX]));
            }
        });
        Thread.sleep(100); // let both block in the kernel
        assertEquals(0, UnixSocket.shutdown(listenFd));
        assertEquals(0, UnixSocket.shutdown(server));
        acceptor.join(5000);
        reader.join(5000);
        assertFalse(acceptor.isAlive() || reader.isAlive(), "shutdown woke both threads");
        assertEquals(-Errno.EINVAL, acceptResult.get(), "accept on a shut-down listener");
        assertEquals(0, receiveResult.get(), "receive on a shut-down connection: end of stream");
        assertEquals(-Errno.ENOTSOCK, UnixSocket.shutdown(memfd("basalt-not-a-socket", "n")));
    }

    // ---------------------------------------------------------------- data path

    @Test
    void sendAndReceiveWithAnFdAllocateNothing() {
        connectPair();
        int eventfd = track(NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC), "eventfd"));
        int[] fds = {eventfd};
        MemorySegment message = arena.allocate(64);
        MemorySegment buffer = arena.allocate(64);
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().threadId();
        int rounds = 20_000;
        long[] passBytes = new long[5];
        for (int pass = 0; pass < passBytes.length; pass++) { // early passes warm up: handles, thread locals, JIT
            long before = threads.getThreadAllocatedBytes(thread);
            for (int i = 0; i < rounds; i++) {
                Check.that(UnixSocket.send(client, message, 64, fds, 1) == 64, "send");
                Check.that(receiver.receive(server, buffer, 64, fdsOut) == 64 && receiver.fdCount() == 1, "receive");
                Check.that(Libc.close(fdsOut[0]) == 0, "close");
            }
            passBytes[pass] = threads.getThreadAllocatedBytes(thread) - before;
        }
        // An object per round trip would be at least 16 bytes each; under one byte per round trip means none, what
        // is left being the JIT's occasional deoptimisation on a busy machine.
        long bestBytes = Arrays.stream(passBytes).min().orElseThrow();
        assertTrue(bestBytes < rounds, rounds + " round trips per pass allocated " + Arrays.toString(passBytes) + " bytes");
    }
}
