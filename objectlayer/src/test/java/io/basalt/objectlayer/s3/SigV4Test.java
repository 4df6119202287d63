package io.basalt.objectlayer.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Map;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/** The signer against AWS's published examples (S3 API reference, sig-v4-header-based-auth and sigv4-streaming). */
class SigV4Test {
    static final String ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE";
    static final String SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    static final Clock EXAMPLE_TIME = Clock.fixed(Instant.parse("2013-05-24T00:00:00Z"), ZoneOffset.UTC);

    private static Authenticator authenticator() {
        return new Authenticator(Map.of(ACCESS_KEY, SECRET), "us-east-1", false, EXAMPLE_TIME);
    }

    /** The "GET Object" example: Range header, empty payload, virtual-host-style. */
    @Test
    void getObjectExampleSignature() throws Exception {
        DefaultHttpRequest http = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/test.txt");
        http.headers().set("Host", "examplebucket.s3.amazonaws.com").set("Range", "bytes=0-9")
                .set("x-amz-content-sha256", SigV4.EMPTY_SHA256).set("x-amz-date", "20130524T000000Z")
                .set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                        + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                        + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
        S3Request r = S3Request.parse(http, "s3.amazonaws.com", "id");
        assertEquals("examplebucket", r.bucket);
        assertEquals("test.txt", r.key);
        assertEquals("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
                authenticator().authenticate(r).seedSignature());

        http.headers().set("Range", "bytes=0-10");
        S3Error e = assertThrows(S3Error.class, () -> authenticator().authenticate(S3Request.parse(http, "s3.amazonaws.com", "id")));
        assertEquals("SignatureDoesNotMatch", e.code());
    }

    /** The presigned-URL example (sigv4-query-string-auth): GET test.txt, expires in 86400 s. */
    @Test
    void presignedExampleAndExpiry() throws Exception {
        String uri = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
        DefaultHttpRequest http = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri);
        http.headers().set("Host", "examplebucket.s3.amazonaws.com");
        S3Request r = S3Request.parse(http, "s3.amazonaws.com", "id");
        assertEquals(SigV4.UNSIGNED_PAYLOAD, authenticator().authenticate(r).payloadHash());

        Authenticator later = new Authenticator(Map.of(ACCESS_KEY, SECRET), "us-east-1", false,
                Clock.fixed(Instant.parse("2013-05-25T00:00:01Z"), ZoneOffset.UTC));
        S3Error e = assertThrows(S3Error.class, () -> later.authenticate(r));
        assertEquals("AccessDenied", e.code());
        assertEquals("Request has expired", e.getMessage());
    }

    private static DefaultHttpRequest chunkedExampleRequest() {
        DefaultHttpRequest http = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.PUT, "/examplebucket/chunkObject.txt");
        http.headers().set("Host", "s3.amazonaws.com").set("x-amz-date", "20130524T000000Z")
                .set("x-amz-storage-class", "REDUCED_REDUNDANCY").set("Content-Encoding", "aws-chunked")
                .set("x-amz-decoded-content-length", "66560").set("Content-Length", "66824")
                .set("x-amz-content-sha256", SigV4.STREAMING_SIGNED)
                .set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                        + "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"
                        + "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
        return http;
    }

    static byte[] chunkedExampleBody() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] a64k = new byte[65536];
        Arrays.fill(a64k, (byte) 'a');
        out.writeBytes("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n".getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(a64k);
        out.writeBytes("\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n".getBytes(StandardCharsets.US_ASCII));
        out.write(a64k, 0, 1024);
        out.writeBytes("\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    /** The chunked-upload example: seed signature, then each chunk's, fed in awkward 7-byte pieces. */
    @Test
    void streamingSignedExample() throws Exception {
        S3Request r = S3Request.parse(chunkedExampleRequest(), null, "id");
        Authenticator.Result auth = authenticator().authenticate(r);
        byte[] body = chunkedExampleBody();
        assertEquals(66824, body.length);
        ByteArrayOutputStream decoded = new ByteArrayOutputStream();
        RequestBody rb = new RequestBody(r, auth, data -> {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            decoded.writeBytes(b);
        });
        for (int i = 0; i < body.length; i += 7) {
            rb.accept(ByteBuffer.wrap(body, i, Math.min(7, body.length - i)));
        }
        rb.finish();
        byte[] expected = new byte[66560];
        Arrays.fill(expected, (byte) 'a');
        assertArrayEquals(expected, decoded.toByteArray());
    }

    @Test
    void streamingSignedTamperedChunkFails() throws Exception {
        S3Request r = S3Request.parse(chunkedExampleRequest(), null, "id");
        Authenticator.Result auth = authenticator().authenticate(r);
        byte[] body = chunkedExampleBody();
        body[66000] = 'b'; // inside the second chunk's data (bytes 65712..66735)
        RequestBody rb = new RequestBody(r, auth, data -> data.position(data.limit()));
        S3Error e = assertThrows(S3Error.class, () -> rb.accept(ByteBuffer.wrap(body)));
        assertEquals("SignatureDoesNotMatch", e.code());
    }

    @Test
    void unsignedTrailerChecksumVerified() throws Exception {
        byte[] data = "hello, trailer".getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(data);
        String good = java.util.Base64.getEncoder().encodeToString(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        for (String value : new String[] {good, "AAAAAA=="}) {
            DefaultHttpRequest http = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.PUT, "/b/k");
            http.headers().set("Host", "h").set("x-amz-content-sha256", SigV4.STREAMING_UNSIGNED_TRAILER)
                    .set("Content-Encoding", "aws-chunked").set("x-amz-trailer", "x-amz-checksum-crc32")
                    .set("x-amz-decoded-content-length", data.length);
            S3Request r = S3Request.parse(http, null, "id");
            Authenticator.Result anonymous = new Authenticator(Map.of(), "us-east-1", true, EXAMPLE_TIME).authenticate(r);
            RequestBody rb = new RequestBody(r, anonymous, d -> d.position(d.limit()));
            String wire = Integer.toHexString(data.length) + "\r\n" + new String(data, StandardCharsets.US_ASCII) + "\r\n0\r\n"
                    + "x-amz-checksum-crc32:" + value + "\r\n\r\n";
            rb.accept(ByteBuffer.wrap(wire.getBytes(StandardCharsets.US_ASCII)));
            if (value.equals(good)) {
                rb.finish();
            } else {
                assertEquals("BadDigest", assertThrows(S3Error.class, rb::finish).code());
            }
        }
    }

    /** CRC-64/NVME's check value (the CRC of "123456789"), as the CRC catalogue and AWS's SDKs give it. */
    @Test
    void crc64NvmeCheckValue() {
        Crc64Nvme c = new Crc64Nvme();
        c.update("123456789".getBytes(StandardCharsets.US_ASCII));
        assertEquals(0xAE8B14860A799888L, c.getValue());
    }

    @Test
    void uriEncodingKeepsSlashOnlyInPaths() {
        assertEquals("/a%20b/c~d%2Be%C3%A9", SigV4.uriEncode("/a b/c~d+eé", true));
        assertEquals("a%2Fb", SigV4.uriEncode("a/b", false));
    }

    @Test
    void rangeForms() throws Exception {
        assertArrayEquals(new long[] {0, 10}, ByteRange.parse("bytes=0-9", 100));
        assertArrayEquals(new long[] {90, 10}, ByteRange.parse("bytes=90-", 100));
        assertArrayEquals(new long[] {70, 30}, ByteRange.parse("bytes=-30", 100));
        assertArrayEquals(new long[] {95, 5}, ByteRange.parse("bytes=95-200", 100));
        assertEquals("InvalidRange", assertThrows(S3Error.class, () -> ByteRange.parse("bytes=100-", 100)).code());
        assertEquals(null, ByteRange.parse("bytes=0-1,5-6", 100));
    }

    @Test
    void signingKeyIsComputedOncePerAccessKeyAndDate() {
        Authenticator a = authenticator();
        byte[] first = a.signingKey(ACCESS_KEY, SECRET, "20130524");
        assertArrayEquals(SigV4.signingKey(SECRET, "20130524", "us-east-1"), first);
        assertSame(first, a.signingKey(ACCESS_KEY, SECRET, "20130524"), "the remembered key");
        byte[] nextDay = a.signingKey(ACCESS_KEY, SECRET, "20130525");
        assertArrayEquals(SigV4.signingKey(SECRET, "20130525", "us-east-1"), nextDay);
        assertFalse(Arrays.equals(first, nextDay), "another date, another key");
        byte[] otherKey = a.signingKey("AKIDOTHER", "another secret", "20130524");
        assertArrayEquals(SigV4.signingKey("another secret", "20130524", "us-east-1"), otherKey);
        assertArrayEquals(first, a.signingKey(ACCESS_KEY, SECRET, "20130524"), "the first key unchanged");
    }

    @Test
    void signingKeysStayBoundedAndCorrectPastTheLimit() {
        Authenticator a = authenticator();
        for (int i = 0; i <= Authenticator.SIGNING_KEYS_MAX + 5; i++) {
            String key = "AKID" + i;
            assertArrayEquals(SigV4.signingKey("s" + i, "20130524", "us-east-1"), a.signingKey(key, "s" + i, "20130524"));
        }
        assertArrayEquals(SigV4.signingKey("s0", "20130524", "us-east-1"), a.signingKey("AKID0", "s0", "20130524"));
    }

    @Test
    void amzDatesParseAsTheFormatterDoesAndBadOnesAreRefused() throws Exception {
        for (String d : new String[] {"20130524T000000Z", "20241231T235959Z", "20240229T120000Z"}) {
            assertEquals(java.time.ZonedDateTime.parse(d, Authenticator.AMZ_DATE).toInstant(), Authenticator.parseAmzDate(d));
        }
        for (String bad : new String[] {"", "20130524T000000", "20130524 000000Z", "2013052aT000000Z", "20131324T000000Z",
                "20130524T250000Z", "20130524T0000000Z", "-0130524T000000Z"}) {
            assertEquals("AccessDenied", assertThrows(S3Error.class, () -> Authenticator.parseAmzDate(bad)).code(), bad);
        }
    }

    @Test
    void headerValuesCanonicalise() {
        assertEquals("a b c", SigV4.canonicalHeaderValue("  a   b c "));
        assertEquals("plain", SigV4.canonicalHeaderValue("plain"));
    }
}
