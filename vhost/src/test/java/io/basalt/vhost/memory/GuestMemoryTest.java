package io.basalt.vhost.memory;

import io.basalt.engine.IoVector;
import io.basalt.vhost.GuestDriver;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class GuestMemoryTest {
    @Test
    void translationsAndRangeChecks() {
        try (GuestDriver g = new GuestDriver(16)) {
            GuestMemory m = g.memory;
            assertEquals(3, m.regionCount());
            assertNotNull(m.gpa(0, GuestDriver.REGION_A_BYTES));
            assertNull(m.gpa(0, GuestDriver.REGION_A_BYTES + 1), "one region only");
            assertNull(m.gpa(GuestDriver.REGION_B + GuestDriver.REGION_B_BYTES, 1), "the hole");
            assertNull(m.gpa(Long.MAX_VALUE, Long.MAX_VALUE), "no overflow");
            assertNull(m.gpa(GuestDriver.REGION_C, Long.MAX_VALUE));
            assertNull(m.gpa(-1, 1));
            assertNull(m.gpa(0, -1));
            assertEquals(0, m.gpa(GuestDriver.REGION_C, 0).byteSize());

            IoVector v = new IoVector(4);
            assertEquals(GuestMemory.OK, m.gpaToVector(GuestDriver.REGION_B - 100, 200, v));
            assertEquals(2, v.count(), "one slice per region crossed");
            assertEquals(200, v.totalBytes());
            v.clear();
            assertEquals(GuestMemory.OUT_OF_RANGE, m.gpaToVector(GuestDriver.REGION_B + GuestDriver.REGION_B_BYTES - 10, 20, v));
            assertEquals(GuestMemory.OUT_OF_RANGE, m.gpaToVector(Long.MAX_VALUE - 5, 100, v.clear()));
            assertEquals(GuestMemory.VECTOR_FULL, m.gpaToVector(GuestDriver.REGION_B - 100, 200, new IoVector(1)));

            // UVA: the rings' addresses; written through one view, read through the other.
            long uva = GuestDriver.UVA_BASE + GuestDriver.REGION_C + 64;
            assertEquals(GuestDriver.REGION_C + 64, m.uvaToGpa(uva));
            assertEquals(-1, m.uvaToGpa(GuestDriver.UVA_BASE - 1));
            MemorySegment viaUva = m.uva(uva, 8);
            viaUva.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 0x1122334455667788L);
            assertEquals(0x1122334455667788L, m.gpa(GuestDriver.REGION_C + 64, 8).get(ValueLayout.JAVA_LONG_UNALIGNED, 0));
            assertNull(m.uva(uva, GuestDriver.REGION_C_BYTES));
            assertNull(m.uva(uva, Long.MAX_VALUE));
        }
    }

    @Test
    void badRegionsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> GuestMemory.map(List.of(
                new GuestMemory.Region(Long.MAX_VALUE - 10, 4096, 0, 0, 0))));
        assertThrows(IllegalArgumentException.class, () -> GuestMemory.ofMemfd(0, new long[] {0, 4096}, new long[] {8192, 4096}),
                "overlapping regions");
    }
}
