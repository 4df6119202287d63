package io.basalt.engine.fault;

import io.basalt.engine.IoVector;
import io.basalt.shims.Check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * The volatile write-back cache of a {@link FaultBlockDevice} in power-cut mode: block-granular copies of
 * the writes the inner device has not seen yet. A test tool, so it allocates freely (a heap entry and a
 * GC-managed native block per cached write); the production data path never goes through it.
 *
 * <p>Blocks are immutable once cached: a later write to the same LBA replaces the entry, so a flush in
 * progress keeps writing the version it snapshotted and only marks an entry clean if it is still the same
 * object. States:
 * <ul>
 *   <li>DIRTY: written, not flushed; a power cut drops it (or, torn, may keep it);</li>
 *   <li>DURABLE: survived a torn power cut; it counts as on the medium and the next flush copies it down;</li>
 *   <li>CLEAN: on the inner device; kept only while reads issued earlier may still need the overlay.</li>
 * </ul>
 * Owned by the one reactor that runs the device's channel.
 */
final class WriteBackCache {
    static final int DIRTY = 0;
    static final int DURABLE = 1;
    static final int CLEAN = 2;

    /** One cached block; {@code data} is never written after the block is cached. */
    static final class Block {
        final long lba;
        final MemorySegment data;
        int state;

        Block(long lba, MemorySegment data) {
            this.lba = lba;
            this.data = data;
            this.state = DIRTY;
        }
    }

    private final int blockBytes;
    private final MemorySegment zeroBlock;
    private final TreeMap<Long, Block> blocks = new TreeMap<>();

    WriteBackCache(int blockBytes) {
        this.blockBytes = blockBytes;
        this.zeroBlock = Arena.ofAuto().allocate(blockBytes, blockBytes);
    }

    int size() {
        return blocks.size();
    }

    /** Caches a copy of one block taken from {@code source} at {@code sourceOffsetBytes}. */
    void put(long lba, MemorySegment source, long sourceOffsetBytes) {
        MemorySegment copy = Arena.ofAuto().allocate(blockBytes, blockBytes);
        MemorySegment.copy(source, sourceOffsetBytes, copy, 0, blockBytes);
        blocks.put(lba, new Block(lba, copy));
    }

    /** Caches {@code blockCount} blocks laid out one after another across the vector's segments. */
    void put(long lba, int blockCount, IoVector source) {
        int segment = 0;
        long offset = 0;
        for (int i = 0; i < blockCount; i++) {
            MemorySegment s = source.segment(segment);
            put(lba + i, s, offset);
            offset += blockBytes;
            if (offset == s.byteSize()) {
                segment++;
                offset = 0;
            }
        }
    }

    void putZeroes(long lba, long blockCount) {
        for (long i = 0; i < blockCount; i++) blocks.put(lba + i, new Block(lba + i, zeroBlock));
    }

    /** Copies every cached block of [lba, lba + blockCount) over the read buffers. */
    void overlay(long lba, long blockCount, MemorySegment[] targets, int targetCount) {
        for (Block b : blocks.subMap(lba, true, lba + blockCount, false).values()) {
            long offset = (b.lba - lba) * blockBytes;
            int t = 0;
            while (t < targetCount && offset >= targets[t].byteSize()) {
                offset -= targets[t].byteSize();
                t++;
            }
            Check.that(t < targetCount, "cached block inside the read's buffers", b.lba);
            MemorySegment.copy(b.data, 0, targets[t], offset, blockBytes);
        }
    }

    /** The blocks a flush must write (DIRTY and DURABLE), in LBA order. */
    List<Block> unflushed() {
        List<Block> out = new ArrayList<>();
        for (Block b : blocks.values()) if (b.state != CLEAN) out.add(b);
        return out;
    }

    /** The blocks of [lba, lba + blockCount) a FUA write must write down (DIRTY and DURABLE), in LBA order. */
    List<Block> unflushed(long lba, long blockCount) {
        List<Block> out = new ArrayList<>();
        for (Block b : blocks.subMap(lba, true, lba + blockCount, false).values()) if (b.state != CLEAN) out.add(b);
        return out;
    }

    /** Marks {@code b} clean if it is still the cached version of its LBA. */
    void markClean(Block b) {
        if (blocks.get(b.lba) == b) b.state = CLEAN;
    }

    /** Drops CLEAN blocks: the inner device holds them. Only when no read may still overlay them. */
    void evictClean() {
        blocks.values().removeIf(b -> b.state == CLEAN);
    }

    /**
     * The power fails: DIRTY blocks are lost, except that with {@code torn} each survives with probability
     * 1/2 (a seeded coin per block, in LBA order, so the surviving set is reproducible). CLEAN blocks are
     * dropped too (the inner device has them). Returns {lost, kept}.
     */
    long[] powerCut(SplittableRandom random, boolean torn) {
        long lost = 0, kept = 0;
        Iterator<Map.Entry<Long, Block>> it = blocks.entrySet().iterator();
        while (it.hasNext()) {
            Block b = it.next().getValue();
            if (b.state == DURABLE) continue;
            if (b.state == DIRTY && torn && random.nextBoolean()) {
                b.state = DURABLE;
                kept++;
                continue;
            }
            if (b.state == DIRTY) lost++;
            it.remove();
        }
        return new long[] {lost, kept};
    }
}
