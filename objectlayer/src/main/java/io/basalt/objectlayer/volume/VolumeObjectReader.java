package io.basalt.objectlayer.volume;

import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectReader;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * An open object of a volume mountpath. The commit record (header and inline data) was read and checked at open;
 * each DATA extent is read whole when a read first reaches it and checked against its own xxhash64 before a byte of
 * it is handed out, so a corrupt or unreadable extent fails the read with an IOException, never with bad bytes.
 * The object's segments stay pinned until close, so compaction cannot reuse them under the reader.
 */
final class VolumeObjectReader implements ObjectReader {
    private final VolumeMountpath mountpath;
    private final ObjectInfo info;
    private final VolumeIndex.Entry entry;
    private final VolumeMountpath.Read commitRead;
    private final LogRecord commit;
    private final ByteBuffer inline;
    /** Object offset where each extent starts; the inline data follows the last. */
    private final long[] starts;
    private int cachedExtent = -1;
    private VolumeMountpath.Read cachedRead;
    private boolean closed;

    /** Takes over {@code commitRead} (its buffer goes back to the pool at close). */
    VolumeObjectReader(VolumeMountpath mountpath, ObjectInfo info, VolumeIndex.Entry entry,
                       VolumeMountpath.Read commitRead) {
        this.mountpath = mountpath;
        this.info = info;
        this.entry = entry;
        this.commitRead = commitRead;
        this.commit = commitRead.record();
        this.inline = commitRead.data();
        this.starts = new long[commit.extents().size() + 1];
        for (int i = 0; i < commit.extents().size(); i++) starts[i + 1] = starts[i] + commit.extents().get(i).dataBytes();
    }

    /** The index entry it reads (pinned until close). */
    VolumeIndex.Entry entry() {
        return entry;
    }

    @Override
    public ObjectInfo info() {
        return info;
    }

    @Override
    public int read(long position, ByteBuffer dst) throws IOException {
        if (closed) throw new IOException("reader closed");
        if (position >= info.sizeBytes()) return -1;
        int extents = commit.extents().size();
        ByteBuffer source;
        long base;
        if (position >= starts[extents]) {
            source = inline;
            base = starts[extents];
        } else {
            int i = extentAt(position);
            source = extent(i);
            base = starts[i];
        }
        int from = (int) (position - base);
        int n = Math.min(dst.remaining(), source.remaining() - from);
        dst.put(source.slice(source.position() + from, n));
        return n;
    }

    private int extentAt(long position) {
        int lo = 0;
        int hi = commit.extents().size() - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (starts[mid] <= position) lo = mid; else hi = mid - 1;
        }
        return lo;
    }

    private ByteBuffer extent(int i) throws IOException {
        if (cachedExtent != i) {
            mountpath.release(cachedRead); // one extent's buffer at a time, reused through the pool
            cachedRead = null;
            cachedExtent = -1;
            LogRecord.Extent x = commit.extents().get(i);
            VolumeMountpath.Read r = mountpath.readRecord(x.location(), x.recordBlocks());
            if (r.record().type() != LogRecord.DATA || r.record().putId() != commit.putId()
                    || r.record().dataBytes() != x.dataBytes()) {
                mountpath.release(r);
                throw new IOException("extent " + i + " of " + info.bucket() + "/" + info.key() + " is not its DATA");
            }
            cachedRead = r;
            cachedExtent = i;
        }
        return cachedRead.data();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        mountpath.release(cachedRead);
        mountpath.release(commitRead);
        cachedRead = null;
        mountpath.segments().unpin(entry);
    }
}
