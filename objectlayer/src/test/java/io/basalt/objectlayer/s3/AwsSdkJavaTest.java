package io.basalt.objectlayer.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.objectlayer.store.MountpathStore;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;
import software.amazon.awssdk.services.s3.presigner.model.PresignedGetObjectRequest;

/**
 * The AWS SDK for Java v2 (2.59: request checksums by default, CRC32 in an aws-chunked trailer) against S3Server over
 * a real directory mountpath: put/get/head/delete, ListObjectsV2 through the paginator, a presigned GET from
 * S3Presigner, a 20 MiB putObject, and the SDK's typed errors.
 */
class AwsSdkJavaTest {
    @TempDir
    static Path mountpath;
    @TempDir
    static Path dir;
    static MountpathStore store;
    static S3Server server;
    static SdkClients.SentHeaders sent = new SdkClients.SentHeaders();
    static S3Client s3;

    @BeforeAll
    static void start() throws Exception {
        store = MountpathStore.open(List.of(mountpath));
        server = S3Server.start(store, S3Server.Options.of("127.0.0.1", 0, Map.of(CliHarness.ACCESS_KEY, CliHarness.SECRET)));
        s3 = SdkClients.client(server.port(), CliHarness.SECRET, sent);
    }

    @AfterAll
    static void stop() {
        if (s3 != null) s3.close();
        if (server != null) server.close();
        if (store != null) store.close();
    }

    @Test
    void putGetHeadDeleteWithDefaultChecksums() {
        s3.createBucket(b -> b.bucket("sdk"));
        byte[] data = "hello from the AWS SDK for Java v2".getBytes(StandardCharsets.UTF_8);
        s3.putObject(b -> b.bucket("sdk").key("dir/obj.txt").contentType("text/plain").metadata(Map.of("color", "teal")),
                RequestBody.fromBytes(data));
        // 2.30+ computes CRC32 by default and sends it as a trailer of an aws-chunked body
        assertEquals("x-amz-checksum-crc32", sent.last("x-amz-trailer"), "the default checksum as a trailer");
        assertTrue(sent.last("x-amz-content-sha256").startsWith("STREAMING-"), sent.last("x-amz-content-sha256"));

        ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(b -> b.bucket("sdk").key("dir/obj.txt"));
        assertArrayEquals(data, got.asByteArray());
        assertEquals("text/plain", got.response().contentType());
        assertEquals("teal", got.response().metadata().get("color"));
        ResponseBytes<GetObjectResponse> range = s3.getObjectAsBytes(b -> b.bucket("sdk").key("dir/obj.txt").range("bytes=6-9"));
        assertEquals("from", range.asUtf8String());
        assertEquals("bytes 6-9/" + data.length, range.response().contentRange());

        HeadObjectResponse head = s3.headObject(b -> b.bucket("sdk").key("dir/obj.txt"));
        assertEquals(data.length, head.contentLength());
        assertEquals("teal", head.metadata().get("color"));
        assertNotNull(head.eTag());
        assertEquals(got.response().eTag(), head.eTag());

        s3.deleteObject(b -> b.bucket("sdk").key("dir/obj.txt"));
        assertThrows(NoSuchKeyException.class, () -> s3.getObjectAsBytes(b -> b.bucket("sdk").key("dir/obj.txt")));
        S3Exception headMissing = assertThrows(S3Exception.class, () -> s3.headObject(b -> b.bucket("sdk").key("dir/obj.txt")));
        assertEquals(404, headMissing.statusCode());
        assertThrows(NoSuchBucketException.class, () -> s3.listObjectsV2(b -> b.bucket("no-such-sdk-bucket")));
        s3.deleteBucket(b -> b.bucket("sdk"));
        assertFalse(s3.listBuckets().buckets().stream().anyMatch(x -> x.name().equals("sdk")));
    }

    @Test
    void listObjectsV2ThroughThePaginator() {
        s3.createBucket(b -> b.bucket("pages"));
        List<String> keys = List.of("a/1", "a/2", "a/sub/x", "b", "c/d/e", "c-d", "z\u00e9", "z\uff21", "z\ud83d\ude00");
        for (String k : keys) s3.putObject(b -> b.bucket("pages").key(k), RequestBody.fromString(k));
        List<String> listed = new ArrayList<>();
        int pages = 0;
        for (ListObjectsV2Response page : s3.listObjectsV2Paginator(b -> b.bucket("pages").maxKeys(2))) {
            pages++;
            assertTrue(page.keyCount() <= 2, "max-keys honoured");
            page.contents().stream().map(S3Object::key).forEach(listed::add);
        }
        // UTF-8 byte order: "c-d" before "c/d/e" ('-' < '/'), U+FF21 before U+1F600 (UTF-16 order would swap them)
        assertEquals(List.of("a/1", "a/2", "a/sub/x", "b", "c-d", "c/d/e", "z\u00e9", "z\uff21", "z\ud83d\ude00"), listed);
        assertEquals(5, pages);
        List<String> prefixes = new ArrayList<>();
        List<String> top = new ArrayList<>();
        for (ListObjectsV2Response page : s3.listObjectsV2Paginator(b -> b.bucket("pages").delimiter("/").maxKeys(2))) {
            page.commonPrefixes().stream().map(CommonPrefix::prefix).forEach(prefixes::add);
            page.contents().stream().map(S3Object::key).forEach(top::add);
        }
        assertEquals(List.of("a/", "c/"), prefixes);
        assertEquals(List.of("b", "c-d", "z\u00e9", "z\uff21", "z\ud83d\ude00"), top);
        ListObjectsV2Response underA = s3.listObjectsV2(b -> b.bucket("pages").prefix("a/").delimiter("/"));
        assertEquals(List.of("a/1", "a/2"), underA.contents().stream().map(S3Object::key).toList());
        assertEquals(List.of("a/sub/"), underA.commonPrefixes().stream().map(CommonPrefix::prefix).toList());
    }

    @Test
    void presignedGetFromS3Presigner() throws Exception {
        s3.createBucket(b -> b.bucket("presigned"));
        s3.putObject(b -> b.bucket("presigned").key("p/q r+\u00fc.txt"), RequestBody.fromString("presigned by the SDK"));
        try (S3Presigner presigner = SdkClients.presigner(server.port())) {
            PresignedGetObjectRequest p = presigner.presignGetObject(r -> r.signatureDuration(Duration.ofMinutes(5))
                    .getObjectRequest(g -> g.bucket("presigned").key("p/q r+\u00fc.txt")));
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> good = http.send(HttpRequest.newBuilder(p.url().toURI()).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, good.statusCode(), good.body());
            assertEquals("presigned by the SDK", good.body());
            URI tampered = URI.create(p.url().toString().replace("X-Amz-Expires=300", "X-Amz-Expires=299"));
            HttpResponse<String> bad = http.send(HttpRequest.newBuilder(tampered).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(403, bad.statusCode(), bad.body());
        }
    }

    @Test
    void twentyMebibytePutObjectFromAFile() throws Exception {
        s3.createBucket(b -> b.bucket("big"));
        byte[] data = new byte[20 << 20];
        new Random(20).nextBytes(data);
        Path file = dir.resolve("big.bin");
        Files.write(file, data);
        s3.putObject(b -> b.bucket("big").key("blob"), RequestBody.fromFile(file));
        assertEquals("x-amz-checksum-crc32", sent.last("x-amz-trailer"));
        assertEquals(data.length, s3.headObject(b -> b.bucket("big").key("blob")).contentLength());
        Path back = dir.resolve("back.bin");
        s3.getObject(b -> b.bucket("big").key("blob"), back);
        assertArrayEquals(data, Files.readAllBytes(back));
    }

    @Test
    void aWrongSecretGetsSignatureDoesNotMatch() {
        try (S3Client wrong = SdkClients.client(server.port(), "not-the-secret", null)) {
            S3Exception e = assertThrows(S3Exception.class, wrong::listBuckets);
            assertEquals(403, e.statusCode());
            assertEquals("SignatureDoesNotMatch", e.awsErrorDetails().errorCode());
        }
    }
}
