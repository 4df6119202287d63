package io.basalt.engine.backend;

import io.basalt.engine.Capabilities;
import io.basalt.shims.Libc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What DISCARD and WRITE_ZEROES do on an opened file or block device, found out once at open, so that an
 * exporter advertises only what works (UringChannel sends DISCARD as fallocate PUNCH_HOLE and WRITE_ZEROES as
 * fallocate ZERO_RANGE, both with KEEP_SIZE).
 *
 * <p>A regular file: both modes are tried on one block just past the end of the file (KEEP_SIZE: the size stays,
 * no data is touched; the zero-range trial is punched out again). A file system without them answers EOPNOTSUPP
 * (tmpfs has no ZERO_RANGE, for example). A punched hole reads back as zeroes.
 *
 * <p>A block device (block/fops.c blkdev_fallocate): PUNCH_HOLE is a zero-out that must not fall back to
 * writing zeroes, so it works exactly when the device has a WRITE ZEROES command
 * ({@code queue/write_zeroes_max_bytes} > 0 in sysfs), and reads back zeroes; ZERO_RANGE falls back to writing
 * zeroes, so it always works. Neither deallocates on the WRITE_ZEROES path (ZERO_RANGE asks for no unmap).
 */
final class FileCapabilities {
    private FileCapabilities() {}

    static Capabilities probe(int fd, boolean blockDevice, long rdev, long sizeBytes, int blockBytes, boolean readOnly) {
        if (readOnly) return Capabilities.NONE; // writes of any kind are refused
        if (blockDevice) {
            boolean zeroOut = writeZeroesMaxBytes(rdev) > 0;
            return new Capabilities(zeroOut, zeroOut, 1, true, false);
        }
        int keep = Libc.FALLOC_FL_KEEP_SIZE;
        boolean punch = Libc.fallocate(fd, Libc.FALLOC_FL_PUNCH_HOLE | keep, sizeBytes, blockBytes) == 0;
        boolean zeroRange = Libc.fallocate(fd, Libc.FALLOC_FL_ZERO_RANGE | keep, sizeBytes, blockBytes) == 0;
        if (zeroRange && punch) Libc.fallocate(fd, Libc.FALLOC_FL_PUNCH_HOLE | keep, sizeBytes, blockBytes); // give the block back
        return new Capabilities(punch, punch, 1, zeroRange, false);
    }

    /**
     * Whether the block device may hold written data in a volatile cache, so that a FLUSH is needed for durability:
     * its {@code queue/write_cache} (block/blk-sysfs.c) says "write back", or cannot be read (assume a cache). A
     * device that says "write through" (zram, a drive without a volatile cache or with power-loss protection) has
     * the kernel drop REQ_PREFLUSH and REQ_FUA (block/blk-flush.c), so an fsync of an O_DIRECT descriptor does
     * nothing but cost an io_uring worker round trip.
     */
    static boolean volatileWriteCache(long rdev) {
        String mode = queueAttribute(rdev, "write_cache");
        return mode == null || !mode.equals("write through");
    }

    /** The device's queue/write_zeroes_max_bytes (a partition reads its disk's queue), 0 when it cannot be read. */
    static long writeZeroesMaxBytes(long rdev) {
        String value = queueAttribute(rdev, "write_zeroes_max_bytes");
        try {
            return value == null ? 0 : Long.parseLong(value);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** A queue attribute of the block device {@code rdev} (a partition reads its disk's queue), stripped; null if none. */
    private static String queueAttribute(long rdev, String attribute) {
        // dev_t as glibc's gnu_dev_major / gnu_dev_minor decode it.
        long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
        long minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
        Path device = Path.of("/sys/dev/block/" + major + ":" + minor);
        for (Path queue : new Path[] {device.resolve("queue"), device.resolve("../queue")}) {
            try {
                return Files.readString(queue.resolve(attribute)).strip();
            } catch (IOException e) {
                // not this one: a partition has no queue of its own
            }
        }
        return null;
    }
}
