package io.basalt.objectlayer.store;

import java.util.concurrent.locks.ReentrantLock;

/**
 * A fixed set of locks chosen by a name's hash: serializes the two renames of a sidecar commit for one object, so
 * the sidecar's "previous" record is the version on disk. Only sidecar commits take one (xattr commits are one
 * atomic rename), and {@link MountpathStore}'s commits of one key (a conditional PUT checks and commits under it);
 * these are control-path file operations on virtual threads, not the block data path.
 */
final class StripedLocks {
    private static final int STRIPES_DEFAULT = 64;
    private final ReentrantLock[] locks;

    StripedLocks() {
        this(STRIPES_DEFAULT);
    }

    StripedLocks(int stripes) {
        locks = new ReentrantLock[stripes];
        for (int i = 0; i < stripes; i++) locks[i] = new ReentrantLock();
    }

    Held hold(String name) {
        ReentrantLock lock = locks[Math.floorMod(name.hashCode(), locks.length)];
        lock.lock();
        return lock::unlock;
    }

    /** try-with-resources release. */
    interface Held extends AutoCloseable {
        @Override
        void close();
    }
}
