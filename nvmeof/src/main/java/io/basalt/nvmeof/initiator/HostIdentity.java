package io.basalt.nvmeof.initiator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;

/**
 * The host NQN and host ID an {@code nvme-tcp://} drive connects with when its spec names none: what a target's
 * allowed-hosts list and its controllers see. A Linux host keeps them in /etc/nvme/hostnqn and /etc/nvme/hostid;
 * the daemon keeps them in its data dir ({@code hostnqn}, {@code hostid}: the same one-line formats, made at the
 * first start, editable), so a restarted daemon is the same host to every target. Without {@link #setDefault} (a
 * bench, a test) one random identity per process.
 */
public record HostIdentity(String nqn, UUID id) {
    /** NVMe base 2.0, 4.5: an NQN is at most 223 bytes of UTF-8. */
    static final int NQN_BYTES_MAX = 223;
    static final String UUID_NQN_PREFIX = "nqn.2014-08.org.nvmexpress:uuid:";
    public static final String NQN_FILE = "hostnqn";
    public static final String ID_FILE = "hostid";

    private static volatile HostIdentity current = random();

    public HostIdentity {
        if (nqn.isEmpty() || nqn.getBytes(StandardCharsets.UTF_8).length > NQN_BYTES_MAX || !nqn.startsWith("nqn.")) {
            throw new IllegalArgumentException("host NQN '" + nqn + "' must start with 'nqn.' and be 1 to " + NQN_BYTES_MAX + " bytes");
        }
    }

    /** A new identity in the form nvme-cli's gen-hostnqn makes: the NQN carries the host ID's UUID. */
    public static HostIdentity random() {
        UUID id = UUID.randomUUID();
        return new HostIdentity(UUID_NQN_PREFIX + id, id);
    }

    /** The identity drives opened from now on use by default. */
    public static void setDefault(HostIdentity identity) {
        current = identity;
    }

    public static HostIdentity current() {
        return current;
    }

    /**
     * The identity kept in {@code dir} ({@link #NQN_FILE}, {@link #ID_FILE}), made there (random, written atomically)
     * when either file is missing. IllegalArgumentException naming the file when one holds something else.
     */
    public static HostIdentity loadOrCreate(Path dir) {
        Path nqnFile = dir.resolve(NQN_FILE), idFile = dir.resolve(ID_FILE);
        try {
            if (!Files.exists(nqnFile) || !Files.exists(idFile)) {
                HostIdentity made = random();
                write(idFile, made.id().toString());
                write(nqnFile, made.nqn());
                return made;
            }
            String nqn = Files.readString(nqnFile, StandardCharsets.UTF_8).strip();
            String id = Files.readString(idFile, StandardCharsets.UTF_8).strip();
            try {
                return new HostIdentity(nqn, UUID.fromString(id));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(dir + ": " + NQN_FILE + " / " + ID_FILE + ": " + e.getMessage(), e);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("host identity in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void write(Path file, String line) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, line + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
