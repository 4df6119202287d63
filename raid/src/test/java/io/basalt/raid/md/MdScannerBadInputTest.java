package io.basalt.raid.md;

import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.raid.md.MdAssembly.Kind;
import io.basalt.raid.md.MdAssembly.Problem;
import io.basalt.raid.md.MdAssembly.Verdict;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Bad input cases {@link MdScannerTest} does not pin down one by one: each must end in a verdict that never
 * starts a wrong array, and a problem that names the device. (End to end through the daemon, with the data
 * read back after a degraded start: the daemon's {@code RaidAssemblyBadInputTest}.)
 */
class MdScannerBadInputTest {
    private final MdTestSupport t = new MdTestSupport();
    private final List<MemoryBlockDevice> devices = new ArrayList<>();

    @AfterEach
    void close() {
        devices.forEach(MemoryBlockDevice::close);
        t.close();
    }

    private void member(String name, MdArraySpec spec, int devNumber, long bytes, Consumer<MdSuperblock> change) {
        MemoryBlockDevice d = t.device(name, bytes);
        devices.add(d);
        MdSuperblock sb = t.writeMember(d, spec, devNumber);
        if (change != null) {
            change.accept(sb);
            sb.updateChecksum();
            t.writeBytes(d, 4096, sb.segment());
        }
    }

    private MdAssembly assemble() {
        return MdScanner.assemble(null, MdScanner.read(t.reactor, devices));
    }

    private static Problem problem(MdAssembly a, Kind kind) {
        return a.problems().stream().filter(p -> p.kind() == kind).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " in " + a.problems()));
    }

    @Test
    void anotherChunkSizeWithTheSameEventsIsConflictingGeometry() {
        MdArraySpec spec = MdTestSupport.spec(5, 3, false, 21);
        member("a", spec, 0, MdTestSupport.MEMBER_BYTES, null);
        member("b", spec, 1, MdTestSupport.MEMBER_BYTES, null);
        member("c", spec, 2, MdTestSupport.MEMBER_BYTES, sb -> sb.chunkSectors(sb.chunkSectors() * 2));
        MdAssembly a = assemble();
        Problem p = problem(a, Kind.CONFLICTING_GEOMETRY);
        assertEquals("c", p.device());
        assertTrue(p.excluded());
        assertEquals(Verdict.DEGRADED, a.verdict());
        assertNull(a.byRole().get(2));
    }

    /**
     * Equal events leave nothing to say which superblock is right; the first member found is taken as the
     * reference. When it is the odd one, the others conflict with it and raid5 does not start at all (mdadm
     * aborts such an assembly too: "superblock on X doesn't match others"). Never a start on mixed geometry.
     */
    @Test
    void whenTheFirstMemberIsTheOddOneTheArrayDoesNotStart() {
        MdArraySpec spec = MdTestSupport.spec(5, 3, false, 22);
        member("a", spec, 0, MdTestSupport.MEMBER_BYTES, sb -> sb.chunkSectors(sb.chunkSectors() * 2));
        member("b", spec, 1, MdTestSupport.MEMBER_BYTES, null);
        member("c", spec, 2, MdTestSupport.MEMBER_BYTES, null);
        MdAssembly a = assemble();
        assertEquals(Verdict.FAILED, a.verdict(), a.problems().toString());
        assertEquals(2, a.problems().stream().filter(p -> p.kind() == Kind.CONFLICTING_GEOMETRY).count());
    }

    @Test
    void aDeviceSmallerThanItsSuperblocksDataAreaIsGarbageNamedWithTheReason() {
        MdArraySpec spec = MdTestSupport.spec(1, 2, false, 23);
        member("a", spec, 0, MdTestSupport.MEMBER_BYTES, null);
        member("small", spec, 1, MdTestSupport.MEMBER_BYTES / 2, null); // a copied superblock on a smaller disk
        MdAssembly a = assemble();
        Problem p = problem(a, Kind.GARBAGE_SUPERBLOCK);
        assertEquals("small", p.device());
        assertTrue(p.message().contains("not inside the member"), p.message());
        assertEquals(Verdict.DEGRADED, a.verdict());
        assertEquals(1, a.activeCount());
    }

    /** mdadm's raid0 writes size 0 (data_size rules): a member whose data_size is below the array's per-member use is left out. */
    @Test
    void aRaid0MemberWithLessDataThanTheOthersIsASizeMismatchAndRaid0Fails() {
        MdArraySpec spec = MdTestSupport.spec(0, 3, false, 24);
        member("a", spec, 0, MdTestSupport.MEMBER_BYTES, sb -> sb.sizeSectors(0));
        member("b", spec, 1, MdTestSupport.MEMBER_BYTES, sb -> sb.sizeSectors(0));
        member("c", spec, 2, MdTestSupport.MEMBER_BYTES, sb -> sb.sizeSectors(0).dataSizeSectors(sb.dataSizeSectors() - 4096));
        MdAssembly a = assemble();
        Problem p = problem(a, Kind.SIZE_MISMATCH);
        assertEquals("c", p.device());
        assertEquals(Verdict.FAILED, a.verdict(), "raid0 cannot lose a member");
    }

    /** An old copy of a member (lower events) next to the current one: stale, never a duplicate that could win the role. */
    @Test
    void aStaleCopyListedFirstNeverTakesTheRole() {
        MdArraySpec spec = MdTestSupport.spec(5, 3, false, 25);
        member("old-b", spec, 1, MdTestSupport.MEMBER_BYTES, sb -> sb.events(4));
        member("a", spec, 0, MdTestSupport.MEMBER_BYTES, sb -> sb.events(5));
        member("b", spec, 1, MdTestSupport.MEMBER_BYTES, sb -> sb.events(5));
        member("c", spec, 2, MdTestSupport.MEMBER_BYTES, sb -> sb.events(5));
        MdAssembly a = assemble();
        assertEquals("old-b", problem(a, Kind.STALE_MEMBER).device());
        assertFalse(a.has(Kind.DUPLICATE_ROLE));
        assertEquals("b", a.byRole().get(1).deviceName());
        assertEquals(Verdict.HEALTHY, a.verdict());
    }

    /** Two arrays' members mixed, no uuid asked for: the majority's array is assembled, the other member named foreign. */
    @Test
    void aForeignMemberIsNamedWithItsArray() {
        MdArraySpec mine = MdTestSupport.spec(1, 2, false, 26);
        MdArraySpec other = MdTestSupport.spec(1, 2, false, 27);
        member("a", mine, 0, MdTestSupport.MEMBER_BYTES, null);
        member("x", other, 1, MdTestSupport.MEMBER_BYTES, null);
        member("b", mine, 1, MdTestSupport.MEMBER_BYTES, null);
        MdAssembly a = assemble();
        assertArrayEquals(mine.setUuid(), a.setUuid());
        Problem p = problem(a, Kind.FOREIGN_MEMBER);
        assertEquals("x", p.device());
        assertTrue(p.message().contains(MdScanner.uuidText(other.setUuid())), p.message());
        assertEquals(Verdict.HEALTHY, a.verdict());
    }
}
