package io.basalt.objectlayer.store;

import static io.basalt.objectlayer.store.StoreFixture.failsWith;
import static io.basalt.objectlayer.store.StoreFixture.filesUnder;
import static io.basalt.objectlayer.store.StoreFixture.get;
import static io.basalt.objectlayer.store.StoreFixture.put;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.basalt.objectlayer.StoreException.Code;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real ENOSPC from a 1 MiB tmpfs; needs root (mount), so it is skipped elsewhere, as its name says. */
class TmpfsEnospcTest {
    @TempDir
    Path dir;

    private static boolean run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
    }

    @Test
    void enospcOnARealTmpfsIsStorageFullKeepsTheOldVersionSkippedUnlessRootCanMount() throws Exception {
        Path small = dir.resolve("small");
        Files.createDirectories(small);
        Assumptions.assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small.toString()),
                "mount -t tmpfs needs root");
        try {
            MountpathStore store = new MountpathStore(List.of(DirectoryMountpath.open(small, 1, true, true)));
            store.createBucket("bkt");
            byte[] old = new byte[100_000];
            put(store, "bkt", "k", old);
            failsWith(Code.STORAGE_FULL, () -> put(store, "bkt", "k", new byte[2 << 20]));
            failsWith(Code.STORAGE_FULL, () -> put(store, "bkt", "other/k", new byte[2 << 20]));
            assertArrayEquals(old, get(store, "bkt", "k"));
            failsWith(Code.NO_SUCH_KEY, () -> store.head("bkt", "other/k"));
            assertEquals(0, filesUnder(small.resolve(".tmp")));
        } finally {
            run("umount", small.toString());
        }
    }
}
