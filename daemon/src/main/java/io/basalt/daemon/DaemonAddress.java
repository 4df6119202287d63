package io.basalt.daemon;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * The options of a client verb that finds a running daemon: {@code --data-dir DIR} (its socket is
 * DIR/basalt.sock) or {@code --socket PATH}; a picocli mixin, so every client verb spells them the same way.
 */
final class DaemonAddress {
    static final Path DATA_DIR_DEFAULT = Path.of("basalt-data");

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "the daemon's data directory (default: ./basalt-data), whose socket is DIR/" + Daemon.SOCKET_NAME)
    Path dataDir;

    @Option(names = "--socket", paramLabel = "PATH", description = "the daemon's unix socket (wins over --data-dir)")
    Path socket;

    /** The socket to connect to. */
    Path socketPath() {
        if (socket != null) return socket;
        return (dataDir == null ? DATA_DIR_DEFAULT : dataDir).resolve(Daemon.SOCKET_NAME);
    }
}
