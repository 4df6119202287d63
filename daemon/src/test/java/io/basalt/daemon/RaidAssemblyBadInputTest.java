package io.basalt.daemon;

import io.basalt.raid.array.ControlIo;
import io.basalt.engine.BlockDevice;
import io.basalt.daemon.json.Json;
import io.basalt.raid.md.MdSuperblock;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Bad input at md assembly, end to end: arrays made by raid_create on files, the files then changed while the
 * daemon is down (a member of another array put in, a stale copy, a member missing, a garbage or conflicting
 * superblock, a duplicate, a truncated member, a dirty degraded raid5), then assembled at start-up or by
 * raid_assemble. Each case must end in a clear error naming the drive or a degraded start whose data reads
 * back exactly as written (never silent corruption). The raid module's {@code MdScannerTest} and
 * {@code MdScannerBadInputTest} cover the same verdicts without a daemon.
 */
class RaidAssemblyBadInputTest extends DaemonTestBase {
    private static final long MIB = 1L << 20;

    /** A config creating file drives: "d0" (32 MiB), or "d1=48" for another size in MiB, or "d1/512" for 512-byte blocks. */
    private String drives(String... specs) {
        List<String> calls = new ArrayList<>();
        for (String s : specs) {
            String name = s.split("[=/]")[0];
            long mib = s.contains("=") ? Long.parseLong(s.substring(s.indexOf('=') + 1)) : 32;
            String block = s.contains("/") ? ",block=" + s.substring(s.indexOf('/') + 1) : "";
            calls.add(driveCreate(name, mib, block));
        }
        return "[" + String.join(",", calls) + "]";
    }

    private String driveCreate(String name, long mib, String options) {
        return "{\"method\":\"drive_create\",\"params\":{\"name\":\"" + name + "\",\"spec\":\"uring:" + dir.resolve(name + ".img")
                + ",size=" + mib + "M,direct=0" + options + "\"}}";
    }

    private List<?> allStatus() throws IOException {
        return assertInstanceOf(List.class, result("raid_status", null));
    }

    private static List<Object> memberDrives(Map<?, ?> status) {
        List<Object> drives = new ArrayList<>();
        for (Object m : (List<?>) status.get("members")) drives.add(((Map<?, ?>) m).get("drive"));
        return drives;
    }

    private void assertLogged(String... parts) {
        List<String> log = daemon.assemblyLog();
        assertTrue(log.stream().anyMatch(l -> {
            for (String p : parts) if (!l.contains(p)) return false;
            return true;
        }), () -> "no assembly log line with " + List.of(parts) + " in " + log);
    }

    private void writePattern(String name, long lba, int blocks, int seed) throws IOException {
        BlockDevice d = device(name);
        int bs = d.geometry().logicalBlockBytes();
        MemorySegment buffer = ControlIo.buffer((long) blocks * bs, bs);
        for (long i = 0; i < buffer.byteSize() / 8; i++) buffer.setAtIndex(ValueLayout.JAVA_LONG, i, seed * 1_000_003L + lba * 4096 + i);
        ControlIo.write(daemon.reactors().getFirst(), d, lba, blocks, buffer);
        ControlIo.flush(daemon.reactors().getFirst(), d);
    }

    /** Reads back what {@link #writePattern} wrote, word by word. */
    private void checkPattern(String name, long lba, int blocks, int seed) throws IOException {
        BlockDevice d = device(name);
        int bs = d.geometry().logicalBlockBytes();
        MemorySegment buffer = ControlIo.buffer((long) blocks * bs, bs);
        ControlIo.read(daemon.reactors().getFirst(), d, lba, blocks, buffer);
        for (long i = 0; i < buffer.byteSize() / 8; i++) {
            long want = seed * 1_000_003L + lba * 4096 + i;
            long got = buffer.getAtIndex(ValueLayout.JAVA_LONG, i);
            if (want != got) fail(name + ": word " + i + " from lba " + lba + " is " + got + ", written " + want + " (seed " + seed + ")");
        }
    }

    /** A raid5 volume's data: two full stripes and partial ones at both ends, 64 KiB chunks (16 blocks). */
    private void writeRaid5(String name, int seed) throws IOException {
        writePattern(name, 0, 96, seed);
        writePattern(name, 101, 7, seed + 1);
        long last = (Long) status(name).get("block_count") - 5;
        writePattern(name, last, 5, seed + 2);
    }

    private void checkRaid5(String name, int seed) throws IOException {
        checkPattern(name, 0, 96, seed);
        checkPattern(name, 101, 7, seed + 1);
        long last = (Long) status(name).get("block_count") - 5;
        checkPattern(name, last, 5, seed + 2);
    }

    /** Changes a member file's md superblock (checksum recomputed, so it stays valid) while the daemon is down. */
    private void editSuperblock(String drive, Consumer<MdSuperblock> change) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve(drive + ".img").toFile(), "rw")) {
            byte[] bytes = new byte[MdSuperblock.BUFFER_BYTES];
            f.seek(MdSuperblock.SUPER_OFFSET_SECTORS * MdSuperblock.SECTOR_BYTES);
            f.readFully(bytes);
            MdSuperblock sb = new MdSuperblock().wrap(MemorySegment.ofArray(bytes));
            change.accept(sb);
            sb.updateChecksum();
            f.seek(MdSuperblock.SUPER_OFFSET_SECTORS * MdSuperblock.SECTOR_BYTES);
            f.write(bytes);
        }
    }

    private void copy(String from, String to) throws IOException {
        Files.copy(dir.resolve(from + ".img"), dir.resolve(to + ".img"), StandardCopyOption.REPLACE_EXISTING);
    }

    private void createRaid5(String name, String... members) throws IOException {
        result("raid_create", "{\"name\":\"" + name + "\",\"level\":5,\"members\":[\"" + String.join("\",\"", members) + "\"],\"chunk_kib\":64}");
    }

    // ------------------------------------------------------------------ the cases

    @Test
    void membersOfDifferentSizesComeBackHealthyOnTheArraysSize() throws Exception {
        start(drives("d0", "d1=48", "d2"));
        createRaid5("r5", "d0", "d1", "d2");
        long size = (Long) status("r5").get("size_bytes");
        writeRaid5("r5", 10);
        start(drives("d0", "d1=48", "d2"));
        Map<?, ?> s = status("r5");
        assertEquals(List.of("active", "active", "active"), memberStates(s));
        assertEquals(size, s.get("size_bytes"), "the smallest member decides, as at creation");
        assertLogged("UNEQUAL_SIZES");
        checkRaid5("r5", 10);
    }

    @Test
    void aMemberOfAnotherArrayIsNotTakenInAndBothArraysKeepTheirData() throws Exception {
        start(drives("d0", "d1", "d2", "d3", "d4"));
        createRaid5("r5", "d0", "d1", "d2");
        result("raid_create", "{\"name\":\"mirror\",\"level\":1,\"members\":[\"d3\",\"d4\"]}");
        writeRaid5("r5", 20);
        writePattern("mirror", 0, 64, 23);
        down();
        copy("d4", "d2"); // r5's third slot now holds a member of the mirror
        start(drives("d0", "d1", "d2", "d3"));
        Map<?, ?> r5 = status("r5");
        assertEquals(List.of("active", "active", "missing"), memberStates(r5));
        assertLogged("r5", "MISSING_MEMBER", "role 2");
        assertLogged("assembled as volume 'r5'", "degraded");
        Map<?, ?> mirror = status("mirror");
        assertEquals(List.of("d3", "d2"), memberDrives(mirror), "the foreign drive went to its own array");
        assertEquals(List.of("active", "active"), memberStates(mirror));
        checkRaid5("r5", 20);
        checkPattern("mirror", 0, 64, 23);
    }

    /**
     * A raid5 member restored from an old copy (lower events count): left out; the array starts degraded and
     * reads the newer data, rebuilt from the others, never the stale member's older blocks.
     */
    @Test
    void aStaleRaid5MemberIsLeftOutAndTheNewerDataReadsBack() throws Exception {
        start(drives("d0", "d1", "d2"));
        createRaid5("r5", "d0", "d1", "d2");
        writeRaid5("r5", 30);
        result("raid_stop", "{\"name\":\"r5\"}");
        down();
        copy("d1", "d1-old");
        start(drives("d0", "d1", "d2"));
        checkRaid5("r5", 30);
        writeRaid5("r5", 40); // d1's old copy misses this
        result("raid_stop", "{\"name\":\"r5\"}");
        down();
        copy("d1-old", "d1");
        start(drives("d0", "d1", "d2"));
        assertLogged("STALE_MEMBER d1", "events", "of the freshest member");
        Map<?, ?> r5 = status("r5");
        assertEquals(List.of("active", "missing", "active"), memberStates(r5));
        assertNull(daemon.drives().holder("d1"), "the stale member stays unclaimed");
        checkRaid5("r5", 40);
        writePattern("r5", 200, 40, 41); // degraded writes go on
        checkPattern("r5", 200, 40, 41);
    }

    @Test
    void aMissingMemberStartsRaid5DegradedAndLeavesRaid0Stopped() throws Exception {
        start(drives("d0", "d1", "d2", "d3", "d4"));
        createRaid5("r5", "d0", "d1", "d2");
        result("raid_create", "{\"name\":\"stripe\",\"level\":0,\"members\":[\"d3\",\"d4\"],\"chunk_kib\":16}");
        writeRaid5("r5", 50);
        writePattern("stripe", 0, 16, 51);
        start(drives("d0", "d2", "d3"));
        Map<?, ?> r5 = status("r5");
        assertEquals(List.of("active", "missing", "active"), memberStates(r5));
        assertEquals(true, r5.get("degraded"));
        checkRaid5("r5", 50);
        assertLogged("stripe", "not started", "1 of 2 members");
        assertEquals(1, allStatus().size(), "raid0 without a member is not started");
        assertNull(daemon.drives().holder("d3"), "its drive stays unclaimed");
        // The drives back: raid0, never started without them, is whole again; raid5 ran without d1, so d1 is
        // stale now (as in md: it comes back by a rebuild), and the data is intact.
        start(drives("d0", "d1", "d2", "d3", "d4"));
        assertEquals(List.of("active", "missing", "active"), memberStates(status("r5")));
        assertLogged("STALE_MEMBER d1");
        checkRaid5("r5", 50);
        checkPattern("stripe", 0, 16, 51);
    }

    @Test
    void aGarbageRaid5SuperblockIsNamedAndTheArrayStartsDegraded() throws Exception {
        start(drives("d0", "d1", "d2"));
        createRaid5("r5", "d0", "d1", "d2");
        writeRaid5("r5", 60);
        down();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("d2.img").toFile(), "rw")) {
            f.seek(MdSuperblock.SUPER_OFFSET_SECTORS * MdSuperblock.SECTOR_BYTES + MdSuperblock.LEVEL_OFFSET);
            f.write(6); // raid6 now, but the checksum was not updated
        }
        start(drives("d0", "d1", "d2"));
        assertLogged("drive d2: unusable md superblock", "BAD_CHECKSUM");
        assertEquals(List.of("active", "active", "missing"), memberStates(status("r5")));
        assertNull(daemon.drives().holder("d2"));
        checkRaid5("r5", 60);
    }

    /** Two drives with the same member's superblock (a cloned disk): the second is left out, named, never used. */
    @Test
    void aDuplicateRoleIsLeftOutThroughRaidAssemble() throws Exception {
        start(drives("d0", "d1"));
        result("raid_create", "{\"name\":\"mirror\",\"level\":1,\"members\":[\"d0\",\"d1\"]}");
        writePattern("mirror", 0, 64, 70);
        down();
        copy("d1", "d2");
        start("[]");
        for (String d : List.of("d0", "d1", "d2")) result("drive_create", Json.write(((Map<?, ?>) Json.parse(driveCreate(d, 32, ""))).get("params")));
        Map<?, ?> assembled = assertInstanceOf(Map.class, result("raid_assemble", null));
        assertEquals(List.of("mirror"), assembled.get("assembled"));
        List<?> problems = (List<?>) assembled.get("problems");
        assertTrue(problems.stream().anyMatch(p -> ((String) p).contains("DUPLICATE_ROLE d2") && ((String) p).contains("already held by d1")),
                problems::toString);
        assertEquals(List.of("d0", "d1"), memberDrives(status("mirror")));
        assertNull(daemon.drives().holder("d2"));
        checkPattern("mirror", 0, 64, 70);
    }

    /** A member whose superblock says another chunk size than the others (same events): left out, degraded start. */
    @Test
    void conflictingGeometryIsLeftOutThroughRaidAssemble() throws Exception {
        start(drives("d0", "d1", "d2"));
        createRaid5("r5", "d0", "d1", "d2");
        writeRaid5("r5", 80);
        down();
        editSuperblock("d2", sb -> sb.chunkSectors(sb.chunkSectors() * 2));
        start("[]");
        for (String d : List.of("d0", "d1", "d2")) result("drive_create", Json.write(((Map<?, ?>) Json.parse(driveCreate(d, 32, ""))).get("params")));
        Map<?, ?> assembled = assertInstanceOf(Map.class, result("raid_assemble", null));
        assertEquals(List.of("r5"), assembled.get("assembled"));
        List<?> problems = (List<?>) assembled.get("problems");
        assertTrue(problems.stream().anyMatch(p -> ((String) p).contains("CONFLICTING_GEOMETRY d2")), problems::toString);
        assertEquals(List.of("active", "active", "missing"), memberStates(status("r5")));
        checkRaid5("r5", 80);
    }

    /** A member truncated below the array's size (a smaller disk with a copied superblock): named, left out. */
    @Test
    void aMemberSmallerThanTheArrayIsLeftOut() throws Exception {
        start(drives("d0", "d1", "d2"));
        createRaid5("r5", "d0", "d1", "d2");
        writeRaid5("r5", 90);
        down();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("d1.img").toFile(), "rw")) {
            f.setLength(16 * MIB);
        }
        start(drives("d0", "d1", "d2"));
        assertLogged("drive d1: unusable md superblock", "not inside the member");
        assertEquals(List.of("active", "missing", "active"), memberStates(status("r5")));
        assertNull(daemon.drives().holder("d1"));
        checkRaid5("r5", 90);
    }

    /** A member whose superblock claims less data than the array uses per member (data_size too small): left out. */
    @Test
    void aMemberWithTooSmallADataAreaIsLeftOut() throws Exception {
        start(drives("d0", "d1", "d2"));
        createRaid5("r5", "d0", "d1", "d2");
        writeRaid5("r5", 95);
        down();
        editSuperblock("d2", sb -> sb.dataSizeSectors(sb.sizeSectors() - 2048).sizeSectors(sb.sizeSectors() - 2048));
        start(drives("d0", "d1", "d2"));
        assertLogged("CONFLICTING_GEOMETRY d2");
        assertEquals(List.of("active", "active", "missing"), memberStates(status("r5")));
        checkRaid5("r5", 95);
    }

    /**
     * Degraded and not cleanly stopped: the parity cannot be trusted (a torn stripe would rebuild the missing
     * member's blocks wrong), so md refuses to start it without --force, and so does Basalt.
     */
    @Test
    void aDirtyDegradedRaid5IsNotStarted() throws Exception {
        start(drives("d0", "d1", "d2"));
        // Without a partial parity log (with one, md and Basalt start it and recover the log: RaidRpcTest, MdPplGuestTest).
        result("raid_create", "{\"name\":\"r5\",\"level\":5,\"members\":[\"d0\",\"d1\",\"d2\"],\"chunk_kib\":64,\"consistency\":\"resync\"}");
        writeRaid5("r5", 100);
        down();
        for (String d : List.of("d0", "d1", "d2")) editSuperblock(d, sb -> sb.resyncOffsetSectors(0));
        start(drives("d0", "d1"));
        assertLogged("DIRTY_DEGRADED");
        assertLogged("r5", "not started", "degraded after an unclean stop");
        assertTrue(allStatus().isEmpty());
        assertNull(daemon.drives().holder("d0"));
        assertNull(daemon.drives().holder("d1"));
    }

    /** A member opened with another block size than the others: not started, and the message names it. */
    @Test
    void membersOfDifferentBlockSizesAreNotStarted() throws Exception {
        start(drives("d0", "d1"));
        result("raid_create", "{\"name\":\"mirror\",\"level\":1,\"members\":[\"d0\",\"d1\"]}");
        writePattern("mirror", 0, 8, 110);
        start(drives("d0", "d1/512"));
        assertLogged("mirror", "not started", "d1");
        assertTrue(allStatus().isEmpty());
        assertNull(daemon.drives().holder("d0"));
        start(drives("d0", "d1"));
        checkPattern("mirror", 0, 8, 110);
    }

    /** mdadm writes size 0 in a raid0 superblock (md's raid0 uses data_size): such an array starts, with its data. */
    @Test
    void aRaid0WithMdadmsSizeZeroAssemblesWithItsData() throws Exception {
        start(drives("d0", "d1"));
        result("raid_create", "{\"name\":\"stripe\",\"level\":0,\"members\":[\"d0\",\"d1\"],\"chunk_kib\":16}");
        long size = (Long) status("stripe").get("size_bytes");
        writePattern("stripe", 0, 64, 120);
        down();
        for (String d : List.of("d0", "d1")) editSuperblock(d, sb -> sb.sizeSectors(0));
        start(drives("d0", "d1"));
        assertLogged("assembled as volume 'stripe'");
        assertEquals(size, status("stripe").get("size_bytes"));
        checkPattern("stripe", 0, 64, 120);
    }

    /**
     * A member missing at one start and back at the next, with no clean stop in between (a crash, a pulled
     * power cord): the array ran and was written without it, so it must come back stale, never as a current
     * member whose old blocks a read could return. md bumps the events count of the members present when it
     * starts an array degraded; so must Basalt.
     */
    @Test
    void aMemberMissingAtOneStartIsStaleAtTheNextEvenAfterACrash() throws Exception {
        start(drives("d0", "d1"));
        result("raid_create", "{\"name\":\"mirror\",\"level\":1,\"members\":[\"d0\",\"d1\"]}");
        writePattern("mirror", 0, 32, 130);
        down(); // no raid_stop: a crash
        start(drives("d0"));
        assertEquals(List.of("active", "missing"), memberStates(status("mirror")));
        writePattern("mirror", 0, 32, 131); // d1 misses it
        down(); // a crash again
        start(drives("d0", "d1"));
        assertLogged("STALE_MEMBER d1");
        assertEquals(List.of("active", "missing"), memberStates(status("mirror")));
        for (int i = 0; i < 4; i++) checkPattern("mirror", 0, 32, 131); // reads go round the active mirrors
    }

    /** The same for raid5: a member back after a degraded run must not feed its old chunks into reads. */
    @Test
    void aRaid5MemberMissingAtOneStartIsStaleAtTheNextEvenAfterACrash() throws Exception {
        start(drives("d0", "d1", "d2"));
        createRaid5("r5", "d0", "d1", "d2");
        writeRaid5("r5", 140);
        down();
        start(drives("d0", "d2"));
        writeRaid5("r5", 150);
        down();
        start(drives("d0", "d1", "d2"));
        assertLogged("STALE_MEMBER d1");
        checkRaid5("r5", 150);
    }
}
