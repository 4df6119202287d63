package io.basalt.objectlayer.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.objectlayer.store.MountpathStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * s3cmd (Debian 2.3.0: SigV4 with a signed payload SHA-256, path-style through host_bucket without %(bucket)s)
 * against S3Server over a real directory mountpath: mb, put, ls, get, del, rb, from a generated config.
 */
class S3cmdTest {
    @TempDir
    static Path dir;
    @TempDir
    static Path mountpath;
    static MountpathStore store;
    static S3Server server;
    static CliHarness cli;
    static Path config;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(CliHarness.onPath("s3cmd"), "s3cmd (Debian package s3cmd) is not installed");
        store = MountpathStore.open(List.of(mountpath));
        server = S3Server.start(store, S3Server.Options.of("127.0.0.1", 0, Map.of(CliHarness.ACCESS_KEY, CliHarness.SECRET)));
        cli = new CliHarness(dir, server.port());
        config = dir.resolve("s3cfg");
        String hostPort = "127.0.0.1:" + server.port();
        Files.writeString(config, String.join("\n", "[default]",
                "access_key = " + CliHarness.ACCESS_KEY,
                "secret_key = " + CliHarness.SECRET,
                "host_base = " + hostPort,
                "host_bucket = " + hostPort,
                "bucket_location = us-east-1",
                "signature_v2 = False",
                "use_https = False",
                "check_ssl_certificate = False",
                "guess_mime_type = False",
                "progress_meter = False",
                "") );
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (store != null) store.close();
    }

    private static CliHarness.Result s3cmd(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("s3cmd", "--config", config.toString()));
        cmd.addAll(List.of(args));
        return cli.run(cmd, CliHarness.SECRET);
    }

    private static CliHarness.Result ok(String... args) throws Exception {
        CliHarness.Result r = s3cmd(args);
        assertEquals(0, r.exit(), () -> "s3cmd " + String.join(" ", args) + " failed: " + r.all());
        return r;
    }

    @Test
    void makeBucketPutListGetDeleteRemoveBucket() throws Exception {
        ok("mb", "s3://cmd");
        assertTrue(ok("ls").out().contains("s3://cmd"), "the new bucket listed");
        Path small = dir.resolve("small.txt");
        Files.writeString(small, "s3cmd was here");
        byte[] big = new byte[6 << 20];
        new Random(6).nextBytes(big);
        Path bigFile = dir.resolve("big.bin");
        Files.write(bigFile, big);
        ok("put", small.toString(), "s3://cmd/docs/small file.txt");
        ok("put", "--disable-multipart", bigFile.toString(), "s3://cmd/blobs/big.bin");
        ok("put", small.toString(), "s3://cmd/top.txt");

        String top = ok("ls", "s3://cmd/").out();
        assertTrue(top.contains("DIR") && top.contains("s3://cmd/docs/") && top.contains("s3://cmd/blobs/"), top);
        assertTrue(top.contains("s3://cmd/top.txt") && !top.contains("small file.txt"), top);
        String recursive = ok("ls", "--recursive", "s3://cmd/").out();
        for (String k : List.of("s3://cmd/blobs/big.bin", "s3://cmd/docs/small file.txt", "s3://cmd/top.txt")) {
            assertTrue(recursive.contains(k), recursive);
        }
        assertTrue(recursive.contains(String.valueOf(big.length)), "the size listed: " + recursive);

        Path back = dir.resolve("back.bin");
        ok("get", "--force", "s3://cmd/blobs/big.bin", back.toString());
        assertArrayEquals(big, Files.readAllBytes(back));
        Path backSmall = dir.resolve("back.txt");
        ok("get", "--force", "s3://cmd/docs/small file.txt", backSmall.toString());
        assertEquals("s3cmd was here", Files.readString(backSmall));
        String info = ok("info", "s3://cmd/top.txt").out();
        assertTrue(info.contains("14"), "the size in info: " + info);

        CliHarness.Result notEmpty = s3cmd("rb", "s3://cmd");
        assertNotEquals(0, notEmpty.exit(), notEmpty.all());
        assertTrue(notEmpty.all().contains("BucketNotEmpty"), notEmpty.all());
        ok("del", "s3://cmd/top.txt");
        ok("del", "--recursive", "--force", "s3://cmd/");
        assertFalse(ok("ls", "--recursive", "s3://cmd/").out().contains("s3://cmd/"), "every object deleted");
        CliHarness.Result missing = s3cmd("get", "--force", "s3://cmd/top.txt", backSmall.toString());
        assertNotEquals(0, missing.exit(), missing.all());
        assertTrue(missing.all().contains("does not exist"), missing.all()); // s3cmd HEADs first: a 404
        ok("rb", "s3://cmd");
        assertFalse(ok("ls").out().contains("s3://cmd"), "the bucket removed");
    }

    @Test
    void aWrongSecretIsRefused() throws Exception {
        Path bad = dir.resolve("s3cfg-bad");
        Files.writeString(bad, Files.readString(config).replace(CliHarness.SECRET, "not-the-secret"));
        CliHarness.Result r = cli.run(List.of("s3cmd", "--config", bad.toString(), "ls"), CliHarness.SECRET);
        assertNotEquals(0, r.exit(), r.all());
        assertTrue(r.all().contains("SignatureDoesNotMatch") || r.all().contains("403"), r.all());
    }
}
