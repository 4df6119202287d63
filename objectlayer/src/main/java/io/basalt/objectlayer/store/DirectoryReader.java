package io.basalt.objectlayer.store;

import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * An open object of a directory mountpath whose whole content matched its xxhash64 at open
 * ({@link MountpathStore#open}): reads come from the same open file, so a later replace or delete of the name does
 * not change what this reader returns, and {@link #file()} can serve it by sendfile.
 */
final class DirectoryReader implements ObjectReader {
    private final FileChannel channel;
    private final ObjectInfo info;

    DirectoryReader(FileChannel channel, ObjectInfo info) {
        this.channel = channel;
        this.info = info;
    }

    @Override
    public ObjectInfo info() {
        return info;
    }

    @Override
    public int read(long position, ByteBuffer dst) throws IOException {
        if (position >= info.sizeBytes()) return -1;
        int room = (int) Math.min(dst.remaining(), info.sizeBytes() - position);
        ByteBuffer window = dst.slice(dst.position(), room);
        int n = channel.read(window, position);
        if (n > 0) dst.position(dst.position() + n);
        return n;
    }

    @Override
    public FileChannel file() {
        return channel;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // a read-only descriptor: nothing is lost by a failed close
        }
    }
}
