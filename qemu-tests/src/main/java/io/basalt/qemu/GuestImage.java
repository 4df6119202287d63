package io.basalt.qemu;

import java.nio.file.Files;
import java.nio.file.Path;

/** A built test guest: the Debian kernel and the busybox initramfs that runs one test script (see build-guest.sh). */
public record GuestImage(String kernelVersion, Path kernel, Path initrd) {
    public GuestImage {
        if (!Files.isRegularFile(kernel)) throw new IllegalArgumentException("no kernel at " + kernel);
        if (!Files.isRegularFile(initrd)) throw new IllegalArgumentException("no initramfs at " + initrd);
    }
}
