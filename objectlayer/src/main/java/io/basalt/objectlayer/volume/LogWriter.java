package io.basalt.objectlayer.volume;

import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import io.basalt.shims.Check;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one owner of the open segment (docs/objects.md, "Write path"). PUTs, deletes, bucket changes and compaction
 * hand it {@link LogOps.Op}s through a queue; it takes what is queued as one batch, appends the batch's records to
 * the segment's stripe buffer (writing every buffer that fills, always whole stripes), and, when any op of the batch
 * needs durability, rewrites the last partial stripe (whole, zero-padded) and FLUSHes once for all of them: group
 * commit. Only then does it apply the batch to the index, in log order, and complete the ops. Nothing else writes
 * the log or changes the index, so the data path holds no lock but the queue's.
 */
final class LogWriter {
    /** Free segments PUTs leave for compaction, deletes and bucket records (docs/objects.md, "Compaction"). */
    static final int RESERVED_SEGMENTS = 2;
    private static final int BATCH_OPS_MAX = 256;
    private static final int WRITE_BUFFER_BYTES_MIN = 1 << 20;

    final VolumeLayout layout;
    final VolumeIo io;
    final VolumeIndex index;
    final Segments segments;
    private final LinkedBlockingQueue<LogOps.Op> queue = new LinkedBlockingQueue<>();
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private volatile int freeCount;
    private final MemorySegment buffer;
    private final int blockBytes;
    private final Thread thread;
    private volatile boolean running = true;

    // the head: writer-owned
    private int headSegment = -1;
    private long headSeq;
    private int headBlock;
    /** Byte offset in the head segment of the buffer's first byte (stripe-aligned). */
    private long bufferStart;
    private int bufferFill;
    volatile long lastSegmentSeq;
    volatile long nextRecordSeq;
    volatile int lastBucketId;
    /** Where the log stood after the last applied batch: everything before it is durable and in the index. */
    private volatile long[] applied;
    /** Buckets whose BUCKET_DELETE the current batch appended but has not applied yet (writer-owned). */
    private final Set<Integer> bucketsDeleting = new HashSet<>();
    final AtomicLong bytesAppended = new AtomicLong();

    LogWriter(VolumeLayout layout, VolumeIo io, VolumeIndex index, Segments segments, List<Integer> freeSegments,
              long lastSegmentSeq, long nextRecordSeq, int lastBucketId, String name) {
        this.layout = layout;
        this.io = io;
        this.index = index;
        this.segments = segments;
        this.free.addAll(freeSegments);
        this.freeCount = free.size();
        this.lastSegmentSeq = lastSegmentSeq;
        this.nextRecordSeq = nextRecordSeq;
        this.lastBucketId = lastBucketId;
        this.blockBytes = layout.blockBytes();
        int stripe = layout.stripeBytes();
        this.buffer = io.buffer((long) stripe * Math.max(1, (WRITE_BUFFER_BYTES_MIN + stripe - 1) / stripe));
        this.applied = new long[] {lastSegmentSeq + 1, 1}; // the first segment this writer opens
        this.thread = Thread.ofPlatform().daemon(true).name("basalt-volstore-log-" + name).start(this::run);
    }

    /** Hands an op to the writer and waits for it: its result, or the StoreException it failed with. */
    Object submit(LogOps.Op op) throws StoreException {
        if (!running) throw new StoreException(Code.INTERNAL_ERROR, "the volume mountpath is closed");
        queue.add(op);
        try {
            return op.done.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof StoreException se) throw se;
            throw new StoreException(Code.INTERNAL_ERROR, "log write: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException(Code.INTERNAL_ERROR, "interrupted while writing the log", e);
        }
    }

    int freeSegments() {
        return freeCount;
    }

    int headSegment() {
        return headSegment;
    }

    /** The position a checkpoint may start replay from: [segment seq, block]. */
    long[] appliedPosition() {
        return applied;
    }

    private void run() {
        List<LogOps.Op> batch = new ArrayList<>();
        while (running || !queue.isEmpty()) {
            try {
                LogOps.Op first = queue.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
                if (first == null) continue;
                batch.add(first);
                queue.drainTo(batch, BATCH_OPS_MAX);
                runBatch(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException e) {
                for (LogOps.Op op : batch) op.done.completeExceptionally(e);
            } finally {
                batch.clear();
            }
        }
        StoreException closed = new StoreException(Code.INTERNAL_ERROR, "the volume mountpath is closed");
        for (LogOps.Op op; (op = queue.poll()) != null; ) op.done.completeExceptionally(closed);
    }

    private void runBatch(List<LogOps.Op> batch) {
        bucketsDeleting.clear();
        List<LogOps.Op> appended = new ArrayList<>(batch.size());
        boolean durable = false;
        try {
            for (LogOps.Op op : batch) {
                try {
                    op.append(this);
                    appended.add(op);
                    durable |= op.durable;
                } catch (StoreException e) {
                    op.done.completeExceptionally(e);
                }
            }
            if (durable) {
                writeTail();
                io.flush();
            }
        } catch (IOException e) {
            abandonHead();
            StoreException failed = new StoreException(Code.INTERNAL_ERROR, "log write on " + io + ": " + e, e);
            for (LogOps.Op op : batch) op.done.completeExceptionally(failed); // appended or not yet
            return;
        }
        for (LogOps.Op op : appended) op.apply(this);
        if (durable && headSegment >= 0) applied = new long[] {headSeq, headBlock};
        for (LogOps.Op op : appended) op.done.complete(op.result);
    }

    /** After a failed write the head's unflushed tail is unknown: later records go to a new segment. */
    private void abandonHead() {
        headSegment = -1;
        bufferFill = 0;
    }

    // ---- appending (writer thread)

    /**
     * Appends a record (sequence numbers filled in here) with its inline data; returns its location. A PUT's record
     * ({@code privileged} false) that needs a new segment when only the reserve is left fails with STORAGE_FULL.
     */
    long append(LogRecord template, ByteBuffer data, boolean privileged) throws StoreException, IOException {
        int blocks = template.blocks(blockBytes);
        if (blocks > layout.segmentBlocks() - 1) {
            throw new StoreException(Code.INVALID_ARGUMENT, "a record of " + blocks + " blocks does not fit a segment");
        }
        if (headSegment < 0 || headBlock + blocks > layout.segmentBlocks()) openSegment(privileged);
        long recordSeq = nextRecordSeq++;
        LogRecord r = new LogRecord(template.type(), template.flags(), template.bucketId(), headSeq, recordSeq,
                template.putId(), template.version() == 0 ? recordSeq : template.version(), template.dataBytes(),
                template.dataXxhash64(), template.key(), template.meta(), template.extents());
        long location = VolumeLayout.location(headSegment, headBlock);
        put(ByteBuffer.wrap(r.encodeHeader()));
        if (data != null) put(data.duplicate());
        padToBlock();
        headBlock += blocks;
        bytesAppended.addAndGet((long) blocks * blockBytes);
        return location;
    }

    /**
     * Refuses a PUT's record into a bucket that is gone or whose delete is ahead of it in the log: its commit would
     * be an index entry nothing can reach (the bucket's number is never used again), and replay must agree.
     */
    void checkBucket(int bucketId) throws StoreException {
        if (!index.hasBucketId(bucketId) || bucketsDeleting.contains(bucketId)) {
            throw new StoreException(Code.NO_SUCH_BUCKET, "The specified bucket does not exist (deleted while the"
                    + " request ran)");
        }
    }

    /** The bucket's delete was appended in this batch (applied after the flush). */
    void deletingBucket(int bucketId) {
        bucketsDeleting.add(bucketId);
    }

    /** Whether the bucket named so exists once the batch applied: not deleted by an op appended before. */
    boolean bucketStays(VolumeIndex.Bucket bucket) {
        return bucket != null && !bucketsDeleting.contains(bucket.id());
    }

    /** The record sequence number the next append gets (a new COMMIT's version). */
    long peekRecordSeq() {
        return nextRecordSeq;
    }

    long headSeq() {
        return headSeq;
    }

    private void openSegment(boolean privileged) throws StoreException, IOException {
        if (free.isEmpty() || !privileged && free.size() <= RESERVED_SEGMENTS) {
            throw new StoreException(Code.STORAGE_FULL, "volume mountpath " + io + " is full (" + free.size()
                    + " free segments, " + RESERVED_SEGMENTS + " reserved for compaction and deletes)");
        }
        if (headSegment >= 0) writeTail();
        int s = free.poll();
        freeCount = free.size();
        headSegment = s;
        headSeq = ++lastSegmentSeq;
        segments.seq.set(s, headSeq);
        bufferStart = 0;
        bufferFill = 0;
        put(ByteBuffer.wrap(LogRecord.encodeSegmentHeader(layout.mountpathId(), s, headSeq)));
        padToBlock();
        headBlock = 1;
    }

    /** Gives a segment back to the free list: compaction's last step, on the writer so the head cannot race it. */
    boolean release(int segment) {
        if (segment == headSegment || segments.liveBytes.get(segment) != 0 || segments.pins.get(segment) != 0
                || segments.seq.get(segment) == 0) {
            return false;
        }
        segments.seq.set(segment, 0);
        free.add(segment);
        freeCount = free.size();
        return true;
    }

    private void put(ByteBuffer src) throws IOException {
        MemorySegment from = MemorySegment.ofBuffer(src);
        long offset = 0;
        while (offset < from.byteSize()) {
            int n = (int) Math.min(from.byteSize() - offset, buffer.byteSize() - bufferFill);
            MemorySegment.copy(from, offset, buffer, bufferFill, n);
            bufferFill += n;
            offset += n;
            if (bufferFill == buffer.byteSize()) {
                io.write(layout.segmentOffset(headSegment) + bufferStart, buffer);
                bufferStart += buffer.byteSize();
                bufferFill = 0;
            }
        }
    }

    private void padToBlock() throws IOException {
        int pad = (blockBytes - bufferFill % blockBytes) % blockBytes;
        if (pad > 0) put(ByteBuffer.allocate(pad));
    }

    /**
     * Writes the buffered tail as whole stripes (the last one zero-padded) and keeps its partial stripe in the
     * buffer: the next tail write rewrites that stripe whole with more records in it, the same bytes where it was
     * written before, so a RAID5 volume never reads to update parity.
     */
    private void writeTail() throws IOException {
        if (headSegment < 0 || bufferFill == 0) return;
        int stripe = layout.stripeBytes();
        int length = (int) VolumeLayout.roundUp(bufferFill, stripe);
        Check.that(length <= buffer.byteSize(), "tail within the buffer", length);
        buffer.asSlice(bufferFill, length - bufferFill).fill((byte) 0);
        io.write(layout.segmentOffset(headSegment) + bufferStart, buffer.asSlice(0, length));
        int whole = bufferFill / stripe * stripe;
        if (whole > 0) {
            MemorySegment.copy(buffer, whole, buffer, 0, bufferFill - whole);
            bufferStart += whole;
            bufferFill -= whole;
        }
    }

    /** Finishes what is queued, then stops the thread. */
    void close() {
        running = false;
        try {
            thread.join(VolumeIo.TIMEOUT_S * 1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "log of " + io;
    }
}
