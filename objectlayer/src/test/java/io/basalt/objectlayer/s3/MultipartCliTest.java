package io.basalt.objectlayer.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.objectlayer.store.DirectoryMountpath;
import io.basalt.objectlayer.store.MountpathStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Multipart uploads, tagging and conditional writes through the AWS CLI (s3api and s3 cp) against S3Server over a
 * real MountpathStore of two directory mountpaths (fsync off: scratch data). Needs `aws` (Debian: awscli).
 */
class MultipartCliTest {
    static final int MIB = 1 << 20;
    static final long GIB = 1L << 30;
    /** The 1 GiB test's part size: 16 parts. */
    static final int CHUNK_BYTES = 64 * MIB;

    @TempDir
    static Path dir;
    static S3Server server;
    static CliHarness cli;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(CliHarness.onPath("aws"), "the AWS CLI (`aws`, Debian package awscli) is not installed");
        List<DirectoryMountpath> mountpaths = List.of(mountpath("mp0"), mountpath("mp1"));
        server = S3Server.start(new MountpathStore(mountpaths),
                S3Server.Options.of("127.0.0.1", 0, Map.of(CliHarness.ACCESS_KEY, CliHarness.SECRET)));
        cli = new CliHarness(dir, server.port());
        // multipart from 64 MiB in 64 MiB parts (the harness's config keeps single PUTs up to 64 MB)
        Files.writeString(dir.resolve("aws-config"), "[default]\nregion = us-east-1\ns3 =\n"
                + "    multipart_threshold = 64MB\n    multipart_chunksize = 64MB\n    signature_version = s3v4\n");
    }

    static DirectoryMountpath mountpath(String name) throws IOException {
        Path root = Files.createDirectories(dir.resolve(name));
        return DirectoryMountpath.open(root, 1, true, false);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static CliHarness.Result ok(String... args) throws Exception {
        CliHarness.Result r = cli.aws(args);
        assertEquals(0, r.exit(), () -> String.join(" ", args) + " failed: " + r.all());
        return r;
    }

    static CliHarness.Result fails(String code, String... args) throws Exception {
        CliHarness.Result r = cli.aws(args);
        assertTrue(r.exit() != 0 && r.err().contains(code), () -> String.join(" ", args) + ": expected " + code
                + ", got " + r.all());
        return r;
    }

    static String field(String json, String name) {
        // "Name": 12, "Name": "text", or an ETag's "Name": "\"hex\""
        Matcher m = Pattern.compile("\"" + name + "\": \"?(?:\\\\\")?([^\"\\\\,\\n]*)").matcher(json);
        assertTrue(m.find(), () -> name + " in " + json);
        return m.group(1);
    }

    static Path file(String name, int bytes, long seed) throws IOException {
        byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        return Files.write(dir.resolve(name), data);
    }

    static String md5(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
    }

    @Test
    void s3apiUploadPartsCopyAPartListPageAndComplete() throws Exception {
        ok("s3api", "create-bucket", "--bucket", "mpcli");
        Path p1 = file("p1", 5 * MIB, 1);
        Path p2 = file("p2", 5 * MIB + 1, 2);
        Path src = file("src", 3 * MIB, 3);
        ok("s3api", "put-object", "--bucket", "mpcli", "--key", "source", "--body", src.toString());
        String create = ok("s3api", "create-multipart-upload", "--bucket", "mpcli", "--key", "dir/joined",
                "--content-type", "text/x-joined", "--metadata", "color=green", "--tagging", "stage=test&team=basalt").out();
        String id = field(create, "UploadId");
        String e1 = field(ok("s3api", "upload-part", "--bucket", "mpcli", "--key", "dir/joined", "--upload-id", id,
                "--part-number", "1", "--body", p1.toString()).out(), "ETag");
        assertEquals(md5(Files.readAllBytes(p1)), e1);
        String e2 = field(ok("s3api", "upload-part", "--bucket", "mpcli", "--key", "dir/joined", "--upload-id", id,
                "--part-number", "2", "--body", p2.toString()).out(), "ETag");
        String copy = ok("s3api", "upload-part-copy", "--bucket", "mpcli", "--key", "dir/joined", "--upload-id", id,
                "--part-number", "3", "--copy-source", "mpcli/source", "--copy-source-range", "bytes=1000-1999").out();
        String e3 = field(copy, "ETag");
        byte[] srcBytes = Files.readAllBytes(src);
        assertEquals(md5(java.util.Arrays.copyOfRange(srcBytes, 1000, 2000)), e3);

        // the CLI pages list-parts by max-parts and part-number-marker
        String parts = ok("s3api", "list-parts", "--bucket", "mpcli", "--key", "dir/joined", "--upload-id", id,
                "--page-size", "1", "--query", "Parts[].[PartNumber,Size]", "--output", "text").out();
        assertEquals("1\t" + 5 * MIB + "\n2\t" + (5 * MIB + 1) + "\n3\t1000", parts.trim());
        String firstPage = ok("s3api", "list-parts", "--bucket", "mpcli", "--key", "dir/joined", "--upload-id", id,
                "--max-parts", "2", "--no-paginate").out();
        assertTrue(firstPage.contains("\"IsTruncated\": true") && firstPage.contains("\"NextPartNumberMarker\": 2"),
                firstPage);
        String uploads = ok("s3api", "list-multipart-uploads", "--bucket", "mpcli").out();
        assertTrue(uploads.contains(id) && uploads.contains("dir/joined"), uploads);

        String list = "{\"Parts\":[{\"PartNumber\":1,\"ETag\":\"\\\"" + e1 + "\\\"\"},{\"PartNumber\":2,\"ETag\":\"\\\""
                + e2 + "\\\"\"},{\"PartNumber\":3,\"ETag\":\"\\\"" + e3 + "\\\"\"}]}";
        fails("InvalidPart", "s3api", "complete-multipart-upload", "--bucket", "mpcli", "--key", "dir/joined",
                "--upload-id", id, "--multipart-upload", list.replace(e3, e1));
        String done = ok("s3api", "complete-multipart-upload", "--bucket", "mpcli", "--key", "dir/joined",
                "--upload-id", id, "--multipart-upload", list).out();
        MessageDigest md5s = MessageDigest.getInstance("MD5");
        for (String e : List.of(e1, e2, e3)) {
            md5s.update(HexFormat.of().parseHex(e));
        }
        String etag = HexFormat.of().formatHex(md5s.digest()) + "-3";
        assertEquals(etag, field(done, "ETag"));
        String head = ok("s3api", "head-object", "--bucket", "mpcli", "--key", "dir/joined").out();
        assertTrue(head.contains(etag) && head.contains("text/x-joined") && head.contains("\"color\": \"green\""), head);
        Path back = dir.resolve("joined-back");
        String get = ok("s3api", "get-object", "--bucket", "mpcli", "--key", "dir/joined", back.toString()).out();
        assertTrue(get.contains("\"TagCount\": 2"), get);
        byte[] expected = new byte[10 * MIB + 1 + 1000];
        ByteBuffer.wrap(expected).put(Files.readAllBytes(p1)).put(Files.readAllBytes(p2)).put(srcBytes, 1000, 1000);
        assertArrayEquals(expected, Files.readAllBytes(back));
        fails("NoSuchUpload", "s3api", "list-parts", "--bucket", "mpcli", "--key", "dir/joined", "--upload-id", id);
    }

    /** The CLI's forms of tagging and conditional writes (boto3 covers the rest: MultipartBoto3Test). */
    @Test
    void taggingAndConditionalPutThroughS3api() throws Exception {
        ok("s3api", "create-bucket", "--bucket", "tags");
        Path f = file("tagged", 100, 5);
        String etag = field(ok("s3api", "put-object", "--bucket", "tags", "--key", "k", "--body", f.toString(),
                "--tagging", "a=1&b=two%20words", "--if-none-match", "*").out(), "ETag");
        String got = ok("s3api", "get-object-tagging", "--bucket", "tags", "--key", "k",
                "--query", "TagSet[].[Key,Value]", "--output", "text").out();
        assertEquals("a\t1\nb\ttwo words", got.trim());
        fails("PreconditionFailed", "s3api", "put-object", "--bucket", "tags", "--key", "k", "--body", f.toString(),
                "--if-none-match", "*");
        fails("PreconditionFailed", "s3api", "copy-object", "--bucket", "tags", "--key", "c", "--copy-source",
                "tags/k", "--copy-source-if-none-match", "\"" + etag + "\"");
        fails("InvalidTag", "s3api", "put-object-tagging", "--bucket", "tags", "--key", "k", "--tagging",
                "{\"TagSet\":[{\"Key\":\"" + "k".repeat(129) + "\",\"Value\":\"v\"}]}");
    }

    /**
     * 1 GiB through `aws s3 cp` in 64 MiB parts: the ETag is the MD5 of the 16 parts' MD5s with "-16", and the bytes
     * read back hash the same. The file is generated on /tmp (the test's directory) and deleted at the end.
     */
    @Test
    void oneGibibyteWithS3CpInSixteenParts() throws Exception {
        ok("s3", "mb", "s3://gib");
        Path big = dir.resolve("gib.bin");
        MessageDigest whole = MessageDigest.getInstance("SHA-256");
        MessageDigest md5s = MessageDigest.getInstance("MD5");
        generate(big, whole, md5s);
        String expectedSha = HexFormat.of().formatHex(whole.digest());
        String expectedEtag = HexFormat.of().formatHex(md5s.digest()) + "-" + (GIB / CHUNK_BYTES);
        Path back = dir.resolve("gib-back.bin");
        try {
            ok("s3", "cp", big.toString(), "s3://gib/one-gib.bin");
            String head = ok("s3api", "head-object", "--bucket", "gib", "--key", "one-gib.bin").out();
            assertEquals(expectedEtag, field(head, "ETag"));
            assertTrue(head.contains("\"ContentLength\": " + GIB), head);
            ok("s3", "cp", "s3://gib/one-gib.bin", back.toString());
            assertEquals(expectedSha, sha256(back));
        } finally {
            Files.deleteIfExists(big);
            Files.deleteIfExists(back);
        }
        ok("s3", "rm", "s3://gib/one-gib.bin");
    }

    /** 1 GiB of 1 MiB random blocks, each stamped with its index so no two parts are alike. */
    private static void generate(Path file, MessageDigest whole, MessageDigest md5s) throws Exception {
        byte[] block = new byte[MIB];
        new Random(14).nextBytes(block);
        MessageDigest part = MessageDigest.getInstance("MD5");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (int i = 0; i < GIB / MIB; i++) {
                ByteBuffer.wrap(block).putInt(i);
                whole.update(block);
                part.update(block);
                if ((i + 1) % (CHUNK_BYTES / MIB) == 0) {
                    md5s.update(part.digest());
                }
                ByteBuffer buf = ByteBuffer.wrap(block);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
            }
        }
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest d = MessageDigest.getInstance("SHA-256");
        ByteBuffer buf = ByteBuffer.allocate(4 * MIB);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (ch.read(buf.clear()) > 0) {
                d.update(buf.flip());
            }
        }
        return HexFormat.of().formatHex(d.digest());
    }
}
