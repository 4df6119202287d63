package io.basalt.raid.array;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.raid.md.MdSuperblock;
import io.basalt.raid.volume.Consistency;
import io.basalt.raid.volume.RaidLevel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The array layer on its own, over memory drives and one reactor (no daemon): create, stop, assemble, fail,
 * add (straight into a role, or as a spare that a failure promotes), rebuild, and the events it tells.
 */
class RaidArraysTest {
    private static final long CHUNK_SECTORS = 128; // 64 KiB
    private static final long EVENT_WAIT_SECONDS = 60;

    private Reactor reactor;
    private Drives drives;
    private final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    private final List<RaidArrays> opened = new ArrayList<>();

    /** Memory drives by name, with claims and a volume namespace, as the daemon's registry keeps them. */
    static final class Drives implements MemberSource {
        final Map<String, BlockDevice> devices = new LinkedHashMap<>();
        final Map<String, String> claims = new LinkedHashMap<>();
        final Map<String, BlockDevice> volumes = new LinkedHashMap<>();

        void add(String name, String spec) {
            devices.put(name, DeviceSpec.open(name, spec));
        }

        @Override
        public BlockDevice device(String drive) {
            BlockDevice d = devices.get(drive);
            if (d == null) throw new IllegalArgumentException("no drive named '" + drive + "'");
            return d;
        }

        @Override
        public synchronized void claim(List<String> names, String holder) {
            for (String n : names) {
                device(n);
                if (claims.containsKey(n)) throw new IllegalArgumentException("drive '" + n + "' is already used by " + claims.get(n));
            }
            for (String n : names) claims.put(n, holder);
        }

        @Override
        public synchronized void release(String drive, String holder) {
            if (holder.equals(claims.get(drive))) claims.remove(drive);
        }

        @Override
        public synchronized List<String> unclaimedDrives() {
            List<String> result = new ArrayList<>();
            for (String n : devices.keySet()) if (!claims.containsKey(n)) result.add(n);
            return result;
        }

        @Override
        public synchronized void checkVolumeName(String name) {
            if (devices.containsKey(name) || volumes.containsKey(name)) throw new IllegalArgumentException("'" + name + "' is taken");
        }

        @Override
        public synchronized void addVolume(String name, String description, BlockDevice volume) {
            volumes.put(name, volume);
        }

        @Override
        public synchronized void removeVolume(String name) {
            volumes.remove(name);
        }
    }

    @BeforeEach
    void start() {
        reactor = Reactor.start(ReactorConfig.defaults("arrays-test"));
        drives = new Drives();
        for (int i = 0; i < 5; i++) drives.add("d" + i, "memory:16M");
    }

    @AfterEach
    void stop() {
        for (RaidArrays a : opened) a.close(true);
        reactor.close();
        for (BlockDevice d : drives.devices.values()) d.close();
    }

    private RaidArrays arrays() {
        RaidArrays arrays = new RaidArrays(drives, () -> reactor, new ArrayEvents() {
            @Override public void arrayStarted(String array, String origin) { events.add("started " + array + " " + origin); }
            @Override public void arrayStopped(String array) { events.add("stopped " + array); }
            @Override public void memberFailed(String array, String drive, boolean byRequest) { events.add("failed " + array + " " + drive); }
            @Override public void memberAdded(String array, String drive, boolean asSpare) { events.add("added " + array + " " + drive + (asSpare ? " spare" : "")); }
            @Override public void sparePromoted(String array, String drive, int role) { events.add("promoted " + array + " " + drive + " " + role); }
            @Override public void syncFinished(String array, String action, String state) { events.add("sync " + array + " " + action + " " + state); }
        });
        opened.add(arrays);
        return arrays;
    }

    private void expectEvent(String event) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(EVENT_WAIT_SECONDS);
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            String e = events.poll(100, TimeUnit.MILLISECONDS);
            if (e == null) continue;
            if (e.equals(event)) return;
            seen.add(e);
        }
        fail("no event '" + event + "' in " + EVENT_WAIT_SECONDS + " s; seen " + seen);
    }

    private static List<String> states(ArrayStatus s) {
        List<String> result = new ArrayList<>();
        for (ArrayStatus.Member m : s.members()) result.add(m.drive() + ":" + m.state());
        return result;
    }

    private void writePattern(BlockDevice volume, long lba, int blocks, byte seed) throws Exception {
        int bs = volume.geometry().logicalBlockBytes();
        MemorySegment buffer = ControlIo.buffer((long) blocks * bs, bs);
        for (long i = 0; i < buffer.byteSize(); i++) buffer.set(ValueLayout.JAVA_BYTE, i, (byte) (seed + i * 31));
        ControlIo.write(reactor, volume, lba, blocks, buffer);
    }

    private void assertPattern(BlockDevice volume, long lba, int blocks, byte seed) throws Exception {
        int bs = volume.geometry().logicalBlockBytes();
        MemorySegment buffer = ControlIo.buffer((long) blocks * bs, bs);
        ControlIo.read(reactor, volume, lba, blocks, buffer);
        for (long i = 0; i < buffer.byteSize(); i++) {
            assertEquals((byte) (seed + i * 31), buffer.get(ValueLayout.JAVA_BYTE, i), "byte " + i + " of the pattern at lba " + lba);
        }
    }

    @Test
    void mirrorSpareTakesOverAFailedMemberAndRebuildsItsData() throws Exception {
        RaidArrays arrays = arrays();
        ArrayStatus created = arrays.create(new CreateRequest("m", RaidLevel.RAID1, List.of("d0", "d1"), CHUNK_SECTORS, Consistency.BITMAP));
        assertEquals(List.of("d0:active", "d1:active"), states(created));
        assertEquals(Consistency.BITMAP, created.consistency());
        expectEvent("started m created");
        BlockDevice volume = drives.volumes.get("m");
        writePattern(volume, 0, 64, (byte) 7);

        assertEquals(List.of("d0:active", "d1:active", "d2:spare"), states(arrays.addMember("m", "d2")));
        expectEvent("added m d2 spare");
        ArrayStatus failed = arrays.failMember("m", "d0");
        assertEquals("d2", failed.members().get(0).drive(), "the spare took the failed member's role");
        expectEvent("failed m d0");
        expectEvent("promoted m d2 0");
        expectEvent("sync m rebuild done");
        assertEquals(List.of("d2:active", "d1:active"), states(arrays.status("m")));
        assertNull(drives.claims.get("d0"), "the failed member's drive is released when the spare takes its role");

        arrays.failMember("m", "d1"); // the rebuilt member alone now holds the data
        assertPattern(volume, 0, 64, (byte) 7);
    }

    @Test
    void raid5WithPplStopsCleanAndAssemblesThenRebuildsANewMember() throws Exception {
        RaidArrays first = arrays();
        first.create(new CreateRequest("r5", RaidLevel.RAID5, List.of("d0", "d1", "d2"), CHUNK_SECTORS, Consistency.PPL));
        writePattern(drives.volumes.get("r5"), 0, 96, (byte) 3);
        first.stop("r5");
        expectEvent("stopped r5");
        assertTrue(drives.claims.isEmpty(), "a stopped array releases its drives");

        RaidArrays second = arrays();
        List<String> log = new ArrayList<>();
        assertEquals(List.of("r5"), second.assemble(log::add), log.toString());
        ArrayStatus assembled = second.status("r5");
        assertEquals("assembled", assembled.origin());
        assertEquals(Consistency.PPL, assembled.consistency());
        assertEquals("clean", assembled.state());
        assertNull(assembled.recovery(), "stopped cleanly: nothing to recover");

        ArrayException refused = assertThrows(ArrayException.class, () -> {
            second.failMember("r5", "d1");
            second.failMember("r5", "d2");
        });
        assertEquals(ArrayException.Kind.INVALID, refused.kind());
        assertTrue(refused.getMessage().contains("raid5 survives one loss"), refused.getMessage());
        assertEquals(List.of("d0:active", "d1:faulty", "d2:active"), states(second.status("r5")));

        assertEquals("d3", second.addMember("r5", "d3").members().get(1).drive(), "a new drive rebuilds the faulty role at once");
        expectEvent("added r5 d3");
        expectEvent("sync r5 rebuild done");
        assertEquals(List.of("d0:active", "d3:active", "d2:active"), states(second.status("r5")));
        second.failMember("r5", "d0");
        assertPattern(drives.volumes.get("r5"), 0, 96, (byte) 3);
    }

    @Test
    void refusalsNameTheArgumentAndChangeNothing() throws Exception {
        RaidArrays arrays = arrays();
        arrays.create(new CreateRequest("s", RaidLevel.RAID0, List.of("d0", "d1"), CHUNK_SECTORS, Consistency.NONE));
        ArrayException e = assertThrows(ArrayException.class, () -> arrays.failMember("s", "d0"));
        assertEquals("param 'name': raid0 volume 's' has no redundancy: failing a member would fail the volume", e.getMessage());
        e = assertThrows(ArrayException.class, () -> arrays.status("nope"));
        assertEquals("param 'name': no raid volume named 'nope'", e.getMessage());
        e = assertThrows(ArrayException.class,
                () -> arrays.create(new CreateRequest("t", RaidLevel.RAID1, List.of("d1", "d2"), CHUNK_SECTORS, Consistency.BITMAP)));
        assertTrue(e.getMessage().startsWith("param 'members': drive 'd1' is already used by"), e.getMessage());
        assertNull(drives.claims.get("d2"), "a refused create claims nothing");
        e = assertThrows(ArrayException.class, () -> arrays.startSync("s", SyncAction.CHECK, null));
        assertTrue(e.getMessage().endsWith("has no redundancy to sync"), e.getMessage());
        e = assertThrows(ArrayException.class, () -> arrays.checkNewName("x".repeat(MdSuperblock.SET_NAME_BYTES + 1)));
        assertTrue(e.getMessage().contains("it is the md set_name"), e.getMessage());
    }

    @Test
    void aListenerMayCallBackIntoTheArrays() throws Exception {
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        RaidArrays[] holder = new RaidArrays[1];
        RaidArrays arrays = new RaidArrays(drives, () -> reactor, new ArrayEvents() {
            @Override
            public void memberFailed(String array, String drive, boolean byRequest) {
                seen.add(Thread.currentThread().getName() + (Thread.holdsLock(holder[0]) ? " holding the lock" : ""));
                try { // told outside the arrays' lock, on its own thread: a call back waits for the caller's change to end, then runs
                    seen.add(String.join(",", states(holder[0].status(array))));
                } catch (ArrayException e) {
                    seen.add(e.getMessage());
                }
            }
        });
        holder[0] = arrays;
        opened.add(arrays);
        arrays.create(new CreateRequest("m", RaidLevel.RAID1, List.of("d0", "d1", "d2"), CHUNK_SECTORS, Consistency.RESYNC));
        arrays.failMember("m", "d2");
        assertEquals("basalt-raid-events", seen.poll(EVENT_WAIT_SECONDS, TimeUnit.SECONDS));
        assertEquals("d0:active,d1:active,d2:faulty", seen.poll(EVENT_WAIT_SECONDS, TimeUnit.SECONDS));
    }
}
