package io.basalt.nvmeof.initiator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The host NQN and ID kept in a data dir (as /etc/nvme/hostnqn and hostid), and how a spec picks its identity. */
class HostIdentityTest {
    @TempDir
    Path dir;

    @Test
    void madeOnceInNvmeClisFormatsThenReadBackTheSame() throws Exception {
        HostIdentity made = HostIdentity.loadOrCreate(dir);
        assertEquals("nqn.2014-08.org.nvmexpress:uuid:" + made.id(), made.nqn(), "gen-hostnqn's form, carrying the host ID");
        assertEquals(made.nqn() + "\n", Files.readString(dir.resolve(HostIdentity.NQN_FILE)));
        assertEquals(made.id() + "\n", Files.readString(dir.resolve(HostIdentity.ID_FILE)));
        assertEquals(made, HostIdentity.loadOrCreate(dir), "a restart is the same host");
        Files.writeString(dir.resolve(HostIdentity.NQN_FILE), "nqn.2026-12.com.example:storage-7\n"); // edited by hand
        assertEquals(new HostIdentity("nqn.2026-12.com.example:storage-7", made.id()), HostIdentity.loadOrCreate(dir));
    }

    @Test
    void aDamagedFileIsRefusedNamingIt() throws Exception {
        HostIdentity.loadOrCreate(dir);
        Files.writeString(dir.resolve(HostIdentity.ID_FILE), "not-a-uuid\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HostIdentity.loadOrCreate(dir));
        assertTrue(e.getMessage().contains(HostIdentity.ID_FILE) && e.getMessage().contains(dir.toString()), e.getMessage());
        Files.writeString(dir.resolve(HostIdentity.ID_FILE), UUID.randomUUID() + "\n");
        Files.writeString(dir.resolve(HostIdentity.NQN_FILE), "storage-7\n");
        e = assertThrows(IllegalArgumentException.class, () -> HostIdentity.loadOrCreate(dir));
        assertTrue(e.getMessage().contains("must start with 'nqn.'"), e.getMessage());
    }

    @Test
    void aSpecUsesTheCurrentIdentityUnlessItNamesOne() {
        HostIdentity before = HostIdentity.current();
        try {
            HostIdentity daemon = HostIdentity.random();
            HostIdentity.setDefault(daemon);
            NvmeTcpSpec plain = NvmeTcpSpec.parse("//127.0.0.1:4420/nqn.x:y?nsid=1", Map.of());
            assertEquals(daemon, new HostIdentity(plain.hostNqn(), plain.hostId()));
            UUID id = UUID.randomUUID();
            NvmeTcpSpec both = NvmeTcpSpec.parse("//127.0.0.1:4420/nqn.x:y?nsid=1&hostnqn=nqn.2026-12.com.example:h1&hostid=" + id, Map.of());
            assertEquals(new HostIdentity("nqn.2026-12.com.example:h1", id), new HostIdentity(both.hostNqn(), both.hostId()));
            NvmeTcpSpec nqnOnly = NvmeTcpSpec.parse("//127.0.0.1:4420/nqn.x:y?nsid=1&hostnqn=nqn.2026-12.com.example:h1", Map.of());
            assertEquals(nqnOnly.hostId(), NvmeTcpSpec.parse("//127.0.0.1:4420/nqn.x:y?nsid=1&hostnqn=nqn.2026-12.com.example:h1", Map.of()).hostId(),
                    "a named NQN without an id gets the same derived id every time");
            assertNotEquals(daemon.id(), nqnOnly.hostId());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> NvmeTcpSpec.parse("//127.0.0.1:4420/nqn.x:y?nsid=1&hostid=zzz", Map.of()));
            assertTrue(e.getMessage().contains("hostid"), e.getMessage());
        } finally {
            HostIdentity.setDefault(before);
        }
    }
}
