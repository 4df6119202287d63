package io.basalt.raid.md;

import io.basalt.raid.md.MdFormatException.Reason;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MdBitmapTest {
    private final MdArraySpec spec = MdTestSupport.spec(5, 4, true, 3);
    private final MdSuperblock sb = spec.writeSuperblock(MemorySegment.ofArray(new byte[4096]), 0, MdTestSupport.deviceUuid(0), 0);

    private MdBitmap bitmap() {
        return new MdBitmap().wrap(MemorySegment.ofArray(new byte[(int) spec.bitmapSectors() * 512])).initialize(spec);
    }

    @Test
    void freshBitmapIsCleanAndValid() throws MdFormatException {
        MdBitmap b = bitmap();
        b.validate(sb);
        assertEquals(8, spec.bitmapSectors(), "4 KiB of bitmap space for a 64 MiB member (choose_bm_space)");
        assertEquals(64L << 20, b.chunkBytes(), "mdadm's 64 MiB default chunk");
        assertEquals(1, b.chunkCount(), "a 62 MiB member area needs one 64 MiB chunk");
        assertEquals(-1, b.nextDirty(0));
        assertFalse(b.isStale(sb));
        assertEquals(8, sb.bitmapOffsetSectors(), "bitmap 4 KiB after the superblock");
    }

    @Test
    void bitsAreLittleEndianAfterTheHeader() {
        MdArraySpec big = new MdArraySpec(spec.setUuid(), "big", 0, 5, 2, 1024, 4, 1L << 24, 4096, 1L << 24, 8, 1 << 20, 0);
        MdBitmap b = new MdBitmap().wrap(MemorySegment.ofArray(new byte[4096])).initialize(big);
        assertEquals(8192, b.chunkCount());
        b.set(0);
        b.set(9);
        b.set(8191);
        assertEquals(0x01, b.segment().get(ValueLayout.JAVA_BYTE, 256));
        assertEquals(0x02, b.segment().get(ValueLayout.JAVA_BYTE, 257));
        assertEquals((byte) 0x80, b.segment().get(ValueLayout.JAVA_BYTE, 256 + 1023));
        assertTrue(b.test(9));
        assertEquals(3, b.dirtyCount());
        b.clear(9);
        assertFalse(b.test(9));
        b.setRange(2048 * 100, 2048 * 3 + 1);
        List<long[]> runs = new ArrayList<>();
        b.forEachDirtyRange((start, count) -> runs.add(new long[] {start, count}));
        assertEquals(3, runs.size());
        assertEquals(0, runs.get(0)[0]);
        assertEquals(2048, runs.get(0)[1]);
        assertEquals(2048 * 100, runs.get(1)[0]);
        assertEquals(2048 * 4, runs.get(1)[1], "a range touching 4 chunks marks 4");
        assertEquals(8191L * 2048, runs.get(2)[0]);
        assertThrows(RuntimeException.class, () -> b.set(8192));
    }

    @Test
    void lastRunIsClippedToSyncSize() {
        MdBitmap b = bitmap();
        b.setAll();
        List<long[]> runs = new ArrayList<>();
        b.forEachDirtyRange((start, count) -> runs.add(new long[] {start, count}));
        assertEquals(1, runs.size());
        assertEquals(spec.sizeSectors(), runs.getFirst()[1]);
    }

    private void rejects(Reason reason, java.util.function.Consumer<MdBitmap> corrupt) {
        MdBitmap b = bitmap();
        corrupt.accept(b);
        assertEquals(reason, assertThrows(MdFormatException.class, () -> b.validate(sb)).reason());
    }

    @Test
    void corruptionIsRefused() {
        rejects(Reason.BITMAP_BAD_MAGIC, b -> b.magic(0));
        rejects(Reason.BITMAP_BAD_VERSION, b -> b.version(3));
        rejects(Reason.BITMAP_BAD_VERSION, b -> b.version(5));
        rejects(Reason.BITMAP_BAD_CHUNK, b -> b.chunkBytes(256));
        rejects(Reason.BITMAP_BAD_CHUNK, b -> b.chunkBytes(3 << 20));
        rejects(Reason.BITMAP_UUID_MISMATCH, b -> b.uuid(new byte[16]));
        rejects(Reason.BITMAP_BAD_FIELD, b -> b.daemonSleepSeconds(0));
        rejects(Reason.BITMAP_BAD_FIELD, b -> b.writeBehind(1 << 14));
        rejects(Reason.BITMAP_TOO_SMALL, b -> b.syncSizeSectors(1));
        rejects(Reason.BITMAP_TOO_SMALL, b -> b.chunkBytes(512));
    }

    /** mdadm 4.2 --bitmap=internal leaves sectors_reserved 0: the wrapped area bounds the bits instead. */
    @Test
    void sectorsReservedZeroAsMdadmWritesItValidatesAgainstTheArea() throws MdFormatException {
        MdBitmap b = bitmap();
        b.sectorsReserved(0);
        b.validate(sb);
        b.chunkBytes(512);
        MdFormatException e = assertThrows(MdFormatException.class, () -> b.validate(sb));
        assertEquals(Reason.BITMAP_TOO_SMALL, e.reason(), e.getMessage());
    }

    @Test
    void olderBitmapIsStale() {
        MdBitmap b = bitmap();
        sb.events(5).updateChecksum();
        assertTrue(b.isStale(sb));
        b.events(5);
        assertFalse(b.isStale(sb));
        b.state(MdBitmap.STATE_STALE);
        assertTrue(b.isStale(sb));
    }
}
