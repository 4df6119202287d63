package io.basalt.objectlayer.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.store.DirectoryMountpath;
import io.basalt.objectlayer.store.MountpathStore;
import io.basalt.shims.Check;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * 100,000 objects (issue 14) listed through the S3 API with the AWS SDK for Java v2's paginator, max-keys 1000: every
 * key exactly once, in UTF-8 byte order, and with a prefix and a delimiter. The objects are written straight through
 * the store's API (two directory mountpaths, no fsync) by a few threads: the S3 path of a PUT is covered elsewhere,
 * and 100,000 PUTs over HTTP would take minutes on a small machine. The objects are empty and the mountpaths are on
 * /dev/shm where there is one: on the build machine's ext4 (mounted with discard) merely deleting 100,000 files took
 * two minutes, writing them 30 s or more; on tmpfs (which has user xattrs since Linux 6.6) both take seconds.
 *
 * <p>The names make byte order matter: directories "p-N", "p.N", "pN" and "p0N" sort around "p/..." by their '-' and
 * '.' (below '/') and digits (above), unpadded numbers sort "10" before "2", and U+FF21 sorts before U+1F600 in
 * UTF-8 but after it in UTF-16; some keys are also directory names ("p-3" and "p-3/...").
 */
class HundredThousandListingTest {
    static final int OBJECTS = 100_000;
    static final int DIRECTORIES = 100;
    static final int PER_DIRECTORY = OBJECTS / DIRECTORIES;
    static final int MAX_KEYS = 1000;
    static final int WRITER_THREADS = 4;
    static final String[] DIRECTORY_PREFIXES = {"p", "p-", "p.", "p0", "\u00e9", "\uff21", "\ud83d\ude00"};
    static final String[] FILE_SUFFIXES = {"", ".txt", "-x", "\u00fc", "\ud83d\ude00", "\uff21"};

    static Path root;
    static MountpathStore store;
    static S3Server server;
    static S3Client s3;
    static List<String> sortedKeys;

    @BeforeAll
    static void fill() throws Exception {
        Path shm = Path.of("/dev/shm");
        root = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "basalt-100k-")
                : Files.createTempDirectory("basalt-100k-");
        List<DirectoryMountpath> mps = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Path mp = Files.createDirectories(root.resolve("mp" + i));
            mps.add(DirectoryMountpath.open(mp, 1, true, false));
        }
        store = new MountpathStore(mps);
        store.createBucket("many");
        List<String> keys = keys();
        long startNs = System.nanoTime();
        try (ExecutorService pool = Executors.newFixedThreadPool(WRITER_THREADS)) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < WRITER_THREADS; t++) {
                int first = t;
                done.add(pool.submit(() -> {
                    for (int i = first; i < keys.size(); i += WRITER_THREADS) put(keys.get(i));
                    return null;
                }));
            }
            for (Future<?> f : done) f.get();
        }
        System.out.printf("wrote %d objects through the store in %d ms%n", OBJECTS, (System.nanoTime() - startNs) / 1_000_000);
        sortedKeys = keys.stream().sorted(utf8Order()).toList();
        server = S3Server.start(store, S3Server.Options.of("127.0.0.1", 0, Map.of(CliHarness.ACCESS_KEY, CliHarness.SECRET)));
        s3 = SdkClients.client(server.port(), CliHarness.SECRET, null);
    }

    @AfterAll
    static void stop() throws IOException {
        if (s3 != null) s3.close();
        if (server != null) server.close();
        if (store != null) store.close();
        if (root != null) {
            try (Stream<Path> all = Files.walk(root)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
    }

    static List<String> keys() {
        List<String> keys = new ArrayList<>(OBJECTS);
        for (int d = 0; d < DIRECTORIES; d++) {
            String dir = directory(d);
            // a key named like a directory: "a" and "a/b" together (one object of the directory's share)
            if (d % 10 == 3) keys.add(dir);
            int files = d % 10 == 3 ? PER_DIRECTORY - 1 : PER_DIRECTORY;
            for (int f = 0; f < files; f++) keys.add(dir + "/" + f + FILE_SUFFIXES[f % FILE_SUFFIXES.length]);
        }
        Check.that(keys.size() == OBJECTS && new TreeSet<>(keys).size() == OBJECTS, "100,000 distinct keys");
        return keys;
    }

    static String directory(int d) {
        return DIRECTORY_PREFIXES[d % DIRECTORY_PREFIXES.length] + (d / DIRECTORY_PREFIXES.length);
    }

    private static void put(String key) throws Exception {
        try (ObjectWriter w = store.create("many", key, PutOptions.none())) {
            w.commit(); // empty: no data pages, only the files, their names and xattrs
        }
    }

    static Comparator<String> utf8Order() {
        return (a, b) -> Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void everyKeyOnceInUtf8OrderInPagesOfAThousand() {
        List<String> listed = new ArrayList<>(OBJECTS);
        long startNs = System.nanoTime();
        int pages = 0;
        for (ListObjectsV2Response page : s3.listObjectsV2Paginator(b -> b.bucket("many").maxKeys(MAX_KEYS))) {
            pages++;
            assertEquals(MAX_KEYS, page.keyCount(), "every page full");
            page.contents().stream().map(S3Object::key).forEach(listed::add);
        }
        System.out.printf("listed %d objects in %d pages in %d ms%n", listed.size(), pages, (System.nanoTime() - startNs) / 1_000_000);
        assertEquals(OBJECTS / MAX_KEYS, pages);
        assertEquals(OBJECTS, listed.size());
        for (int i = 0; i < OBJECTS; i++) {
            String at = listed.get(i);
            int index = i;
            assertEquals(sortedKeys.get(i), at, () -> "key " + index + " out of order or missing");
        }
    }

    @Test
    void delimiterGivesEveryDirectoryOnceAndTheKeysNamedLikeThem() {
        List<String> prefixes = new ArrayList<>();
        List<String> top = new ArrayList<>();
        for (ListObjectsV2Response page : s3.listObjectsV2Paginator(b -> b.bucket("many").delimiter("/").maxKeys(7))) {
            assertTrue(page.keyCount() <= 7, "max-keys counts keys and common prefixes");
            page.commonPrefixes().stream().map(CommonPrefix::prefix).forEach(prefixes::add);
            page.contents().stream().map(S3Object::key).forEach(top::add);
        }
        List<String> dirs = new ArrayList<>();
        List<String> named = new ArrayList<>();
        for (int d = 0; d < DIRECTORIES; d++) {
            dirs.add(directory(d) + "/");
            if (d % 10 == 3) named.add(directory(d));
        }
        assertEquals(dirs.stream().sorted(utf8Order()).toList(), prefixes);
        assertEquals(named.stream().sorted(utf8Order()).toList(), top);
    }

    @Test
    void aPrefixWithADelimiterAndAPrefixAlone() {
        String dir = directory(3) + "/"; // "p-0/"
        List<String> under = new ArrayList<>();
        int pages = 0;
        for (ListObjectsV2Response page : s3.listObjectsV2Paginator(b -> b.bucket("many").prefix(dir).delimiter("/")
                .maxKeys(MAX_KEYS))) {
            pages++;
            assertTrue(page.commonPrefixes().isEmpty());
            page.contents().stream().map(S3Object::key).forEach(under::add);
        }
        assertEquals(1, pages);
        assertEquals(sortedKeys.stream().filter(k -> k.startsWith(dir)).toList(), under);
        assertEquals(PER_DIRECTORY - 1, under.size());

        // "p" without a '/': the keys of every directory starting with p, across mountpaths and pages
        List<String> startingWithP = new ArrayList<>();
        for (ListObjectsV2Response page : s3.listObjectsV2Paginator(b -> b.bucket("many").prefix("p").maxKeys(MAX_KEYS))) {
            page.contents().stream().map(S3Object::key).forEach(startingWithP::add);
        }
        assertEquals(sortedKeys.stream().filter(k -> k.startsWith("p")).toList(), startingWithP);
        List<String> pPrefixes = new ArrayList<>();
        for (ListObjectsV2Response page : s3.listObjectsV2Paginator(b -> b.bucket("many").prefix("p").delimiter("/")
                .maxKeys(5))) {
            page.commonPrefixes().stream().map(CommonPrefix::prefix).forEach(pPrefixes::add);
        }
        List<String> expected = new ArrayList<>();
        for (int d = 0; d < DIRECTORIES; d++) {
            if (directory(d).startsWith("p")) expected.add(directory(d) + "/");
        }
        assertEquals(expected.stream().sorted(utf8Order()).toList(), pPrefixes);
    }
}
