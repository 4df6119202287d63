package io.basalt.daemon.rpc;

import io.basalt.shims.Check;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * JSON-RPC over a unix stream socket: an accept thread, one virtual thread per connection (at most
 * {@link #CONNECTIONS_MAX}). The socket file is mode 0600; its folder should be 0700 (the daemon makes it so),
 * which also closes the short window between bind and chmod.
 */
public final class RpcServer implements AutoCloseable {
    public static final int CONNECTIONS_MAX = 64;
    private static final long JOIN_TIMEOUT_MS = 5_000;

    private final Path socketPath;
    private final RpcDispatcher dispatcher;
    private final int messageBytesMax;
    private final ServerSocketChannel listener;
    private final Set<RpcConnection> connections = ConcurrentHashMap.newKeySet();
    private Thread acceptThread;
    private volatile boolean closed;

    private RpcServer(Path socketPath, RpcDispatcher dispatcher, int messageBytesMax, ServerSocketChannel listener) {
        this.socketPath = socketPath;
        this.dispatcher = dispatcher;
        this.messageBytesMax = messageBytesMax;
        this.listener = listener;
    }

    /**
     * Binds the socket, refusing when another daemon answers on it and removing a stale file left by one that
     * died. Connections wait in the backlog until {@link #start}.
     */
    public static RpcServer bind(Path socketPath, RpcDispatcher dispatcher, int messageBytesMax) throws IOException {
        Check.positive(messageBytesMax, "messageBytesMax");
        removeStaleSocket(socketPath);
        ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            listener.bind(UnixDomainSocketAddress.of(socketPath), CONNECTIONS_MAX);
            Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | RuntimeException e) {
            listener.close();
            Files.deleteIfExists(socketPath);
            throw e;
        }
        return new RpcServer(socketPath, dispatcher, messageBytesMax, listener);
    }

    private static void removeStaleSocket(Path socketPath) throws IOException {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(socketPath, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return;
        }
        // A socket is "other" (neither file, folder nor link); never delete a user's regular file by mistake.
        if (!attributes.isOther()) {
            throw new IOException(socketPath + " exists and is not a socket; move it away or choose another --data-dir");
        }
        if (isListening(socketPath)) {
            throw new IOException("another Basalt daemon is already listening on " + socketPath + " (stop it first, or use another --data-dir)");
        }
        Files.deleteIfExists(socketPath);
    }

    /** True when something accepts a connection on {@code socketPath}. */
    public static boolean isListening(Path socketPath) {
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socketPath))) {
            return probe.isConnected();
        } catch (IOException e) {
            return false; // ECONNREFUSED: nobody behind the file, it is stale
        }
    }

    public void start() {
        Check.that(acceptThread == null, "RPC server started once");
        acceptThread = Thread.ofPlatform().name("rpc-accept").daemon(true).start(this::acceptLoop);
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel peer;
            try {
                peer = listener.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (closed) return;
                System.err.println("basalt: RPC accept failed: " + e);
                continue;
            }
            admit(peer);
        }
    }

    private void admit(SocketChannel peer) {
        if (closed || connections.size() >= CONNECTIONS_MAX) {
            // Over the limit: refuse this peer, keep serving the others.
            RpcConnection.refuse(peer, "too many RPC connections (limit " + CONNECTIONS_MAX + ")");
            return;
        }
        RpcConnection connection = new RpcConnection(peer, dispatcher, messageBytesMax, connections::remove);
        connections.add(connection);
        connection.thread = Thread.ofVirtual().name("rpc-connection").start(connection::serve);
    }

    public Path socketPath() {
        return socketPath;
    }

    public int connectionCount() {
        return connections.size();
    }

    private static void joinQuietly(Thread thread) {
        if (thread == null) return;
        try {
            if (!thread.join(Duration.ofMillis(JOIN_TIMEOUT_MS))) {
                System.err.println("basalt: " + thread.getName() + " still busy after " + JOIN_TIMEOUT_MS + " ms; going on");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops accepting, closes every connection and removes the socket file. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            listener.close();
        } catch (IOException e) {
            System.err.println("basalt: closing the RPC socket: " + e);
        }
        joinQuietly(acceptThread);
        // Close every connection, then wait for calls still running, so that no RPC (a drive_create, say)
        // lands after the caller goes on to flush and close the drives.
        List<RpcConnection> open = new ArrayList<>(connections);
        for (RpcConnection c : open) c.close();
        for (RpcConnection c : open) joinQuietly(c.thread);
        try {
            Files.deleteIfExists(socketPath);
        } catch (IOException e) {
            System.err.println("basalt: removing " + socketPath + ": " + e);
        }
    }
}
