package io.basalt.objectlayer.volume;

import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.store.ObjectMeta;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checkpoints and compaction (docs/objects.md, "Compaction"), on a maintenance thread or driven by tests. A segment
 * may be compacted once it lies wholly before the last checkpoint's position (its tombstones and bucket records are
 * then in the checkpoint, not needed for replay), is not the head and is not pinned. Its live records (the objects
 * whose index entry points into it, found by a {@link SegmentScan} a stripe at a time) are copied to the head as
 * DATA and relocated COMMIT records, through the log writer like any PUT, and only once those are durable and
 * applied is the segment released, by the writer, if nothing live or pinned is left in it. A crash at any point
 * leaves either the old copy (still in the checkpoint or the log) or the new (a relocated commit, applied at replay
 * only over the version it copied).
 */
final class Compactor {
    private static final long POLL_MS = 200;
    /** A segment is worth compacting when at least this share of it is garbage (or when space runs low). */
    private static final int GARBAGE_SHARE = 8;
    private static final int FREE_LOW = LogWriter.RESERVED_SEGMENTS + 2;

    private final VolumeMountpath mp;
    private final VolumeMountpath.Options options;
    private long checkpointSeq;
    private volatile long checkpointPositionSeq;
    private long appendedAtCheckpoint;
    /** The largest read compaction's scans made: a stripe unless a record header ran past one (tests check it). */
    private long largestScanReadBytes;
    private volatile boolean running = true;
    private Thread thread;

    Compactor(VolumeMountpath mp, long checkpointSeq, VolumeMountpath.Options options) {
        this.mp = mp;
        this.checkpointSeq = checkpointSeq;
        this.options = options;
    }

    void start() {
        if (options.background()) thread = Thread.ofPlatform().daemon(true).name("basalt-volstore-maint").start(this::run);
    }

    private void run() {
        while (running) {
            try {
                Thread.sleep(POLL_MS);
                pass();
            } catch (InterruptedException e) {
                return;
            } catch (IOException | RuntimeException e) {
                System.err.println("basalt: volume mountpath " + mp.describe() + " maintenance: " + e);
            }
        }
    }

    /**
     * One round of the maintenance thread: the periodic checkpoint when due; when free segments run low, compaction,
     * and if space is still low and a segment after the last checkpoint's P is worth compacting, a checkpoint (which
     * moves P past it) and compaction again. So a store filled, then mostly deleted, between two periodic checkpoints
     * gets its space back within a round, and a store full of live data writes no checkpoint while the log stands
     * still (each extra checkpoint needs a segment opened since the last). Returns the segments released.
     */
    synchronized int pass() throws IOException {
        if (mp.log().bytesAppended.get() - appendedAtCheckpoint >= options.checkpointEveryBytes()) checkpoint();
        if (mp.freeSegments() >= FREE_LOW) return 0;
        int released = compact();
        if (mp.freeSegments() < FREE_LOW && pickVictim(Set.of(), checkpointPositionSeq, Long.MAX_VALUE, false) >= 0) {
            checkpoint();
            released += compact();
        }
        return released;
    }

    /**
     * Makes the log durable up to a position P (a barrier through the writer), then writes the index to the next slot.
     * Synchronized: one checkpoint at a time (control path, not the data path).
     */
    synchronized void checkpoint() throws IOException {
        LogWriter log = mp.log();
        try {
            log.submit(new LogOps.Barrier());
        } catch (StoreException e) {
            throw new IOException("checkpoint barrier: " + e.getMessage(), e);
        }
        long[] p = log.appliedPosition();
        long appended = log.bytesAppended.get();
        Checkpoints.Header h = new Checkpoints.Header(checkpointSeq + 1, p[0], (int) p[1], log.lastBucketId,
                log.nextRecordSeq, log.lastSegmentSeq, 0, 0);
        if (!Checkpoints.write(mp.layout(), mp.io(), mp.index(), h)) {
            throw new IOException("the index no longer fits a checkpoint slot of " + mp.layout().checkpointSlotBytes()
                    + " bytes");
        }
        checkpointSeq++;
        checkpointPositionSeq = p[0];
        appendedAtCheckpoint = appended;
    }

    /** Compacts every segment worth it, most garbage first; returns the segments released. */
    synchronized int compact() throws IOException {
        Set<Integer> tried = new HashSet<>();
        int released = 0;
        SegmentScan scan = new SegmentScan(mp.layout(), mp.io()); // one stripe, whatever the segment size
        for (int victim; (victim = pickVictim(tried, 1, checkpointPositionSeq, mp.freeSegments() < FREE_LOW)) >= 0; ) {
            tried.add(victim);
            try {
                if (compactSegment(scan, victim)) released++;
            } catch (StoreException e) {
                if (e.code() == StoreException.Code.STORAGE_FULL) break; // even the reserve is used up
                throw new IOException("compaction of segment " + victim + ": " + e.getMessage(), e);
            }
        }
        return released;
    }

    /**
     * The segment with the most garbage among those of sequence in [fromSeq, toSeq) that are worth compacting (at
     * least 1/8 garbage, or any garbage when {@code low}), not the head, not pinned, not tried; -1 if none.
     */
    private int pickVictim(Set<Integer> tried, long fromSeq, long toSeq, boolean low) {
        Segments s = mp.segments();
        long segmentBytes = mp.layout().segmentBytes();
        int best = -1;
        long bestGarbage = -1;
        for (int i = 0; i < s.count(); i++) {
            long seq = s.seq.get(i);
            if (seq == 0 || seq < fromSeq || seq >= toSeq || i == mp.log().headSegment() || s.pins.get(i) != 0
                    || tried.contains(i)) {
                continue;
            }
            long garbage = segmentBytes - s.liveBytes.get(i);
            boolean worth = s.liveBytes.get(i) == 0 || garbage >= segmentBytes / GARBAGE_SHARE || low && garbage > 0;
            if (worth && garbage > bestGarbage) {
                best = i;
                bestGarbage = garbage;
            }
        }
        return best;
    }

    /** Moves what is live out of the segment, then asks the writer to release it. */
    private boolean compactSegment(SegmentScan scan, int victim) throws IOException, StoreException {
        if (mp.segments().liveBytes.get(victim) != 0) {
            for (byte[] ik : liveKeys(scan, victim)) {
                VolumeIndex.Entry e = mp.index().objects.get(ik);
                if (e != null && references(e, victim)) relocate(ik, e, victim);
            }
        }
        return (Boolean) mp.log().submit(new LogOps.Release(victim));
    }

    /** The index keys of the COMMIT, DATA and METADATA records in the segment whose entry still points into it. */
    private List<byte[]> liveKeys(SegmentScan scan, int victim) throws IOException {
        scan.start(victim, mp.segments().seq.get(victim));
        List<byte[]> keys = new ArrayList<>();
        for (LogRecord r; (r = scan.next()) != null; ) {
            if (r.type() == LogRecord.COMMIT || r.type() == LogRecord.DATA || r.type() == LogRecord.METADATA) {
                byte[] ik = VolumeIndex.indexKey(r.bucketId(), r.key());
                VolumeIndex.Entry e = mp.index().objects.get(ik);
                if (e != null && references(e, victim)) keys.add(ik);
            }
        }
        largestScanReadBytes = Math.max(largestScanReadBytes, scan.largestReadBytes());
        return keys;
    }

    private static boolean references(VolumeIndex.Entry e, int segment) {
        if (VolumeLayout.segmentOf(e.location) == segment) return true;
        for (LogRecord.Extent x : e.extents()) {
            if (VolumeLayout.segmentOf(x.location()) == segment) return true;
        }
        return e.metaLocation() != VolumeIndex.NO_META && VolumeLayout.segmentOf(e.metaLocation()) == segment;
    }

    /**
     * Copies the object's pieces in the victim (and its commit, with its newest metadata) to the head as a relocated
     * commit of its version.
     */
    private void relocate(byte[] ik, VolumeIndex.Entry e, int victim) throws IOException, StoreException {
        Segments segments = mp.segments();
        segments.pin(e);
        List<LogRecord.Extent> moved = new ArrayList<>();
        try {
            if (mp.index().objects.get(ik) != e) return; // replaced or deleted meanwhile: nothing to move
            VolumeMountpath.Read c = mp.readRecord(e.location, e.recordBlocks);
            LogRecord commit = c.record();
            List<LogRecord.Extent> extents = new ArrayList<>(commit.extents().size());
            for (LogRecord.Extent x : commit.extents()) {
                if (VolumeLayout.segmentOf(x.location()) != victim) {
                    extents.add(x);
                    continue;
                }
                VolumeMountpath.Read d = mp.readRecord(x.location(), x.recordBlocks());
                LogRecord.Extent nx = (LogRecord.Extent) mp.log().submit(new LogOps.Data(commit.bucketId(),
                        commit.key(), commit.putId(), d.data(), true));
                mp.release(d); // the writer copied it (on a failure the buffer is left to the GC, never reused)
                moved.add(nx);
                extents.add(nx);
            }
            ObjectMeta meta = ObjectMeta.parseAll(newestMeta(e, commit)).getFirst();
            mp.log().submit(new LogOps.Commit(commit.bucketId(), commit.key(), commit.putId(), meta, extents, c.data(),
                    e.version));
            mp.release(c);
        } finally {
            segments.unpin(e);
            for (LogRecord.Extent x : moved) segments.pins.decrementAndGet(VolumeLayout.segmentOf(x.location()));
        }
    }

    /** The object's metadata: a METADATA record's when one replaced the commit's (garbage once the copy applied). */
    private byte[] newestMeta(VolumeIndex.Entry e, LogRecord commit) throws IOException {
        if (e.metaLocation() == VolumeIndex.NO_META) return commit.meta();
        VolumeMountpath.Read m = mp.readRecord(e.metaLocation(), e.metaBlocks());
        mp.release(m); // decoded into arrays
        return m.record().meta();
    }

    synchronized long checkpointSeq() {
        return checkpointSeq;
    }

    synchronized long largestScanReadBytes() {
        return largestScanReadBytes;
    }

    /** Stops the thread and writes a last checkpoint. */
    void close() {
        stop();
        try {
            checkpoint();
        } catch (IOException | RuntimeException e) {
            System.err.println("basalt: volume mountpath " + mp.describe() + ": checkpoint at close failed: " + e);
        }
    }

    void stop() {
        running = false;
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(VolumeIo.TIMEOUT_S * 1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
