package io.basalt.objectlayer.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.objectlayer.store.MountpathStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Keys meant to escape or confuse a directory mountpath, sent by real clients (the AWS SDK for Java v2; boto3 of each
 * installed generation) to S3Server over a real directory mountpath: dot segments, empty segments, folder markers,
 * unicode, 1024 bytes, a segment over 255 bytes, the store's own names, "a" beside "a/b". Each is stored and read back
 * and listed exactly (in UTF-8 byte order), or refused with S3's error (KeyTooLongError over 1024 bytes); afterwards
 * nothing exists outside the mountpath's directory, and only the store's own entries outside its bucket tree.
 */
class HostileKeysTest {
    static final String ESCAPE_NAME = "basalt-escape-" + UUID.randomUUID();
    static final List<String> KEYS = keys();

    @TempDir
    Path root;
    Path mountpath;
    MountpathStore store;
    S3Server server;

    static List<String> keys() {
        List<String> k = new ArrayList<>(List.of(
                "../" + ESCAPE_NAME, "a/../../" + ESCAPE_NAME, "../../../../../../../../tmp/" + ESCAPE_NAME,
                "./dot-first", ".", "..", "a/./b", "a/.", "a/..", "...", ".hidden",
                "a//b", "//lead", "trail//", "dir/", "dir/sub/", "a", "a/b", "a/b/c", "a-b", "a.b",
                "\u00fcn\u00ef/c\u00f8d\u00e9/\ud83d\ude00.txt", "\uff21", "\ud83d\ude00", "z",
                "%2E%2E/pct", "%d", "x%d/y", "%_", "%h", "%m", "a%m", ".basalt-mountpath", ".tmp/put-1", "@s3/b/%ob/x",
                "spaces and +plus &amp; =eq", "q?x=1&y#frag", "back\\slash", "tab\there",
                "c/" + "y".repeat(300) + "/z", "c/" + "\u00e9".repeat(200)));
        String longKey = "long/" + "x".repeat(1024 - 5);
        k.add(longKey);
        k.add(longKey + "x"); // 1025 bytes: KeyTooLongError
        return List.copyOf(k);
    }

    static boolean tooLong(String key) {
        return key.getBytes(StandardCharsets.UTF_8).length > 1024;
    }

    @BeforeEach
    void start() throws Exception {
        mountpath = Files.createDirectories(root.resolve("mp"));
        store = MountpathStore.open(List.of(mountpath));
        server = S3Server.start(store, S3Server.Options.of("127.0.0.1", 0, Map.of(CliHarness.ACCESS_KEY, CliHarness.SECRET)));
    }

    @AfterEach
    void stop() {
        if (server != null) server.close();
        if (store != null) store.close();
    }

    @Test
    void javaSdkStoresListsOrRefusesEveryKey() throws Exception {
        try (S3Client s3 = SdkClients.client(server.port(), CliHarness.SECRET, null)) {
            s3.createBucket(b -> b.bucket("hostile"));
            Map<String, String> outcome = new HashMap<>();
            for (String key : KEYS) {
                try {
                    s3.putObject(b -> b.bucket("hostile").key(key), RequestBody.fromString(key));
                    String back = s3.getObjectAsBytes(b -> b.bucket("hostile").key(key)).asUtf8String();
                    outcome.put(key, back.equals(key) ? "ok" : "mismatch");
                } catch (S3Exception e) {
                    outcome.put(key, e.awsErrorDetails().errorCode());
                }
            }
            List<String> listed = new ArrayList<>();
            for (ListObjectsV2Response page : s3.listObjectsV2Paginator(b -> b.bucket("hostile").maxKeys(7))) {
                page.contents().stream().map(S3Object::key).forEach(listed::add);
            }
            check(outcome, listed);
            for (String key : listed) s3.deleteObject(b -> b.bucket("hostile").key(key));
            assertTrue(s3.listObjectsV2(b -> b.bucket("hostile")).contents().isEmpty(), "every key deleted");
            s3.deleteBucket(b -> b.bucket("hostile"));
        }
        assertContained();
    }

    static final String BOTO3_SCRIPT = """
            import os, sys, boto3
            from botocore.exceptions import ClientError
            keys = open(sys.argv[1], encoding='utf-8').read().split('\\0')
            s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'])
            s3.create_bucket(Bucket='hostile')
            for i, k in enumerate(keys):
                try:
                    s3.put_object(Bucket='hostile', Key=k, Body=k.encode('utf-8'))
                    back = s3.get_object(Bucket='hostile', Key=k)['Body'].read()
                    print('PUT', i, 'ok' if back == k.encode('utf-8') else 'mismatch')
                except ClientError as e:
                    print('PUT', i, e.response['Error']['Code'])
            index = {k: i for i, k in enumerate(keys)}
            for page in s3.get_paginator('list_objects_v2').paginate(Bucket='hostile', PaginationConfig={'PageSize': 7}):
                for o in page.get('Contents', []):
                    print('LIST', index.get(o['Key'], 'unknown:' + o['Key'].encode('utf-8').hex()))
            """;

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.basalt.objectlayer.s3.CliHarness#pythonClients")
    void boto3StoresListsOrRefusesEveryKey(CliHarness.Client client) throws Exception {
        Assumptions.assumeTrue(client.present(), client::toString);
        Path work = Files.createDirectories(root.resolve("work"));
        CliHarness cli = new CliHarness(work, server.port(), "aws", client.executable());
        Path keysFile = work.resolve("keys");
        Files.writeString(keysFile, String.join("\0", KEYS), StandardCharsets.UTF_8);
        Path script = work.resolve("hostile.py");
        Files.writeString(script, BOTO3_SCRIPT);
        CliHarness.Result r = cli.run(List.of(client.executable(), script.toString(), keysFile.toString()), CliHarness.SECRET);
        assertEquals(0, r.exit(), r.all());
        Map<String, String> outcome = new HashMap<>();
        List<String> listed = new ArrayList<>();
        for (String line : r.out().lines().toList()) {
            String[] f = line.split(" ", 3);
            if (f[0].equals("PUT")) outcome.put(KEYS.get(Integer.parseInt(f[1])), f[2]);
            if (f[0].equals("LIST")) {
                assertFalse(f[1].startsWith("unknown"), "a key no client sent was listed: " + f[1]);
                listed.add(KEYS.get(Integer.parseInt(f[1])));
            }
        }
        check(outcome, listed);
        assertContained();
    }

    /** Every key stored and read back whole, or refused with S3's error; the stored ones listed once in byte order. */
    private static void check(Map<String, String> outcome, List<String> listed) {
        List<String> stored = new ArrayList<>();
        for (String key : KEYS) {
            String o = outcome.get(key);
            if (tooLong(key)) {
                assertEquals("KeyTooLongError", o, "a 1025-byte key");
            } else {
                assertEquals("ok", o, () -> "key '" + key + "' (" + key.length() + " chars)");
                stored.add(key);
            }
        }
        stored.sort((a, b) -> Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8)));
        assertEquals(stored, listed);
    }

    /** Nothing outside the mountpath; inside it, only the store's own entries beside "@s3" (docs/objects.md). */
    private void assertContained() throws IOException {
        assertFalse(Files.exists(Path.of("/tmp", ESCAPE_NAME), LinkOption.NOFOLLOW_LINKS), "escaped to /tmp");
        try (Stream<Path> top = Files.list(root)) {
            for (Path p : top.toList()) {
                String name = p.getFileName().toString();
                assertTrue(name.equals("mp") || name.equals("work"), "outside the mountpath: " + p);
            }
        }
        try (Stream<Path> all = Files.walk(mountpath)) {
            for (Path p : all.toList()) {
                assertFalse(Files.isSymbolicLink(p), "a symlink in the mountpath: " + p);
                String first = mountpath.relativize(p).getName(0).toString();
                assertTrue(first.isEmpty() || List.of("@s3", ".tmp", ".basalt-mountpath").contains(first), p::toString);
            }
        }
    }
}
