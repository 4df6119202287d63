package io.basalt.objectlayer.store;

import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException;
import io.basalt.shims.Check;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * A PUT into a directory mountpath: the data goes to a file in ROOT/.tmp, hashed (MD5 for the ETag, xxhash64 for
 * GETs) as it is written; {@link #commit} fsyncs it, attaches the metadata and renames it into place. Until then
 * nothing of it is visible; abort deletes the temp file. One thread at a time (the interface's contract).
 */
final class DirectoryWriter implements ObjectWriter {
    private enum State { OPEN, COMMITTED, ABORTED }

    private final DirectoryMountpath mountpath;
    private final StripedLocks locks;
    private final String bucket;
    private final String key;
    private final List<byte[]> segments;
    private final PutOptions options;
    private final Path tmp;
    private final FileChannel channel;
    /** Null when the options give the ETag and no Content-MD5 (a multipart Complete): no MD5 to compute. */
    private final MessageDigest md5;
    private final Xxhash64 xxhash = new Xxhash64();
    private long sizeBytes;
    private State state = State.OPEN;

    DirectoryWriter(DirectoryMountpath mountpath, StripedLocks locks, String bucket, String key, List<byte[]> segments,
                    PutOptions options) throws StoreException {
        this.mountpath = mountpath;
        this.locks = locks;
        this.bucket = bucket;
        this.key = key;
        this.segments = segments;
        this.options = options;
        this.tmp = mountpath.newTempFile();
        try {
            this.md5 = options.etag() == null || options.contentMd5() != null ? MessageDigest.getInstance("MD5") : null;
            this.channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw mountpath.failure("PUT " + bucket + "/" + key, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has MD5", e);
        }
    }

    @Override
    public void write(ByteBuffer data) throws StoreException {
        Check.that(state == State.OPEN, "write after commit or abort");
        int start = data.position();
        int end = data.limit();
        try {
            if (sizeBytes + data.remaining() > mountpath.writeFaultAfterBytes()) throw DirectoryMountpath.enospc(tmp);
            while (data.hasRemaining()) channel.write(data);
        } catch (IOException e) {
            abort();
            throw mountpath.failure("PUT " + bucket + "/" + key, e);
        }
        // hash what was written: the same bytes, re-read from the caller's buffer
        ByteBuffer view = data.duplicate().position(start).limit(end);
        if (md5 != null) md5.update(view.duplicate());
        xxhash.update(view);
        sizeBytes += end - start;
    }

    @Override
    public ObjectInfo commit() throws StoreException {
        Check.that(state == State.OPEN, "commit after commit or abort");
        ObjectMeta meta;
        try {
            meta = ObjectMeta.ofPut(key, sizeBytes, md5 == null ? null : md5.digest(), xxhash.digest(), options);
        } catch (StoreException e) {
            abort();
            throw e;
        }
        try {
            mountpath.commit(tmp, channel, bucket, segments, meta, locks);
            channel.close();
        } catch (IOException e) {
            abort();
            throw mountpath.failure("PUT " + bucket + "/" + key, e);
        }
        state = State.COMMITTED;
        return meta.info(bucket);
    }

    @Override
    public void abort() {
        if (state != State.OPEN) return;
        state = State.ABORTED;
        try {
            channel.close();
            Files.deleteIfExists(tmp);
        } catch (IOException e) {
            // the temp file is removed at the next open of the mountpath; nothing of it is visible
        }
    }

    @Override
    public void close() {
        abort();
    }
}
