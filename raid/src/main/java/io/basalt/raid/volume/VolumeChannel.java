package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.RequestSlots;
import io.basalt.engine.Requests;
import io.basalt.engine.Status;
import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;

/**
 * What a volume's channel on one reactor has in common, whatever the RAID level: one channel per member on
 * the same reactor, preallocated per-request state, the split of a request into member requests ("pieces")
 * and the join of their completions.
 *
 * <p>A request takes a slot ({@link RequestSlots}); each piece goes to a member channel with the tag
 * {@code member << 48 | slot identifier}, so the member's completion comes back to {@link #complete} and
 * names both the request and the member without allocating. The request completes when its last piece has
 * completed and nothing is left to submit; the level decides the status ({@link #finalStatus}).
 *
 * <p>A member channel may refuse a piece (busy). If nothing of the request was accepted yet, the request is
 * refused as a whole (the caller retries, nothing happened). Otherwise the request waits in a retry list
 * that this channel, a {@link Reactor.Poller}, works through every reactor cycle: pieces already accepted
 * cannot be taken back, so the request must go on. The retry list is bounded by the queue depth.
 *
 * <p>Owned by one reactor: no locks, no allocation on the path (slices of the caller's buffers aside, see
 * {@link #piece}).
 */
abstract class VolumeChannel implements BlockChannel, IoCompletion, Reactor.Poller {
    static final byte OP_READ = 1, OP_WRITE = 2, OP_READV = 3, OP_WRITEV = 4, OP_FLUSH = 5, OP_DISCARD = 6,
            OP_WRITE_ZEROES = 7;
    /** Most requests one volume channel holds: bounds the per-slot segment tables (slots x maxSegments). */
    static final int QUEUE_DEPTH_MAX = 256;
    private static final int MEMBER_SHIFT = 48;
    private static final long ID_MASK = (1L << MEMBER_SHIFT) - 1;

    protected final BlockDevice device;
    protected final Reactor reactor;
    protected final Geometry geometry;
    protected final int blockBytes;
    /** One channel per member on this reactor; null for a member that could not be opened (raid1 only). */
    protected final BlockChannel[] members;
    protected final RequestSlots slots;

    // Per slot: the request as submitted, and where its split stands.
    protected final byte[] ops;
    protected final long[] lbas;
    protected final long[] blockCounts;
    /** Per slot: the next piece to submit (blocks done for raid0 transfers, a member index otherwise). */
    protected final long[] cursors;
    /** Per slot: pieces accepted by members and not completed yet. */
    protected final int[] pending;
    /** Per slot: the first error a piece returned (OK while none). */
    protected final int[] firstErrors;
    /** Per slot: the caller's buffer (READ, WRITE), or its segments (READV, WRITEV); raid5 walks them for parity. */
    protected final MemorySegment[] buffers;
    protected final MemorySegment[][] segments;
    protected final int[] segmentCounts;
    /** Read during a member's submit call only (the IoVector contract), so one serves every piece. */
    private final IoVector scratch;

    /** Per slot: the write intent holding the request's member rows (null when none), and those rows. */
    private final WriteIntent[] intents;
    private final long[] intentFirsts;
    private final long[] intentCounts;

    /** Per slot: a FUA write, flushed once written before its caller hears (see {@link #flushAfterFuaWrite}). */
    private final boolean[] fuas;
    private final int[] retry;
    private final int[] retrying;
    private final boolean[] waiting;
    private int retryCount;
    /** During a poll: the slots copied out of the retry list, and which of them is being retried. */
    private int retryingCount, retryingIndex;
    private final IoCompletion deferredSink = this::finishDeferred;
    private boolean closed;
    /** Closed and drained, member channels closed; volatile: a volume reads it from the thread opening a new channel. */
    private volatile boolean released;

    VolumeChannel(BlockDevice device, Reactor reactor, BlockChannel[] members) {
        Check.that(reactor.isOwnerThread(), "openChannel on the reactor's thread");
        this.device = device;
        this.reactor = reactor;
        this.geometry = device.geometry();
        this.blockBytes = geometry.logicalBlockBytes();
        this.members = members;
        int depth = QUEUE_DEPTH_MAX;
        for (BlockChannel m : members) if (m != null) depth = Math.min(depth, m.queueDepthMax());
        this.slots = new RequestSlots(depth);
        this.ops = new byte[depth];
        this.lbas = new long[depth];
        this.blockCounts = new long[depth];
        this.cursors = new long[depth];
        this.pending = new int[depth];
        this.firstErrors = new int[depth];
        this.buffers = new MemorySegment[depth];
        this.segments = new MemorySegment[depth][geometry.maxSegments()];
        this.segmentCounts = new int[depth];
        this.scratch = new IoVector(geometry.maxSegments());
        this.intents = new WriteIntent[depth];
        this.intentFirsts = new long[depth];
        this.intentCounts = new long[depth];
        this.fuas = new boolean[depth];
        this.retry = new int[depth];
        this.retrying = new int[depth];
        this.waiting = new boolean[depth];
        reactor.addPoller(this);
    }

    @Override public BlockDevice device() { return device; }
    @Override public int inFlight() { return slots.inUse(); }
    @Override public int queueDepthMax() { return slots.capacity(); }

    // ------------------------------------------------------------------ the level's part

    /** Submits the slot's pieces from its cursor on; false when a member refused one (the cursor stays there). */
    protected abstract boolean advance(int slot);

    /** One piece of the slot completed on {@code member}; {@link #pending} is already decremented. */
    protected abstract void onPiece(int slot, int member, int status);

    /** The status of the whole request, once nothing is pending or left to submit. Called once per request. */
    protected abstract int finalStatus(int slot);

    /** Resets the level's own per-slot state for a new request. */
    protected abstract void startSlot(int slot);

    /** The slot's request is over (completed or refused) and the slot about to be free again; after {@link #startSlot}. */
    protected void endSlot(int slot) {
    }

    /** Whether the device was closed (requests then get DEVICE_GONE). */
    protected abstract boolean deviceClosed();

    /**
     * Whether a request none of whose pieces was accepted is still taken (and waits in the retry list) rather
     * than refused as busy. raid5 says yes: a request that waits for its stripe must queue behind the one
     * holding it, not bounce back to a caller that might not retry.
     */
    protected boolean queuesWhenRefused() {
        return false;
    }

    // ------------------------------------------------------------------ submission

    @Override
    public boolean read(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = gate(Requests.check(geometry, lba, blockCount, buffer));
        int slot = begin(OP_READ, lba, blockCount, tag, completion);
        buffers[slot] = buffer;
        return launch(slot, status);
    }

    @Override
    public boolean write(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = gate(Requests.check(geometry, lba, blockCount, buffer));
        int slot = begin(OP_WRITE, lba, blockCount, tag, completion);
        buffers[slot] = buffer;
        return launch(slot, status);
    }

    @Override
    public boolean readv(long lba, int blockCount, IoVector vector, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = gate(Requests.check(geometry, lba, blockCount, vector));
        int slot = begin(OP_READV, lba, blockCount, tag, completion);
        if (status == Status.OK) keepSegments(slot, vector);
        return launch(slot, status);
    }

    @Override
    public boolean writev(long lba, int blockCount, IoVector vector, int flags, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = gate(Requests.check(geometry, lba, blockCount, vector, flags));
        int slot = begin(OP_WRITEV, lba, blockCount, tag, completion);
        if (status == Status.OK) keepSegments(slot, vector);
        fuas[slot] = status == Status.OK && (flags & WRITE_FUA) != 0;
        return launch(slot, status);
    }

    @Override
    public boolean flush(long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = gate(Status.OK);
        return launch(begin(OP_FLUSH, 0, 0, tag, completion), status);
    }

    @Override
    public boolean discard(long lba, long blockCount, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = gate(Requests.checkRange(geometry, lba, blockCount));
        return launch(begin(OP_DISCARD, lba, blockCount, tag, completion), status);
    }

    @Override
    public boolean writeZeroes(long lba, long blockCount, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = gate(Requests.checkRange(geometry, lba, blockCount));
        return launch(begin(OP_WRITE_ZEROES, lba, blockCount, tag, completion), status);
    }

    /** A free slot and, whatever happens, room for a deferred completion. */
    private boolean hasRoom() {
        return slots.inUse() < slots.capacity() && reactor.deferredSpace() > 0;
    }

    private int gate(int checked) {
        if (closed || deviceClosed()) return Status.DEVICE_GONE;
        return checked;
    }

    private int begin(byte op, long lba, long blockCount, long tag, IoCompletion completion) {
        int slot = slots.acquire(completion, tag);
        Check.that(slot >= 0, "a slot was free (hasRoom checked)");
        ops[slot] = op;
        lbas[slot] = lba;
        blockCounts[slot] = blockCount;
        cursors[slot] = 0;
        pending[slot] = 0;
        firstErrors[slot] = Status.OK;
        fuas[slot] = false;
        startSlot(slot);
        return slot;
    }

    /** The caller may reuse its vector once submit returns; a retry or a later piece needs the segments. */
    private void keepSegments(int slot, IoVector vector) {
        MemorySegment[] kept = segments[slot];
        int count = vector.count();
        for (int i = 0; i < count; i++) kept[i] = vector.segment(i);
        segmentCounts[slot] = count;
    }

    /**
     * Starts a request: a refused check completes on the next cycle; a request of which no piece was
     * accepted is refused as busy; one partly accepted waits for the rest in the retry list.
     */
    private boolean launch(int slot, int status) {
        if (status != Status.OK) {
            reactor.completeLater(deferredSink, slots.id(slot), status);
            return true;
        }
        boolean all = advance(slot);
        if (!all && pending[slot] == 0 && !queuesWhenRefused()) {
            clearSlot(slot);
            slots.release(slot);
            return false;
        }
        if (!all) {
            addRetry(slot);
        } else if (pending[slot] == 0) { // nothing to send (raid1 with no member left): answer next cycle
            reactor.completeLater(deferredSink, slots.id(slot), finalStatus(slot));
        }
        return true;
    }

    /** Submits more of a request after a completion (a raid1 read retried on another member). */
    protected final void resume(int slot) {
        if (!advance(slot)) addRetry(slot);
    }

    private void addRetry(int slot) {
        Check.that(!waiting[slot], "slot already waiting for a retry", slot);
        waiting[slot] = true;
        retry[retryCount++] = slot;
    }

    /**
     * Records the slot's write in {@code intent} (member rows [firstBlock, +blockCount)) before any member sees it;
     * true when the write may go on (or there is no intent, or the slot already holds its rows), false when the
     * intent is still recording a region (the level answers "busy" and asks again next cycle). The rows are
     * released when the request finishes.
     */
    protected final boolean admitWrite(int slot, WriteIntent intent, long firstBlock, long blockCount) {
        if (intent == null || intents[slot] != null) return true;
        if (!intent.begin(firstBlock, blockCount)) return false;
        intents[slot] = intent;
        intentFirsts[slot] = firstBlock;
        intentCounts[slot] = blockCount;
        return true;
    }

    // ------------------------------------------------------------------ pieces

    protected final long memberTag(int slot, int member) {
        return ((long) member << MEMBER_SHIFT) | slots.id(slot);
    }

    protected final boolean isRead(int slot) {
        return ops[slot] == OP_READ || ops[slot] == OP_READV;
    }

    /**
     * Submits the transfer piece [offsetBlocks, offsetBlocks + blockCount) of the slot's request to
     * {@code member} at {@code memberLba}. The piece's buffers are the caller's own, sliced where a piece
     * starts or ends inside one of them (no copy).
     */
    protected final boolean submitTransfer(int slot, int member, long memberLba, int blockCount, long offsetBlocks) {
        BlockChannel channel = members[member];
        long tag = memberTag(slot, member);
        long offsetBytes = offsetBlocks * blockBytes;
        long lengthBytes = (long) blockCount * blockBytes;
        return switch (ops[slot]) {
            case OP_READ -> channel.read(memberLba, blockCount, piece(buffers[slot], offsetBytes, lengthBytes), tag, this);
            case OP_WRITE -> channel.write(memberLba, blockCount, piece(buffers[slot], offsetBytes, lengthBytes), tag, this);
            case OP_READV -> channel.readv(memberLba, blockCount, vectorPiece(slot, offsetBytes, lengthBytes), tag, this);
            case OP_WRITEV -> channel.writev(memberLba, blockCount, vectorPiece(slot, offsetBytes, lengthBytes), tag, this);
            default -> throw new IllegalStateException("not a transfer: op " + ops[slot]);
        };
    }

    /** Submits the slot's flush, discard or write-zeroes to {@code member} (on a member range for the last two). */
    protected final boolean submitOther(int slot, int member, long memberLba, long blockCount) {
        BlockChannel channel = members[member];
        long tag = memberTag(slot, member);
        return switch (ops[slot]) {
            case OP_FLUSH -> channel.flush(tag, this);
            case OP_DISCARD -> channel.discard(memberLba, blockCount, tag, this);
            case OP_WRITE_ZEROES -> channel.writeZeroes(memberLba, blockCount, tag, this);
            default -> throw new IllegalStateException("not a flush, discard or write-zeroes: op " + ops[slot]);
        };
    }

    /**
     * The caller's buffer itself when the piece is all of it (the common single-chunk request: nothing
     * allocated), else a slice. A slice is a new MemorySegment object (about 40 bytes): the FFM API has no
     * way to re-point a preallocated one. Bounded by the pieces of one request.
     */
    private static MemorySegment piece(MemorySegment buffer, long offsetBytes, long lengthBytes) {
        if (offsetBytes == 0 && lengthBytes == buffer.byteSize()) return buffer;
        return buffer.asSlice(offsetBytes, lengthBytes);
    }

    /**
     * The caller's segments covering [offsetBytes, offsetBytes + lengthBytes) of the request, whole where
     * they fit and sliced at the piece's ends otherwise. At most (segments + 1) slices per piece boundary
     * pair; none when the piece boundaries fall on segment boundaries. Walks from the first segment: at most
     * maxSegments steps per piece.
     */
    private IoVector vectorPiece(int slot, long offsetBytes, long lengthBytes) {
        MemorySegment[] kept = segments[slot];
        int count = segmentCounts[slot];
        scratch.clear();
        int i = 0;
        long skip = offsetBytes;
        while (i < count && kept[i].byteSize() <= skip) skip -= kept[i++].byteSize();
        long left = lengthBytes;
        for (; i < count && left > 0; i++) {
            MemorySegment s = kept[i];
            long take = Math.min(s.byteSize() - skip, left);
            boolean added = scratch.add(skip == 0 && take == s.byteSize() ? s : s.asSlice(skip, take));
            Check.that(added, "a piece has no more segments than its request");
            left -= take;
            skip = 0;
        }
        Check.that(left == 0, "the request's segments cover the piece", left);
        return scratch;
    }

    // ------------------------------------------------------------------ completion

    /** A member's completion of one piece. */
    @Override
    public void complete(long memberTag, int status) {
        int slot = slots.slotOf(memberTag & ID_MASK);
        int member = (int) (memberTag >>> MEMBER_SHIFT);
        Check.that(pending[slot] > 0, "a piece completed that was not pending", slot);
        pending[slot]--;
        onPiece(slot, member, status);
        finishIfDone(slot);
    }

    private void finishIfDone(int slot) {
        if (pending[slot] == 0 && !waiting[slot]) finish(slot, finalStatus(slot));
    }

    private void finishDeferred(long id, int status) {
        finish(slots.slotOf(id), status);
    }

    private void finish(int slot, int status) {
        if (fuas[slot] && status == Status.OK) {
            flushAfterFuaWrite(slot);
            return;
        }
        clearSlot(slot);
        slots.finish(slot, status);
        releaseIfDone();
    }

    /**
     * A volume has no FUA write of its own (a raid5 write is several member writes): a FUA write is the write, then
     * a FLUSH of the volume, and its caller hears when that flush is done. The write's slot is freed and at once
     * taken again (so never missing) for the flush, which carries the caller's completion and tag; a flush the members
     * refuse waits in the retry list, as any partly started request.
     */
    private void flushAfterFuaWrite(int slot) {
        IoCompletion completion = slots.completion(slot);
        long tag = slots.tag(slot);
        clearSlot(slot);
        slots.release(slot);
        int flush = begin(OP_FLUSH, 0, 0, tag, completion);
        int status = gate(Status.OK);
        if (status != Status.OK) {
            reactor.completeLater(deferredSink, slots.id(flush), status);
        } else if (!advance(flush)) {
            addRetry(flush);
        } else if (pending[flush] == 0) {
            reactor.completeLater(deferredSink, slots.id(flush), finalStatus(flush));
        }
    }

    private void clearSlot(int slot) {
        endSlot(slot);
        WriteIntent intent = intents[slot];
        if (intent != null) {
            intents[slot] = null;
            intent.end(intentFirsts[slot], intentCounts[slot]);
        }
        buffers[slot] = null;
        MemorySegment[] kept = segments[slot];
        for (int i = 0; i < segmentCounts[slot]; i++) kept[i] = null;
        segmentCounts[slot] = 0;
    }

    /** Resubmits the rest of requests that a member refused; a request done meanwhile completes. */
    @Override
    public int poll(long nowNs) {
        int count = retryCount;
        if (count == 0) return 0;
        // Copied first: a completion run below may submit, and a refused submit appends to the list.
        System.arraycopy(retry, 0, retrying, 0, count);
        retryCount = 0;
        retryingCount = count;
        int work = 0;
        for (int i = 0; i < count; i++) {
            retryingIndex = i;
            int slot = retrying[i];
            waiting[slot] = false;
            if (!advance(slot)) {
                addRetry(slot);
                continue;
            }
            work++;
            finishIfDone(slot);
        }
        retryingCount = 0;
        retryingIndex = 0;
        return work;
    }

    /**
     * Requests waiting in the retry list other than the one being retried now, oldest first: during a poll,
     * those already put back into the list this pass, then those not retried yet. raid5 looks through them for
     * writes to coalesce.
     */
    protected final int waitingCount() {
        return retryCount + Math.max(0, retryingCount - retryingIndex - 1);
    }

    /** The i-th of {@link #waitingCount()} waiting slots. */
    protected final int waitingSlot(int i) {
        return i < retryCount ? retry[i] : retrying[retryingIndex + 1 + (i - retryCount)];
    }

    @Override
    public boolean needsPolling() {
        return retryCount > 0;
    }

    // ------------------------------------------------------------------ close

    /** Requests in flight still complete; the member channels close after the last one. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        releaseIfDone();
    }

    /** Releases a closed channel with nothing in flight, unless its level holds it (owner thread). */
    final void releaseIfDone() {
        if (closed && !released && slots.inUse() == 0 && !holdsRelease()) release();
    }

    /**
     * Whether a closed, idle channel must stay (keep its member channels and its poller) for other channels of the
     * volume: raid5's log writer, while channels on other reactors may still log through it.
     */
    protected boolean holdsRelease() {
        return false;
    }

    /** Whether the channel was closed and its last request completed (it does no member I/O any more). */
    final boolean isReleased() {
        return released;
    }

    private void release() {
        if (released) return;
        released = true;
        for (BlockChannel m : members) if (m != null) m.close();
        reactor.removePoller(this);
        onReleased();
    }

    /** After the member channels closed: a level closes what else it opened (raid5's PPL channels). */
    protected void onReleased() {
    }

    // ------------------------------------------------------------------ sync jobs and member replacement

    /** Whether {@link #close} was not called yet (the owning reactor's thread). */
    final boolean isOpen() {
        return !closed;
    }

    /**
     * Starts a request of the level's own ({@code op} beyond the BlockChannel ones: a raid5 sync step) in a slot
     * like any request: false when no slot is free.
     */
    protected final boolean submitInternal(byte op, long lba, long blockCount, long tag, IoCompletion completion) {
        if (!hasRoom()) return false;
        int status = gate(Status.OK);
        return launch(begin(op, lba, blockCount, tag, completion), status);
    }

    /**
     * On each channel's reactor (posted; the caller, a control thread, waits): member {@code index}'s channel is
     * closed and replaced by one on {@code device}. The member is failed meanwhile, so no step sends it anything;
     * its requests still in flight complete through the old channel. A closed channel or a stopped reactor is
     * skipped (its channel does no more I/O).
     */
    /** On the channel's reactor, after {@link #swapMember} gave it the new member's channel: the level's own per-member state. */
    protected void onMemberSwapped(int index) {
    }

    static void swapMember(java.util.List<? extends VolumeChannel> channels, int index, BlockDevice device) {
        java.util.List<java.util.concurrent.CompletableFuture<Void>> done = new java.util.ArrayList<>();
        for (VolumeChannel c : channels) {
            java.util.concurrent.CompletableFuture<Void> f = new java.util.concurrent.CompletableFuture<>();
            Runnable swap = () -> {
                try {
                    if (!c.closed) {
                        BlockChannel old = c.members[index];
                        c.members[index] = device.openChannel(c.reactor);
                        if (old != null) old.close();
                        c.onMemberSwapped(index);
                    }
                    f.complete(null);
                } catch (RuntimeException e) {
                    f.completeExceptionally(e);
                }
            };
            if (c.reactor.isOwnerThread()) swap.run(); // a reactor driven by hand on this thread
            else if (!c.reactor.post(swap)) continue;
            done.add(f);
        }
        for (java.util.concurrent.CompletableFuture<Void> f : done) {
            try {
                f.get(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("replacing member " + index + " on a channel failed: " + e, e);
            }
        }
    }
}
