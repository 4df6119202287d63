package io.basalt.bench;

import io.basalt.objectlayer.s3.S3Server;
import io.basalt.objectlayer.store.MountpathStore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;

/**
 * Basalt's side of {@code basalt bench objects}, a process of its own so that its CPU time can be read from
 * /proc/PID/stat: S3Server over one directory mountpath, configured as the daemon's {@code s3_start} (one event loop,
 * path-style and bucket.localhost, anonymous access off), on 127.0.0.1 and any free port. It prints {@code PORT n}
 * and serves until its standard input closes (the bench ended, or died). The key comes from the environment
 * ({@link #KEY_ENV}, {@link #SECRET_ENV}), not the command line.
 */
public final class ObjectBenchServer {
    static final String KEY_ENV = "BASALT_BENCH_ACCESS_KEY";
    static final String SECRET_ENV = "BASALT_BENCH_SECRET_KEY";
    /** As the daemon's S3Registry. */
    static final int EVENT_LOOPS = 1;
    /** A system property that overrides {@link #EVENT_LOOPS}, to measure other counts (via --server-java-opts). */
    static final String EVENT_LOOPS_PROPERTY = "basalt.bench.s3.eventLoops";

    private ObjectBenchServer() {}

    /** {@code ObjectBenchServer MOUNTPATH}. */
    public static void main(String[] args) throws Exception {
        if (args.length != 1) throw new IllegalArgumentException("usage: ObjectBenchServer MOUNTPATH");
        Map<String, String> key = Map.of(System.getenv(KEY_ENV), System.getenv(SECRET_ENV));
        Path mountpath = Files.createDirectories(Path.of(args[0])); // as s3_start: made when missing
        try (MountpathStore store = MountpathStore.open(List.of(mountpath))) {
            S3Server.Options options = new S3Server.Options("127.0.0.1", 0, S3BenchClient.REGION, "localhost", key, false,
                    Integer.getInteger(EVENT_LOOPS_PROPERTY, EVENT_LOOPS), Clock.systemUTC());
            try (S3Server server = S3Server.start(store, options)) {
                System.out.println("PORT " + server.port());
                System.out.flush();
                while (System.in.read() >= 0) {
                    // served until the bench closes our standard input
                }
            }
        }
    }
}
