package io.basalt.shims;

import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** TCP set-up calls against the kernel: listen on a kernel-picked port, addresses as text, options, bad input. */
class TcpSocketTest {
    /**
     * A connect whose SYN gets no answer (here: a listener whose accept queue is full, which drops SYNs as a vanished
     * host would) gives up at its timeout with -ETIMEDOUT instead of waiting out the kernel's SYN retries; one to a
     * listener that answers connects as usual.
     */
    @Test
    void aConnectWithATimeoutGivesUpOnAPeerThatAnswersNoSyn() throws Exception {
        int fd = TcpSocket.listen("127.0.0.1", 0, 1);
        assertTrue(fd >= 0, "listen: " + Errno.name(fd));
        java.util.List<Socket> filling = new java.util.ArrayList<>();
        try {
            int port = TcpSocket.localPort(fd);
            int ok = TcpSocket.connect("127.0.0.1", port, 2000);
            assertTrue(ok >= 0, "a listener with room answers: " + Errno.name(ok));
            Libc.close(ok);
            for (int i = 0; i < 16; i++) { // until the accept queue is full and a SYN goes unanswered
                Socket s = new Socket();
                filling.add(s);
                try {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 300);
                } catch (java.net.SocketTimeoutException full) {
                    break;
                }
            }
            assertEquals(-Errno.ETIMEDOUT, TcpSocket.connect("127.0.0.1", port, 300), "a SYN nobody answers");
        } finally {
            for (Socket s : filling) s.close();
            Libc.close(fd);
        }
    }

    @Test
    void listensOnAnyPortAndReportsAddresses() throws Exception {
        int fd = TcpSocket.listen("127.0.0.1", 0, 16);
        assertTrue(fd >= 0, "listen: " + Errno.name(fd));
        try {
            int port = TcpSocket.localPort(fd);
            assertTrue(port > 0 && port <= 65535, "kernel-picked port " + port);
            assertEquals("127.0.0.1:" + port, TcpSocket.localAddress(fd));
            try (Socket client = new Socket()) {
                client.connect(new InetSocketAddress("127.0.0.1", port));
                int conn = acceptBlocking(fd);
                try {
                    assertEquals("127.0.0.1:" + client.getLocalPort(), TcpSocket.peerAddress(conn));
                    assertEquals(0, TcpSocket.setNoDelay(conn, true));
                    OutputStream out = client.getOutputStream();
                    out.write(new byte[] {1, 2, 3});
                    out.flush();
                    assertEquals(0, TcpSocket.shutdown(conn, SocketAbi.SHUT_RDWR));
                    InputStream in = client.getInputStream();
                    assertEquals(-1, in.read(), "the peer sees our shutdown as end of stream");
                } finally {
                    Libc.close(conn);
                }
            }
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void listensOnIpv6Loopback() {
        int fd = TcpSocket.listen("::1", 0, 4);
        // A kernel without IPv6 (not these machines) would say EAFNOSUPPORT or EADDRNOTAVAIL.
        assertTrue(fd >= 0, "listen on [::1]: " + Errno.name(fd));
        try {
            int port = TcpSocket.localPort(fd);
            assertEquals("[0:0:0:0:0:0:0:1]:" + port, TcpSocket.localAddress(fd));
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void refusesBadInputWithoutASystemCall() {
        assertEquals(-Errno.EINVAL, TcpSocket.listen("127.0.0.1", 70000, 4));
        assertEquals(-Errno.EINVAL, TcpSocket.listen("127.0.0.1", -1, 4));
        assertEquals(-Errno.EINVAL, TcpSocket.listen("no-such-host.invalid", 0, 4));
    }

    @Test
    void aTakenPortIsAddressInUse() {
        int fd = TcpSocket.listen("127.0.0.1", 0, 4);
        try {
            assertEquals(-Errno.EADDRINUSE, TcpSocket.listen("127.0.0.1", TcpSocket.localPort(fd), 4));
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void addressesOfAClosedFdSayWhy() {
        assertEquals("?(EBADF (9))", TcpSocket.peerAddress(1 << 20));
        assertEquals(-Errno.EBADF, TcpSocket.localPort(1 << 20));
    }

    /** The listening socket is non-blocking: poll until a connection is there, then accept4. */
    private static int acceptBlocking(int listenFd) {
        assertTrue(Libc.poll(listenFd, Libc.POLLIN, 10_000) > 0, "connection arrives");
        int conn = UnixSocket.accept(listenFd);
        assertTrue(conn >= 0, "accept: " + Errno.name(conn));
        return conn;
    }
}
