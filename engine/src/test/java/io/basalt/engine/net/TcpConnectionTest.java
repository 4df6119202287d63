package io.basalt.engine.net;

import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.fixtures.Await;
import io.basalt.engine.fixtures.ReactorFixture;
import io.basalt.shims.Errno;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static io.basalt.engine.net.EchoServer.TIMEOUT;
import static io.basalt.engine.net.EchoServer.call;
import static io.basalt.engine.net.EchoServer.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TcpListener and TcpConnection on a started reactor against plain java.net.Socket clients on loopback: echo,
 * many connections over two reactors, peers that close or reset, sends to a peer that does not read, the two kinds
 * of close, and a receive-buffer ring far smaller than the data.
 */
class TcpConnectionTest {
    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.started("net");

    /** Bytes that depend on the stream (seed) and the position, so loss, duplication and reordering all show. */
    static byte[] pattern(int seed, int lengthBytes) {
        byte[] b = new byte[lengthBytes];
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < lengthBytes; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b[i] = (byte) x;
        }
        return b;
    }

    static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), (int) TIMEOUT.toMillis());
        s.setSoTimeout((int) TIMEOUT.toMillis());
        return s;
    }

    /** Writes {@code data} from another thread while reading the echo here (so neither side's buffers deadlock). */
    static byte[] echo(Socket s, byte[] data) throws Exception {
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try {
                OutputStream out = s.getOutputStream();
                out.write(data);
                out.flush();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        byte[] back = new byte[data.length];
        new DataInputStream(s.getInputStream()).readFully(back);
        writer.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        return back;
    }

    @ParameterizedTest(name = "multishot={0}")
    @ValueSource(booleans = {true, false})
    void echoesManySizesUpToOneMebibyte(boolean multishot) throws Exception {
        Reactor r = fixture.reactor();
        try (EchoServer server = EchoServer.start(TcpConfig.defaults().withMultishot(multishot), r);
             Socket s = connect(server.port())) {
            int seed = 0;
            long total = 0;
            for (int size : new int[] {1, 2, 100, 4095, 4096, 4097, 32 * 1024, 32 * 1024 + 1, 100_000, 1 << 20}) {
                total += size;
                byte[] data = pattern(++seed, size);
                assertArrayEquals(data, echo(s, data), "echo of " + size + " bytes");
            }
            EchoServer.Echo e = server.connection(0);
            assertEquals(multishot, call(r, server.listener()::multishot), "accept mode");
            // The peer may read the last byte before the SENDMSG's completion is reaped: wait for the count.
            long expected = total;
            Await.until(() -> call(r, e.connection::counters)[1] == expected, TIMEOUT,
                    () -> "bytes sent == bytes received: " + Arrays.toString(call(r, e.connection::counters)));
            assertEquals(expected, call(r, e.connection::counters)[0], "bytes received");
            assertEquals(EchoServer.NOT_CLOSED, e.closedStatus, "still open");
        }
    }

    @Test
    void servesTwoHundredConcurrentConnectionsRoundRobinOverTwoReactors() throws Exception {
        int connectionCount = 200;
        int bytesEach = 20_000;
        Reactor second = Reactor.start(ReactorConfig.defaults("net-2"));
        List<Socket> sockets = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (EchoServer server = EchoServer.start(TcpConfig.defaults(), fixture.reactor(), second)) {
            for (int i = 0; i < connectionCount; i++) sockets.add(connect(server.port()));
            Await.until(() -> server.connections.size() == connectionCount, TIMEOUT, () -> server.connections.size() + " accepted");
            List<Future<byte[]>> echoes = new ArrayList<>();
            for (int i = 0; i < connectionCount; i++) {
                Socket s = sockets.get(i);
                byte[] data = pattern(1000 + i, bytesEach);
                echoes.add(pool.submit(() -> echo(s, data)));
            }
            for (int i = 0; i < connectionCount; i++) {
                assertArrayEquals(pattern(1000 + i, bytesEach), echoes.get(i).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS), "connection " + i);
            }
            long onFirst = server.connections.stream().filter(e -> e.reactor == fixture.reactor()).count();
            assertEquals(connectionCount / 2, onFirst, "round robin puts half on each reactor");
            assertEquals(connectionCount / 2, call(second, () -> server.contexts.get(second).connections()));
            for (Socket s : sockets) s.close();
            Await.until(() -> server.connections.stream().allMatch(e -> e.closedCalls.get() == 1), TIMEOUT, "all peers' closes seen");
            assertTrue(server.connections.stream().allMatch(e -> e.closedStatus == TcpConnection.CLOSED_BY_PEER),
                    "each closed by its peer");
            assertEquals(0, call(second, () -> server.contexts.get(second).connections()), "no connection left");
        } finally {
            pool.shutdownNow();
            for (Socket s : sockets) s.close();
            second.close();
        }
    }

    @Test
    void peerClosingMidStreamIsReportedOnceAfterAllItsBytes() throws Exception {
        Reactor r = fixture.reactor();
        byte[] data = pattern(7, 300_000);
        try (EchoServer server = EchoServer.start(EchoServer.Mode.KEEP, TcpConfig.defaults(), r)) {
            try (Socket s = connect(server.port())) {
                s.getOutputStream().write(data);
            } // FIN after the data
            EchoServer.Echo e = server.connection(0);
            Await.until(() -> e.closedCalls.get() > 0, TIMEOUT, "peer close seen");
            assertEquals(TcpConnection.CLOSED_BY_PEER, e.closedStatus);
            assertArrayEquals(data, e.kept.toByteArray(), "every byte before the close, in order");
            assertTrue(call(r, e.connection::isClosed));
            assertFalse(call(r, () -> e.connection.send(fixture.buffer(1), 1, (t, st) -> { })), "no send after close");
            run(r, () -> e.connection.close(true)); // closing again changes nothing
            assertEquals(1, e.closedCalls.get(), "onClosed exactly once");
            assertEquals(0, call(r, () -> server.contexts.get(r).connections()));
        }
    }

    @Test
    void peerResetIsReportedAsAnError() throws Exception {
        Reactor r = fixture.reactor();
        try (EchoServer server = EchoServer.start(EchoServer.Mode.KEEP, TcpConfig.defaults(), r)) {
            Socket s = connect(server.port());
            s.getOutputStream().write(pattern(3, 5000));
            EchoServer.Echo e = server.connection(0);
            Await.until(() -> e.bytesIn == 5000, TIMEOUT, "bytes arrive");
            s.setSoLinger(true, 0);
            s.close(); // RST
            Await.until(() -> e.closedCalls.get() > 0, TIMEOUT, "reset seen");
            assertEquals(-Errno.ECONNRESET, e.closedStatus);
            assertEquals(1, e.closedCalls.get());
        }
    }

    /** Server-side sends of {@code chunks} distinct chunks; records the done calls in order. */
    private static final class Sends {
        final List<long[]> done = new CopyOnWriteArrayList<>(); // {token, status}
        final List<MemorySegment> chunks = new ArrayList<>();
        final List<byte[]> expected = new ArrayList<>();

        Sends(Arena arena, int chunkCount, int chunkBytes) {
            for (int i = 0; i < chunkCount; i++) {
                byte[] b = pattern(500 + i, chunkBytes);
                expected.add(b);
                chunks.add(arena.allocate(chunkBytes).copyFrom(MemorySegment.ofArray(b)));
            }
        }

        /** Queues every chunk; true when all were taken. */
        boolean queue(TcpConnection c) {
            for (int i = 0; i < chunks.size(); i++) {
                if (!c.send(chunks.get(i), i, (token, status) -> done.add(new long[] {token, status}))) return false;
            }
            return true;
        }

        byte[] all() {
            int n = expected.stream().mapToInt(b -> b.length).sum();
            byte[] all = new byte[n];
            int at = 0;
            for (byte[] b : expected) {
                System.arraycopy(b, 0, all, at, b.length);
                at += b.length;
            }
            return all;
        }
    }

    @ParameterizedTest(name = "waitAll={0}")
    @ValueSource(booleans = {false, true})
    void sendsToAPeerThatDoesNotReadLeaveInOrderOnceItReads(boolean waitAll) throws Exception {
        Reactor r = fixture.reactor();
        int chunkBytes = 1 << 20;
        int chunkCount = 48; // 48 MiB: more than loopback's socket buffers hold
        Sends sends = new Sends(fixture.arena(), chunkCount, chunkBytes);
        TcpConfig config = TcpConfig.defaults().withSendWaitAll(waitAll);
        try (EchoServer server = EchoServer.start(EchoServer.Mode.KEEP, config, r); Socket s = connect(server.port())) {
            EchoServer.Echo e = server.connection(0);
            assertTrue(call(r, () -> sends.queue(e.connection)), "the queue takes 48 sends");
            // The socket fills up: part of the batch leaves, the rest waits (short send, or the kernel's own retry).
            Await.until(() -> call(r, e.connection::counters)[1] > 0, TIMEOUT, "some bytes sent");
            assertTrue(sends.done.size() < chunkCount, "not everything fits while the peer does not read");
            byte[] got = new byte[chunkBytes * chunkCount];
            new DataInputStream(s.getInputStream()).readFully(got);
            assertArrayEquals(sends.all(), got, "every byte, in queue order");
            Await.until(() -> sends.done.size() == chunkCount, TIMEOUT, "every send reported");
            for (int i = 0; i < chunkCount; i++) {
                assertEquals(i, sends.done.get(i)[0], "reported in order");
                assertEquals(chunkBytes, sends.done.get(i)[1], "status is the length");
            }
            Await.until(() -> call(r, e.connection::counters)[1] == (long) chunkBytes * chunkCount, TIMEOUT, "all sent");
            long[] counters = call(r, e.connection::counters);
            if (!waitAll) assertTrue(counters[4] > 0, "short sends resubmitted: " + Arrays.toString(counters));
            assertEquals((long) chunkBytes * chunkCount, counters[1]);
        }
    }

    @Test
    void closeAfterDrainSendsEverythingThenEndsTheStream() throws Exception {
        Reactor r = fixture.reactor();
        Sends sends = new Sends(fixture.arena(), 16, 1 << 20);
        try (EchoServer server = EchoServer.start(EchoServer.Mode.KEEP, TcpConfig.defaults(), r); Socket s = connect(server.port())) {
            EchoServer.Echo e = server.connection(0);
            run(r, () -> {
                assertTrue(sends.queue(e.connection));
                e.connection.close(false);
                assertFalse(e.connection.send(sends.chunks.get(0), 99, (t, st) -> { }), "no new send while draining");
            });
            InputStream in = s.getInputStream();
            byte[] got = new byte[16 << 20];
            new DataInputStream(in).readFully(got);
            assertArrayEquals(sends.all(), got);
            assertEquals(-1, in.read(), "end of stream after the last send");
            Await.until(() -> e.closedCalls.get() > 0, TIMEOUT, "closed");
            assertEquals(TcpConnection.CLOSED_LOCALLY, e.closedStatus);
            assertEquals(16, sends.done.size());
            assertTrue(sends.done.stream().allMatch(d -> d[1] == 1 << 20), "all sent");
        }
    }

    @Test
    void closeNowFailsUnsentSendsAndReportsOnce() throws Exception {
        Reactor r = fixture.reactor();
        Sends sends = new Sends(fixture.arena(), 48, 1 << 20);
        try (EchoServer server = EchoServer.start(EchoServer.Mode.KEEP, TcpConfig.defaults(), r); Socket s = connect(server.port())) {
            EchoServer.Echo e = server.connection(0);
            assertTrue(call(r, () -> sends.queue(e.connection)));
            Await.until(() -> call(r, e.connection::counters)[1] > 0, TIMEOUT, "some bytes sent");
            run(r, () -> {
                e.connection.close(true);
                e.connection.close(false); // changes nothing
            });
            Await.until(() -> e.closedCalls.get() > 0, TIMEOUT, "closed");
            assertEquals(TcpConnection.CLOSED_LOCALLY, e.closedStatus);
            assertEquals(48, sends.done.size(), "every send reported, sent or not");
            assertTrue(sends.done.get(47)[1] < 0, "the last never left: " + sends.done.get(47)[1]);
            for (int i = 0; i < 48; i++) assertEquals(i, sends.done.get(i)[0], "reported in order");
            assertEquals(1, e.closedCalls.get());
            assertTrue(call(r, e.connection::isClosed));
        }
    }

    @ParameterizedTest(name = "multishot={0}")
    @ValueSource(booleans = {true, false})
    void aReceiveRingFarSmallerThanTheDataLosesAndReordersNothing(boolean multishot) throws Exception {
        // Single-shot receives are re-armed by their completions; a reactor that submits once per cycle (the
        // default) re-arms them after their buffers came back, so the ring would never run dry. One that submits
        // at once makes the dry path (ENOBUFS, re-arm later) run, which is what this test is for.
        Reactor own = multishot ? null : Reactor.start(ReactorConfig.defaults("net-single").withSubmitBatch(1));
        try {
            receiveRingFarSmallerThanTheData(multishot, own != null ? own : fixture.reactor());
        } finally {
            if (own != null) own.close();
        }
    }

    private void receiveRingFarSmallerThanTheData(boolean multishot, Reactor r) throws Exception {
        int clients = 16;
        int bytesEach = 512 * 1024;
        // 2 buffers of 4 KiB for 16 connections sending 8 MiB in all: the ring runs dry again and again.
        TcpConfig config = TcpConfig.defaults().withRecvBuffers(4096, 2).withMultishot(multishot);
        List<Socket> sockets = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try (EchoServer server = EchoServer.start(EchoServer.Mode.KEEP, config, r)) {
            for (int i = 0; i < clients; i++) sockets.add(connect(server.port()));
            Await.until(() -> server.connections.size() == clients, TIMEOUT, "all accepted");
            List<Future<?>> writers = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                Socket s = sockets.get(i);
                byte[] data = pattern(2000 + i, bytesEach);
                writers.add(pool.submit(() -> {
                    s.getOutputStream().write(data);
                    return null;
                }));
            }
            for (Future<?> w : writers) w.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            Await.until(() -> server.connections.stream().allMatch(e -> e.bytesIn == bytesEach), TIMEOUT, "all bytes in");
            for (EchoServer.Echo e : server.connections) {
                int index = sockets.indexOf(sockets.stream().filter(s -> s.getLocalPort() == peerPort(r, e)).findFirst().orElseThrow());
                assertArrayEquals(pattern(2000 + index, bytesEach), e.kept.toByteArray(), "connection " + index);
            }
            long[] counters = call(r, () -> server.contexts.get(r).counters());
            assertTrue(counters[0] > 0, "the ring ran dry at least once: " + Arrays.toString(counters));
            assertEquals(2, call(r, () -> server.contexts.get(r).recvBuffersWithKernel()), "every buffer back with the kernel");
        } finally {
            pool.shutdownNow();
            for (Socket s : sockets) s.close();
        }
    }

    private static int peerPort(Reactor r, EchoServer.Echo e) {
        String peer = call(r, e.connection::peerAddress);
        return Integer.parseInt(peer.substring(peer.lastIndexOf(':') + 1));
    }

    @Test
    void aListenerClosesAndItsPortIsFreeAgain() {
        Reactor r = fixture.reactor();
        TcpListener listener = call(r, () -> TcpListener.open(r, "127.0.0.1", 0, 4, true, fd -> { }));
        int port = listener.port();
        assertTrue(port > 0);
        assertEquals("127.0.0.1:" + port, call(r, listener::localAddress));
        run(r, listener::close);
        Await.until(() -> call(r, listener::isClosed), TIMEOUT, "closed");
        TcpListener again = call(r, () -> TcpListener.open(r, "127.0.0.1", port, 4, true, fd -> { }));
        assertEquals(port, again.port());
        run(r, again::close);
        Await.until(() -> call(r, again::isClosed), TIMEOUT, "closed");
    }

    @Test
    void sendChecksItsArguments() throws Exception {
        Reactor r = fixture.reactor();
        try (EchoServer server = EchoServer.start(EchoServer.Mode.KEEP, TcpConfig.defaults(), r); Socket s = connect(server.port())) {
            EchoServer.Echo e = server.connection(0);
            MemorySegment heap = MemorySegment.ofArray(new byte[8]);
            assertTrue(call(r, () -> {
                try {
                    e.connection.send(heap, 0, (t, st) -> { });
                    return false;
                } catch (IllegalStateException expected) {
                    return true;
                }
            }), "a heap segment is refused");
            assertTrue(call(r, () -> {
                try {
                    e.connection.send(fixture.arena().allocate(8).asSlice(0, 0), 0, (t, st) -> { });
                    return false;
                } catch (IllegalStateException expected) {
                    return true;
                }
            }), "an empty send is refused");
            org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> e.connection.send(fixture.buffer(1), 0, (t, st) -> { }), "off the reactor thread");
            assertEquals(0, s.getInputStream().available());
        }
    }

    static byte[] bytes(MemorySegment m) {
        return m.toArray(ValueLayout.JAVA_BYTE);
    }
}
