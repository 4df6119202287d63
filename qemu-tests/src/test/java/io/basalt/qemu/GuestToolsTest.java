package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Fails, naming each missing piece and the fix, when this host cannot run guests (never a silent skip). */
class GuestToolsTest {
    @Test
    void everyPrerequisiteIsInstalled() {
        assertTrue(GuestTools.missing().isEmpty(), () -> "QEMU guest tests need: " + String.join(", ", GuestTools.missing())
                + ". Run ./basalt test (it installs them) or scripts/install-deps.sh");
    }

    @Test
    void guestBuildsOrIsCached() {
        long start = System.nanoTime();
        GuestImage image = GuestTools.guest();
        GuestTests.timing("guest build or cache check", (System.nanoTime() - start) / 1_000_000);
        assertTrue(image.kernel().toFile().isFile() && image.initrd().toFile().isFile(), image.toString());
    }
}
