package io.basalt.daemon;

import io.basalt.objectlayer.s3.S3Server;
import io.basalt.objectlayer.store.DirectoryMountpath;
import io.basalt.objectlayer.store.Mountpath;
import io.basalt.objectlayer.store.MountpathStore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The daemon's one S3 service (s3_start, s3_stop, s3_status): an {@link S3Server} over a {@link MountpathStore} of
 * directory mountpaths, signed with the data dir's access key ({@link S3Credentials}). Control plane only: every
 * method holds this object's lock, none runs on a data path.
 */
final class S3Registry implements AutoCloseable {
    /** Netty threads that decode and queue; the requests themselves run on virtual threads. */
    private static final int EVENT_LOOPS = 1;
    /** Clients given http://localhost:PORT may address buckets as bucket.localhost (SDKs that default to virtual-host style). */
    private static final String VIRTUAL_HOST_DOMAIN = "localhost";

    /** What s3_start was given (the saved call), and what it made. */
    record Running(String address, List<Path> mountpaths, String region, S3Server server, MountpathStore store) {}

    private final Path dataDir;
    private Running running;
    private S3Credentials credentials;

    S3Registry(Path dataDir) {
        this.dataDir = dataDir;
    }

    synchronized Running start(String address, int port, List<Path> roots, String region) {
        if (running != null) {
            throw new IllegalStateException("the S3 service already runs on " + NvmfRegistry.hostPort(running.address(), running.server().port())
                    + " (one per daemon; s3_stop it first)");
        }
        S3Credentials key = credentials();
        MountpathStore store = openStore(roots);
        S3Server server;
        try {
            S3Server.Options options = new S3Server.Options(address, port, region, VIRTUAL_HOST_DOMAIN, Map.of(key.accessKeyId(), key.secretKey()),
                    false, EVENT_LOOPS, Clock.systemUTC());
            server = S3Server.start(store, options);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            store.close();
            throw new IllegalStateException("interrupted while binding " + address + ":" + port);
        } catch (Exception e) { // Netty rethrows the bind's IOException unchecked-style: any exception is a failed bind
            store.close();
            throw new DriveRegistry.DriveException("port", "cannot listen on " + NvmfRegistry.hostPort(address, port) + ": " + e.getMessage());
        }
        running = new Running(address, List.copyOf(roots), region, server, store);
        return running;
    }

    private static MountpathStore openStore(List<Path> roots) {
        try {
            for (Path root : roots) Files.createDirectories(root);
            return MountpathStore.open(roots);
        } catch (IOException | RuntimeException e) {
            throw new DriveRegistry.DriveException("mountpaths", "cannot open the mountpaths: " + e);
        }
    }

    /** The data dir's key, read (or made) at the first s3_start and kept. */
    private S3Credentials credentials() {
        if (credentials == null) {
            try {
                credentials = S3Credentials.loadOrCreate(dataDir);
            } catch (IOException e) {
                throw new IllegalStateException("the S3 access key: " + e.getMessage());
            }
        }
        return credentials;
    }

    synchronized boolean stop() {
        if (running == null) return false;
        stopRunning();
        return true;
    }

    /** Stops taking requests first, then closes the store the last ones ran against. */
    private void stopRunning() {
        Running r = running;
        running = null;
        r.server().close();
        r.store().close();
    }

    synchronized Running running() {
        return running;
    }

    /** The access key id and secret of the running service, or null (the banner prints them). */
    synchronized S3Credentials runningCredentials() {
        return running == null ? null : credentials;
    }

    /** s3_status: the service's address, port, mountpaths, region and key id (never the secret). */
    synchronized Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("running", running != null);
        if (running == null) return m;
        m.put("address", running.address());
        m.put("port", (long) running.server().port());
        m.put("endpoint", endpoint(running));
        m.put("region", running.region());
        m.put("access_key_id", credentials.accessKeyId());
        m.put("credentials_file", dataDir.resolve(S3Credentials.FILE_NAME).toString());
        List<Object> mps = new ArrayList<>();
        for (Mountpath mp : running.store().mountpaths()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("path", mp.describe());
            e.put("id", String.format("%016x", mp.id()));
            e.put("weight", mp.weight());
            if (mp instanceof DirectoryMountpath dir) e.put("xattrs", dir.usesXattrs());
            mps.add(e);
        }
        m.put("mountpaths", mps);
        return m;
    }

    static String endpoint(Running r) {
        return "http://" + NvmfRegistry.hostPort(r.address(), r.server().port());
    }

    /** The s3_start call that brings the service back (the saved state), or none. */
    synchronized List<Object> savedCalls() {
        if (running == null) return List.of();
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("address", running.address());
        p.put("port", (long) running.server().port()); // the port bound: a restart serves at the same endpoint
        p.put("mountpaths", running.mountpaths().stream().map(Path::toString).toList());
        p.put("region", running.region());
        return List.of(ConfigReplay.call("s3_start", p));
    }

    @Override
    public synchronized void close() {
        if (running != null) stopRunning();
    }
}
