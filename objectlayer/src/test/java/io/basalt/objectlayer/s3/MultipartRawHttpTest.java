package io.basalt.objectlayer.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.objectlayer.store.DirectoryMountpath;
import io.basalt.objectlayer.store.MountpathStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Edge cases of multipart uploads, tagging and conditional PUT that clients do not send, over raw HTTP (anonymous
 * access, so no signing) to S3Server over a real MountpathStore.
 */
class MultipartRawHttpTest {
    @TempDir
    static Path dir;
    static S3Server server;
    static String host;

    @BeforeAll
    static void start() throws Exception {
        MountpathStore store = new MountpathStore(List.of(DirectoryMountpath.open(dir, 1, true, false)));
        server = S3Server.start(store, S3Server.Options.of("127.0.0.1", 0, Map.of()).withAnonymous(true));
        host = "127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static RawHttpTest.Response call(Socket s, String method, String path, Map<String, String> headers, String body)
            throws IOException {
        Map<String, String> h = new LinkedHashMap<>(headers);
        h.put("host", host);
        RawHttpTest.send(s.getOutputStream(), method, path, h, body == null ? null : body.getBytes(StandardCharsets.UTF_8));
        return RawHttpTest.read(s.getInputStream(), "HEAD".equals(method));
    }

    static void assertError(RawHttpTest.Response r, int status, String code) {
        assertEquals(status, r.status(), r.body());
        assertTrue(r.body().contains("<Code>" + code + "</Code>"), r.body());
    }

    static String uploadId(Socket s, String bucket, String key) throws IOException {
        RawHttpTest.Response r = call(s, "POST", "/" + bucket + "/" + key + "?uploads", Map.of(), "");
        assertEquals(200, r.status(), r.body());
        Matcher m = Pattern.compile("<UploadId>([^<]+)</UploadId>").matcher(r.body());
        assertTrue(m.find(), r.body());
        return m.group(1);
    }

    @Test
    void theReservedUploadsBucketIsNeverReachable() throws Exception {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            assertEquals(200, call(s, "PUT", "/rsv", Map.of(), "").status());
            String id = uploadId(s, "rsv", "k");
            assertEquals(200, call(s, "PUT", "/rsv/k?partNumber=1&uploadId=" + id, Map.of(), "part").status());
            assertError(call(s, "PUT", "/%25uploads", Map.of(), ""), 400, "InvalidBucketName");
            assertError(call(s, "GET", "/%25uploads/", Map.of(), null), 404, "NoSuchBucket");
            assertError(call(s, "GET", "/%25uploads/s/rsv/" + id, Map.of(), null), 404, "NoSuchBucket");
            assertError(call(s, "PUT", "/%25uploads/p/rsv/" + id + "/00001", Map.of(), "evil"), 404, "NoSuchBucket");
            assertError(call(s, "DELETE", "/%25uploads", Map.of(), null), 404, "NoSuchBucket");
            assertError(call(s, "GET", "/%25uploads?uploads", Map.of(), null), 404, "NoSuchBucket");
            String buckets = call(s, "GET", "/", Map.of(), null).body();
            assertTrue(buckets.contains("<Name>rsv</Name>") && !buckets.contains("%"), buckets);
            String listing = call(s, "GET", "/rsv?list-type=2", Map.of(), null).body();
            assertTrue(listing.contains("<KeyCount>0</KeyCount>"), "parts are not objects: " + listing);
        }
    }

    @Test
    void badPartNumbersTooLargePartsAndBadCompleteBodies() throws Exception {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            assertEquals(200, call(s, "PUT", "/edges", Map.of(), "").status());
            String id = uploadId(s, "edges", "k");
            for (String n : List.of("0", "10001", "-1", "x", "")) {
                assertError(call(s, "PUT", "/edges/k?partNumber=" + n + "&uploadId=" + id, Map.of(), "p"), 400,
                        "InvalidArgument");
            }
            assertError(call(s, "PUT", "/edges/k?partNumber=1&uploadId=00000000000000000000000000000000", Map.of(),
                    "p"), 404, "NoSuchUpload");
            assertError(call(s, "PUT", "/edges/k?partNumber=1&uploadId=..%2F..%2Fx", Map.of(), "p"), 404,
                    "NoSuchUpload");
            RawHttpTest.Response part = call(s, "PUT", "/edges/k?partNumber=1&uploadId=" + id, Map.of(), "data");
            assertEquals(200, part.status());
            String etag = part.headers().get("etag");
            assertError(call(s, "POST", "/edges/k?uploadId=" + id, Map.of(), "<CompleteMultipartUpload>"), 400,
                    "MalformedXML");
            assertError(call(s, "POST", "/edges/k?uploadId=" + id, Map.of(),
                    "<CompleteMultipartUpload></CompleteMultipartUpload>"), 400, "MalformedXML");
            assertError(call(s, "POST", "/edges/k?uploadId=" + id, Map.of(), "<!DOCTYPE x [<!ENTITY e SYSTEM "
                    + "\"file:///etc/passwd\">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&e;"
                    + "</ETag></Part></CompleteMultipartUpload>"), 400, "MalformedXML");
            assertError(call(s, "POST", "/edges/k?uploadId=" + id, Map.of(), "<CompleteMultipartUpload><Part>"
                    + "<PartNumber>one</PartNumber><ETag>" + etag + "</ETag></Part></CompleteMultipartUpload>"), 400,
                    "MalformedXML");
            String done = call(s, "POST", "/edges/k?uploadId=" + id, Map.of(), "<CompleteMultipartUpload><Part>"
                    + "<PartNumber>1</PartNumber><ETag>" + etag + "</ETag></Part></CompleteMultipartUpload>").body();
            assertTrue(done.contains("-1&quot;</ETag>") || done.contains("-1\"</ETag>"), done);
            assertEquals("data", call(s, "GET", "/edges/k", Map.of(), null).body());
            assertError(call(s, "GET", "/edges/k?partNumber=1", Map.of(), null), 501, "NotImplemented");
        }
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            String id = uploadId(s, "edges", "big");
            // a part over 5 GiB is refused before 100 Continue: the client never sends it
            Map<String, String> h = Map.of("expect", "100-continue", "content-length", String.valueOf((5L << 30) + 1));
            Map<String, String> all = new LinkedHashMap<>(h);
            all.put("host", host);
            RawHttpTest.send(s.getOutputStream(), "PUT", "/edges/big?partNumber=1&uploadId=" + id, all, null);
            assertError(RawHttpTest.read(s.getInputStream(), false), 400, "EntityTooLarge");
        }
    }

    @Test
    void conditionalPutTaggingHeaderAndCounts() throws Exception {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            assertEquals(200, call(s, "PUT", "/cnd", Map.of(), "").status());
            assertEquals(200, call(s, "PUT", "/cnd/k", Map.of("if-none-match", "*", "x-amz-tagging", "a=1&b=x+y"),
                    "one").status());
            assertError(call(s, "PUT", "/cnd/k", Map.of("if-none-match", "*"), "two"), 412, "PreconditionFailed");
            assertError(call(s, "PUT", "/cnd/k", Map.of("if-none-match", "\"abc\""), "two"), 501, "NotImplemented");
            RawHttpTest.Response head = call(s, "HEAD", "/cnd/k", Map.of(), null);
            assertEquals("2", head.headers().get("x-amz-tagging-count"));
            String tags = call(s, "GET", "/cnd/k?tagging", Map.of(), null).body();
            assertTrue(tags.contains("<Tag><Key>b</Key><Value>x y</Value></Tag>"), tags);
            assertEquals("one", call(s, "GET", "/cnd/k", Map.of(), null).body());
            StringBuilder eleven = new StringBuilder();
            for (int i = 0; i < 11; i++) {
                eleven.append(i == 0 ? "" : "&").append("k").append(i).append("=v");
            }
            assertError(call(s, "PUT", "/cnd/k2", Map.of("x-amz-tagging", eleven.toString()), "x"), 400, "InvalidTag");
            assertError(call(s, "PUT", "/cnd/k2", Map.of("x-amz-tagging", "a=1&a=2"), "x"), 400, "InvalidTag");
            assertError(call(s, "PUT", "/cnd/k?tagging", Map.of(), "<Tagging><TagSet><Tag><Key>" + "k".repeat(129)
                    + "</Key><Value>v</Value></Tag></TagSet></Tagging>"), 400, "InvalidTag");
            assertError(call(s, "PUT", "/cnd/k?tagging", Map.of(), "<Tagging><TagSet><Tag><Key>k</Key><Value>"
                    + "v".repeat(257) + "</Value></Tag></TagSet></Tagging>"), 400, "InvalidTag");
            assertEquals("2", call(s, "HEAD", "/cnd/k", Map.of(), null).headers().get("x-amz-tagging-count"));
            assertEquals(204, call(s, "DELETE", "/cnd/k?tagging", Map.of(), null).status());
            assertFalse(call(s, "HEAD", "/cnd/k", Map.of(), null).headers().containsKey("x-amz-tagging-count"));
            assertError(call(s, "GET", "/cnd?tagging", Map.of(), null), 501, "NotImplemented");
            assertError(call(s, "GET", "/cnd/missing?tagging", Map.of(), null), 404, "NoSuchKey");
        }
    }

    /** A chunked response's status and decoded body (the keep-alive Complete). */
    static RawHttpTest.Response readChunked(InputStream in) throws IOException {
        String status = RawHttpTest.line(in);
        Map<String, String> headers = new LinkedHashMap<>();
        for (String l = RawHttpTest.line(in); !l.isEmpty(); l = RawHttpTest.line(in)) {
            int colon = l.indexOf(':');
            headers.put(l.substring(0, colon).toLowerCase(java.util.Locale.ROOT), l.substring(colon + 1).trim());
        }
        assertEquals("chunked", headers.get("transfer-encoding"), headers.toString());
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (int n = Integer.parseInt(RawHttpTest.line(in), 16); n > 0; n = Integer.parseInt(RawHttpTest.line(in), 16)) {
            body.writeBytes(in.readNBytes(n));
            assertEquals("", RawHttpTest.line(in));
        }
        assertEquals("", RawHttpTest.line(in));
        return new RawHttpTest.Response(Integer.parseInt(status.split(" ")[1]), headers,
                body.toString(StandardCharsets.UTF_8));
    }

    /**
     * A Complete that runs longer than the keep-alive interval answers 200 at once, then spaces, then its result, or an
     * {@code <Error>} in the 200 (S3's behaviour; clients read it as the error). An interval of 0 takes that form at once.
     */
    @Test
    void aLongCompleteIsKeptAliveWithSpacesAndMayEndInAnError() throws Exception {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            assertEquals(200, call(s, "PUT", "/slow", Map.of(), "").status());
            String id = uploadId(s, "slow", "k");
            String big = "b".repeat(5 << 20);
            String e1 = call(s, "PUT", "/slow/k?partNumber=1&uploadId=" + id, Map.of(), big).headers().get("etag");
            String e2 = call(s, "PUT", "/slow/k?partNumber=2&uploadId=" + id, Map.of(), "tail").headers().get("etag");
            String missing = "<CompleteMultipartUpload><Part><PartNumber>3</PartNumber><ETag>" + e2 + "</ETag></Part>"
                    + "</CompleteMultipartUpload>";
            String good = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + e1 + "</ETag></Part>"
                    + "<Part><PartNumber>2</PartNumber><ETag>" + e2 + "</ETag></Part></CompleteMultipartUpload>";
            try {
                MultipartOperations.keepAliveIntervalMs = 0;
                Map<String, String> h = new LinkedHashMap<>(Map.of("host", host));
                RawHttpTest.send(s.getOutputStream(), "POST", "/slow/k?uploadId=" + id, h, utf8(missing));
                RawHttpTest.Response failed = readChunked(s.getInputStream());
                assertEquals(200, failed.status());
                assertTrue(failed.body().matches("(?s)<\\?xml[^>]*\\?>\\n *<Error><Code>InvalidPart</Code>.*"),
                        failed.body());
                RawHttpTest.send(s.getOutputStream(), "POST", "/slow/k?uploadId=" + id, h, utf8(good));
                RawHttpTest.Response done = readChunked(s.getInputStream());
                assertEquals(200, done.status());
                assertTrue(done.body().matches("(?s)<\\?xml[^>]*\\?>\\n *<CompleteMultipartUploadResult .*-2(&quot;|\")"
                        + "</ETag></CompleteMultipartUploadResult>"), done.body());
            } finally {
                MultipartOperations.keepAliveIntervalMs = MultipartOperations.KEEP_ALIVE_INTERVAL_MS_DEFAULT;
            }
            // the connection stays usable after the chunked answers
            assertEquals((5 << 20) + 4, Integer.parseInt(call(s, "HEAD", "/slow/k", Map.of(), null)
                    .headers().get("content-length")));
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
