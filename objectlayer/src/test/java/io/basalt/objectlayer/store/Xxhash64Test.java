package io.basalt.objectlayer.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Xxhash64Test {
    private static long hash(String s) {
        return Xxhash64.hash(s.getBytes(StandardCharsets.US_ASCII));
    }

    /** The pattern the long vectors were made from: byte i = (31 i + 7) mod 256. */
    private static byte[] pattern(int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte) (i * 31 + 7);
        return b;
    }

    @Test
    void referenceVectors() {
        // the reference's own (xxHash README and sanity tests, ClickHouse's copies)
        assertEquals(0xEF46DB3751D8E999L, hash(""));
        assertEquals(0xD24EC4F1A98C6E5BL, hash("a"));
        assertEquals(0x44BC2CF5AD770999L, hash("abc"));
        assertEquals(0xE66AE7354FCFEE98L, hash("ABC"));
        assertEquals(0x32DD38952C4BC720L, hash("xxhash"));
        assertEquals(0x467605901B01D6F6L, hash("abcdefghijklmnopqrstuvwxyz12345"));
        assertEquals(0x0B242D361FDA71BCL, hash("The quick brown fox jumps over the lazy dog"));
    }

    @Test
    void longInputsMatchLibxxhash() {
        // computed with Debian's libxxhash0 0.8.1 (XXH64, seed 0) over pattern(n)
        int[] lengths = {32, 33, 63, 64, 100, 1000, 4099, 1 << 20};
        long[] expected = {0x8d57d6a4671cc43dL, 0x62c9fd21ed857664L, 0x5c320a0d2707057fL, 0x7bbabbc45729d17eL,
            0xefa0ad2d3e70c151L, 0x99594f4828043d35L, 0x98531e44aa4f969dL, 0x292cc494f5a2e5ecL};
        for (int i = 0; i < lengths.length; i++) {
            assertEquals(expected[i], Xxhash64.hash(pattern(lengths[i])), "length " + lengths[i]);
        }
    }

    @Test
    void streamingInRandomPiecesEqualsOneShotWhateverTheBufferKind() {
        Random random = new Random(14);
        byte[] data = pattern(4099);
        long whole = Xxhash64.hash(data);
        for (int trial = 0; trial < 200; trial++) {
            Xxhash64 h = new Xxhash64();
            for (int at = 0; at < data.length; ) {
                int n = Math.min(data.length - at, random.nextInt(70));
                ByteBuffer piece = switch (trial % 3) {
                    case 0 -> ByteBuffer.wrap(data, at, n);
                    case 1 -> ByteBuffer.allocateDirect(n).put(data, at, n).flip();
                    default -> ByteBuffer.wrap(data, at, n).slice().order(ByteOrder.LITTLE_ENDIAN);
                };
                h.update(piece);
                assertEquals(0, piece.remaining());
                at += n;
            }
            assertEquals(whole, h.digest(), "trial " + trial);
        }
    }
}
