package io.basalt.objectlayer.store;

import io.basalt.objectlayer.ObjectStore.Condition;
import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import java.nio.ByteBuffer;

/**
 * A PUT through {@link MountpathStore}: the mountpath's writer, committed under the store's per-key commit lock, so a
 * conditional PUT (If-None-Match: *, If-Match) checks the version on disk and publishes its own with no other commit
 * of the key in between, and a tag update never interleaves with a commit of the key.
 */
final class KeyCommitWriter implements ObjectWriter {
    private final Mountpath mountpath;
    private final ObjectWriter delegate;
    private final StripedLocks commitLocks;
    private final String bucket;
    private final String key;
    private final Condition condition;

    KeyCommitWriter(Mountpath mountpath, ObjectWriter delegate, StripedLocks commitLocks, String bucket, String key,
                    Condition condition) {
        this.mountpath = mountpath;
        this.delegate = delegate;
        this.commitLocks = commitLocks;
        this.bucket = bucket;
        this.key = key;
        this.condition = condition;
    }

    static String lockName(String bucket, String key) {
        return bucket + "/" + key;
    }

    @Override
    public void write(ByteBuffer data) throws StoreException {
        delegate.write(data);
    }

    @Override
    public ObjectInfo commit() throws StoreException {
        try (StripedLocks.Held held = commitLocks.hold(lockName(bucket, key))) {
            if (condition != null && !condition.holds(current())) {
                delegate.abort();
                throw new StoreException(Code.PRECONDITION_FAILED,
                        "At least one of the pre-conditions you specified did not hold");
            }
            return delegate.commit();
        }
    }

    /** The version on disk; null when there is none. */
    private ObjectInfo current() throws StoreException {
        try {
            return mountpath.head(bucket, key);
        } catch (StoreException e) {
            if (e.code() == Code.NO_SUCH_KEY) return null;
            delegate.abort();
            throw e;
        }
    }

    @Override
    public void abort() {
        delegate.abort();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
