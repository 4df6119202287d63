package io.basalt.daemon;

import java.time.Duration;
import io.basalt.engine.fixtures.Await;
import io.basalt.raid.array.ControlIo;
import io.basalt.engine.BlockDevice;
import io.basalt.raid.md.MdSuperblock;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** raid_add_member, raid_remove_member, raid_check, raid_repair, raid_resync, raid_sync_limit and rebuilds through RPC. */
class RaidSyncRpcTest extends DaemonTestBase {
    private static Map<?, ?> sync(Map<?, ?> status) {
        return (Map<?, ?>) status.get("sync");
    }

    /** Polls raid_status until the sync job is idle; returns the statuses seen while it ran and the last one. */
    private List<Map<?, ?>> awaitIdle(String name) throws Exception {
        List<Map<?, ?>> seen = new ArrayList<>();
        Await.untilChecked(() -> {
            Map<?, ?> s = status(name);
            seen.add(s);
            return "idle".equals(sync(s).get("action"));
        }, Duration.ofSeconds(60), () -> "sync of " + name + " still running: " + seen.getLast());
        return seen;
    }

    /** Pieces of at most 128 blocks (a volume's largest transfer may be smaller than the whole range). */
    private void writePattern(String name, long lba, int blocks, int seed) throws IOException {
        for (int at = 0; at < blocks; at += 128) writePiece(name, lba + at, Math.min(128, blocks - at), seed);
    }

    private void checkPattern(String name, long lba, int blocks, int seed) throws IOException {
        for (int at = 0; at < blocks; at += 128) checkPiece(name, lba + at, Math.min(128, blocks - at), seed);
    }

    private void writePiece(String name, long lba, int blocks, int seed) throws IOException {
        BlockDevice d = device(name);
        int bs = d.geometry().logicalBlockBytes();
        MemorySegment buffer = ControlIo.buffer((long) blocks * bs, bs);
        for (long i = 0; i < buffer.byteSize() / 8; i++) buffer.setAtIndex(ValueLayout.JAVA_LONG, i, seed * 1_000_003L + lba * (bs / 8) + i);
        ControlIo.write(daemon.reactors().getFirst(), d, lba, blocks, buffer);
    }

    private void checkPiece(String name, long lba, int blocks, int seed) throws IOException {
        BlockDevice d = device(name);
        int bs = d.geometry().logicalBlockBytes();
        MemorySegment buffer = ControlIo.buffer((long) blocks * bs, bs);
        ControlIo.read(daemon.reactors().getFirst(), d, lba, blocks, buffer);
        for (long i = 0; i < buffer.byteSize() / 8; i++) {
            assertEquals(seed * 1_000_003L + lba * (bs / 8) + i, buffer.getAtIndex(ValueLayout.JAVA_LONG, i), name + " word " + i + " from lba " + lba);
        }
    }

    private MdSuperblock superblock(String drive) throws IOException {
        BlockDevice d = device(drive);
        int bs = d.geometry().logicalBlockBytes();
        MemorySegment buffer = ControlIo.buffer(MdSuperblock.BUFFER_BYTES, bs);
        ControlIo.read(daemon.reactors().getFirst(), d, MdSuperblock.SUPER_OFFSET_SECTORS * 512 / bs, MdSuperblock.BUFFER_BYTES / bs, buffer);
        return new MdSuperblock().wrap(buffer);
    }

    private String uringConfig(int n) {
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < n; i++) all.add(i);
        return uringConfig(all);
    }

    private String uringConfig(List<Integer> drives) {
        List<String> calls = new ArrayList<>();
        for (int i : drives) {
            calls.add("{\"method\":\"drive_create\",\"params\":{\"name\":\"d" + i + "\",\"spec\":\"uring:" + dir.resolve("d" + i + ".img")
                    + ",size=32M,direct=0\"}}");
        }
        return "[" + String.join(",", calls) + "]";
    }

    @Test
    void addMemberToADegradedRaid5RebuildsWithProgressInStatusThenIsHealthy() throws Exception {
        start("[]");
        for (int i = 0; i < 5; i++) result("drive_create", "{\"name\":\"p" + i + "\",\"spec\":\"memory:32M\"}");
        result("raid_create", "{\"name\":\"r5\",\"level\":5,\"members\":[\"p0\",\"p1\",\"p2\",\"p3\"],\"chunk_kib\":64}");
        writePattern("r5", 0, 2000, 3);
        result("raid_fail_member", "{\"name\":\"r5\",\"member\":\"p1\"}");
        writePattern("r5", 3000, 500, 4); // degraded writes: p1 misses them
        long eventsBefore = (Long) status("r5").get("events");
        result("raid_sync_limit", "{\"name\":\"r5\",\"max_mib_s\":40}");
        Map<?, ?> added = assertInstanceOf(Map.class, result("raid_add_member", "{\"name\":\"r5\",\"drive\":\"p4\"}"));
        assertEquals(List.of("active", "rebuilding", "active", "active"), memberStates(added), added.toString());
        assertEquals("p4", ((Map<?, ?>) ((List<?>) added.get("members")).get(1)).get("drive"));
        assertNull(daemon.drives().holder("p1"), "the faulty member it replaced is released");
        assertEquals("raid volume 'r5'", daemon.drives().holder("p4"));
        MdSuperblock fresh = superblock("p4");
        assertEquals(4, fresh.devNumber(), "the lowest dev_number no member uses");
        assertEquals(1, fresh.role());
        assertNotEquals(0, fresh.featureMap() & MdSuperblock.MD_FEATURE_RECOVERY_OFFSET, "in recovery");
        assertTrue(fresh.events() > eventsBefore);
        List<Map<?, ?>> seen = awaitIdle("r5");
        assertTrue(seen.stream().anyMatch(s -> "rebuild".equals(sync(s).get("action"))
                && ((Number) sync(s).get("percent")).doubleValue() > 0 && ((Number) sync(s).get("percent")).doubleValue() < 100),
                "progress part way seen: " + seen.getFirst());
        Map<?, ?> done = seen.getLast();
        assertEquals(List.of("active", "active", "active", "active"), memberStates(done), done.toString());
        assertEquals("clean", done.get("state"));
        assertEquals("done", sync(done).get("last_state"), done.toString());
        assertEquals(sync(done).get("total_bytes"), sync(done).get("done_bytes"));
        MdSuperblock rebuilt = superblock("p4");
        assertEquals(0, rebuilt.featureMap() & MdSuperblock.MD_FEATURE_RECOVERY_OFFSET, "recovery over");
        assertEquals(1, superblock("p0").devRole(4), "the others name dev 4 as role 1");
        assertEquals(MdSuperblock.ROLE_SPARE, superblock("p0").devRole(1), "the removed dev 1 is spare (0xffff), as md writes it");
        checkPattern("r5", 0, 2000, 3);
        checkPattern("r5", 3000, 500, 4);
        result("raid_check", "{\"name\":\"r5\"}");
        assertEquals(0L, sync(awaitIdle("r5").getLast()).get("mismatch_sectors"));
        // The rebuilt member carries its share: fail another one and read everything back.
        result("raid_fail_member", "{\"name\":\"r5\",\"member\":\"p0\"}");
        checkPattern("r5", 0, 2000, 3);
        checkPattern("r5", 3000, 500, 4);
        String table = RaidVerb.format(assertInstanceOf(List.class, result("raid_status", null)));
        assertTrue(table.contains("r5  raid5 left-symmetric chunk 64 KiB") && table.contains("p4") && table.contains("faulty"), table);
    }

    @Test
    void aRebuildStoppedByShutdownResumesFromItsCheckpointAfterTheRestart() throws Exception {
        start(uringConfig(5));
        result("raid_create", "{\"name\":\"r5\",\"level\":5,\"members\":[\"d0\",\"d1\",\"d2\",\"d3\"],\"chunk_kib\":16}");
        writePattern("r5", 0, 4000, 8);
        result("raid_fail_member", "{\"name\":\"r5\",\"member\":\"d2\"}");
        result("raid_sync_limit", "{\"name\":\"r5\",\"max_mib_s\":8}");
        result("raid_add_member", "{\"name\":\"r5\",\"drive\":\"d4\"}");
        // Kept a sleep: the checkpoint is written on a 2 s clock (SyncJob.CHECKPOINT_INTERVAL_NS) and nothing in the
        // status shows it before the restart reads it back; letting that time pass is the point here.
        Thread.sleep(2500); // past the first checkpoint (every 2 s)
        Map<?, ?> part = status("r5");
        assertEquals("rebuild", sync(part).get("action"), part.toString());
        long memberBytes = (Long) sync(part).get("total_bytes");

        start(uringConfig(5)); // daemon.close() stopped the job and wrote its checkpoint
        assertTrue(daemon.assemblyLog().stream().anyMatch(l -> l.contains("assembled as volume 'r5'")), daemon.assemblyLog()::toString);
        Map<?, ?> resumed = status("r5");
        assertEquals("d4", ((Map<?, ?>) ((List<?>) resumed.get("members")).get(2)).get("drive"), resumed.toString());
        Map<?, ?> done = awaitIdle("r5").getLast();
        assertEquals("rebuild", sync(done).get("last_action"), "the assembly resumed the rebuild by itself: " + done);
        assertEquals("done", sync(done).get("last_state"));
        long resumedBytes = (Long) sync(done).get("total_bytes");
        assertTrue(resumedBytes < memberBytes && resumedBytes > 0, "resumed at the checkpoint: " + resumedBytes + " of " + memberBytes);
        assertEquals(List.of("active", "active", "active", "active"), memberStates(done));
        assertNull(daemon.drives().holder("d2"), "the replaced member is stale and left unclaimed");
        checkPattern("r5", 0, 4000, 8);
        result("raid_check", "{\"name\":\"r5\"}");
        assertEquals(0L, sync(awaitIdle("r5").getLast()).get("mismatch_sectors"));
    }

    @Test
    void aRaid5AssembledWithoutAMemberTakesANewDriveAndRebuilds() throws Exception {
        start(uringConfig(4));
        result("raid_create", "{\"name\":\"r5\",\"level\":5,\"members\":[\"d0\",\"d1\",\"d2\",\"d3\"],\"chunk_kib\":16}");
        writePattern("r5", 0, 3000, 12);
        result("raid_stop", "{\"name\":\"r5\"}");

        start(uringConfig(List.of(0, 1, 3, 4))); // d2 is gone; d4 is a new, empty drive
        Map<?, ?> degraded = status("r5");
        assertEquals(List.of("active", "active", "missing", "active"), memberStates(degraded), degraded.toString());
        checkPattern("r5", 0, 3000, 12); // degraded reads: the volume opens channels without the missing member
        writePattern("r5", 100, 200, 13);
        Map<?, ?> added = assertInstanceOf(Map.class, result("raid_add_member", "{\"name\":\"r5\",\"drive\":\"d4\"}"));
        assertEquals("rebuilding", memberStates(added).get(2), added.toString());
        assertEquals(List.of("active", "active", "active", "active"), memberStates(awaitIdle("r5").getLast()));
        checkPattern("r5", 0, 100, 12);
        checkPattern("r5", 100, 200, 13);
        checkPattern("r5", 300, 2700, 12);
        result("raid_check", "{\"name\":\"r5\"}");
        assertEquals(0L, sync(awaitIdle("r5").getLast()).get("mismatch_sectors"));
        result("raid_stop", "{\"name\":\"r5\"}");
        start(uringConfig(List.of(0, 1, 3, 4)));
        assertEquals(List.of("active", "active", "active", "active"), memberStates(status("r5")), "healthy after a restart");
        checkPattern("r5", 100, 200, 13);
    }

    @Test
    void aRaid5MemberDyingOnIoIsRecordedAndASpareRebuildsItsPlace() throws Exception {
        start("[]");
        for (int i = 0; i < 4; i++) {
            result("drive_create", "{\"name\":\"f" + i + "\",\"spec\":\"fault:memory:16M" + (i == 1 ? ",fault_fail_after=40" : "") + "\"}");
        }
        result("raid_create", "{\"name\":\"r5\",\"level\":5,\"members\":[\"f0\",\"f1\",\"f2\"],\"chunk_kib\":16}");
        result("raid_add_member", "{\"name\":\"r5\",\"drive\":\"f3\"}");
        assertEquals(List.of("active", "active", "active", "spare"), memberStates(status("r5")));
        writePattern("r5", 0, 2000, 21); // f1 dies part way: the data path fails it, the recorder marks it, f3 takes over
        Await.untilChecked(() -> {
            Map<?, ?> now = status("r5");
            return memberStates(now).equals(List.of("active", "active", "active")) && "idle".equals(sync(now).get("action"));
        }, Duration.ofSeconds(30), "the spare never finished");
        Map<?, ?> s = status("r5");
        assertEquals("f3", ((Map<?, ?>) ((List<?>) s.get("members")).get(1)).get("drive"), s.toString());
        assertEquals("done", sync(s).get("last_state"));
        checkPattern("r5", 0, 2000, 21);
        result("raid_check", "{\"name\":\"r5\"}");
        assertEquals(0L, sync(awaitIdle("r5").getLast()).get("mismatch_sectors"));
    }

    @Test
    void checkCountsParityCorruptionRepairFixesItAndResyncTakesRegions() throws Exception {
        start("[]");
        for (int i = 0; i < 4; i++) result("drive_create", "{\"name\":\"p" + i + "\",\"spec\":\"memory:16M\"}");
        Map<?, ?> created = assertInstanceOf(Map.class, result("raid_create",
                "{\"name\":\"r5\",\"level\":5,\"members\":[\"p0\",\"p1\",\"p2\",\"p3\"],\"chunk_kib\":64}"));
        writePattern("r5", 0, 3000, 1);
        long dataOffset = (Long) created.get("data_offset_bytes");
        int bs = device("p3").geometry().logicalBlockBytes();
        MemorySegment garbage = ControlIo.buffer(4096, bs);
        garbage.fill((byte) 0x5a);
        // Stripe 0's parity is on the last member (left-symmetric): 4 KiB of it go bad.
        ControlIo.write(daemon.reactors().getFirst(), device("p3"), dataOffset / bs, 4096 / bs, garbage);
        result("raid_check", "{\"name\":\"r5\"}");
        Map<?, ?> checked = awaitIdle("r5").getLast();
        assertEquals(8L, sync(checked).get("mismatch_sectors"), checked.toString());
        assertEquals("check", sync(checked).get("last_action"));
        result("raid_repair", "{\"name\":\"r5\"}");
        assertEquals(8L, sync(awaitIdle("r5").getLast()).get("mismatch_sectors"));
        result("raid_check", "{\"name\":\"r5\"}");
        assertEquals(0L, sync(awaitIdle("r5").getLast()).get("mismatch_sectors"));
        checkPattern("r5", 0, 3000, 1);
        // A resync of a region list (what the write-intent bitmap will hand over): only those stripes.
        ControlIo.write(daemon.reactors().getFirst(), device("p3"), dataOffset / bs, 4096 / bs, garbage);
        long chunkBlocks = 64 * 1024 / bs;
        result("raid_resync", "{\"name\":\"r5\",\"regions\":[[0,1],[" + 10 * chunkBlocks + "," + chunkBlocks + "]]}");
        Map<?, ?> resynced = awaitIdle("r5").getLast();
        assertEquals(2L * 64 * 1024, sync(resynced).get("total_bytes"), "two stripes");
        result("raid_check", "{\"name\":\"r5\"}");
        assertEquals(0L, sync(awaitIdle("r5").getLast()).get("mismatch_sectors"));
        assertTrue(error("raid_resync", "{\"name\":\"r5\",\"regions\":[[0]]}", -32602).contains("[start_block, blocks]"));
    }

    @Test
    void sparesRemovalAndTheErrors() throws Exception {
        start("[]");
        for (int i = 0; i < 6; i++) result("drive_create", "{\"name\":\"m" + i + "\",\"spec\":\"memory:16M\"}");
        result("drive_create", "{\"name\":\"tiny\",\"spec\":\"memory:1M\"}");
        result("drive_create", "{\"name\":\"z\",\"spec\":\"memory:16M\"}");
        result("raid_create", "{\"name\":\"r5\",\"level\":5,\"members\":[\"m0\",\"m1\",\"m2\"],\"chunk_kib\":16}");
        result("raid_create", "{\"name\":\"r1\",\"level\":1,\"members\":[\"m3\",\"m4\"]}");
        result("raid_create", "{\"name\":\"r0\",\"level\":0,\"members\":[\"z\",\"m5\"],\"chunk_kib\":16}");
        assertTrue(error("raid_add_member", "{\"name\":\"r5\",\"drive\":\"nope\"}", -32602).contains("no drive named 'nope'"));
        assertTrue(error("raid_add_member", "{\"name\":\"r5\",\"drive\":\"m3\"}", -32602).contains("already used by raid volume 'r1'"));
        assertTrue(error("raid_add_member", "{\"name\":\"r0\",\"drive\":\"m3\"}", -32602).contains("no redundancy"));
        assertTrue(error("raid_remove_member", "{\"name\":\"r5\",\"drive\":\"m1\"}", -32602).contains("fail it first"));
        assertTrue(error("raid_remove_member", "{\"name\":\"r5\",\"drive\":\"m4\"}", -32602).contains("not a member"));
        assertTrue(error("raid_check", "{\"name\":\"r0\"}", -32602).contains("no redundancy"));
        assertTrue(error("raid_sync_limit", "{\"name\":\"r5\",\"max_mib_s\":0}", -32602).contains("max_mib_s"));
        assertTrue(error("raid_add_member", "{\"name\":\"nothere\",\"drive\":\"m5\"}", -32602).contains("no raid volume"));
        // A drive too small is refused and left unclaimed.
        result("raid_stop", "{\"name\":\"r0\"}");
        assertTrue(error("raid_add_member", "{\"name\":\"r1\",\"drive\":\"tiny\"}", -32602).contains("smaller than a member needs"));
        assertNull(daemon.drives().holder("tiny"));
        // A healthy mirror takes the drive as a spare (md role 0xffff) ...
        Map<?, ?> withSpare = assertInstanceOf(Map.class, result("raid_add_member", "{\"name\":\"r1\",\"drive\":\"m5\"}"));
        assertEquals(List.of("active", "active", "spare"), memberStates(withSpare));
        assertEquals(MdSuperblock.ROLE_SPARE, superblock("m5").role());
        // ... and uses it when a member fails, as md does.
        writePattern("r1", 0, 64, 2);
        Map<?, ?> failed = assertInstanceOf(Map.class, result("raid_fail_member", "{\"name\":\"r1\",\"member\":\"m3\"}"));
        assertEquals(List.of("rebuilding", "active"), memberStates(failed), failed.toString());
        assertEquals("m5", ((Map<?, ?>) ((List<?>) failed.get("members")).get(0)).get("drive"));
        assertEquals(List.of("active", "active"), memberStates(awaitIdle("r1").getLast()));
        result("raid_fail_member", "{\"name\":\"r1\",\"member\":\"m4\"}");
        checkPattern("r1", 0, 64, 2);
        // A faulty member is removed: its role is missing and the drive free; a spare is removed the same way.
        Map<?, ?> removed = assertInstanceOf(Map.class, result("raid_remove_member", "{\"name\":\"r1\",\"drive\":\"m4\"}"));
        assertEquals(List.of("active", "missing"), memberStates(removed));
        assertNull(daemon.drives().holder("m4"));
        assertTrue(error("raid_check", "{\"name\":\"r1\"}", -32602).contains("needs two"), "check of a mirror with one member");
        result("raid_fail_member", "{\"name\":\"r5\",\"member\":\"m2\"}");
        assertTrue(error("raid_check", "{\"name\":\"r5\"}", -32602).contains("degraded"));
        result("raid_sync_limit", "{\"name\":\"r1\",\"max_mib_s\":2}");
        result("raid_add_member", "{\"name\":\"r1\",\"drive\":\"m4\"}"); // back in: a slow rebuild, stopped, resumed
        assertTrue(error("raid_check", "{\"name\":\"r1\"}", -32602).contains("runs a rebuild"));
        assertTrue(error("raid_fail_member", "{\"name\":\"r1\",\"member\":\"m5\"}", -32602).contains("last active member"),
                "the only full copy cannot fail while the other member rebuilds");
        Await.untilChecked(() -> ((Number) sync(status("r1")).get("done_bytes")).longValue() > 0, Duration.ofSeconds(30),
                "the rebuild of r1 made progress"); // stopped part way, not before its first window
        assertEquals(Boolean.TRUE, result("raid_sync_stop", "{\"name\":\"r1\"}"));
        Map<?, ?> stopped = status("r1");
        assertEquals("stopped", sync(stopped).get("last_state"), stopped.toString());
        assertEquals(List.of("active", "rebuilding"), memberStates(stopped));
        long position = (Long) ((Map<?, ?>) ((List<?>) stopped.get("members")).get(1)).get("recovery_offset_bytes");
        assertTrue(position > 0, "rebuilt part way: " + position);
        result("raid_sync_limit", "{\"name\":\"r1\",\"max_mib_s\":1000}");
        result("raid_rebuild", "{\"name\":\"r1\"}");
        Map<?, ?> rebuilt = awaitIdle("r1").getLast();
        assertEquals(List.of("active", "active"), memberStates(rebuilt));
        assertTrue((Long) sync(rebuilt).get("total_bytes") < (Long) sync(stopped).get("total_bytes"), "resumed, not restarted");
        assertTrue(error("raid_rebuild", "{\"name\":\"r1\"}", -32602).contains("no member to rebuild"));
        assertTrue(error("raid_add_member", "{\"name\":\"r1\",\"drive\":\"m4\"}", -32602).contains("already used by raid volume 'r1'"), "drive in use");
    }
}
