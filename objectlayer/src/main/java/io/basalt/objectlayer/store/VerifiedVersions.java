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
 * remembered only if its ctime was {@link #SETTLED_NS} old when the GET began reading it, and any later change then
 * gets a later ctime.
 *
 * <p>With the hash it may keep the metadata record read from the file's xattr under the same version: every change of
 * an xattr moves the file's ctime, so the version names the record too and a GET of it skips the xattr read. A record
 * from a sidecar is never kept: replacing a sidecar leaves the data file's ctime as it was.
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

    /** @param xattrRecord the record the version's xattr held, or null when it was not read from an xattr */
    private record Checked(long xxhash64, ObjectMeta xattrRecord, long atNs) {}

    private final Map<Version, Checked> checked = new ConcurrentHashMap<>();

    /** The xxhash64 this version's content was found to have, while trusted; null when it must be checked. */
    Long xxhash64(Version v) {
        Checked c = trusted(v);
        return c == null ? null : c.xxhash64;
    }

    /** The xattr record remembered with this version while trusted; null when it must be read. */
    ObjectMeta xattrRecord(Version v) {
        Checked c = trusted(v);
        return c == null ? null : c.xattrRecord;
    }

    private Checked trusted(Version v) {
        Checked c = checked.get(v);
        if (c == null) return null;
        if (System.nanoTime() - c.atNs > TRUST_NS) {
            checked.remove(v, c);
            return null;
        }
        return c;
    }

    /** Remembers a hash checked now, with no record (tests). */
    void remember(Version v, long xxhash64) {
        remember(v, xxhash64, null, System.currentTimeMillis());
    }

    /**
     * @param xattrRecord the record read from the version's xattr between two stats that both saw {@code v}, or null
     * @param readStartMs the wall clock before the first of those stats: a change after it gets a ctime past v's
     *                    only if v's ctime was a clock tick older (checked with {@link #SETTLED_NS} to spare)
     */
    void remember(Version v, long xxhash64, ObjectMeta xattrRecord, long readStartMs) {
        long startNs = TimeUnit.MILLISECONDS.toNanos(readStartMs);
        if (startNs - v.ctimeNs() < SETTLED_NS || startNs - v.mtimeNs() < SETTLED_NS) return; // too fresh to tell apart
        if (xattrRecord != null && xattrRecord.sizeBytes() != v.sizeBytes()) xattrRecord = null; // not this data's
        if (checked.size() >= ENTRIES_MAX) checked.clear();
        checked.put(v, new Checked(xxhash64, xattrRecord, System.nanoTime()));
    }

    /** For tests: forget everything, so the next GET of each object reads it whole again. */
    void clear() {
        checked.clear();
    }
}
