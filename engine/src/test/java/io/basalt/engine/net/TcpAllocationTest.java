package io.basalt.engine.net;

import io.basalt.engine.fixtures.AllocationWindows;
import io.basalt.engine.fixtures.Await;
import io.basalt.engine.fixtures.ReactorFixture;
import io.basalt.engine.Reactor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * House habit 3 for sockets: once a connection is open, receiving (multishot RECV, buffer recycled) and sending
 * (queued SENDMSG, completion) allocate nothing on the reactor thread. A client thread streams bytes in and drains
 * what the server sends back; the reactor is driven by hand on the test thread, whose allocation is measured.
 * The window is repeated until one allocates 0 bytes (JIT warm-up noise; see AllocationWindows).
 */
class TcpAllocationTest {
    private static final int WINDOW_REPLIES = 2_000;
    private static final int WINDOWS_MIN = 8;
    private static final int REPLY_BYTES = 16 * 1024;
    private static final int REPLIES_QUEUED_MAX = 8;

    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.handDriven("net-alloc");

    /** Counts bytes in; answers each receive with a fixed reply while fewer than 8 are queued. No allocation. */
    private static final class Replier implements TcpConnection.Receiver, TcpConnection.SendDone {
        final MemorySegment reply;
        TcpConnection connection;
        long bytesIn;
        int queued;
        long sent;
        boolean closed;

        Replier(MemorySegment reply) {
            this.reply = reply;
        }

        @Override
        public void onBytes(MemorySegment buffer, int lengthBytes) {
            bytesIn += lengthBytes;
            if (queued < REPLIES_QUEUED_MAX && connection.send(reply, sent, this)) queued++;
        }

        @Override
        public void sent(long token, int status) {
            queued--;
            if (status > 0) sent++;
        }

        @Override
        public void onClosed(int status) {
            closed = true;
        }
    }

    @Test
    void receivingAndSendingAllocateNothing() throws Exception {
        Reactor r = fixture.reactor();
        TcpContext context = TcpContext.open(r, TcpConfig.defaults());
        Replier replier = new Replier(fixture.arena().allocate(REPLY_BYTES));
        TcpListener listener = TcpListener.open(r, "127.0.0.1", 0, 4, true,
                fd -> replier.connection = TcpConnection.open(context, fd, replier));
        AtomicBoolean stop = new AtomicBoolean();
        Socket client = TcpConnectionTest.connect(listener.port());
        Thread writer = Thread.ofPlatform().start(() -> pump(client, stop, true));
        Thread reader = Thread.ofPlatform().start(() -> pump(client, stop, false));
        try {
            long deadlineNs = System.nanoTime() + 2 * EchoServer.TIMEOUT.toNanos() + AllocationWindows.BUDGET.toNanos();
            while (replier.sent < 1000) { // warm-up: connection open, hot paths compiled
                r.doWork();
                assertTrue(System.nanoTime() < deadlineNs, "warm-up traffic within the timeout");
            }
            AllocationWindows.History h = AllocationWindows.untilZero("tcp replies", WINDOWS_MIN, () -> {
                long until = replier.sent + WINDOW_REPLIES;
                while (replier.sent < until && System.nanoTime() < deadlineNs) r.doWork();
                assertTrue(replier.sent >= until, "the window's traffic within the timeout");
            });
            assertEquals(0, h.last(), "bytes allocated on the reactor thread in a window of " + WINDOW_REPLIES + " replies: " + h);
        } finally {
            stop.set(true);
            client.close();
            if (replier.connection != null) replier.connection.close(true);
            listener.close();
            for (int i = 0; i < 100_000 && !((replier.connection == null || replier.closed) && listener.isClosed()); i++) r.doWork();
            Await.until(() -> !writer.isAlive() && !reader.isAlive(), EchoServer.TIMEOUT, "client threads end");
            context.close();
        }
    }

    private static void pump(Socket s, AtomicBoolean stop, boolean write) {
        byte[] chunk = new byte[64 * 1024];
        try {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            while (!stop.get()) {
                if (write) out.write(chunk);
                else if (in.read(chunk) < 0) return;
            }
        } catch (Exception e) {
            // the socket closed under us at the end of the test
        }
    }
}
