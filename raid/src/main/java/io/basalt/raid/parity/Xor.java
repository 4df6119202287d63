package io.basalt.raid.parity;

import io.basalt.shims.Check;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * XOR parity over off-heap buffers with the Vector API: RAID5's P, and the read-modify-write update of P.
 *
 * <p>Every operation is one pass over the destination: each vector of the destination is loaded from up to four
 * inputs, XORed in registers and stored once. More sources than that are folded in groups (the destination is
 * then one of the inputs of the next group), so memory traffic stays near one read per source and one write.
 *
 * <p>Loops are indexed by {@code int} (C2 hoists the bounds checks of an int-indexed loop over a segment; with a
 * long index it does not, see docs/raid-parity.md), so a buffer is at most {@link Integer#MAX_VALUE} bytes. Any
 * length and any alignment are accepted: whole vectors first, then longs, then bytes. Buffers must be native
 * segments or heap segments over {@code byte[]} (the Vector API's rule).
 *
 * <p>The destination may be the very same memory as a source (same address, same length); any other overlap
 * gives undefined results. Nothing is allocated per call: sources come as a caller-owned array and a count.
 */
public final class Xor {
    private static final VectorSpecies<Long> SPECIES = LongVector.SPECIES_PREFERRED;
    /** 64 with AVX-512, 32 with AVX2. */
    public static final int VECTOR_BYTES = SPECIES.vectorByteSize();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;
    /** A limit on sources per call (md's RAID5 has at most 255 data members per stripe under v1.2 metadata). */
    public static final int SOURCE_COUNT_MAX = 384;

    private Xor() {}

    /** {@code dst ^= src}. */
    public static void xorInto(MemorySegment dst, MemorySegment src) {
        int lengthBytes = checkedLength(dst);
        checkSameLength(src, lengthBytes);
        xor2(dst, dst, src, lengthBytes);
    }

    /** {@code dst ^= sources[0] ^ ... ^ sources[sourceCount - 1]}. */
    public static void xorInto(MemorySegment dst, MemorySegment[] sources, int sourceCount) {
        int lengthBytes = checkedSources(dst, sources, sourceCount);
        foldInto(dst, sources, 0, sourceCount, lengthBytes);
    }

    /** RAID5 P: {@code dst = sources[0] ^ ... ^ sources[sourceCount - 1]} (one source: a copy). */
    public static void parity(MemorySegment dst, MemorySegment[] sources, int sourceCount) {
        int lengthBytes = checkedSources(dst, sources, sourceCount);
        int first = Math.min(sourceCount, 4);
        switch (first) {
            case 1 -> MemorySegment.copy(sources[0], 0, dst, 0, lengthBytes);
            case 2 -> xor2(dst, sources[0], sources[1], lengthBytes);
            case 3 -> xor3(dst, sources[0], sources[1], sources[2], lengthBytes);
            default -> xor4(dst, sources[0], sources[1], sources[2], sources[3], lengthBytes);
        }
        foldInto(dst, sources, first, sourceCount, lengthBytes);
    }

    /**
     * RAID5 P of chunks of one buffer: {@code dst = source[offsets[0], +len) ^ ... ^ source[offsets[count - 1], +len)}
     * with {@code len} the destination's size (one chunk: a copy). A full stripe written from one request buffer
     * needs no slice per chunk, so nothing is allocated even where escape analysis gives up.
     */
    public static void parityOfChunks(MemorySegment dst, MemorySegment source, long[] offsetsBytes, int count) {
        int lengthBytes = checkedLength(dst);
        Check.that(count >= 1 && count <= offsetsBytes.length && count <= SOURCE_COUNT_MAX,
                "chunk count within 1..offsets.length and the limit", count);
        for (int i = 0; i < count; i++) {
            Check.that(offsetsBytes[i] >= 0 && offsetsBytes[i] + lengthBytes <= source.byteSize(),
                    "chunk within the source buffer", offsetsBytes[i]);
        }
        int first = Math.min(count, 3);
        switch (first) {
            case 1 -> MemorySegment.copy(source, offsetsBytes[0], dst, 0, lengthBytes);
            case 2 -> xor2(dst, source, offsetsBytes[0], source, offsetsBytes[1], lengthBytes);
            default -> xor3(dst, source, offsetsBytes[0], source, offsetsBytes[1], source, offsetsBytes[2], lengthBytes);
        }
        int next = first;
        while (count - next >= 3) {
            xor4(dst, dst, 0, source, offsetsBytes[next], source, offsetsBytes[next + 1], source, offsetsBytes[next + 2], lengthBytes);
            next += 3;
        }
        if (count - next == 2) xor3(dst, dst, 0, source, offsetsBytes[next], source, offsetsBytes[next + 1], lengthBytes);
        else if (count - next == 1) xor2(dst, dst, 0, source, offsetsBytes[next], lengthBytes);
    }

    /** Read-modify-write in place: {@code parity ^= oldData ^ newData}. */
    public static void updateParity(MemorySegment parity, MemorySegment oldData, MemorySegment newData) {
        int lengthBytes = checkedLength(parity);
        checkSameLength(oldData, lengthBytes);
        checkSameLength(newData, lengthBytes);
        xor3(parity, parity, oldData, newData, lengthBytes);
    }

    /** Read-modify-write into a new buffer: {@code newParity = oldParity ^ oldData ^ newData}. */
    public static void updateParity(MemorySegment newParity, MemorySegment oldParity, MemorySegment oldData,
                                    MemorySegment newData) {
        int lengthBytes = checkedLength(newParity);
        checkSameLength(oldParity, lengthBytes);
        checkSameLength(oldData, lengthBytes);
        checkSameLength(newData, lengthBytes);
        xor3(newParity, oldParity, oldData, newData, lengthBytes);
    }

    /** dst ^= sources[from..to), three sources per pass (the destination is the fourth input). */
    private static void foldInto(MemorySegment dst, MemorySegment[] sources, int from, int to, int lengthBytes) {
        int next = from;
        while (to - next >= 3) {
            xor4(dst, dst, sources[next], sources[next + 1], sources[next + 2], lengthBytes);
            next += 3;
        }
        if (to - next == 2) xor3(dst, dst, sources[next], sources[next + 1], lengthBytes);
        else if (to - next == 1) xor2(dst, dst, sources[next], lengthBytes);
    }

    private static int checkedSources(MemorySegment dst, MemorySegment[] sources, int sourceCount) {
        Check.that(sourceCount >= 1 && sourceCount <= sources.length && sourceCount <= SOURCE_COUNT_MAX,
                "source count within 1..sources.length and the limit", sourceCount);
        int lengthBytes = checkedLength(dst);
        for (int i = 0; i < sourceCount; i++) checkSameLength(sources[i], lengthBytes);
        return lengthBytes;
    }

    private static int checkedLength(MemorySegment dst) {
        long lengthBytes = dst.byteSize();
        Check.that(lengthBytes <= Integer.MAX_VALUE, "XOR buffer at most 2 GiB - 1", lengthBytes);
        return (int) lengthBytes;
    }

    private static void checkSameLength(MemorySegment segment, int lengthBytes) {
        Check.that(segment.byteSize() == lengthBytes, "XOR buffers of equal length", segment.byteSize());
    }

    // The kernels. d may be the same memory as a (the in-place forms); each index is read before it is written.

    private static void xor2(MemorySegment d, MemorySegment a, MemorySegment b, int lengthBytes) {
        xor2(d, a, 0, b, 0, lengthBytes);
    }

    private static void xor3(MemorySegment d, MemorySegment a, MemorySegment b, MemorySegment c, int lengthBytes) {
        xor3(d, a, 0, b, 0, c, 0, lengthBytes);
    }

    private static void xor4(MemorySegment d, MemorySegment a, MemorySegment b, MemorySegment c, MemorySegment e,
                             int lengthBytes) {
        xor4(d, a, 0, b, 0, c, 0, e, 0, lengthBytes);
    }

    // Each input at its own byte offset (the destination at 0): the parity of chunks of one buffer needs no slices.

    private static void xor2(MemorySegment d, MemorySegment a, long ao, MemorySegment b, long bo, int lengthBytes) {
        int vectorEnd = lengthBytes & -VECTOR_BYTES;
        for (int i = 0; i < vectorEnd; i += VECTOR_BYTES) {
            LongVector.fromMemorySegment(SPECIES, a, ao + i, ORDER)
                    .lanewise(VectorOperators.XOR, LongVector.fromMemorySegment(SPECIES, b, bo + i, ORDER))
                    .intoMemorySegment(d, i, ORDER);
        }
        int longEnd = lengthBytes & -Long.BYTES;
        for (int i = vectorEnd; i < longEnd; i += Long.BYTES) {
            d.set(LONG, i, a.get(LONG, ao + i) ^ b.get(LONG, bo + i));
        }
        for (int i = longEnd; i < lengthBytes; i++) {
            d.set(BYTE, i, (byte) (a.get(BYTE, ao + i) ^ b.get(BYTE, bo + i)));
        }
    }

    private static void xor3(MemorySegment d, MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment c, long co,
                             int lengthBytes) {
        int vectorEnd = lengthBytes & -VECTOR_BYTES;
        for (int i = 0; i < vectorEnd; i += VECTOR_BYTES) {
            LongVector.fromMemorySegment(SPECIES, a, ao + i, ORDER)
                    .lanewise(VectorOperators.XOR, LongVector.fromMemorySegment(SPECIES, b, bo + i, ORDER))
                    .lanewise(VectorOperators.XOR, LongVector.fromMemorySegment(SPECIES, c, co + i, ORDER))
                    .intoMemorySegment(d, i, ORDER);
        }
        int longEnd = lengthBytes & -Long.BYTES;
        for (int i = vectorEnd; i < longEnd; i += Long.BYTES) {
            d.set(LONG, i, a.get(LONG, ao + i) ^ b.get(LONG, bo + i) ^ c.get(LONG, co + i));
        }
        for (int i = longEnd; i < lengthBytes; i++) {
            d.set(BYTE, i, (byte) (a.get(BYTE, ao + i) ^ b.get(BYTE, bo + i) ^ c.get(BYTE, co + i)));
        }
    }

    private static void xor4(MemorySegment d, MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment c, long co,
                             MemorySegment e, long eo, int lengthBytes) {
        int pairEnd = lengthBytes & -(2 * VECTOR_BYTES);
        for (int i = 0; i < pairEnd; i += 2 * VECTOR_BYTES) {
            xor4Vector(d, a, ao, b, bo, c, co, e, eo, i);
            xor4Vector(d, a, ao, b, bo, c, co, e, eo, i + VECTOR_BYTES);
        }
        int vectorEnd = lengthBytes & -VECTOR_BYTES;
        if (pairEnd < vectorEnd) xor4Vector(d, a, ao, b, bo, c, co, e, eo, pairEnd);
        int longEnd = lengthBytes & -Long.BYTES;
        for (int i = vectorEnd; i < longEnd; i += Long.BYTES) {
            d.set(LONG, i, a.get(LONG, ao + i) ^ b.get(LONG, bo + i) ^ c.get(LONG, co + i) ^ e.get(LONG, eo + i));
        }
        for (int i = longEnd; i < lengthBytes; i++) {
            d.set(BYTE, i, (byte) (a.get(BYTE, ao + i) ^ b.get(BYTE, bo + i) ^ c.get(BYTE, co + i) ^ e.get(BYTE, eo + i)));
        }
    }

    private static void xor4Vector(MemorySegment d, MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment c,
                                   long co, MemorySegment e, long eo, int i) {
        LongVector ab = LongVector.fromMemorySegment(SPECIES, a, ao + i, ORDER)
                .lanewise(VectorOperators.XOR, LongVector.fromMemorySegment(SPECIES, b, bo + i, ORDER));
        LongVector ce = LongVector.fromMemorySegment(SPECIES, c, co + i, ORDER)
                .lanewise(VectorOperators.XOR, LongVector.fromMemorySegment(SPECIES, e, eo + i, ORDER));
        ab.lanewise(VectorOperators.XOR, ce).intoMemorySegment(d, i, ORDER);
    }
}
