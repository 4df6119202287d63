package io.basalt.objectlayer.volume;

import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.store.ObjectMeta;
import io.basalt.objectlayer.store.Xxhash64;
import io.basalt.shims.Check;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * A PUT into a volume mountpath. Bytes collect in a chunk buffer (growing from {@link #FIRST_CHUNK_BYTES} to the
 * store's chunk size, so many small PUTs cost little memory); each full chunk goes to the log writer as a DATA record
 * (not yet flushed), so a PUT of any size holds one chunk. {@link #commit} hands over the rest with the metadata as
 * the COMMIT record and returns once it is durable and in the index. One thread at a time.
 */
final class VolumeObjectWriter implements ObjectWriter {
    private static final int FIRST_CHUNK_BYTES = 64 * 1024;

    private enum State { OPEN, COMMITTED, ABORTED }

    private final VolumeMountpath mountpath;
    private final int bucketId;
    private final String bucket;
    private final String key;
    private final byte[] keyBytes;
    private final PutOptions options;
    private final long putId;
    private final MessageDigest md5;
    private final Xxhash64 xxhash = new Xxhash64();
    private final List<LogRecord.Extent> extents = new ArrayList<>();
    private ByteBuffer chunk = ByteBuffer.allocate(FIRST_CHUNK_BYTES);
    private long sizeBytes;
    private State state = State.OPEN;

    VolumeObjectWriter(VolumeMountpath mountpath, int bucketId, String bucket, String key, byte[] keyBytes,
                       PutOptions options, long putId) {
        this.mountpath = mountpath;
        this.bucketId = bucketId;
        this.bucket = bucket;
        this.key = key;
        this.keyBytes = keyBytes;
        this.options = options;
        this.putId = putId;
        try {
            this.md5 = MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has MD5", e);
        }
    }

    @Override
    public void write(ByteBuffer data) throws StoreException {
        Check.that(state == State.OPEN, "write after commit or abort");
        md5.update(data.duplicate());
        xxhash.update(data.duplicate());
        sizeBytes += data.remaining();
        try {
            while (data.hasRemaining()) {
                if (!chunk.hasRemaining()) makeRoom();
                int n = Math.min(chunk.remaining(), data.remaining());
                chunk.put(data.slice(data.position(), n));
                data.position(data.position() + n);
            }
        } catch (StoreException e) {
            abort();
            throw e;
        }
    }

    /** Grows the chunk up to the store's chunk size; a full one goes to the log as a DATA record. */
    private void makeRoom() throws StoreException {
        int max = mountpath.chunkBytes();
        if (chunk.capacity() < max) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.min(max, chunk.capacity() * 2));
            chunk = bigger.put(chunk.flip());
            return;
        }
        LogRecord.Extent extent = (LogRecord.Extent) mountpath.log().submit(
                new LogOps.Data(bucketId, keyBytes, putId, chunk.flip(), false));
        extents.add(extent);
        chunk.clear();
    }

    @Override
    public ObjectInfo commit() throws StoreException {
        Check.that(state == State.OPEN, "commit after commit or abort");
        try {
            ObjectMeta meta = ObjectMeta.ofPut(key, sizeBytes, md5.digest(), xxhash.digest(), options);
            mountpath.log().submit(new LogOps.Commit(bucketId, keyBytes, putId, meta, List.copyOf(extents),
                    chunk.flip(), 0));
            state = State.COMMITTED;
            unpin();
            return meta.info(bucket);
        } catch (StoreException e) {
            abort();
            throw e;
        }
    }

    private void unpin() {
        for (LogRecord.Extent x : extents) mountpath.segments().pins.decrementAndGet(VolumeLayout.segmentOf(x.location()));
        extents.clear();
    }

    /** Its DATA records stay in the log as garbage (compaction reclaims them); nothing becomes visible. */
    @Override
    public void abort() {
        if (state != State.OPEN) return;
        state = State.ABORTED;
        unpin();
        chunk = null;
    }

    @Override
    public void close() {
        abort();
    }
}
