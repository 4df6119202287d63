package io.basalt.raid.model;

import java.util.Arrays;

/**
 * The reference a RAID volume is checked against: per volume block, the versions a read may return now
 * ({@code allowed}) and the versions that may be found on the media after a power cut ({@code flushed}).
 * A version is a number; its content is a pattern of (block, version) (see {@link RaidModelTest#fillVersion}),
 * version 0 being the zeroes a new member holds. Most blocks hold one version; sets of several appear only
 * after a power cut (a block written since the last flush may hold its old or its new content) or after a
 * write that failed (it may have landed on some members and not on others).
 *
 * <p>The rules, per block:
 * <pre>
 *   write v acknowledged OK   allowed = {v}; dirty
 *   write v failed            allowed = allowed + {v}; dirty (it may have landed anywhere, in part)
 *   flush acknowledged OK     for dirty blocks: flushed = allowed; clean
 *   power cut                 for dirty blocks: flushed = allowed = flushed + allowed; clean
 *                             (the write-back caches drop or keep each unflushed block, a torn write)
 *   every read                the block's content is one of allowed
 * </pre>
 * So after a power cut a block may hold old or new content only if it was written since the last flush;
 * every other block must read exactly as before.
 *
 * <p>With {@code backgroundFlushes} (the write-intent bitmap flushes the members on its own thread, and raid5's
 * partial parity log flushes the data members before a stripe's next step and at drains; the sequence sees
 * neither), a flush may also have made an intermediate version durable: a block written several
 * times since the last flush the model saw may come back after a cut as any of them, as a real drive whose cache
 * destages when it likes.
 */
final class BlockModel {
    private static final long[] ZERO = {0};
    /** A version that any content matches: a block md's PPL may leave arbitrary (see {@link #mayHoldAnything}). */
    static final long ANYTHING = Long.MIN_VALUE;

    private final long[][] allowed;
    private final long[][] flushed;
    private final boolean[] dirty;
    /** With background flushes: the versions written since the last flush the model saw (null otherwise). */
    private final long[][] written;
    private int dirtyCount;

    BlockModel(long blockCount) {
        this(blockCount, false);
    }

    BlockModel(long blockCount, boolean backgroundFlushes) {
        int n = Math.toIntExact(blockCount);
        written = backgroundFlushes ? new long[n][] : null;
        allowed = new long[n][];
        flushed = new long[n][];
        dirty = new boolean[n];
        Arrays.fill(allowed, ZERO);
        Arrays.fill(flushed, ZERO);
    }

    int blockCount() {
        return allowed.length;
    }

    /** Whether any block was written since the last flush (a power cut would then change something). */
    boolean anyDirty() {
        return dirtyCount > 0;
    }

    void written(long lba, long blockCount, long version, boolean ok) {
        for (long b = lba; b < lba + blockCount; b++) {
            int i = (int) b;
            if (written != null) written[i] = union(written[i] == null ? allowed[i] : written[i], new long[] {version});
            allowed[i] = ok ? new long[] {version} : union(allowed[i], new long[] {version});
            markDirty(i);
        }
    }

    void flushed() {
        for (int i = 0; i < dirty.length; i++) {
            if (!dirty[i]) continue;
            flushed[i] = allowed[i];
            dirty[i] = false;
            if (written != null) written[i] = null;
        }
        dirtyCount = 0;
    }

    void powerCut() {
        for (int i = 0; i < dirty.length; i++) {
            if (!dirty[i]) continue;
            long[] either = union(flushed[i], allowed[i]);
            if (written != null && written[i] != null) either = union(either, written[i]);
            if (written != null) written[i] = null;
            flushed[i] = either;
            allowed[i] = either;
            dirty[i] = false;
        }
        dirtyCount = 0;
    }

    /**
     * After a recovery made the members agree: the block reads {@code version} (what a read found), and only that,
     * until the next power cut. The recovery's writes (a mirror copy, a parity) need not be durable yet, so the
     * block counts as written since the last flush: a cut before the next flush may again leave any of the
     * versions it might hold before (a flush makes {@code version} the durable one).
     */
    void settle(long lba, long version) {
        int i = (int) lba;
        flushed[i] = allowed[i];
        allowed[i] = new long[] {version};
        markDirty(i);
        if (written != null) written[i] = null;
    }

    /** Whether the block was written since the last flush (a power cut now may change it). */
    boolean isDirty(long lba) {
        return dirty[(int) lba];
    }

    /** Right after a power cut: the block may hold any content until it is written again. */
    void mayHoldAnything(long lba) {
        int i = (int) lba;
        allowed[i] = new long[] {ANYTHING};
        flushed[i] = allowed[i];
        if (written != null) written[i] = null;
    }

    long[] allowed(long lba) {
        return allowed[(int) lba];
    }

    /** Blocks that may hold more than one version (for the report). */
    int uncertainCount() {
        int n = 0;
        for (long[] a : allowed) if (a.length > 1) n++;
        return n;
    }

    private void markDirty(int i) {
        if (!dirty[i]) {
            dirty[i] = true;
            dirtyCount++;
        }
    }

    private static long[] union(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        int n = a.length;
        for (long v : b) {
            boolean present = false;
            for (int k = 0; k < n; k++) if (out[k] == v) present = true;
            if (!present) out[n++] = v;
        }
        return Arrays.copyOf(out, n);
    }
}
