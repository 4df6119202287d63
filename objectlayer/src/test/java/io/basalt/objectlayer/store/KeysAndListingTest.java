package io.basalt.objectlayer.store;

import static io.basalt.objectlayer.store.StoreFixture.failsWith;
import static io.basalt.objectlayer.store.StoreFixture.filesUnder;
import static io.basalt.objectlayer.store.StoreFixture.get;
import static io.basalt.objectlayer.store.StoreFixture.put;
import static io.basalt.objectlayer.store.StoreFixture.store;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.objectlayer.ObjectStore.Listing;
import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.StoreException.Code;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KeysAndListingTest {
    private static final java.util.Comparator<String> BYTE_ORDER = (a, b) -> Arrays.compareUnsigned(
            a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

    @TempDir
    Path dir;

    static List<String> hostileKeys() {
        return List.of("a", "a/b", "a/b/c", "a!", "a0", "a/", "dir/", "dir/x", ".", "..", "../escape", "a/../b",
                "./x", "x/./y", "x/../../../../etc/passwd", "/leading", "//", "trailing//", "nul\u0000byte", "%41",
                "%_", "%d", "a%d", "x%m", "x%h0123456789abcdef", ".tmp", ".segment", ".basalt-mountpath", "sp ace",
                "tab\tnew\nline", "unicode/\u00fc\u65e5\u672c/\ud83d\ude00", "\u00e9t\u00e9", "x".repeat(255),
                "y".repeat(300), "y".repeat(301), "y".repeat(300) + "/z", "p".repeat(250) + "/a",
                "p".repeat(250) + "q/b", "%".repeat(100) + "/" + "%".repeat(300), "k".repeat(1024),
                "\u00e9".repeat(512), "back\\slash", "*?[]{}<>|&;$'\"`");
    }

    @ParameterizedTest(name = "xattrs={0}")
    @ValueSource(booleans = {true, false})
    void hostileKeysAreStoredListedInByteOrderAndStayInsideTheMountpath(boolean xattrs) throws Exception {
        MountpathStore store = store(dir, 3, xattrs, false);
        store.createBucket("bkt");
        TreeMap<String, byte[]> expected = new TreeMap<>(BYTE_ORDER);
        for (String key : hostileKeys()) {
            byte[] data = ("data of " + key).getBytes(StandardCharsets.UTF_8);
            put(store, "bkt", key, data);
            expected.put(key, data);
        }
        for (var e : expected.entrySet()) {
            assertArrayEquals(e.getValue(), get(store, "bkt", e.getKey()), e.getKey());
            assertEquals(e.getKey(), store.head("bkt", e.getKey()).key());
        }
        assertEquals(new ArrayList<>(expected.keySet()), keys(store, "", null));
        // nothing outside ROOT/@s3/bkt/%ob but the mountpath's own files
        for (DirectoryMountpath mp : StoreFixture.dirs(store)) {
            try (Stream<Path> s = Files.walk(mp.root())) {
                for (Path p : s.filter(Files::isRegularFile).toList()) {
                    String rel = mp.root().relativize(p).toString();
                    assertTrue(rel.startsWith("@s3/bkt/%ob/") || rel.equals("@s3/bkt/%meta")
                            || rel.equals(".basalt-mountpath"), rel);
                }
            }
            assertEquals(0, filesUnder(mp.root().resolve(".tmp")));
        }
        assertTrue(!Files.exists(dir.resolve("escape")) && !Files.exists(dir.resolve("b")), "no key escaped upwards");
        for (String key : expected.keySet()) store.delete("bkt", key);
        assertEquals(List.of(), keys(store, "", null));
        store.deleteBucket("bkt");
    }

    @Test
    void keysS3RefusesAreRefusedWithItsErrors() throws Exception {
        MountpathStore store = store(dir, 1, true, false);
        store.createBucket("bkt");
        failsWith(Code.KEY_TOO_LONG, () -> put(store, "bkt", "k".repeat(1025), new byte[1]));
        failsWith(Code.KEY_TOO_LONG, () -> store.head("bkt", "\u00e9".repeat(513)));
        failsWith(Code.INVALID_ARGUMENT, () -> put(store, "bkt", "", new byte[1]));
        failsWith(Code.INVALID_ARGUMENT, () -> put(store, "bkt", "lone\ud800surrogate", new byte[1]));
    }

    @Test
    void namesRoundTripAndForeignNamesAreIgnored() {
        for (String key : hostileKeys()) {
            for (byte[] segment : Names.segments(key.getBytes(StandardCharsets.UTF_8))) {
                String file = Names.fileName(segment);
                String dirName = Names.dirName(segment);
                assertTrue(file.length() <= 255 && dirName.length() <= 255, file);
                assertTrue(file.chars().allMatch(c -> c >= 0x20 && c < 0x7F && c != '/'), file);
                assertTrue(!file.startsWith(".") && !file.equals(dirName), file);
                Names.Entry f = Names.decode(file);
                Names.Entry d = Names.decode(dirName);
                assertEquals(Names.Kind.FILE, f.kind(), file);
                assertEquals(Names.Kind.DIR, d.kind(), dirName);
                if (f.segment() != null) assertArrayEquals(segment, f.segment(), file);
                if (d.segment() != null) assertArrayEquals(segment, d.segment(), dirName);
            }
        }
        for (String foreign : new String[] {".hidden", "x%m", "bad%zz", "lower%2e", "%h12", "caf\u00e9"}) {
            assertEquals(Names.Kind.OTHER, Names.decode(foreign).kind(), foreign);
        }
    }

    @Test
    void twentyThousandKeysOverThreeMountpathsListInByteOrderWithPrefixAndStartAfter() throws Exception {
        MountpathStore store = store(dir, 3, true, false);
        store.createBucket("bkt");
        Random random = new Random(20_000);
        String[] parts = {"a", "a!", "a0", "b", "\u00e9", "dir", "d.", "%", " ", "z~", ""};
        TreeMap<String, Boolean> expected = new TreeMap<>(BYTE_ORDER);
        while (expected.size() < 20_000) {
            StringBuilder key = new StringBuilder();
            int depth = 1 + random.nextInt(4);
            for (int d = 0; d < depth; d++) {
                if (d > 0) key.append('/');
                key.append(parts[random.nextInt(parts.length)]).append(random.nextInt(d == depth - 1 ? 400 : 3));
            }
            if (random.nextInt(50) == 0) key.append('/');
            if (expected.putIfAbsent(key.toString(), true) == null) put(store, "bkt", key.toString(), new byte[0]);
        }
        int[] perMountpath = new int[3];
        for (String key : expected.keySet()) perMountpath[store.mountpaths().indexOf(store.place("bkt", key))]++;
        for (int n : perMountpath) assertTrue(n > 5000, "each mountpath holds about a third: " + n);
        assertEquals(new ArrayList<>(expected.keySet()), keys(store, "", null));
        List<String> all = new ArrayList<>(expected.keySet());
        for (int q = 0; q < 12; q++) {
            String sample = all.get(random.nextInt(all.size()));
            String prefix = q % 4 == 0 ? "" : sample.substring(0, random.nextInt(Math.min(sample.length(), 8) + 1));
            String after = q % 3 == 0 ? null : all.get(random.nextInt(all.size()));
            if (q % 5 == 0 && after != null) after = after + "\u0000x"; // a start-after that is no key
            assertEquals(expectedSlice(all, prefix, after), keys(store, prefix, after), prefix + " / " + after);
        }
    }

    private static List<String> expectedSlice(List<String> sorted, String prefix, String after) {
        List<String> out = new ArrayList<>();
        for (String k : sorted) {
            if (k.startsWith(prefix) && (after == null || BYTE_ORDER.compare(k, after) > 0)) out.add(k);
        }
        return out;
    }

    private static List<String> keys(MountpathStore store, String prefix, String after) throws Exception {
        List<String> out = new ArrayList<>();
        try (Listing listing = store.list("bkt", prefix, after)) {
            while (listing.hasNext()) {
                ObjectInfo info = listing.next();
                out.add(info.key());
            }
        }
        return out;
    }
}
