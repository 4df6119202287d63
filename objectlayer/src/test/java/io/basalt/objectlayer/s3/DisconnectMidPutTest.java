package io.basalt.objectlayer.s3;

import io.basalt.engine.fixtures.Await;
import io.basalt.objectlayer.store.MountpathStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A client that goes away in the middle of a PUT body (issue 14: "nothing half-visible"), against the directory
 * store on a real mountpath: the key keeps its old version, a new key never appears, and the PUT's temp file is
 * removed (the store's writer is aborted, not left behind).
 */
class DisconnectMidPutTest {
    private static final int BODY_BYTES = 1 << 20;
    private static final int SENT_BYTES = 200_000;

    @TempDir
    Path mountpath;

    @Test
    void aPutCutOffMidBodyLeavesTheOldVersionAndNoTempFile() throws Exception {
        try (MountpathStore store = MountpathStore.open(List.of(mountpath));
             S3Server server = S3Server.start(store, S3Server.Options.of("127.0.0.1", 0, Map.of(RawHttpTest.KEY, RawHttpTest.SECRET)))) {
            String host = "127.0.0.1:" + server.port();
            byte[] v1 = "version one".getBytes(StandardCharsets.UTF_8);
            try (Socket s = new Socket("127.0.0.1", server.port())) {
                assertEquals(200, exchange(s, "PUT", "/cut", host, null).status());
                assertEquals(200, exchange(s, "PUT", "/cut/kept", host, v1).status());
            }
            cutOff(server.port(), host, "/cut/kept");
            cutOff(server.port(), host, "/cut/never");
            Path tmp = mountpath.resolve(".tmp");
            Await.until(() -> empty(tmp), Duration.ofSeconds(10), "the cut-off PUTs' temp files removed");
            try (Socket s = new Socket("127.0.0.1", server.port())) {
                RawHttpTest.Response kept = exchange(s, "GET", "/cut/kept", host, null);
                assertEquals(200, kept.status());
                assertEquals("version one", kept.body(), "the old version, whole");
                assertEquals(404, exchange(s, "HEAD", "/cut/never", host, null).status(), "a new key never appears");
            }
        }
    }

    /** Starts a 1 MiB PUT, sends 200 KB of it, and resets the connection. */
    private static void cutOff(int port, String host, String path) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            Map<String, String> h = RawHttpTest.sign("PUT", path, host, Map.of("content-length", String.valueOf(BODY_BYTES)),
                    SigV4.UNSIGNED_PAYLOAD, Instant.now(), RawHttpTest.SECRET);
            OutputStream out = s.getOutputStream();
            RawHttpTest.send(out, "PUT", path, h, null);
            out.write(new byte[SENT_BYTES]);
            out.flush();
            s.setSoLinger(true, 0); // close with RST: a client that died, not one that finished
        }
    }

    private static boolean empty(Path dir) {
        if (!Files.isDirectory(dir)) return true;
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static RawHttpTest.Response exchange(Socket s, String method, String path, String host, byte[] body) throws Exception {
        String hash = SigV4.sha256Hex(body == null ? new byte[0] : body);
        RawHttpTest.send(s.getOutputStream(), method, path,
                RawHttpTest.sign(method, path, host, Map.of(), hash, Instant.now(), RawHttpTest.SECRET), body);
        return RawHttpTest.read(s.getInputStream(), "HEAD".equals(method));
    }
}
