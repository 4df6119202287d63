package io.basalt.objectlayer.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The AWS CLI (aws s3api, aws s3) against S3Server over MemoryObjectStore, once per installed generation: the `aws`
 * first on PATH (pyenv's aws-cli 1.45 / botocore 1.43 on the build machine: CRC32 checksums by default, aws-chunked
 * uploads) and Debian's /usr/bin/aws (package awscli 2.9, its own bundled botocore, no trailers). A generation that
 * is not installed is skipped with the reason in its name.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("io.basalt.objectlayer.s3.CliHarness#awsClients")
class AwsCliTest {
    @Parameter
    CliHarness.Client client;
    @TempDir
    static Path dir;
    static S3Server server;
    static CliHarness cli;

    @BeforeParameterizedClassInvocation
    static void start(CliHarness.Client client) throws Exception {
        Assumptions.assumeTrue(client.present(), client::toString);
        server = S3Server.start(new MemoryObjectStore(),
                S3Server.Options.of("127.0.0.1", 0, Map.of(CliHarness.ACCESS_KEY, CliHarness.SECRET)));
        cli = new CliHarness(dir, server.port(), client.executable(), "python3");
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    private static CliHarness.Result ok(String... args) throws Exception {
        CliHarness.Result r = cli.aws(args);
        assertEquals(0, r.exit(), () -> String.join(" ", args) + " failed: " + r.all());
        return r;
    }

    @Test
    void bucketAndObjectRoundTrip() throws Exception {
        ok("s3api", "create-bucket", "--bucket", "round");
        assertTrue(ok("s3api", "list-buckets").out().contains("\"round\""));
        Path file = dir.resolve("small.txt");
        Files.writeString(file, "hello basalt objects");
        ok("s3api", "put-object", "--bucket", "round", "--key", "dir/hello world.txt", "--body", file.toString(),
                "--content-type", "text/plain", "--metadata", "color=blue");
        String head = ok("s3api", "head-object", "--bucket", "round", "--key", "dir/hello world.txt").out();
        assertTrue(head.contains("\"ContentLength\": 20"), head);
        assertTrue(head.contains("\"color\": \"blue\""), head);
        assertTrue(head.contains("text/plain"), head);
        Path back = dir.resolve("back.txt");
        ok("s3api", "get-object", "--bucket", "round", "--key", "dir/hello world.txt", back.toString());
        assertEquals("hello basalt objects", Files.readString(back));
        String ranged = ok("s3api", "get-object", "--bucket", "round", "--key", "dir/hello world.txt",
                "--range", "bytes=6-11", back.toString()).out();
        assertTrue(ranged.contains("bytes 6-11/20"), ranged);
        assertEquals("basalt", Files.readString(back));
        CliHarness.Result badRange = cli.aws("s3api", "get-object", "--bucket", "round", "--key", "dir/hello world.txt",
                "--range", "bytes=50-60", back.toString());
        assertTrue(badRange.err().contains("InvalidRange"), badRange.all());

        ok("s3api", "copy-object", "--bucket", "round", "--key", "copy.txt", "--copy-source", "round/dir/hello world.txt");
        assertTrue(ok("s3api", "head-object", "--bucket", "round", "--key", "copy.txt").out().contains("\"color\": \"blue\""));
        ok("s3api", "copy-object", "--bucket", "round", "--key", "copy.txt", "--copy-source", "round/copy.txt",
                "--metadata-directive", "REPLACE", "--metadata", "shape=round");
        String replaced = ok("s3api", "head-object", "--bucket", "round", "--key", "copy.txt").out();
        assertTrue(replaced.contains("\"shape\": \"round\"") && !replaced.contains("color"), replaced);

        CliHarness.Result notEmpty = cli.aws("s3api", "delete-bucket", "--bucket", "round");
        assertTrue(notEmpty.err().contains("BucketNotEmpty"), notEmpty.all());
        String deleted = ok("s3api", "delete-objects", "--bucket", "round", "--delete",
                "{\"Objects\":[{\"Key\":\"copy.txt\"},{\"Key\":\"dir/hello world.txt\"}]}").out();
        assertTrue(deleted.contains("copy.txt") && deleted.contains("dir/hello world.txt"), deleted);
        CliHarness.Result gone = cli.aws("s3api", "head-object", "--bucket", "round", "--key", "copy.txt");
        assertNotEquals(0, gone.exit());
        assertTrue(gone.err().contains("404"), gone.all());
        CliHarness.Result noKey = cli.aws("s3api", "get-object", "--bucket", "round", "--key", "copy.txt", back.toString());
        assertTrue(noKey.err().contains("NoSuchKey"), noKey.all());
        ok("s3api", "delete-bucket", "--bucket", "round");
        assertFalse(ok("s3api", "list-buckets").out().contains("\"round\""));
    }

    @Test
    void multiMebibyteObjectWithS3Cp() throws Exception {
        ok("s3", "mb", "s3://big");
        byte[] data = new byte[20 << 20];
        new Random(14).nextBytes(data);
        Path file = dir.resolve("big.bin");
        Files.write(file, data);
        ok("s3", "cp", file.toString(), "s3://big/blob.bin");
        Path back = dir.resolve("big-back.bin");
        ok("s3", "cp", "s3://big/blob.bin", back.toString());
        assertArrayEquals(data, Files.readAllBytes(back));
        assertTrue(ok("s3", "ls", "s3://big/").out().contains("blob.bin"));
        ok("s3", "rm", "s3://big/blob.bin");
        ok("s3", "rb", "s3://big");
    }

    @Test
    void listingWithPrefixDelimiterAndPages() throws Exception {
        ok("s3api", "create-bucket", "--bucket", "lists");
        Path file = dir.resolve("one.txt");
        Files.writeString(file, "1");
        String[] keys = {"a/1", "a/2", "a/3", "a/sub/x", "a/sub/y", "b/1", "c", "d", "e", "f/g/h"};
        for (String k : keys) {
            ok("s3api", "put-object", "--bucket", "lists", "--key", k, "--body", file.toString());
        }
        String top = ok("s3api", "list-objects-v2", "--bucket", "lists", "--delimiter", "/",
                "--query", "[join(',', Contents[].Key), join(',', CommonPrefixes[].Prefix)]", "--output", "text").out();
        assertEquals("c,d,e\ta/,b/,f/", top.trim());
        String underA = ok("s3api", "list-objects-v2", "--bucket", "lists", "--prefix", "a/", "--delimiter", "/",
                "--query", "[join(',', Contents[].Key), join(',', CommonPrefixes[].Prefix)]", "--output", "text").out();
        assertEquals("a/1,a/2,a/3\ta/sub/", underA.trim());
        // Pages of 3 through the CLI's paginator: every key once, in order.
        String all = ok("s3api", "list-objects-v2", "--bucket", "lists", "--page-size", "3",
                "--query", "Contents[].Key", "--output", "text").out();
        assertEquals(String.join("\t", keys), all.trim().replace("\n", "\t"));
        String firstSeven = ok("s3api", "list-objects-v2", "--bucket", "lists", "--page-size", "3", "--max-items", "7",
                "--output", "json").out();
        assertTrue(firstSeven.contains("NextToken") && firstSeven.contains("\"c\"") && !firstSeven.contains("\"d\""), firstSeven);
        // v1 with a delimiter pages through common prefixes by NextMarker.
        // (JSON output: the CLI merges the pages before the query; the first page holds only common prefixes.)
        String v1 = ok("s3api", "list-objects", "--bucket", "lists", "--delimiter", "/", "--page-size", "2",
                "--query", "[Contents[].Key, CommonPrefixes[].Prefix]", "--output", "json").out();
        assertEquals("[[\"c\",\"d\",\"e\"],[\"a/\",\"b/\",\"f/\"]]", v1.replaceAll("\\s", ""));
        String ls = ok("s3", "ls", "s3://lists/").out();
        assertTrue(ls.contains("PRE a/") && ls.contains("PRE f/") && ls.contains(" c\n"), ls);
        assertTrue(ok("s3", "ls", "--recursive", "s3://lists/").out().contains("f/g/h"));
    }

    @Test
    void presignedUrlFetchedWithHttpClient() throws Exception {
        ok("s3api", "create-bucket", "--bucket", "signed");
        Path file = dir.resolve("presign.txt");
        Files.writeString(file, "fetched by a presigned URL");
        ok("s3api", "put-object", "--bucket", "signed", "--key", "p/q r.txt", "--body", file.toString());
        String url = ok("s3", "presign", "s3://signed/p/q r.txt", "--expires-in", "300").out().trim();
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> good = http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, good.statusCode(), good.body());
        assertEquals("fetched by a presigned URL", good.body());
        String tampered = url.replace("X-Amz-Expires=300", "X-Amz-Expires=301");
        HttpResponse<String> bad = http.send(HttpRequest.newBuilder(URI.create(tampered)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        assertEquals(403, bad.statusCode());
        assertTrue(bad.body().contains("<Code>SignatureDoesNotMatch</Code>"), bad.body());
    }

    @Test
    void wrongSecretAndMissingBucketAndUnknownKeyId() throws Exception {
        CliHarness.Result wrong = cli.awsWith("not-the-secret", "s3api", "list-buckets");
        assertTrue(wrong.err().contains("SignatureDoesNotMatch"), wrong.all());
        CliHarness.Result missing = cli.aws("s3api", "list-objects-v2", "--bucket", "no-such-bucket");
        assertTrue(missing.err().contains("NoSuchBucket"), missing.all());
        Path file = dir.resolve("x.txt");
        Files.writeString(file, "x");
        CliHarness.Result putMissing = cli.aws("s3api", "put-object", "--bucket", "no-such-bucket", "--key", "k",
                "--body", file.toString());
        assertTrue(putMissing.err().contains("NoSuchBucket"), putMissing.all());
        CliHarness.Result tagging = cli.aws("s3api", "get-bucket-tagging", "--bucket", "no-such-bucket");
        assertTrue(tagging.err().contains("NotImplemented"), tagging.all());
        String location = ok("s3api", "create-bucket", "--bucket", "located").out();
        assertTrue(location.contains("/located"), location);
        assertTrue(ok("s3api", "get-bucket-location", "--bucket", "located").out().contains("null"));
        ok("s3api", "head-bucket", "--bucket", "located");
    }
}
