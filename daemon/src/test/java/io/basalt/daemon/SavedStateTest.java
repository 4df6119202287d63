package io.basalt.daemon;

import java.time.Duration;
import io.basalt.engine.fixtures.Await;
import io.basalt.daemon.rpc.RpcClient;
import io.basalt.engine.BlockDevice;
import io.basalt.raid.array.ControlIo;
import io.basalt.daemon.json.Json;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** config_save, the saved state DATA_DIR/config.json (atomic rewrites after every change), and how --config combines. */
class SavedStateTest extends DaemonTestBase {
    private static final long WAIT_NS = 30_000_000_000L;

    private Path data() {
        return dir.resolve("data");
    }

    private Path stateFile() {
        return data().resolve(StateKeeper.FILE_NAME);
    }

    /** (Re)starts with no --config: the saved state, or the embedded default when there is none. */
    private void startSaved() throws Exception {
        down();
        daemon = Daemon.start(new Daemon.Options(data(), null, 1, "sleep"));
        client = RpcClient.connect(daemon.socketPath());
    }

    private String uringDrive(String name) {
        return "{\"name\":\"" + name + "\",\"spec\":\"uring:" + dir.resolve(name + ".img") + ",size=32M,direct=0\"}";
    }

    private List<?> saved() throws Exception {
        daemon.state().settle();
        return assertInstanceOf(List.class, Json.parse(Files.readString(stateFile())));
    }

    private List<String> names(String method) throws Exception {
        List<String> names = new ArrayList<>();
        for (Object o : assertInstanceOf(List.class, result(method, null))) names.add((String) ((Map<?, ?>) o).get("name"));
        return names;
    }

    private static List<String> memberDrives(Map<?, ?> status) {
        List<String> drives = new ArrayList<>();
        for (Object m : (List<?>) status.get("members")) drives.add((String) ((Map<?, ?>) m).get("drive"));
        return drives;
    }

    private void writeBlocks(String name, long lba, int blocks) throws Exception {
        BlockDevice d = device(name);
        int bs = d.geometry().logicalBlockBytes();
        MemorySegment buffer = ControlIo.buffer((long) blocks * bs, bs);
        for (long i = 0; i < buffer.byteSize() / 8; i++) buffer.setAtIndex(ValueLayout.JAVA_LONG, i, lba * 31 + i);
        ControlIo.write(daemon.reactors().getFirst(), d, lba, blocks, buffer);
    }

    /** Waits for a change no RPC made to reach the saved state: the hook ran, and a write followed it. */
    private void awaitArrayChangeSaved() throws Exception {
        Await.until(() -> daemon.state().arrayChanges() > 0, Duration.ofNanos(WAIT_NS), "the RAID methods never reported the change");
        daemon.state().settle();
        assertTrue(daemon.state().writes() > daemon.state().writesAtLastArrayChange(),
                "a write after the change: " + daemon.state().writes() + " vs " + daemon.state().writesAtLastArrayChange());
    }

    @Test
    void configSaveReplaysToTheSameState() throws Exception {
        start("[]");
        for (String d : List.of("u0", "u1", "u2", "u3")) result("drive_create", uringDrive(d));
        for (String d : List.of("m0", "m1", "m2")) result("drive_create", "{\"name\":\"" + d + "\",\"spec\":\"memory:16M\"}");
        result("raid_create", "{\"name\":\"r5\",\"level\":5,\"members\":[\"u0\",\"u1\",\"u2\"],\"chunk_kib\":64}");
        result("raid_add_member", "{\"name\":\"r5\",\"drive\":\"u3\"}"); // a spare
        result("raid_sync_limit", "{\"name\":\"r5\",\"max_mib_s\":50}");
        result("raid_create", "{\"name\":\"mm\",\"level\":1,\"members\":[\"m1\",\"m2\"]}"); // over memory: does not come back
        result("vhost_create", "{\"name\":\"e5\",\"drive\":\"r5\",\"num_queues\":1}");
        result("vhost_create", "{\"name\":\"em\",\"drive\":\"m0\",\"readonly\":true}");
        result("vhost_create", "{\"name\":\"emm\",\"drive\":\"mm\"}");
        List<?> before = assertInstanceOf(List.class, result("config_save", null));
        List<String> methods = new ArrayList<>();
        for (Object call : before) methods.add((String) ((Map<?, ?>) call).get("method"));
        assertEquals(List.of("drive_create", "drive_create", "drive_create", "drive_create", "drive_create", "drive_create", "drive_create",
                "raid_assemble", "raid_sync_limit", "vhost_create", "vhost_create"), methods, Json.write(before));
        assertFalse(Json.write(before).contains("raid_create"), "arrays come back from their superblocks, never created");
        assertFalse(Json.write(before).contains("emm"), "the export of a volume over memory drives is left out");
        assertEquals(before, saved(), "the file holds what config_save returns");
        Map<?, ?> r5 = status("r5");

        start(Json.write(before));
        assertEquals(before, result("config_save", null), "replayed, it saves the same calls");
        assertEquals(memberDrives(r5), memberDrives(status("r5")), "same members and spare, in the same roles");
        assertEquals(50L, ((Map<?, ?>) status("r5").get("sync")).get("max_mib_s"));
        assertEquals(List.of("e5", "em"), names("vhost_list"));
        assertEquals(List.of("u0", "u1", "u2", "u3", "m0", "m1", "m2"), names("drive_list"));
    }

    @Test
    void aRestartWithoutConfigReplaysTheSavedState() throws Exception {
        start("[" + String.join(",", List.of(0, 1, 2, 3).stream()
                .map(i -> "{\"method\":\"drive_create\",\"params\":" + uringDrive("d" + i) + "}").toList()) + "]");
        result("raid_create", "{\"name\":\"vol0\",\"level\":5,\"members\":[\"d0\",\"d1\",\"d2\",\"d3\"],\"chunk_kib\":64}");
        result("drive_create", uringDrive("d4"));
        result("raid_fail_member", "{\"name\":\"vol0\",\"member\":\"d1\"}");
        result("raid_add_member", "{\"name\":\"vol0\",\"drive\":\"d4\"}");
        result("drive_create", uringDrive("x0"));
        result("vhost_create", "{\"name\":\"x0e\",\"drive\":\"x0\"}");
        daemon.state().settle();
        daemon.closeAsIfCrashed();

        startSaved();
        assertEquals(List.of("d0", "d4", "d2", "d3"), memberDrives(status("vol0")), "d4 keeps role 1, no role missing");
        assertFalse(memberStates(status("vol0")).contains("missing"));
        assertEquals(List.of("x0e"), names("vhost_list"));
        assertTrue(names("drive_list").containsAll(List.of("d4", "x0")));
    }

    @Test
    void theStateFileIsRewrittenAfterEveryRpcChangeAndNotAfterReads() throws Exception {
        start("[]");
        assertEquals(List.of(), saved(), "written at start-up");
        long writes = daemon.state().writes();
        result("drive_create", "{\"name\":\"m0\",\"spec\":\"memory:4M\"}");
        assertTrue(Files.readString(stateFile()).contains("\"m0\""), "saved before the answer: a SIGKILL now would not lose it");
        assertTrue(daemon.state().writes() > writes);
        writes = daemon.state().writes();
        result("drive_list", null);
        result("config_save", null);
        daemon.state().settle();
        assertEquals(writes, daemon.state().writes(), "reads write nothing");
        result("drive_delete", "{\"name\":\"m0\"}");
        assertEquals(List.of(), saved());
        assertFalse(Files.exists(StateFile.tempOf(stateFile())), "no temp file left");
    }

    @Test
    void theStateFileIsRewrittenAfterAMemberFailsOnIo() throws Exception {
        start("[]");
        // m0 dies after 2 requests (its superblock write and flush at raid_create): the first volume write fails it.
        result("drive_create", "{\"name\":\"m0\",\"spec\":\"fault:memory:16M,fault_fail_after=2\"}");
        result("drive_create", "{\"name\":\"m1\",\"spec\":\"memory:16M\"}");
        result("raid_create", "{\"name\":\"r1\",\"level\":1,\"members\":[\"m0\",\"m1\"],\"consistency\":\"resync\"}");
        daemon.state().settle();
        assertEquals(0, daemon.state().arrayChanges());
        writeBlocks("r1", 0, 8); // not an RPC: the data path finds the failure
        awaitArrayChangeSaved();
        assertEquals(List.of("faulty", "active"), memberStates(status("r1")));
    }

    @Test
    void theStateFileIsRewrittenWhenARebuildFinishes() throws Exception {
        start("[]");
        for (int i = 0; i < 4; i++) result("drive_create", "{\"name\":\"p" + i + "\",\"spec\":\"memory:16M\"}");
        result("raid_create", "{\"name\":\"r1\",\"level\":1,\"members\":[\"p0\",\"p1\"]}");
        result("raid_fail_member", "{\"name\":\"r1\",\"member\":\"p1\"}");
        result("raid_add_member", "{\"name\":\"r1\",\"drive\":\"p2\"}"); // the rebuild's end is the only change no RPC made
        awaitArrayChangeSaved();
        assertEquals(List.of("active", "active"), memberStates(status("r1")));
    }

    @Test
    void anInterruptedWriteLeavesTheOldFileWhole() throws Exception {
        Path file = dir.resolve("state.json");
        StateFile.write(file, "[1]".getBytes(StandardCharsets.UTF_8));
        Path temp = StateFile.writeTemp(file, "[2, 3]".getBytes(StandardCharsets.UTF_8)); // a crash here: no rename
        assertEquals("[1]", Files.readString(file), "the old file, whole");
        assertEquals("[2, 3]", Files.readString(temp));
        StateFile.write(file, "[4]".getBytes(StandardCharsets.UTF_8)); // the next write replaces the leftover
        assertEquals("[4]", Files.readString(file));
        assertFalse(Files.exists(temp));
    }

    @Test
    void aLeftoverTempFileIsIgnoredAtStart() throws Exception {
        start("[{\"method\":\"drive_create\",\"params\":{\"name\":\"m0\",\"spec\":\"memory:4M\"}}]");
        down();
        Files.writeString(StateFile.tempOf(stateFile()), "[{\"method\": "); // a write cut before its rename
        startSaved();
        assertEquals(List.of("m0"), names("drive_list"));
    }

    @Test
    void aCorruptSavedStateStopsTheStartNamingTheFile() throws Exception {
        start("[]");
        down();
        Files.writeString(stateFile(), "[{\"method\": \"drive_create\", ");
        StartupException e = assertThrows(StartupException.class, this::startSaved);
        assertTrue(e.getMessage().contains(stateFile().toString()) && e.getMessage().contains("not valid JSON")
                && e.getMessage().contains("--config") && e.getMessage().contains("embedded default is not used"), e.getMessage());
        assertEquals("[{\"method\": \"drive_create\", ", Files.readString(stateFile()), "left as it was");
        assertFalse(Files.exists(data().resolve(Daemon.SOCKET_NAME)));
        assertFalse(Files.exists(data().resolve("drives")), "no default drives made in its place");

        Files.writeString(stateFile(), "[{\"method\":\"drive_create\",\"params\":{\"name\":\"d0\",\"spec\":\"uring:" + dir.resolve("gone.img") + "\"}}]");
        StartupException failing = assertThrows(StartupException.class, this::startSaved);
        assertTrue(failing.getMessage().contains(stateFile() + ", call 1 of 1") && failing.getMessage().contains("saved state"), failing.getMessage());
    }

    @Test
    void aGivenConfigReplacesTheSavedStateAndWritebackWritesItBack() throws Exception {
        start("[{\"method\":\"drive_create\",\"params\":{\"name\":\"m0\",\"spec\":\"memory:4M\"}}]");
        result("drive_create", "{\"name\":\"m1\",\"spec\":\"memory:4M\"}");
        down();
        Path config = dir.resolve("mine.json");
        String mine = "[{\"method\":\"drive_create\",\"params\":{\"name\":\"m9\",\"spec\":\"memory:4M\"}}]";
        Files.writeString(config, mine);
        daemon = Daemon.start(new Daemon.Options(data(), config, 1, "sleep"));
        client = RpcClient.connect(daemon.socketPath());
        assertEquals(List.of("m9"), names("drive_list"), "the given config, not the saved state");
        assertTrue(Json.write(saved()).contains("m9") && !Json.write(saved()).contains("m1"), "and it is saved as usual");
        result("drive_create", "{\"name\":\"m10\",\"spec\":\"memory:4M\"}");
        daemon.state().settle();
        assertEquals(mine, Files.readString(config), "without --config-writeback the given file is not touched");
        down();

        daemon = Daemon.start(new Daemon.Options(data(), config, 1, "sleep", true));
        client = RpcClient.connect(daemon.socketPath());
        result("drive_create", "{\"name\":\"m11\",\"spec\":\"memory:4M\"}");
        daemon.state().settle();
        assertEquals(Files.readString(stateFile()), Files.readString(config), "written back");
        assertTrue(Files.readString(config).contains("m11"));
        down();
        StartupException e = assertThrows(StartupException.class, () -> Daemon.start(new Daemon.Options(data(), null, 1, "sleep", true)));
        assertTrue(e.getMessage().contains("--config-writeback needs --config"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ServeCommand.parse(new String[] {"--config-writeback"}));
        assertTrue(ServeCommand.parse(new String[] {"--config", "x.json", "--config-writeback"}).configWriteback());
    }

    @Test
    void ifMissingNeverCreatesOverAMemberThatCarriesAnArray() throws Exception {
        start("[" + "{\"method\":\"drive_create\",\"params\":" + uringDrive("u0") + "},{\"method\":\"drive_create\",\"params\":"
                + uringDrive("u1") + "}]");
        result("raid_create", "{\"name\":\"r0\",\"level\":0,\"members\":[\"u0\",\"u1\"]}");
        down();
        // u1 is gone: r0 (raid0) cannot assemble; a config that "creates it if missing" must not write a new r0 over u0.
        String config = "[{\"method\":\"drive_create\",\"params\":" + uringDrive("u0") + "},{\"method\":\"drive_create\",\"params\":"
                + uringDrive("u2") + "},{\"method\":\"raid_assemble\"},{\"method\":\"raid_create\",\"params\":"
                + "{\"name\":\"r0\",\"level\":0,\"members\":[\"u0\",\"u2\"],\"if_missing\":true}}]";
        StartupException e = assertThrows(StartupException.class, () -> start(config));
        assertTrue(e.getMessage().contains("drive 'u0' carries an md superblock") && e.getMessage().contains("if_missing never creates"), e.getMessage());
        start("[{\"method\":\"drive_create\",\"params\":" + uringDrive("u0") + "},{\"method\":\"drive_create\",\"params\":" + uringDrive("u1") + "}]");
        assertEquals(List.of("u0", "u1"), memberDrives(status("r0")), "r0 untouched: it assembles with both members back");
    }

    @Test
    void specsAreSavedWithAbsolutePathsAndVolatileBackendsAreKnown() {
        String cwd = Path.of("").toAbsolutePath().toString();
        assertEquals("uring:" + cwd + "/a/b.img,size=1G", SavedState.absoluteSpec("uring:a/b.img,size=1G"));
        assertEquals("fault:uring:" + cwd + "/x.img,fault_seed=1", SavedState.absoluteSpec("fault:uring:x.img,fault_seed=1"));
        assertEquals("uring:/abs.img", SavedState.absoluteSpec("uring:/abs.img"));
        assertEquals("memory:4M", SavedState.absoluteSpec("memory:4M"));
        assertTrue(SavedState.keepsData("uring:/x.img"));
        assertTrue(SavedState.keepsData("fault:uring:/x.img,fault_seed=1"));
        assertFalse(SavedState.keepsData("memory:4M"));
        assertFalse(SavedState.keepsData("fault:memory:4M,fault_seed=1"));
        assertFalse(SavedState.keepsData("null:1T"));
    }
}
