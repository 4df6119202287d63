package io.basalt.objectlayer.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * XXH64 (Yann Collet's xxHash, 64-bit variant, seed 0 unless given), streaming: {@link #update} any number of times,
 * then {@link #digest}. Written here rather than taken from a library (docs/decisions.md 36): the Maven mirror serves
 * no zero-allocation-hashing, and lz4-java's XXHash64 would bring JNI for 60 lines of arithmetic. Input is read as
 * little-endian 64- and 32-bit lanes whatever the buffer's byte order, as the reference does. One owner at a time.
 */
public final class Xxhash64 {
    private static final long PRIME1 = 0x9E3779B185EBCA87L;
    private static final long PRIME2 = 0xC2B2AE3D27D4EB4FL;
    private static final long PRIME3 = 0x165667B19E3779F9L;
    private static final long PRIME4 = 0x85EBCA77C2B2AE63L;
    private static final long PRIME5 = 0x27D4EB2F165667C5L;
    /** The reference consumes input in stripes of four 8-byte lanes. */
    private static final int STRIPE_BYTES = 32;

    private final long seed;
    private final ByteBuffer pending = ByteBuffer.allocate(STRIPE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private long acc1;
    private long acc2;
    private long acc3;
    private long acc4;
    private long totalBytes;

    public Xxhash64() {
        this(0);
    }

    public Xxhash64(long seed) {
        this.seed = seed;
        reset();
    }

    public void reset() {
        acc1 = seed + PRIME1 + PRIME2;
        acc2 = seed + PRIME2;
        acc3 = seed;
        acc4 = seed - PRIME1;
        totalBytes = 0;
        pending.clear();
    }

    public static long hash(byte[] data) {
        return new Xxhash64().update(data, 0, data.length).digest();
    }

    public Xxhash64 update(byte[] data, int offset, int length) {
        return update(ByteBuffer.wrap(data, offset, length));
    }

    /** Consumes the buffer's remaining bytes (its position moves to its limit). */
    public Xxhash64 update(ByteBuffer data) {
        totalBytes += data.remaining();
        if (pending.position() > 0) {
            while (pending.hasRemaining() && data.hasRemaining()) pending.put(data.get());
            if (pending.hasRemaining()) return this;
            stripe(pending, 0);
            pending.clear();
        }
        int at = data.position();
        int end = data.limit();
        boolean littleEndian = data.order() == ByteOrder.LITTLE_ENDIAN;
        while (end - at >= STRIPE_BYTES) {
            if (littleEndian) {
                stripe(data, at);
            } else {
                stripeSwapped(data, at);
            }
            at += STRIPE_BYTES;
        }
        data.position(at);
        pending.put(data);
        return this;
    }

    private void stripe(ByteBuffer in, int at) {
        acc1 = round(acc1, in.getLong(at));
        acc2 = round(acc2, in.getLong(at + 8));
        acc3 = round(acc3, in.getLong(at + 16));
        acc4 = round(acc4, in.getLong(at + 24));
    }

    private void stripeSwapped(ByteBuffer in, int at) {
        acc1 = round(acc1, Long.reverseBytes(in.getLong(at)));
        acc2 = round(acc2, Long.reverseBytes(in.getLong(at + 8)));
        acc3 = round(acc3, Long.reverseBytes(in.getLong(at + 16)));
        acc4 = round(acc4, Long.reverseBytes(in.getLong(at + 24)));
    }

    /** The hash of everything updated so far; more updates may follow. */
    public long digest() {
        long h;
        if (totalBytes >= STRIPE_BYTES) {
            h = Long.rotateLeft(acc1, 1) + Long.rotateLeft(acc2, 7) + Long.rotateLeft(acc3, 12)
                    + Long.rotateLeft(acc4, 18);
            h = merge(h, acc1);
            h = merge(h, acc2);
            h = merge(h, acc3);
            h = merge(h, acc4);
        } else {
            h = seed + PRIME5;
        }
        h += totalBytes;
        int at = 0;
        int end = pending.position();
        for (; end - at >= Long.BYTES; at += Long.BYTES) {
            h ^= round(0, pending.getLong(at));
            h = Long.rotateLeft(h, 27) * PRIME1 + PRIME4;
        }
        if (end - at >= Integer.BYTES) {
            h ^= (pending.getInt(at) & 0xFFFF_FFFFL) * PRIME1;
            h = Long.rotateLeft(h, 23) * PRIME2 + PRIME3;
            at += Integer.BYTES;
        }
        for (; at < end; at++) {
            h ^= (pending.get(at) & 0xFFL) * PRIME5;
            h = Long.rotateLeft(h, 11) * PRIME1;
        }
        return avalanche(h);
    }

    private static long round(long acc, long lane) {
        return Long.rotateLeft(acc + lane * PRIME2, 31) * PRIME1;
    }

    private static long merge(long h, long acc) {
        return (h ^ round(0, acc)) * PRIME1 + PRIME4;
    }

    private static long avalanche(long h) {
        long x = h;
        x ^= x >>> 33;
        x *= PRIME2;
        x ^= x >>> 29;
        x *= PRIME3;
        x ^= x >>> 32;
        return x;
    }
}
