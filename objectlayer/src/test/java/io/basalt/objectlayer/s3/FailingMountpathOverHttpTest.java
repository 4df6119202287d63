package io.basalt.objectlayer.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.objectlayer.store.MountpathStore;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mountpath that fails its I/O, and objects whose bytes rot on disk, seen over HTTP (issue 14): a GET of an object
 * on the failed mountpath gets 500 InternalError as S3's XML error, never bytes; objects on the other mountpath are
 * still served; the connection and the server keep serving, and everything is back once the mountpath is. A flipped
 * or truncated object fails its GET (its xxhash64 is checked before a byte is sent) and a new PUT heals it.
 *
 * <p>Root ignores chmod, so the mountpath is failed by renaming its directory away and putting a regular file in its
 * place: every path under it then fails with ENOTDIR, as a mount point whose file system went away would.
 */
class FailingMountpathOverHttpTest {
    private static final int OBJECTS = 40;
    private static final int OBJECT_BYTES = 50_000;

    @TempDir
    Path root;

    private String host;
    private Socket socket;

    @Test
    void aFailedMountpathFailsOnlyItsObjectsAndComesBack() throws Exception {
        Path mp0 = Files.createDirectories(root.resolve("mp0"));
        Path mp1 = Files.createDirectories(root.resolve("mp1"));
        try (MountpathStore store = MountpathStore.open(List.of(mp0, mp1));
             S3Server server = S3Server.start(store, S3Server.Options.of("127.0.0.1", 0, Map.of(RawHttpTest.KEY, RawHttpTest.SECRET)));
             Socket s = new Socket("127.0.0.1", server.port())) {
            host = "127.0.0.1:" + server.port();
            socket = s;
            List<byte[]> data = fill();
            List<Integer> onFailed = new ArrayList<>();
            List<Integer> onGood = new ArrayList<>();
            for (int i = 0; i < OBJECTS; i++) (fileOf(mp1, key(i)) != null ? onFailed : onGood).add(i);
            assertFalse(onFailed.isEmpty() || onGood.isEmpty(), "objects on both mountpaths: " + onFailed + " " + onGood);

            Path away = root.resolve("mp1.away");
            Files.move(mp1, away);
            Files.writeString(mp1, "not a directory any more");
            for (int i : onFailed) {
                RawHttpTest.Response r = exchange("GET", "/fail/" + key(i), null);
                assertInternalError(r, data.get(i));
                assertEquals(500, exchange("HEAD", "/fail/" + key(i), null).status());
            }
            for (int i : onGood) assertServed(i, data.get(i));
            assertInternalError(exchange("GET", "/fail", null), null); // ListObjects fails with a mountpath
            assertTrue(exchange("GET", "/", null).body().contains("<Name>fail</Name>"), "ListBuckets still answers");
            // new PUTs land on the good mountpath (200, then readable) or fail on the failed one (500), never half
            for (int i = 0; i < 10; i++) {
                byte[] body = ("new " + i).getBytes(StandardCharsets.UTF_8);
                RawHttpTest.Response put = exchange("PUT", "/fail/new-" + i, body);
                if (put.status() == 200) {
                    assertEquals("new " + i, exchange("GET", "/fail/new-" + i, null).body());
                } else {
                    assertInternalError(put, null);
                }
            }

            Files.delete(mp1);
            Files.move(away, mp1);
            for (int i = 0; i < OBJECTS; i++) assertServed(i, data.get(i));
        }
    }

    @Test
    void aFlippedOrTruncatedObjectFailsItsGetAndAPutHealsIt() throws Exception {
        Path mp0 = Files.createDirectories(root.resolve("mp0"));
        Path mp1 = Files.createDirectories(root.resolve("mp1"));
        try (MountpathStore store = MountpathStore.open(List.of(mp0, mp1));
             S3Server server = S3Server.start(store, S3Server.Options.of("127.0.0.1", 0, Map.of(RawHttpTest.KEY, RawHttpTest.SECRET)));
             Socket s = new Socket("127.0.0.1", server.port())) {
            host = "127.0.0.1:" + server.port();
            socket = s;
            List<byte[]> data = fill();
            Path flipped = onEither(mp0, mp1, key(0));
            try (FileChannel ch = FileChannel.open(flipped, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer one = ByteBuffer.allocate(1);
                ch.read(one, OBJECT_BYTES / 2);
                one.put(0, (byte) (one.get(0) ^ 0x01));
                ch.write(one.flip(), OBJECT_BYTES / 2);
            }
            Path truncated = onEither(mp0, mp1, key(1));
            try (FileChannel ch = FileChannel.open(truncated, StandardOpenOption.WRITE)) {
                ch.truncate(OBJECT_BYTES - 1);
            }
            for (int i : List.of(0, 1)) {
                assertInternalError(exchange("GET", "/fail/" + key(i), null), data.get(i));
                assertInternalError(exchange("GET", "/fail/" + key(i), null, Map.of("range", "bytes=0-99")), data.get(i));
            }
            for (int i = 2; i < OBJECTS; i++) assertServed(i, data.get(i));
            byte[] fresh = "healed".getBytes(StandardCharsets.UTF_8);
            assertEquals(200, exchange("PUT", "/fail/" + key(0), fresh).status());
            assertEquals("healed", exchange("GET", "/fail/" + key(0), null).body());
        }
    }

    private List<byte[]> fill() throws IOException {
        assertEquals(200, exchange("PUT", "/fail", null).status());
        Random random = new Random(5);
        List<byte[]> data = new ArrayList<>();
        for (int i = 0; i < OBJECTS; i++) {
            byte[] body = new byte[OBJECT_BYTES];
            random.nextBytes(body);
            data.add(body);
            assertEquals(200, exchange("PUT", "/fail/" + key(i), body).status());
        }
        return data;
    }

    private static String key(int i) {
        return "obj-" + (char) ('a' + i / 26) + (char) ('a' + i % 26);
    }

    private void assertServed(int i, byte[] expected) throws IOException {
        RawHttpTest.Response r = exchange("GET", "/fail/" + key(i), null);
        assertEquals(200, r.status(), r.body());
        assertEquals(new String(expected, StandardCharsets.ISO_8859_1), r.body(), "object " + key(i) + " whole");
    }

    /** 500 with S3's XML error naming InternalError, and none of the object's bytes. */
    private static void assertInternalError(RawHttpTest.Response r, byte[] object) {
        assertEquals(500, r.status(), r.body());
        assertTrue(r.headers().getOrDefault("content-type", "").contains("xml"), r.headers().toString());
        assertTrue(r.body().startsWith("<?xml") && r.body().contains("<Code>InternalError</Code>"), r.body());
        if (object != null) {
            String prefix = new String(object, 0, 64, StandardCharsets.ISO_8859_1);
            assertFalse(r.body().contains(prefix), "no object bytes in the error");
        }
    }

    /** The file holding the object named {@code name} under {@code mountpath} (its file name is the key), or null. */
    private static Path fileOf(Path mountpath, String name) throws IOException {
        try (Stream<Path> files = Files.walk(mountpath)) {
            return files.filter(p -> p.getFileName().toString().equals(name) && Files.isRegularFile(p)).findFirst().orElse(null);
        }
    }

    private static Path onEither(Path mp0, Path mp1, String name) throws IOException {
        Path p = fileOf(mp0, name);
        if (p == null) p = fileOf(mp1, name);
        assertTrue(p != null && Files.size(p) == OBJECT_BYTES, "the object's file " + name);
        return p;
    }

    private RawHttpTest.Response exchange(String method, String path, byte[] body) throws IOException {
        return exchange(method, path, body, Map.of());
    }

    private RawHttpTest.Response exchange(String method, String path, byte[] body, Map<String, String> extra) throws IOException {
        String hash = SigV4.sha256Hex(body == null ? new byte[0] : body);
        Map<String, String> headers = new HashMap<>(extra);
        if (body != null) headers.put("content-length", String.valueOf(body.length));
        Map<String, String> signed = RawHttpTest.sign(method, path, host, headers, hash, Instant.now(), RawHttpTest.SECRET);
        RawHttpTest.send(socket.getOutputStream(), method, path, signed, body);
        return RawHttpTest.read(socket.getInputStream(), "HEAD".equals(method));
    }
}
