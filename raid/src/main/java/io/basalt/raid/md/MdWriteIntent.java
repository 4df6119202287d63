package io.basalt.raid.md;

import io.basalt.raid.volume.WriteIntent;
import io.basalt.shims.Check;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * md's write-intent bitmap, kept the way md-bitmap.c keeps it: a bit per bitmap chunk of each member's data
 * area, set on stable storage before any write to that chunk goes to a member, cleared once the chunk has had
 * no write for a while (daemon_sleep) and the members have flushed. After an unclean shutdown the set bits are
 * the regions that may hold a mirror copy or a stripe parity out of step with the data; nothing else needs a
 * resync.
 *
 * <p>Threads. The data path (reactor threads) calls {@link #begin}/{@link #end}: a few atomic operations per
 * touched region, never a lock, never a wait. Setting and clearing bits on disk is the work of one flusher
 * thread per bitmap (the control plane), which is also the only writer of a region's state. A write whose
 * region is not yet recorded raises the region's "wanted" flag, wakes the flusher and is turned away; its
 * channel asks again on a later cycle, by which time the flusher has written the bit (one bitmap write and one
 * flush of every member, shared by every region wanted meanwhile).
 *
 * <p>The race between a writer and the clearer is settled Dekker-style on two volatile variables: a writer
 * counts itself in the region, then reads the state; the clearer marks the region CLEARING, then reads the
 * count. One of them sees the other: either the writer sees CLEARING and backs off (asking for the bit again),
 * or the clearer sees the writer and leaves the bit set.
 */
public final class MdWriteIntent implements WriteIntent, AutoCloseable {
    /** Where the bitmap lives: every member's copy of it, written through the control plane. */
    public interface Store {
        /** Makes what the members acknowledged durable (a flush of every member still active). */
        void flush() throws IOException;

        /**
         * Writes bytes [offset, offset + length) of the bitmap area (4 KiB aligned) to every member still active
         * and makes them durable. Throws only when no member took it.
         */
        void write(MemorySegment area, long offsetBytes, long lengthBytes) throws IOException;
    }

    /** Counter indexes, see {@link #counter}. */
    public static final int BITS_SET = 0, BITS_CLEARED = 1, BITMAP_WRITES = 2, WRITES_DELAYED = 3, STORE_ERRORS = 4;
    public static final String[] COUNTER_NAMES = {"bits_set", "bits_cleared", "bitmap_writes", "writes_delayed", "store_errors"};
    static final int PAGE_BYTES = 4096;
    private static final int CLEAN = 0, DIRTY = 1, CLEARING = 2;

    private final String name;
    private final MdBitmap bitmap;
    private final MemorySegment area;
    private final Store store;
    private final long regionBlocks;
    private final int regionCount;
    private final long clearDelayNs;
    private final AtomicIntegerArray states;
    private final AtomicIntegerArray writers;
    private final AtomicIntegerArray touched;
    private final AtomicIntegerArray wanted;
    private final AtomicLongArray counters = new AtomicLongArray(COUNTER_NAMES.length);
    private final Thread flusher;
    private volatile boolean stopping;
    private volatile String lastError;

    /**
     * @param area         the bitmap area (superblock + bits), native memory the store can write from; its bits
     *                     say which regions are dirty now (loaded from disk at assembly, clear for a new array)
     * @param blockBytes   the members' block size (a bitmap chunk must be whole blocks)
     * @param clearDelayNs how long a region must see no write before its bit is cleared (md: daemon_sleep)
     */
    public MdWriteIntent(String name, MemorySegment area, int blockBytes, Store store, long clearDelayNs) {
        this.name = name;
        this.area = area;
        this.bitmap = new MdBitmap().wrap(area);
        this.store = store;
        long chunkBytes = bitmap.chunkBytes();
        if (chunkBytes % blockBytes != 0) {
            throw new IllegalArgumentException("bitmap chunk of " + chunkBytes + " bytes is not whole " + blockBytes + "-byte blocks");
        }
        Check.that(bitmap.chunkCount() <= Integer.MAX_VALUE, "bitmap chunks fit an int", bitmap.chunkCount());
        this.regionBlocks = chunkBytes / blockBytes;
        this.regionCount = (int) bitmap.chunkCount();
        this.clearDelayNs = clearDelayNs;
        this.states = new AtomicIntegerArray(regionCount);
        this.writers = new AtomicIntegerArray(regionCount);
        this.touched = new AtomicIntegerArray(regionCount);
        this.wanted = new AtomicIntegerArray(regionCount);
        for (int r = 0; r < regionCount; r++) if (bitmap.test(r)) states.set(r, DIRTY);
        this.flusher = Thread.ofPlatform().name("basalt-bitmap-" + name).daemon(true).unstarted(this::run);
        flusher.start();
    }

    /** With md's daemon_sleep from the bitmap superblock as the clear delay. */
    public MdWriteIntent(String name, MemorySegment area, int blockBytes, Store store) {
        this(name, area, blockBytes, store, TimeUnit.SECONDS.toNanos(Math.max(1, new MdBitmap().wrap(area).daemonSleepSeconds())));
    }

    public long counter(int index) { return counters.get(index); }
    public int regionCount() { return regionCount; }
    public long regionBlocks() { return regionBlocks; }
    /** The last error of the bitmap store, or null. */
    public String lastError() { return lastError; }

    /** Regions whose bit is set on disk (or being cleared) right now. */
    public int dirtyRegions() {
        int n = 0;
        for (int r = 0; r < regionCount; r++) if (states.get(r) != CLEAN) n++;
        return n;
    }

    // ------------------------------------------------------------------ the data path (reactor threads)

    @Override
    public boolean begin(long firstBlock, long blockCount) {
        int first = region(firstBlock), last = region(firstBlock + blockCount - 1);
        for (int r = first; r <= last; r++) writers.incrementAndGet(r);
        boolean ready = true;
        for (int r = first; r <= last; r++) {
            if (states.get(r) != DIRTY) {
                ready = false;
                break;
            }
        }
        if (ready) {
            for (int r = first; r <= last; r++) if (touched.get(r) == 0) touched.set(r, 1);
            return true;
        }
        boolean wake = false;
        for (int r = first; r <= last; r++) {
            writers.decrementAndGet(r);
            if (states.get(r) != DIRTY && wanted.get(r) == 0 && wanted.compareAndSet(r, 0, 1)) wake = true;
        }
        counters.incrementAndGet(WRITES_DELAYED);
        if (wake) LockSupport.unpark(flusher);
        return false;
    }

    @Override
    public void end(long firstBlock, long blockCount) {
        int first = region(firstBlock), last = region(firstBlock + blockCount - 1);
        for (int r = first; r <= last; r++) {
            int left = writers.decrementAndGet(r);
            Check.that(left >= 0, "a region's writers never go below zero", r);
        }
    }

    private int region(long block) {
        long r = block / regionBlocks;
        Check.that(block >= 0 && r < regionCount, "member block within the bitmap", block);
        return (int) r;
    }

    // ------------------------------------------------------------------ the flusher (one control thread)

    private void run() {
        long nextClear = System.nanoTime() + clearDelayNs;
        while (!stopping) {
            long wait = nextClear - System.nanoTime();
            // A writer's unpark that came while this thread waited inside the store (a future's get parks too) woke
            // that wait, not this one: look at the flags themselves before sleeping. A flag raised after this look
            // comes with an unpark that the park below sees.
            if (wait > 0 && !anyWanted()) LockSupport.parkNanos(this, wait);
            if (stopping) break;
            synchronized (this) {
                setWanted();
                if (System.nanoTime() - nextClear >= 0) {
                    clearIdle(false);
                    nextClear = System.nanoTime() + clearDelayNs;
                }
            }
        }
    }

    private boolean anyWanted() {
        for (int r = 0; r < regionCount; r++) if (wanted.get(r) != 0) return true;
        return false;
    }

    /** Writes the bits that writers are waiting for, then lets them go. */
    private void setWanted() {
        int low = Integer.MAX_VALUE, high = -1;
        for (int r = 0; r < regionCount; r++) {
            if (wanted.get(r) == 0) continue;
            if (states.get(r) == DIRTY) {
                wanted.set(r, 0);
                continue;
            }
            bitmap.set(r);
            low = Math.min(low, r);
            high = r;
        }
        if (high < 0) return;
        writeBits(low, high); // on failure the volume has failed its members: let the writes go and fail there
        for (int r = low; r <= high; r++) {
            if (wanted.get(r) == 0 || !bitmap.test(r)) continue;
            if (states.get(r) != DIRTY) counters.incrementAndGet(BITS_SET);
            states.set(r, DIRTY);
            wanted.set(r, 0);
        }
    }

    /**
     * Clears the bits of regions with no write in flight that saw no write since the last pass ({@code all}: every
     * region with no write in flight, for a clean stop). The members flush first, so a write that completed is
     * durable before its region stops being recorded.
     */
    private void clearIdle(boolean all) {
        int low = Integer.MAX_VALUE, high = -1;
        for (int r = 0; r < regionCount; r++) {
            if (states.get(r) != DIRTY) continue;
            if (touched.get(r) != 0) {
                touched.set(r, 0);
                if (!all) continue;
            }
            states.set(r, CLEARING);
            if (writers.get(r) > 0 || wanted.get(r) != 0) {
                states.set(r, DIRTY);
                continue;
            }
            low = Math.min(low, r);
            high = r;
        }
        if (high < 0) return;
        try {
            store.flush();
        } catch (IOException e) {
            fail(e);
            for (int r = low; r <= high; r++) if (states.get(r) == CLEARING) states.set(r, DIRTY);
            return;
        }
        int cleared = 0;
        for (int r = low; r <= high; r++) {
            if (states.get(r) == CLEARING) {
                bitmap.clear(r);
                cleared++;
            }
        }
        bitmap.eventsCleared(bitmap.events());
        boolean written = writeBits(low, high);
        for (int r = low; r <= high; r++) {
            if (states.get(r) != CLEARING) continue;
            if (written) {
                states.set(r, CLEAN);
            } else {
                bitmap.set(r); // still set on disk as far as we know
                states.set(r, DIRTY);
            }
        }
        if (written) counters.addAndGet(BITS_CLEARED, cleared);
    }

    /** Writes the pages holding bits [low, high] (and the bitmap superblock when it is among them). */
    private boolean writeBits(int low, int high) {
        long from = (MdBitmap.BITS_OFFSET + (low >>> 3)) / PAGE_BYTES * PAGE_BYTES;
        long to = Math.min(area.byteSize(), ((MdBitmap.BITS_OFFSET + (high >>> 3)) / PAGE_BYTES + 1) * PAGE_BYTES);
        return writeArea(from, to - from);
    }

    private boolean writeArea(long offset, long length) {
        try {
            store.write(area, offset, length);
            counters.incrementAndGet(BITMAP_WRITES);
            return true;
        } catch (IOException e) {
            fail(e);
            return false;
        }
    }

    private void fail(IOException e) {
        counters.incrementAndGet(STORE_ERRORS);
        lastError = e.getMessage();
        System.err.println("basalt: raid volume " + name + ": write-intent bitmap: " + e.getMessage());
    }

    // ------------------------------------------------------------------ control plane

    /**
     * The array's superblocks moved to {@code events}: the bitmap superblock follows (md writes both together;
     * a bitmap older than the superblock makes md resync everything).
     */
    public synchronized void updateEvents(long events) throws IOException {
        bitmap.events(events);
        store.write(area, 0, Math.min(PAGE_BYTES, area.byteSize()));
        counters.incrementAndGet(BITMAP_WRITES);
    }

    /** A copy of the bitmap as it is on the members now (superblock and bits), for a member that joins the array. */
    public synchronized MemorySegment copyArea(MemorySegment out) {
        MemorySegment.copy(area, 0, out, 0, area.byteSize());
        return out.asSlice(0, area.byteSize());
    }

    public long areaBytes() {
        return area.byteSize();
    }

    /**
     * Stops the flusher. {@code clean}: the volume has no write in flight and takes no more (it is closed), so
     * every bit is cleared (after a flush of the members) and the bitmap says so: the next assembly resyncs
     * nothing. Not clean: the bits stay as they are on disk.
     */
    public void close(boolean clean) {
        stopping = true;
        LockSupport.unpark(flusher);
        try {
            flusher.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!clean) return;
        synchronized (this) {
            for (int r = 0; r < regionCount; r++) wanted.set(r, 0);
            clearIdle(true);
        }
    }

    @Override
    public void close() {
        close(false);
    }
}
