package io.basalt.objectlayer.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What the clients do not show: virtual-host-style, keep-alive, Expect: 100-continue, body hash checks, skew. */
class RawHttpTest {
    static final String KEY = "rawkey";
    static final String SECRET = "rawsecret";
    static S3Server server;

    record Response(int status, Map<String, String> headers, String body) {}

    @BeforeAll
    static void start() throws Exception {
        server = S3Server.start(new MemoryObjectStore(), S3Server.Options.of("127.0.0.1", 0, Map.of(KEY, SECRET)));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** Signs with SigV4 (header form) at {@code when}; headers get host, x-amz-date, x-amz-content-sha256. */
    static Map<String, String> sign(String method, String path, String host, Map<String, String> extra, String payloadHash,
                                    Instant when, String secret) {
        String amzDate = Authenticator.AMZ_DATE.format(when);
        Map<String, String> h = new TreeMap<>();
        extra.forEach((k, v) -> h.put(k.toLowerCase(Locale.ROOT), v));
        h.put("host", host);
        h.put("x-amz-date", amzDate);
        h.put("x-amz-content-sha256", payloadHash);
        Map<String, List<String>> values = new HashMap<>();
        h.forEach((k, v) -> values.put(k, List.of(v)));
        List<String> names = new ArrayList<>(h.keySet());
        String canonical = SigV4.canonicalRequest(method, SigV4.uriEncode(path, true), "", values, names, payloadHash);
        String date = amzDate.substring(0, 8);
        String scope = SigV4.scope(date, "us-east-1");
        String sig = SigV4.sign(SigV4.signingKey(secret, date, "us-east-1"), SigV4.stringToSign(amzDate, scope, canonical));
        Map<String, String> out = new LinkedHashMap<>(h);
        out.put("authorization", "AWS4-HMAC-SHA256 Credential=" + KEY + "/" + scope + ", SignedHeaders="
                + String.join(";", names) + ", Signature=" + sig);
        return out;
    }

    static void send(OutputStream out, String method, String path, Map<String, String> headers, byte[] body) throws IOException {
        StringBuilder sb = new StringBuilder(method + " " + path + " HTTP/1.1\r\n");
        headers.forEach((k, v) -> sb.append(k).append(": ").append(v).append("\r\n"));
        if (body != null && !headers.containsKey("content-length")) {
            sb.append("content-length: ").append(body.length).append("\r\n");
        }
        out.write(sb.append("\r\n").toString().getBytes(StandardCharsets.UTF_8));
        if (body != null) {
            out.write(body);
        }
        out.flush();
    }

    static Response read(InputStream in, boolean head) throws IOException {
        String status = line(in);
        Map<String, String> headers = new HashMap<>();
        for (String l = line(in); !l.isEmpty(); l = line(in)) {
            int colon = l.indexOf(':');
            headers.put(l.substring(0, colon).toLowerCase(Locale.ROOT), l.substring(colon + 1).trim());
        }
        int length = head ? 0 : Integer.parseInt(headers.getOrDefault("content-length", "0"));
        return new Response(Integer.parseInt(status.split(" ")[1]), headers,
                new String(in.readNBytes(length), StandardCharsets.ISO_8859_1)); // bytes kept one to one
    }

    /** One CRLF-terminated line of a response head or chunked body, without its line end. */
    static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                throw new IOException("connection closed");
            }
            if (c != '\r') {
                b.write(c);
            }
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    private static Response exchange(Socket s, String method, String path, String host, byte[] body, Map<String, String> extra)
            throws IOException {
        String hash = SigV4.sha256Hex(body == null ? new byte[0] : body);
        send(s.getOutputStream(), method, path, sign(method, path, host, extra, hash, Instant.now(), SECRET), body);
        return read(s.getInputStream(), "HEAD".equals(method));
    }

    @Test
    void virtualHostStyleOnOneKeptAliveConnection() throws Exception {
        String pathHost = "127.0.0.1:" + server.port();
        String vhost = "vhb.localhost:" + server.port();
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            assertEquals(200, exchange(s, "PUT", "/vhb", pathHost, null, Map.of()).status());
            byte[] data = "virtual host data".getBytes(StandardCharsets.UTF_8);
            assertEquals(200, exchange(s, "PUT", "/a/b.txt", vhost, data, Map.of()).status());
            Response get = exchange(s, "GET", "/vhb/a/b.txt", pathHost, null, Map.of());
            assertEquals("virtual host data", get.body());
            Response list = exchange(s, "GET", "/", vhost, null, Map.of());
            assertTrue(list.body().contains("<Key>a/b.txt</Key>"), list.body());
            Response head = exchange(s, "HEAD", "/nope", vhost, null, Map.of());
            assertEquals(404, head.status());
            assertEquals("0", head.headers().get("content-length"));
        }
    }

    /** A client's pooled connection must not outlive the server: closing it ends kept-alive connections too. */
    @Test
    void closingTheServerClosesItsKeptAliveConnections() throws Exception {
        S3Server own = S3Server.start(new MemoryObjectStore(), S3Server.Options.of("127.0.0.1", 0, Map.of(KEY, SECRET)));
        try (Socket s = new Socket("127.0.0.1", own.port())) {
            assertEquals(200, exchange(s, "PUT", "/kab", "127.0.0.1:" + own.port(), null, Map.of()).status());
            own.close();
            s.setSoTimeout(10_000);
            assertEquals(-1, s.getInputStream().read(), "the server closed the idle connection");
        } finally {
            own.close();
        }
    }

    @Test
    void expectContinueAnsweredAtOnceWhenTheSignatureIsWrong() throws Exception {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            String host = "127.0.0.1:" + server.port();
            Map<String, String> h = new LinkedHashMap<>(sign("PUT", "/wrong/k", host,
                    Map.of("expect", "100-continue", "content-length", "1000"), SigV4.UNSIGNED_PAYLOAD, Instant.now(), "bad"));
            send(s.getOutputStream(), "PUT", "/wrong/k", h, null);
            Response r = read(s.getInputStream(), false);
            assertEquals(403, r.status());
            assertTrue(r.body().contains("<Code>SignatureDoesNotMatch</Code>"), r.body());
        }
    }

    @Test
    void expectContinueThenBodyThenShaMismatchLeavesNoObject() throws Exception {
        String host = "127.0.0.1:" + server.port();
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            assertEquals(200, exchange(s, "PUT", "/cont", host, null, Map.of()).status());
            byte[] body = new byte[100_000];
            Map<String, String> h = sign("PUT", "/cont/k", host, Map.of("expect", "100-continue", "content-length", "100000"),
                    SigV4.sha256Hex(body), Instant.now(), SECRET);
            send(s.getOutputStream(), "PUT", "/cont/k", h, null);
            assertEquals(100, read(s.getInputStream(), false).status());
            s.getOutputStream().write(body);
            assertEquals(200, read(s.getInputStream(), false).status());

            Map<String, String> lying = sign("PUT", "/cont/lie", host, Map.of(), SigV4.sha256Hex(new byte[] {1}),
                    Instant.now(), SECRET);
            send(s.getOutputStream(), "PUT", "/cont/lie", lying, new byte[] {2});
            Response r = read(s.getInputStream(), false);
            assertEquals(400, r.status());
            assertTrue(r.body().contains("<Code>XAmzContentSHA256Mismatch</Code>"), r.body());
            assertEquals(404, exchange(s, "HEAD", "/cont/lie", host, null, Map.of()).status());
            assertEquals(200, exchange(s, "HEAD", "/cont/k", host, null, Map.of()).status());
        }
    }

    @Test
    void skewedClockAndAnonymousRefused() throws Exception {
        String host = "127.0.0.1:" + server.port();
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            send(s.getOutputStream(), "GET", "/", sign("GET", "/", host, Map.of(), SigV4.EMPTY_SHA256,
                    Instant.now().minusSeconds(3600), SECRET), null);
            Response r = read(s.getInputStream(), false);
            assertEquals(403, r.status());
            assertTrue(r.body().contains("<Code>RequestTimeTooSkewed</Code>"), r.body());
            send(s.getOutputStream(), "GET", "/", Map.of("host", host), null);
            Response anonymous = read(s.getInputStream(), false);
            assertEquals(403, anonymous.status());
            assertTrue(anonymous.body().contains("<Code>AccessDenied</Code>"), anonymous.body());
        }
        try (S3Server open = S3Server.start(new MemoryObjectStore(),
                S3Server.Options.of("127.0.0.1", 0, Map.of()).withAnonymous(true));
             Socket s = new Socket("127.0.0.1", open.port())) {
            send(s.getOutputStream(), "GET", "/", Map.of("host", "127.0.0.1"), null);
            Response r = read(s.getInputStream(), false);
            assertEquals(200, r.status());
            assertTrue(r.body().contains("<ListAllMyBucketsResult xmlns=\"" + S3Xml.NAMESPACE + "\">"), r.body());
        }
    }

    /** An aws-chunked body with chunk signatures (what the AWS SDK for Java v2 sends over HTTP), chained from the seed. */
    static byte[] signedChunkedBody(byte[] data, int chunkBytes, Instant when, String seedSignature) {
        String amzDate = Authenticator.AMZ_DATE.format(when);
        String date = amzDate.substring(0, 8);
        byte[] key = SigV4.signingKey(SECRET, date, "us-east-1");
        String scope = SigV4.scope(date, "us-east-1");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String previous = seedSignature;
        for (int off = 0; ; off += chunkBytes) {
            int n = Math.max(0, Math.min(chunkBytes, data.length - off));
            byte[] chunk = java.util.Arrays.copyOfRange(data, Math.min(off, data.length), Math.min(off, data.length) + n);
            previous = SigV4.sign(key, SigV4.chunkStringToSign(amzDate, scope, previous, SigV4.sha256Hex(chunk)));
            out.writeBytes((Integer.toHexString(n) + ";chunk-signature=" + previous + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(chunk);
            out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
            if (n == 0) {
                return out.toByteArray();
            }
        }
    }

    @Test
    void signedAwsChunkedPutAndATamperedOne() throws Exception {
        String host = "127.0.0.1:" + server.port();
        byte[] data = new byte[150_000];
        new java.util.Random(7).nextBytes(data);
        Instant now = Instant.now();
        int framedBytes = signedChunkedBody(data, 65536, now, "0".repeat(64)).length;
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            assertEquals(200, exchange(s, "PUT", "/chunks", host, null, Map.of()).status());
            for (boolean tamper : new boolean[] {false, true}) {
                String path = tamper ? "/chunks/bad" : "/chunks/good";
                Map<String, String> h = sign("PUT", path, host, Map.of("content-encoding", "aws-chunked",
                        "x-amz-decoded-content-length", String.valueOf(data.length), "content-length", String.valueOf(framedBytes)),
                        SigV4.STREAMING_SIGNED, now, SECRET);
                String auth = h.get("authorization");
                byte[] body = signedChunkedBody(data, 65536, now, auth.substring(auth.indexOf("Signature=") + 10));
                if (tamper) {
                    body[100_000] ^= 1;
                }
                send(s.getOutputStream(), "PUT", path, h, body);
                Response r = read(s.getInputStream(), false);
                assertEquals(tamper ? 403 : 200, r.status(), r.body());
            }
        }
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            byte[] back = exchange(s, "GET", "/chunks/good", host, null, Map.of()).body().getBytes(StandardCharsets.ISO_8859_1);
            org.junit.jupiter.api.Assertions.assertArrayEquals(data, back);
            assertEquals(404, exchange(s, "HEAD", "/chunks/bad", host, null, Map.of()).status());
        }
    }
}
