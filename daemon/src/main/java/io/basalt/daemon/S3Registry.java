package io.basalt.daemon;

import io.basalt.engine.Reactor;
import io.basalt.objectlayer.s3.S3Server;
import io.basalt.objectlayer.store.DirectoryMountpath;
import io.basalt.objectlayer.store.Mountpath;
import io.basalt.objectlayer.store.MountpathStore;
import io.basalt.objectlayer.volume.VolumeMountpath;
import io.basalt.engine.Reactor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The daemon's one S3 service (s3_start, s3_stop, s3_status): an {@link S3Server} over a {@link MountpathStore} of
 * directory and volume mountpaths (a volume claimed for the store alone while it runs), signed with the data dir's access key ({@link S3Credentials}). Control plane only: every
 * method holds this object's lock, none runs on a data path.
 */
final class S3Registry implements AutoCloseable {
    /** Netty threads that decode and queue; the requests themselves run on virtual threads. */
    private static final int EVENT_LOOPS = 1;
    /** Clients given http://localhost:PORT may address buckets as bucket.localhost (SDKs that default to virtual-host style). */
    private static final String VIRTUAL_HOST_DOMAIN = "localhost";

    /** What claims a volume mountpath's drive, for other callers' errors. */
    private static final String HOLDER = "the S3 service (a volume mountpath)";

    /** One s3_start mountpath: a directory, or a drive/volume of the daemon ({@code volume:NAME}). */
    record MountpathSpec(Path directory, String volume) {
        static final String VOLUME_PREFIX = "volume:";

        static MountpathSpec directory(Path dir) {
            return new MountpathSpec(dir, null);
        }

        static MountpathSpec volume(String name) {
            return new MountpathSpec(null, name);
        }

        /** The form s3_start takes (and the saved state replays). */
        @Override
        public String toString() {
            return volume != null ? VOLUME_PREFIX + volume : directory.toString();
        }
    }

    /** What s3_start was given (the saved call), and what it made. */
    record Running(String address, List<MountpathSpec> mountpaths, String region, boolean allowAnonymous, S3Server server,
                   MountpathStore store) {}

    private final Path dataDir;
    private final DriveRegistry drives;
    private final Supplier<List<Reactor>> reactors;
    private Running running;
    private S3Credentials credentials;

    S3Registry(Path dataDir, DriveRegistry drives, Supplier<List<Reactor>> reactors) {
        this.dataDir = dataDir;
        this.drives = drives;
        this.reactors = reactors;
    }

    synchronized Running start(String address, int port, List<MountpathSpec> roots, String region, boolean allowAnonymous) {
        if (running != null) {
            throw new IllegalStateException("the S3 service already runs on " + NvmfRegistry.hostPort(running.address(), running.server().port())
                    + " (one per daemon; s3_stop it first)");
        }
        S3Credentials key = credentials();
        MountpathStore store = openStore(roots);
        S3Server server;
        try {
            S3Server.Options options = new S3Server.Options(address, port, region, VIRTUAL_HOST_DOMAIN, Map.of(key.accessKeyId(), key.secretKey()),
                    allowAnonymous, EVENT_LOOPS, Clock.systemUTC());
            server = S3Server.start(store, options);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeStore(store, roots);
            throw new IllegalStateException("interrupted while binding " + address + ":" + port);
        } catch (Exception e) { // Netty rethrows the bind's IOException unchecked-style: any exception is a failed bind
            closeStore(store, roots);
            throw new DriveRegistry.DriveException("port", "cannot listen on " + NvmfRegistry.hostPort(address, port) + ": " + e.getMessage());
        }
        running = new Running(address, List.copyOf(roots), region, allowAnonymous, server, store);
        return running;
    }

    /** Opens every mountpath (directories made when missing, volumes claimed), or none: what opened is closed again. */
    private MountpathStore openStore(List<MountpathSpec> specs) {
        List<Mountpath> opened = new ArrayList<>();
        try {
            for (MountpathSpec spec : specs) opened.add(spec.volume() != null ? openVolume(spec.volume(), opened.size())
                    : openDirectory(spec.directory()));
            return new MountpathStore(opened);
        } catch (IOException | RuntimeException e) {
            for (Mountpath mp : opened) mp.close();
            releaseVolumes(specs);
            if (e instanceof DriveRegistry.DriveException de) throw new DriveRegistry.DriveException("mountpaths", de.getMessage());
            throw new DriveRegistry.DriveException("mountpaths", "cannot open the mountpaths: " + e);
        }
    }

    private static Mountpath openDirectory(Path root) throws IOException {
        Files.createDirectories(root);
        return DirectoryMountpath.open(root, 0, true);
    }

    /**
     * Claims the drive for the store alone (no export, no array may use it meanwhile) and opens its store on a reactor;
     * a blank device is formatted, one holding other data refused (VolumeMountpath.open).
     */
    private Mountpath openVolume(String name, int ordinal) throws IOException {
        List<Reactor> all = reactors.get();
        if (all.isEmpty()) throw new IllegalStateException("no reactor runs to do the volume's I/O");
        DriveRegistry.Drive drive = drives.claim(name, HOLDER);
        Reactor reactor = all.get(ordinal % all.size());
        return VolumeMountpath.open(drive.device(), reactor, VolumeMountpath.Options.defaults());
    }

    private void releaseVolumes(List<MountpathSpec> specs) {
        for (MountpathSpec spec : specs) {
            if (spec.volume() != null && HOLDER.equals(drives.holder(spec.volume()))) drives.release(spec.volume(), HOLDER);
        }
    }

    private void closeStore(MountpathStore store, List<MountpathSpec> specs) {
        store.close();
        releaseVolumes(specs);
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
        closeStore(r.store(), r.mountpaths());
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
        m.put("allow_anonymous", running.allowAnonymous());
        m.put("access_key_id", credentials.accessKeyId());
        m.put("credentials_file", dataDir.resolve(S3Credentials.FILE_NAME).toString());
        List<Object> mps = new ArrayList<>();
        List<Mountpath> opened = running.store().mountpaths();
        for (int i = 0; i < opened.size(); i++) {
            Mountpath mp = opened.get(i);
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("path", running.mountpaths().get(i).toString()); // as s3_start takes it: a directory or volume:NAME
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
        p.put("mountpaths", running.mountpaths().stream().map(MountpathSpec::toString).toList());
        p.put("region", running.region());
        if (running.allowAnonymous()) p.put("allow_anonymous", Boolean.TRUE);
        return List.of(ConfigReplay.call("s3_start", p));
    }

    @Override
    public synchronized void close() {
        if (running != null) stopRunning();
    }
}
