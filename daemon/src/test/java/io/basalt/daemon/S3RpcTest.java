package io.basalt.daemon;

import io.basalt.daemon.json.Json;
import io.basalt.daemon.rpc.RpcException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import static org.junit.jupiter.api.Assertions.*;

/** s3_start, s3_stop, s3_status on an in-process daemon: signed PUT and GET over HTTP, the key file, the saved state, bad params. */
class S3RpcTest extends DaemonTestBase {
    private static final int INVALID_PARAMS = RpcException.INVALID_PARAMS;
    private static final java.time.Duration REQUEST_TIMEOUT = java.time.Duration.ofSeconds(30);
    /** Replaced after a restart: a pooled connection to the stopped server must not carry the next request. */
    private HttpClient http = HttpClient.newHttpClient();

    private Map<?, ?> startService() throws IOException {
        String mountpaths = Json.write(List.of(dir.resolve("objects-a").toString(), dir.resolve("objects-b").toString()));
        return assertInstanceOf(Map.class, result("s3_start", "{\"port\":0,\"mountpaths\":" + mountpaths + "}"));
    }

    @Test
    void servesSignedPutAndGetShowsTheKeyIdOnlyAndSavesTheService() throws Exception {
        start("[]");
        Map<?, ?> started = startService();
        assertEquals(true, started.get("running"));
        int port = ((Long) started.get("port")).intValue();
        assertTrue(port > 0, "the port bound for port 0");
        S3Credentials key = S3Credentials.read(dir.resolve("data").resolve(S3Credentials.FILE_NAME));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("data").resolve(S3Credentials.FILE_NAME))));
        assertTrue(key.accessKeyId().startsWith("BASALT") && key.accessKeyId().length() == 20, key.accessKeyId());
        assertEquals(40, key.secretKey().length());
        Map<?, ?> status = assertInstanceOf(Map.class, result("s3_status", null));
        assertEquals(key.accessKeyId(), status.get("access_key_id"));
        assertEquals("us-east-1", status.get("region"));
        assertEquals("127.0.0.1", status.get("address"));
        assertEquals(2, ((List<?>) status.get("mountpaths")).size());
        assertFalse(Json.write(status).contains(key.secretKey()), "s3_status never shows the secret");
        assertTrue(Files.isDirectory(dir.resolve("objects-a")) && Files.isDirectory(dir.resolve("objects-b")), "mountpaths made");

        byte[] body = "hello from basalt".getBytes(StandardCharsets.UTF_8);
        assertEquals(200, send(port, "PUT", "/bkt", new byte[0], key.secretKey(), key).statusCode());
        assertEquals(200, send(port, "PUT", "/bkt/dir/obj.txt", body, key.secretKey(), key).statusCode());
        HttpResponse<byte[]> got = send(port, "GET", "/bkt/dir/obj.txt", new byte[0], key.secretKey(), key);
        assertEquals(200, got.statusCode());
        assertArrayEquals(body, got.body());
        assertEquals(403, send(port, "GET", "/bkt/dir/obj.txt", new byte[0], "x".repeat(40), key).statusCode(), "a wrong secret is refused");
        HttpRequest unsigned = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/bkt/dir/obj.txt")).timeout(REQUEST_TIMEOUT).build();
        assertEquals(403, http.send(unsigned, HttpResponse.BodyHandlers.ofByteArray()).statusCode(), "anonymous access is off by default");
        assertEquals(false, status.get("allow_anonymous"));

        String saved = Json.write(result("config_save", null));
        assertTrue(saved.contains("\"s3_start\"") && saved.contains("\"port\":" + port) && saved.contains(dir.resolve("objects-b").toString()), saved);

        // the saved state brings the service back, with the same key and the same objects
        down();
        http.close();
        http = HttpClient.newHttpClient();
        daemon = Daemon.start(new Daemon.Options(dir.resolve("data"), null, 1, "sleep"));
        client = io.basalt.daemon.rpc.RpcClient.connect(daemon.socketPath());
        assertEquals(key.accessKeyId(), ((Map<?, ?>) result("s3_status", null)).get("access_key_id"));
        assertArrayEquals(body, send(port, "GET", "/bkt/dir/obj.txt", new byte[0], key.secretKey(), key).body());

        assertTrue(error("s3_start", "{\"port\":0,\"mountpaths\":[\"" + dir.resolve("other") + "\"]}", INVALID_PARAMS)
                .contains("already runs on 127.0.0.1:" + port), "a second s3_start names the running one");
        assertEquals(true, result("s3_stop", null));
        assertEquals(Map.of("running", false), result("s3_status", null));
        assertThrows(ConnectException.class, () -> new java.net.Socket("127.0.0.1", port).close(), "stopped: no listener");
        assertTrue(error("s3_stop", null, INVALID_PARAMS).contains("no S3 service runs"));
        assertFalse(Json.write(result("config_save", null)).contains("s3_start"), "a stopped service is not saved");
    }

    @Test
    void badParamsAreRefusedNamingTheParam() throws Exception {
        start("[]");
        String dirs = "\"mountpaths\":[\"" + dir.resolve("o") + "\"]";
        Map<String, String> bad = Map.ofEntries(
                Map.entry("{}", "param 'mountpaths' is required"),
                Map.entry("{\"mountpaths\":\"/tmp/x\"}", "param 'mountpaths' must be an array"),
                Map.entry("{\"mountpaths\":[]}", "param 'mountpaths' must be an array"),
                Map.entry("{\"mountpaths\":[1]}", "param 'mountpaths' must hold non-empty strings"),
                Map.entry("{\"mountpaths\":[\"/tmp/a\",\"/tmp/a/\"]}", "twice"),
                Map.entry("{\"port\":-1," + dirs + "}", "param 'port'"),
                Map.entry("{\"port\":70000," + dirs + "}", "param 'port'"),
                Map.entry("{\"port\":\"80\"," + dirs + "}", "port"),
                Map.entry("{\"address\":\"localhost\"," + dirs + "}", "param 'address'"),
                Map.entry("{\"region\":\"US_EAST\"," + dirs + "}", "param 'region'"),
                Map.entry("{\"bucket\":\"x\"," + dirs + "}", "bucket"),
                Map.entry("{\"allow_anonymous\":\"yes\"," + dirs + "}", "param 'allow_anonymous'"));
        for (Map.Entry<String, String> e : bad.entrySet()) {
            String message = error("s3_start", e.getKey(), INVALID_PARAMS);
            assertTrue(message.contains(e.getValue()), e.getKey() + " -> " + message);
        }
        Path file = Files.writeString(dir.resolve("a-file"), "not a directory");
        assertTrue(error("s3_start", "{\"port\":0,\"mountpaths\":[\"" + file + "\"]}", INVALID_PARAMS).contains("param 'mountpaths'"));
        assertTrue(error("s3_stop", "{\"x\":1}", INVALID_PARAMS).contains("x"));
        assertEquals(Map.of("running", false), result("s3_status", null), "nothing started by the refused calls");
    }

    @Test
    void theEmbeddedDefaultStartsS3OnLoopback8080OverVolumeObj0AndDataDirObjects() {
        List<Object> calls = ConfigReplay.embeddedDefault(dir.resolve("data"));
        Map<?, ?> last = (Map<?, ?>) calls.get(calls.size() - 1);
        assertEquals("s3_start", last.get("method"));
        assertEquals(Map.of("address", "127.0.0.1", "port", 8080L, "region", "us-east-1",
                "mountpaths", List.of("volume:obj0", dir.resolve("data").toAbsolutePath().resolve("objects").toString())), last.get("params"));
        assertTrue(calls.stream().map(Json::write).anyMatch(c -> c.contains("\"raid_create\"") && c.contains("\"obj0\"")
                && c.contains("\"o3\"")), "obj0 is a RAID5 volume of its own drives");
    }

    @Test
    void aVolumeMountpathIsClaimedKeepsItsObjectsAcrossARestartAndForeignDataIsRefused() throws Exception {
        start("[{\"method\":\"drive_create\",\"params\":{\"name\":\"m0\",\"spec\":\"memory:64M\"}},"
                + "{\"method\":\"drive_create\",\"params\":{\"name\":\"v0\",\"spec\":\"uring:" + dir.resolve("v0.img") + ",size=64M\"}},"
                + "{\"method\":\"drive_create\",\"params\":{\"name\":\"junk\",\"spec\":\"uring:" + dir.resolve("junk.img") + ",size=64M\"}}]");
        Files.write(dir.resolve("junk.img"), "an ext4 superblock, say".getBytes(StandardCharsets.UTF_8),
                java.nio.file.StandardOpenOption.WRITE);
        assertTrue(error("s3_start", "{\"port\":0,\"mountpaths\":[\"volume:junk\"]}", INVALID_PARAMS)
                .contains("holds data that is not a Basalt object store"), "a device with other data is never formatted");
        assertTrue(error("s3_start", "{\"port\":0,\"mountpaths\":[\"volume:nope\"]}", INVALID_PARAMS).contains("nope"));
        assertTrue(error("s3_start", "{\"port\":0,\"mountpaths\":[\"volume:\"]}", INVALID_PARAMS).contains("without a drive or volume name"));
        assertNull(daemon.drives().holder("junk"), "a refused start leaves no claim behind");

        Map<?, ?> started = assertInstanceOf(Map.class, result("s3_start", "{\"port\":0,\"mountpaths\":[\"volume:v0\",\"volume:m0\"]}"));
        int port = ((Long) started.get("port")).intValue();
        assertEquals("volume:v0", ((Map<?, ?>) ((List<?>) started.get("mountpaths")).get(0)).get("path"));
        assertTrue(error("vhost_create", "{\"name\":\"x\",\"drive\":\"v0\"}", INVALID_PARAMS).contains("S3"),
                "an export cannot share the store's volume");
        S3Credentials key = S3Credentials.read(dir.resolve("data").resolve(S3Credentials.FILE_NAME));
        assertEquals(200, send(port, "PUT", "/bkt", new byte[0], key.secretKey(), key).statusCode());
        byte[] one = "on two volumes".getBytes(StandardCharsets.UTF_8);
        assertEquals(200, send(port, "PUT", "/bkt/one", one, key.secretKey(), key).statusCode());
        assertArrayEquals(one, send(port, "GET", "/bkt/one", new byte[0], key.secretKey(), key).body());
        assertEquals(true, result("s3_stop", null));
        assertNull(daemon.drives().holder("v0"), "s3_stop releases the volumes");

        // v0 is a file: the saved state brings the store back over it, its objects with it
        result("s3_start", "{\"port\":" + port + ",\"mountpaths\":[\"volume:v0\"],\"allow_anonymous\":true}");
        http.close();
        http = HttpClient.newHttpClient();
        byte[][] bodies = new byte[8][];
        for (int i = 0; i < bodies.length; i++) {
            bodies[i] = ("object " + i + " ").repeat(1000 * (i + 1)).getBytes(StandardCharsets.UTF_8);
            assertEquals(200, send(port, "PUT", "/bkt/k" + i, bodies[i], key.secretKey(), key).statusCode());
        }
        String saved = Json.write(result("config_save", null));
        assertTrue(saved.contains("\"volume:v0\""), saved);
        down();
        http.close();
        http = HttpClient.newHttpClient();
        daemon = Daemon.start(new Daemon.Options(dir.resolve("data"), null, 1, "sleep"));
        client = io.basalt.daemon.rpc.RpcClient.connect(daemon.socketPath());
        assertEquals(true, ((Map<?, ?>) result("s3_status", null)).get("allow_anonymous"), "saved and replayed");
        HttpRequest unsigned = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/bkt/k0")).timeout(REQUEST_TIMEOUT).build();
        assertArrayEquals(bodies[0], http.send(unsigned, HttpResponse.BodyHandlers.ofByteArray()).body(), "anonymous GET, as configured");
        for (int i = 0; i < bodies.length; i++) {
            HttpResponse<byte[]> got = send(port, "GET", "/bkt/k" + i, new byte[0], key.secretKey(), key);
            assertEquals(200, got.statusCode(), "k" + i + " after the restart");
            assertArrayEquals(bodies[i], got.body(), "k" + i);
        }
    }

    @Test
    void theKeyIsMadeOnceAndReadBack() throws Exception {
        Path data = Files.createDirectories(dir.resolve("keys"));
        S3Credentials made = S3Credentials.loadOrCreate(data);
        assertTrue(made.accessKeyId().matches("BASALT[A-Z0-9]{14}"), made.accessKeyId());
        assertTrue(made.secretKey().matches("[A-Za-z0-9+/]{40}"));
        assertEquals(made, S3Credentials.loadOrCreate(data));
        assertFalse(made.toString().contains(made.secretKey()));
        Files.writeString(data.resolve(S3Credentials.FILE_NAME), "garbage");
        assertThrows(IOException.class, () -> S3Credentials.loadOrCreate(data));
    }

    /** A path-style request signed with SigV4 (header form, payload hash signed) as the AWS CLI sends it. */
    private HttpResponse<byte[]> send(int port, String method, String path, byte[] body, String secret, S3Credentials key)
            throws IOException, InterruptedException, GeneralSecurityException {
        ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
        String amzDate = now.format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'"));
        String date = amzDate.substring(0, 8);
        String host = "127.0.0.1:" + port;
        String payloadHash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        String signedHeaders = "host;x-amz-content-sha256;x-amz-date";
        String canonical = method + "\n" + path + "\n\nhost:" + host + "\nx-amz-content-sha256:" + payloadHash + "\nx-amz-date:" + amzDate
                + "\n\n" + signedHeaders + "\n" + payloadHash;
        String scope = date + "/us-east-1/s3/aws4_request";
        String toSign = "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n"
                + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8)));
        byte[] k = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), date);
        for (String part : new String[] {"us-east-1", "s3", "aws4_request"}) k = hmac(k, part);
        String signature = HexFormat.of().formatHex(hmac(k, toSign));
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + host + path))
                .method(method, HttpRequest.BodyPublishers.ofByteArray(body)).timeout(REQUEST_TIMEOUT)
                .header("x-amz-date", amzDate).header("x-amz-content-sha256", payloadHash)
                .header("Authorization", "AWS4-HMAC-SHA256 Credential=" + key.accessKeyId() + "/" + scope
                        + ", SignedHeaders=" + signedHeaders + ", Signature=" + signature).build();
        return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    }

    private static byte[] hmac(byte[] key, String data) throws GeneralSecurityException {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    }
}
