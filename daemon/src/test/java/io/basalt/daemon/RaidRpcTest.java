package io.basalt.daemon;

import java.time.Duration;
import io.basalt.engine.fixtures.Await;
import io.basalt.raid.array.RaidBitmaps;
import io.basalt.raid.array.ControlIo;
import io.basalt.engine.BlockDevice;
import io.basalt.raid.md.MdSuperblock;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** raid_* methods and md assembly at start-up, in-process over the real socket. */
class RaidRpcTest extends DaemonTestBase {
    private void memoryDrives(int n, String size) throws IOException {
        for (int i = 0; i < n; i++) result("drive_create", "{\"name\":\"m" + i + "\",\"spec\":\"memory:" + size + "\"}");
    }

    private String uringConfig(int n) {
        List<String> calls = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            calls.add("{\"method\":\"drive_create\",\"params\":{\"name\":\"d" + i + "\",\"spec\":\"uring:" + dir.resolve("d" + i + ".img")
                    + ",size=32M,direct=0\"}}");
        }
        return "[" + String.join(",", calls) + "]";
    }

    /** Writes blocks [lba, lba + blocks) of {@code name} with a pattern of {@code seed}, through a reactor. */
    private void writePattern(String name, long lba, int blocks, int seed) throws IOException {
        BlockDevice d = device(name);
        int bs = d.geometry().logicalBlockBytes();
        MemorySegment buffer = ControlIo.buffer((long) blocks * bs, bs);
        for (long i = 0; i < buffer.byteSize() / 8; i++) buffer.setAtIndex(ValueLayout.JAVA_LONG, i, seed * 1_000_003L + lba * 4096 + i);
        ControlIo.write(daemon.reactors().getFirst(), d, lba, blocks, buffer);
    }

    private void checkPattern(String name, long lba, int blocks, int seed) throws IOException {
        BlockDevice d = device(name);
        int bs = d.geometry().logicalBlockBytes();
        MemorySegment buffer = ControlIo.buffer((long) blocks * bs, bs);
        ControlIo.read(daemon.reactors().getFirst(), d, lba, blocks, buffer);
        for (long i = 0; i < buffer.byteSize() / 8; i++) {
            assertEquals(seed * 1_000_003L + lba * 4096 + i, buffer.getAtIndex(ValueLayout.JAVA_LONG, i), name + " word " + i + " from lba " + lba);
        }
    }

    @Test
    void raid0OverMemoryDrivesStripesFromTheDataOffsetAndClaimsItsMembers() throws Exception {
        start("[]");
        memoryDrives(4, "64M");
        Map<?, ?> created = assertInstanceOf(Map.class,
                result("raid_create", "{\"name\":\"r0\",\"level\":0,\"members\":[\"m0\",\"m1\",\"m2\",\"m3\"],\"chunk_kib\":64}"));
        assertEquals(0L, created.get("level"));
        assertEquals(64L, created.get("chunk_kib"));
        assertEquals(List.of("active", "active", "active", "active"), memberStates(created));
        assertEquals(false, created.get("degraded"));
        long dataOffset = (Long) created.get("data_offset_bytes");
        assertEquals(io.basalt.raid.md.MdArraySpec.mdadmDataOffsetSectors((64L << 20) / 512, 128) * 512, dataOffset,
                "mdadm's data offset for 64 MiB members and 64 KiB chunks");
        assertEquals(4 * ((64L << 20) - dataOffset), created.get("size_bytes"));
        assertEquals("created", created.get("origin"));

        // Volume chunk 1 (64 KiB = 16 blocks) lies on m1 at the data offset: the volume never touches the superblock.
        writePattern("r0", 16, 16, 7);
        checkPattern("r0", 16, 16, 7);
        BlockDevice m1 = device("m1");
        MemorySegment raw = ControlIo.buffer(16 * 4096, 4096);
        ControlIo.read(daemon.reactors().getFirst(), m1, dataOffset / 4096, 16, raw);
        assertEquals(7 * 1_000_003L + 16 * 4096, raw.getAtIndex(ValueLayout.JAVA_LONG, 0), "chunk 1 at m1's data offset");
        MemorySegment sb = ControlIo.buffer(4096, 4096);
        ControlIo.read(daemon.reactors().getFirst(), m1, 1, 1, sb);
        assertEquals(MdSuperblock.MD_SB_MAGIC, new MdSuperblock().wrap(sb).magic(), "md superblock at 4 KiB");

        assertTrue(error("drive_delete", "{\"name\":\"m2\"}", -32602).contains("in use by raid volume 'r0'"));
        assertTrue(error("vhost_create", "{\"name\":\"v0\",\"drive\":\"m0\"}", -32602).contains("already used by raid volume 'r0'"));
        assertTrue(error("drive_delete", "{\"name\":\"r0\"}", -32602).contains("raid_stop"));
        assertEquals(4, ((List<?>) result("drive_list", null)).size(), "drive_list lists drives, not volumes");
        assertEquals(1, ((List<?>) result("raid_status", null)).size());
        assertTrue(error("raid_fail_member", "{\"name\":\"r0\",\"member\":\"m0\"}", -32602).contains("no redundancy"));
    }

    @Test
    void raid1OverUringFilesFailsAMemberAndRefusesToFailTheLast() throws Exception {
        start(uringConfig(3));
        Map<?, ?> created = assertInstanceOf(Map.class, result("raid_create", "{\"name\":\"r1\",\"level\":1,\"members\":[\"d0\",\"d1\",\"d2\"]}"));
        assertEquals(1L, created.get("level"));
        assertEquals(0L, created.get("chunk_kib"), "raid1 has no chunk");
        assertEquals((32L << 20) - (1L << 20), created.get("size_bytes"), "32 MiB members, 1 MiB data offset");
        writePattern("r1", 0, 8, 3);
        Map<?, ?> failed = assertInstanceOf(Map.class, result("raid_fail_member", "{\"name\":\"r1\",\"member\":\"d1\"}"));
        assertEquals(List.of("active", "faulty", "active"), memberStates(failed));
        assertEquals(true, failed.get("degraded"));
        assertEquals("degraded", failed.get("state"));
        assertEquals(2L, failed.get("events"), "the superblocks of the active members were rewritten (1: active at create, 2: the failure)");
        checkPattern("r1", 0, 8, 3);
        assertTrue(error("raid_fail_member", "{\"name\":\"r1\",\"member\":\"d1\"}", -32602).contains("already faulty"));
        assertTrue(error("raid_fail_member", "{\"name\":\"r1\",\"member\":\"d9\"}", -32602).contains("not a member"));
        result("raid_fail_member", "{\"name\":\"r1\",\"member\":\"d0\"}");
        assertTrue(error("raid_fail_member", "{\"name\":\"r1\",\"member\":\"d2\"}", -32602).contains("last active member"));
        checkPattern("r1", 0, 8, 3);
    }

    @Test
    void aMemberThatFailsOnIoIsRecordedFaultyInTheSuperblocks() throws Exception {
        start("[]");
        // m0 dies after 2 requests: its superblock write and flush at raid_create.
        result("drive_create", "{\"name\":\"m0\",\"spec\":\"fault:memory:16M,fault_fail_after=2\"}");
        result("drive_create", "{\"name\":\"m1\",\"spec\":\"memory:16M\"}");
        result("raid_create", "{\"name\":\"r1\",\"level\":1,\"members\":[\"m0\",\"m1\"],\"consistency\":\"resync\"}");
        writePattern("r1", 0, 8, 4);
        Await.untilChecked(() -> status("r1").get("events").equals(1L), Duration.ofSeconds(10), "one event on r1");
        Map<?, ?> s = status("r1");
        assertEquals(List.of("faulty", "active"), memberStates(s));
        assertEquals(1L, s.get("events"), "m1's superblock records the failure");
        MemorySegment sb = ControlIo.buffer(4096, 4096);
        ControlIo.read(daemon.reactors().getFirst(), device("m1"), 1, 1, sb);
        assertEquals(MdSuperblock.ROLE_FAULTY, new MdSuperblock().wrap(sb).devRole(0));
        checkPattern("r1", 0, 8, 4);
    }

    @Test
    void badParamsAreClearErrors() throws Exception {
        start("[]");
        memoryDrives(3, "16M");
        result("drive_create", "{\"name\":\"tiny0\",\"spec\":\"memory:1M\"}");
        result("drive_create", "{\"name\":\"tiny1\",\"spec\":\"memory:1M\"}");
        result("drive_create", "{\"name\":\"b512\",\"spec\":\"memory:16M,block=512\"}");
        assertTrue(error("raid_create", "{\"name\":\"r\",\"level\":1,\"members\":[\"m0\",\"nope\"]}", -32602).contains("no drive named 'nope'"));
        assertTrue(error("raid_create", "{\"name\":\"r\",\"level\":7,\"members\":[\"m0\",\"m1\"]}", -32602).contains("0, 1 or 5"));
        assertTrue(error("raid_create", "{\"name\":\"r\",\"level\":5,\"members\":[\"m0\",\"m1\"]}", -32602).contains("needs"));
        assertTrue(error("raid_create", "{\"name\":\"r\",\"level\":1,\"members\":[\"m0\"]}", -32602).contains("needs 2 to"));
        assertTrue(error("raid_create", "{\"name\":\"r\",\"level\":1,\"members\":[\"m0\",\"m0\"]}", -32602).contains("listed twice"));
        assertTrue(error("raid_create", "{\"name\":\"m1\",\"level\":1,\"members\":[\"m0\",\"m2\"]}", -32602).contains("already exists"));
        assertTrue(error("raid_create", "{\"name\":\"r\",\"members\":[\"m0\",\"m2\"]}", -32602).contains("level"));
        assertTrue(error("raid_create", "{\"name\":\"r\",\"level\":1,\"members\":\"m0\"}", -32602).contains("members"));
        assertTrue(error("raid_create", "{\"name\":\"r\",\"level\":0,\"members\":[\"m0\",\"m1\"],\"chunk_kib\":3}", -32602).contains("chunk_kib"));
        assertTrue(error("raid_create", "{\"name\":\"r\",\"level\":1,\"members\":[\"tiny0\",\"tiny1\"]}", -32602).contains("too small"));
        assertTrue(error("raid_create", "{\"name\":\"r\",\"level\":1,\"members\":[\"m0\",\"b512\"]}", -32602).contains("block size"));
        assertTrue(error("raid_create", "{\"name\":\"r\",\"level\":1,\"members\":[\"m0\",\"m1\"],\"colour\":1}", -32602).contains("colour"));
        assertTrue(error("raid_create", "{\"name\":\"" + "x".repeat(33) + "\",\"level\":1,\"members\":[\"m0\",\"m1\"]}", -32602).contains("set_name"));
        // Nothing above left a claim behind.
        result("raid_create", "{\"name\":\"r\",\"level\":1,\"members\":[\"m0\",\"m1\"]}");
        assertTrue(error("raid_create", "{\"name\":\"r2\",\"level\":1,\"members\":[\"m2\",\"m1\"]}", -32602).contains("already used by raid volume 'r'"));
        assertNull(daemon.drives().holder("m2"), "a refused create releases what it claimed");
        assertTrue(error("raid_create", "{\"name\":\"r3\",\"level\":1,\"members\":[\"m2\",\"r\"]}", -32602).contains("members must be drives"));
        for (String method : List.of("raid_add_member", "raid_remove_member", "raid_check", "raid_repair")) { // RaidSyncRpcTest tests them
            String message = error(method, "{\"name\":\"nope\",\"drive\":\"m2\"}".replace(method.equals("raid_check") || method.equals("raid_repair")
                    ? ",\"drive\":\"m2\"" : "\u0000", ""), -32602);
            assertTrue(message.contains(method) && message.contains("no raid volume"), message);
        }
        assertTrue(error("raid_status", "{\"name\":\"nope\"}", -32602).contains("no raid volume"));
        assertTrue(error("raid_stop", "{\"name\":\"nope\"}", -32602).contains("no raid volume"));
        assertTrue(((List<?>) result("rpc_methods", null)).containsAll(List.of("raid_create", "raid_status", "raid_stop",
                "raid_fail_member", "raid_add_member", "raid_remove_member", "raid_check", "raid_repair", "raid_assemble")));
    }

    @Test
    void aVolumeIsExportedOverVhostAndStopReleasesItsMembers() throws Exception {
        start("[]");
        memoryDrives(2, "16M");
        result("raid_create", "{\"name\":\"r1\",\"level\":1,\"members\":[\"m0\",\"m1\"]}");
        Map<?, ?> export = assertInstanceOf(Map.class, result("vhost_create", "{\"name\":\"v0\",\"drive\":\"r1\"}"));
        assertTrue(Files.exists(Path.of((String) export.get("socket"))), "the export of the volume listens");
        assertEquals("vhost export 'v0'", status("r1").get("used_by"));
        assertTrue(error("vhost_create", "{\"name\":\"v1\",\"drive\":\"m0\"}", -32602).contains("drive 'm0' is already used by raid volume 'r1'"),
                "a member is the volume's alone");
        result("vhost_create", "{\"name\":\"v1\",\"drive\":\"r1\"}"); // exports share (decision 27)
        assertTrue(error("raid_stop", "{\"name\":\"r1\"}", -32602).contains("in use by vhost export 'v0', vhost export 'v1'"));
        result("vhost_delete", "{\"name\":\"v0\"}");
        assertTrue(error("raid_stop", "{\"name\":\"r1\"}", -32602).contains("in use by vhost export 'v1'"));
        result("vhost_delete", "{\"name\":\"v1\"}");
        assertEquals(Boolean.TRUE, result("raid_stop", "{\"name\":\"r1\"}"));
        assertTrue(((List<?>) result("raid_status", null)).isEmpty());
        assertNull(daemon.drives().holder("m0"));
        // Active at create (events 1), stopped cleanly (events 2) in both superblocks, which a new create then overwrites.
        MemorySegment sb = ControlIo.buffer(4096, 4096);
        ControlIo.read(daemon.reactors().getFirst(), device("m1"), 1, 1, sb);
        assertEquals(2L, new MdSuperblock().wrap(sb).events());
        assertTrue(new MdSuperblock().wrap(sb).clean());
        result("raid_create", "{\"name\":\"r1\",\"level\":0,\"members\":[\"m0\",\"m1\"]}");
        result("raid_stop", "{\"name\":\"r1\"}");
        assertEquals(Boolean.TRUE, result("drive_delete", "{\"name\":\"m0\"}"), "released members can be deleted");
    }

    @Test
    void arraysComeBackAfterARestartWithTheirData() throws Exception {
        start(uringConfig(5));
        result("raid_create", "{\"name\":\"mirror\",\"level\":1,\"members\":[\"d0\",\"d1\"]}");
        result("raid_create", "{\"name\":\"stripe\",\"level\":0,\"members\":[\"d2\",\"d3\",\"d4\"],\"chunk_kib\":16}");
        writePattern("mirror", 100, 32, 11);
        writePattern("stripe", 5, 64, 12);
        long mirrorSize = (Long) status("mirror").get("size_bytes");

        start(uringConfig(5)); // the same files, a config that only creates the drives
        Map<?, ?> mirror = status("mirror");
        assertEquals("assembled", mirror.get("origin"));
        assertEquals(mirrorSize, mirror.get("size_bytes"));
        assertEquals(List.of("active", "active"), memberStates(mirror));
        assertEquals(16L, status("stripe").get("chunk_kib"));
        checkPattern("mirror", 100, 32, 11);
        checkPattern("stripe", 5, 64, 12);
        assertEquals("raid volume 'mirror'", daemon.drives().holder("d0"));
        assertTrue(error("drive_delete", "{\"name\":\"d4\"}", -32602).contains("in use"));
        assertTrue(daemon.assemblyLog().stream().anyMatch(l -> l.contains("assembled as volume 'mirror'")), daemon.assemblyLog()::toString);
        // An assembled volume exports like any other.
        result("vhost_create", "{\"name\":\"v0\",\"drive\":\"mirror\"}");
    }

    @Test
    void aFailedMemberIsStaleAtTheNextStartAndTheMirrorComesBackDegraded() throws Exception {
        start(uringConfig(2));
        result("raid_create", "{\"name\":\"mirror\",\"level\":1,\"members\":[\"d0\",\"d1\"]}");
        writePattern("mirror", 0, 16, 5);
        result("raid_fail_member", "{\"name\":\"mirror\",\"member\":\"d0\"}");
        writePattern("mirror", 0, 16, 6); // d0 misses this write

        start(uringConfig(2));
        Map<?, ?> mirror = status("mirror");
        assertEquals(true, mirror.get("degraded"));
        assertEquals(List.of("missing", "active"), memberStates(mirror));
        assertNull(daemon.drives().holder("d0"), "the stale member is left unclaimed");
        assertTrue(daemon.assemblyLog().stream().anyMatch(l -> l.contains("STALE_MEMBER d0")), daemon.assemblyLog()::toString);
        checkPattern("mirror", 0, 16, 6);
    }

    @Test
    void aGarbageSuperblockIsLoggedAndLeftUnclaimed() throws Exception {
        start(uringConfig(2));
        result("raid_create", "{\"name\":\"mirror\",\"level\":1,\"members\":[\"d0\",\"d1\"]}");
        writePattern("mirror", 0, 4, 9);
        client.close();
        client = null;
        daemon.close();
        daemon = null;
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("d1.img").toFile(), "rw")) {
            f.seek(4096 + MdSuperblock.SET_NAME_OFFSET);
            f.write('X'); // the checksum no longer matches
        }
        start(uringConfig(2));
        assertNull(daemon.drives().holder("d1"));
        assertTrue(daemon.assemblyLog().stream().anyMatch(l -> l.contains("drive d1: unusable md superblock")), daemon.assemblyLog()::toString);
        Map<?, ?> mirror = status("mirror");
        assertEquals(List.of("active", "missing"), memberStates(mirror));
        checkPattern("mirror", 0, 4, 9);
        assertEquals(Boolean.TRUE, result("drive_delete", "{\"name\":\"d1\"}"), "the garbage drive is free");
    }

    @Test
    void raid5OverFourDrivesWritesFullAndPartialStripesAndReadsThemBackHealthyAndDegraded() throws Exception {
        start("[]");
        for (int i = 0; i < 4; i++) result("drive_create", "{\"name\":\"p" + i + "\",\"spec\":\"memory:32M\"}");
        Map<?, ?> created = assertInstanceOf(Map.class, result("raid_create",
                "{\"name\":\"r5\",\"level\":5,\"members\":[\"p0\",\"p1\",\"p2\",\"p3\"],\"chunk_kib\":64}"));
        assertEquals(5L, created.get("level"), created.toString());
        writePattern("r5", 0, 96, 5);      // a full stripe (3 x 64 KiB) and a half
        writePattern("r5", 1000, 3, 6);    // a partial stripe: read-modify-write or reconstruct-write
        checkPattern("r5", 0, 96, 5);
        checkPattern("r5", 1000, 3, 6);
        Map<?, ?> status = assertInstanceOf(Map.class, ((List<?>) result("raid_status", "{\"name\":\"r5\"}")).get(0));
        assertEquals("left-symmetric", status.get("layout"), status.toString());
        assertEquals(Boolean.FALSE, status.get("degraded"));
        assertTrue(error("drive_delete", "{\"name\":\"p2\"}", -32602).contains("in use"));
        // Degraded: one member failed, reads reconstruct it from parity and writes go on.
        Map<?, ?> degraded = assertInstanceOf(Map.class, result("raid_fail_member", "{\"name\":\"r5\",\"member\":\"p1\"}"));
        assertEquals(Boolean.TRUE, degraded.get("degraded"), degraded.toString());
        checkPattern("r5", 0, 96, 5);
        checkPattern("r5", 1000, 3, 6);
        writePattern("r5", 2000, 40, 7);
        checkPattern("r5", 2000, 40, 7);
        assertTrue(error("raid_fail_member", "{\"name\":\"r5\",\"member\":\"p2\"}", -32602).contains("would fail"),
                "a second loss is refused");
    }

    // ------------------------------------------------------------------ write-intent bitmap

    private String sparseConfig(int n, String size) {
        List<String> calls = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            calls.add("{\"method\":\"drive_create\",\"params\":{\"name\":\"d" + i + "\",\"spec\":\"uring:" + dir.resolve("d" + i + ".img")
                    + ",size=" + size + ",direct=0\"}}");
        }
        return "[" + String.join(",", calls) + "]";
    }

    private Map<?, ?> bitmapStatus(String name) throws IOException {
        return assertInstanceOf(Map.class, status(name).get("bitmap"), () -> "no bitmap in the status of " + name);
    }

    /** Whether the two members' data areas hold the same bytes over [lba, lba + blocks). */
    private boolean membersAgree(String a, String b, long dataOffsetBlocks, long lba, int blocks) throws IOException {
        MemorySegment x = ControlIo.buffer((long) blocks * 4096, 4096), y = ControlIo.buffer((long) blocks * 4096, 4096);
        ControlIo.read(daemon.reactors().getFirst(), device(a), dataOffsetBlocks + lba, blocks, x);
        ControlIo.read(daemon.reactors().getFirst(), device(b), dataOffsetBlocks + lba, blocks, y);
        return x.mismatch(y) == -1;
    }

    /** Writes a pattern straight into a drive's image file, as a crash could have left it (no daemon running). */
    private void writeImage(String drive, long lba, int blocks, int seed) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(dir.resolve(drive + ".img").toFile(), "rw")) {
            byte[] bytes = new byte[blocks * 4096];
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.nativeOrder());
            for (int i = 0; i < bytes.length / 8; i++) b.putLong(seed * 1_000_003L + lba * 4096 + i);
            file.seek(lba * 4096);
            file.write(bytes);
        }
    }

    @Test
    void aMemberThatFailsABitmapWriteIsFailedAndRecorded() throws Exception {
        start("[]");
        // m0 takes raid_create's superblock write, bitmap write and flush, then dies: at the first data write's bit.
        result("drive_create", "{\"name\":\"m0\",\"spec\":\"fault:memory:16M,fault_fail_after=3\"}");
        result("drive_create", "{\"name\":\"m1\",\"spec\":\"memory:16M\"}");
        result("raid_create", "{\"name\":\"r1\",\"level\":1,\"members\":[\"m0\",\"m1\"]}");
        writePattern("r1", 0, 8, 4);
        Await.untilChecked(() -> status("r1").get("events").equals(1L), Duration.ofSeconds(10), "one event on r1");
        Map<?, ?> s = status("r1");
        assertEquals(List.of("faulty", "active"), memberStates(s));
        assertEquals(1L, s.get("events"), "m1's superblock records the failure");
        assertEquals(1L, bitmapStatus("r1").get("bits_set"), "the bit reached m1");
        checkPattern("r1", 0, 8, 4);
    }

    @Test
    void aMirrorStoppedUncleanlyResyncsOnlyTheRegionsItsBitmapMarks() throws Exception {
        String config = sparseConfig(2, "320M"); // 64 MiB bitmap chunks: five regions
        start(config);
        Map<?, ?> created = assertInstanceOf(Map.class, result("raid_create", "{\"name\":\"m\",\"level\":1,\"members\":[\"d0\",\"d1\"]}"));
        assertEquals("bitmap", created.get("consistency"), created.toString());
        long dataOffsetBlocks = (Long) created.get("data_offset_bytes") / 4096;
        long region = 64L * 1024 * 1024 / 4096;
        writePattern("m", 100, 16, 1); // region 0: its bit is set before the members see the write
        Map<?, ?> bitmap = bitmapStatus("m");
        assertEquals(1L, bitmap.get("bits_set"), bitmap.toString());
        assertEquals(1L, bitmap.get("dirty_regions"), bitmap.toString());
        daemon.closeAsIfCrashed();
        daemon = null;
        // What a crash can leave: the mirror copies disagree where a write was in flight (region 0, dirty), and,
        // to show the resync reads only the bitmap, a disagreement planted in region 2 (clean) stays.
        writeImage("d1", dataOffsetBlocks + 100, 16, 2);
        writeImage("d1", dataOffsetBlocks + 2 * region + 8, 4, 3);

        start(config);
        Map<?, ?> after = bitmapStatus("m");
        assertEquals(1L, after.get("resynced_at_assembly"), after.toString());
        assertTrue(membersAgree("d0", "d1", dataOffsetBlocks, 100, 16), "the dirty region was resynced");
        assertFalse(membersAgree("d0", "d1", dataOffsetBlocks, 2 * region + 8, 4), "a clean region is not touched by the resync");
        result("raid_stop", "{\"name\":\"m\"}");
        start(config);
        assertEquals(0L, bitmapStatus("m").get("resynced_at_assembly"), "a clean stop leaves nothing to resync");
    }

    @Test
    void aCleanStopClearsTheBitmapOnDiskAndMdadmFindsItConsistent() throws Exception {
        String config = sparseConfig(3, "160M");
        start(config);
        result("raid_create", "{\"name\":\"r5\",\"level\":5,\"members\":[\"d0\",\"d1\",\"d2\"],\"chunk_kib\":64,\"consistency\":\"bitmap\"}");
        writePattern("r5", 0, 64, 4);
        writePattern("r5", 40_000, 8, 5);
        assertTrue((Long) bitmapStatus("r5").get("dirty_regions") >= 2);
        result("raid_stop", "{\"name\":\"r5\"}");
        for (String d : List.of("d0", "d1", "d2")) {
            MemorySegment sb = ControlIo.buffer(4096, 4096);
            ControlIo.read(daemon.reactors().getFirst(), device(d), 1, 1, sb);
            MdSuperblock superblock = new MdSuperblock().wrap(sb);
            assertTrue(superblock.hasBitmap(), d);
            MemorySegment area = RaidBitmaps.readArea(daemon.reactors().getFirst(), device(d), superblock);
            io.basalt.raid.md.MdBitmap bitmap = new io.basalt.raid.md.MdBitmap().wrap(area);
            assertEquals(0, bitmap.dirtyCount(), d + ": every bit cleared at the clean stop");
            assertEquals(superblock.events(), bitmap.events(), d + ": the bitmap is as new as the superblock (md would resync all otherwise)");
        }
        start(config);
        checkPattern("r5", 0, 64, 4);
        checkPattern("r5", 40_000, 8, 5);
        assertEquals(0L, bitmapStatus("r5").get("resynced_at_assembly"));
    }

    @Test
    void aRaid5StoppedUncleanlyRecomputesTheParityOfItsDirtyStripes() throws Exception {
        String config = sparseConfig(3, "96M");
        start(config);
        Map<?, ?> created = assertInstanceOf(Map.class, result("raid_create",
                "{\"name\":\"r5\",\"level\":5,\"members\":[\"d0\",\"d1\",\"d2\"],\"chunk_kib\":64,\"consistency\":\"bitmap\"}"));
        long dataOffsetBlocks = (Long) created.get("data_offset_bytes") / 4096;
        writePattern("r5", 0, 32, 6); // stripe 0: data on d0 (rows 0..15) and d1 (rows 0..15), parity on d2
        daemon.closeAsIfCrashed();
        daemon = null;
        writeImage("d2", dataOffsetBlocks, 16, 7); // the parity write that a crash lost: stripe 0's parity is now wrong
        start(config);
        assertEquals(1L, bitmapStatus("r5").get("resynced_at_assembly"));
        // With the parity recomputed, losing a data member still reads back the data through the parity.
        result("raid_fail_member", "{\"name\":\"r5\",\"member\":\"d0\"}");
        checkPattern("r5", 0, 32, 6);
    }

    @Test
    void aDirtyDegradedRaid5IsNotStarted() throws Exception {
        String config = sparseConfig(3, "96M");
        start(config);
        result("raid_create", "{\"name\":\"r5\",\"level\":5,\"members\":[\"d0\",\"d1\",\"d2\"],\"chunk_kib\":64,\"consistency\":\"bitmap\"}");
        result("raid_fail_member", "{\"name\":\"r5\",\"member\":\"d1\"}");
        writePattern("r5", 0, 8, 8);
        daemon.closeAsIfCrashed();
        daemon = null;
        start(config);
        assertTrue(((List<?>) result("raid_status", null)).isEmpty(), "not started");
        // Refused by the scanner already (the superblocks say active: DIRTY_DEGRADED); the bitmap's own check
        // ("degraded and its bitmap marks ...") stands behind it for a superblock that says clean.
        assertTrue(daemon.assemblyLog().stream().anyMatch(l -> l.contains("not started")), daemon.assemblyLog()::toString);
        assertNull(daemon.drives().holder("d0"), "its drives stay unclaimed");
    }

    @Test
    void consistencyParamIsChecked() throws Exception {
        start("[]");
        memoryDrives(3, "32M");
        assertTrue(error("raid_create", "{\"name\":\"x\",\"level\":0,\"members\":[\"m0\",\"m1\"],\"consistency\":\"bitmap\"}", -32602)
                .contains("raid0 has no redundancy"));
        assertTrue(error("raid_create", "{\"name\":\"x\",\"level\":1,\"members\":[\"m0\",\"m1\"],\"consistency\":\"journal\"}", -32602)
                .contains("'consistency' must be"));
        Map<?, ?> none = assertInstanceOf(Map.class, result("raid_create",
                "{\"name\":\"x\",\"level\":1,\"members\":[\"m0\",\"m1\"],\"consistency\":\"resync\"}"));
        assertEquals("resync", none.get("consistency"));
        assertNull(none.get("bitmap"));
    }

    /**
     * raid_create makes raid5 with md's partial parity log by default, placed as mdadm does; its superblocks say
     * active while it is open and clean after a clean stop. The member files copied while it runs are what a crash
     * leaves: assembled from them, the array is recovered from the log and reads back what was written.
     */
    @Test
    void raid5WithPplIsActiveWhileOpenCleanAfterStopAndRecoveredAfterACrash() throws Exception {
        start(uringConfig(4));
        Map<?, ?> created = assertInstanceOf(Map.class, result("raid_create",
                "{\"name\":\"r5\",\"level\":5,\"members\":[\"d0\",\"d1\",\"d2\",\"d3\"],\"chunk_kib\":64}"));
        assertEquals("ppl", created.get("consistency"), created.toString());
        MemorySegment raw = ControlIo.buffer(4096, 4096);
        ControlIo.read(daemon.reactors().getFirst(), device("d0"), 1, 1, raw);
        MdSuperblock sb = new MdSuperblock().wrap(raw);
        assertEquals(MdSuperblock.MD_FEATURE_PPL, sb.featureMap() & MdSuperblock.MD_FEATURE_PPL, "MD_FEATURE_PPL");
        assertEquals(8, sb.pplOffsetSectors());
        assertEquals(2048, sb.pplSizeSectors());
        assertEquals(0L, sb.resyncOffsetSectors(), "active (dirty) while open, as md_write_start leaves it");
        MemorySegment header = ControlIo.buffer(4096, 4096);
        ControlIo.read(daemon.reactors().getFirst(), device("d0"), 2, 1, header); // sector 16 = super_offset 8 + ppl.offset 8
        io.basalt.raid.md.MdPpl ppl = new io.basalt.raid.md.MdPpl().wrap(header);
        assertTrue(ppl.checksumValid(), "an empty PPL header as mdadm writes it");
        assertEquals(io.basalt.raid.md.MdPpl.signature(sb.setUuid()), (int) ppl.signature());
        assertTrue(error("raid_create", "{\"name\":\"x\",\"level\":1,\"members\":[\"d0\",\"d1\"],\"consistency\":\"ppl\"}", -32602)
                .contains("consistency"));
        writePattern("r5", 0, 96, 21);
        writePattern("r5", 777, 5, 22);
        for (int i = 0; i < 4; i++) Files.copy(dir.resolve("d" + i + ".img"), dir.resolve("d" + i + ".crash"));

        client.close();
        client = null;
        daemon.close(); // a clean stop
        daemon = null;
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("d1.img").toFile(), "r")) {
            f.seek(4096 + MdSuperblock.RESYNC_OFFSET_OFFSET);
            assertEquals(-1L, Long.reverseBytes(f.readLong()), "clean after the daemon's stop (resync_offset MaxSector)");
        }
        for (int i = 0; i < 4; i++) {
            Files.copy(dir.resolve("d" + i + ".crash"), dir.resolve("d" + i + ".img"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        start(uringConfig(4));
        Map<?, ?> r5 = status("r5");
        assertEquals("assembled", r5.get("origin"));
        assertEquals("ppl", r5.get("consistency"));
        assertTrue(String.valueOf(r5.get("recovery")).startsWith("ppl: "), r5.toString());
        assertTrue(String.valueOf(r5.get("recovery")).contains(" 0 mismatches"), r5.toString());
        checkPattern("r5", 0, 96, 21);
        checkPattern("r5", 777, 5, 22);
    }
}
