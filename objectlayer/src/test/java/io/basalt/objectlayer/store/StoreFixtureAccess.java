package io.basalt.objectlayer.store;

import io.basalt.objectlayer.ObjectStore;
import io.basalt.objectlayer.StoreException;
import java.io.IOException;

/** StoreFixture's PUT and GET for tests of other packages (the volume mountpath's). */
public final class StoreFixtureAccess {
    private StoreFixtureAccess() {}

    public static ObjectStore.ObjectInfo put(ObjectStore store, String bucket, String key, byte[] data)
            throws StoreException {
        return StoreFixture.put(store, bucket, key, data);
    }

    public static byte[] get(ObjectStore store, String bucket, String key) throws StoreException, IOException {
        return StoreFixture.get(store, bucket, key);
    }
}
