package io.basalt.objectlayer.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The object files whose whole content a GET already checked against its xxhash64, by file version: (device, inode,
 * size, mtime, ctime). A PUT renames a new inode in; a write into the file or a metadata change moves mtime or ctime;
 * so a version seen again is the same bytes, and a GET of it skips the re-read (decision 40). An entry is trusted for
 * {@link #TRUST_NS} (then the next GET checks again, catching what the media did meanwhile); the set is bounded by
 * {@link #ENTRIES_MAX} (cleared when full: only a re-check is lost). File times tick coarsely (the kernel's clock
 * tick, milliseconds), so a write in the same tick as the one that made a version would keep its times: a version is
 * remembered only once its ctime is {@link #SETTLED_NS} old, and any later change then gets a later ctime.
 */
final class VerifiedVersions {
    static final long TRUST_NS = TimeUnit.MINUTES.toNanos(5);
    static final int ENTRIES_MAX = 100_000;
    static final long SETTLED_NS = TimeUnit.SECONDS.toNanos(1);
    private static final String ATTRIBUTES = "unix:dev,ino,size,lastModifiedTime,ctime";

    /** A file version as stat(2) sees it. */
    record Version(long device, long inode, long sizeBytes, long mtimeNs, long ctimeNs) {
        static Version of(Path file) throws IOException {
            Map<String, Object> a = Files.readAttributes(file, ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
            return new Version((Long) a.get("dev"), (Long) a.get("ino"), (Long) a.get("size"),
                    nanos((FileTime) a.get("lastModifiedTime")), nanos((FileTime) a.get("ctime")));
        }

        private static long nanos(FileTime t) {
            return t.to(TimeUnit.NANOSECONDS);
        }
    }

    private record Checked(long xxhash64, long atNs) {}

    private final Map<Version, Checked> checked = new ConcurrentHashMap<>();

    /** The xxhash64 this version's content was found to have, while trusted; null when it must be checked. */
    Long xxhash64(Version v) {
        Checked c = checked.get(v);
        if (c == null) return null;
        if (System.nanoTime() - c.atNs > TRUST_NS) {
            checked.remove(v, c);
            return null;
        }
        return c.xxhash64;
    }

    void remember(Version v, long xxhash64) {
        long nowNs = TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis());
        if (nowNs - v.ctimeNs() < SETTLED_NS || nowNs - v.mtimeNs() < SETTLED_NS) return; // too fresh to tell apart
        if (checked.size() >= ENTRIES_MAX) checked.clear();
        checked.put(v, new Checked(xxhash64, System.nanoTime()));
    }

    /** For tests: forget everything, so the next GET of each object reads it whole again. */
    void clear() {
        checked.clear();
    }
}
