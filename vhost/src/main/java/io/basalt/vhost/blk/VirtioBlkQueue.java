package io.basalt.vhost.blk;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.Geometry;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.IoVector;
import io.basalt.engine.Reactor;
import io.basalt.engine.StateMachine;
import io.basalt.engine.Status;
import io.basalt.shims.Check;
import io.basalt.shims.IoUringAbi;
import io.basalt.shims.Libc;
import io.basalt.vhost.virtio.DescriptorChain;
import io.basalt.vhost.virtio.Virtqueue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * One virtio-blk virtqueue served by one reactor (SPDK lib/vhost/vhost_blk.c's shape): {@link #poll} takes a
 * bounded batch of chains, turns each into one {@link BlockChannel} request, and signals the used ring once
 * per batch. Owner thread only; constructed and {@link #start}ed on the reactor thread.
 *
 * <p>A request: the 16-byte header in the first device-readable bytes, the status byte in the last
 * device-writable byte (virtio 1.x 5.2.6; any layout). Data are slices of guest memory handed to the
 * channel as they are: no copy. Everything per request is preallocated (one slot per descriptor of the
 * queue); a refused submission (channel full) waits in a FIFO and is retried, never dropped.
 *
 * <p>A slot's request walks {@link #REQUESTS}: FREE -> PARSING (a chain was taken) -> WAITING (valid, for the
 * channel) -> SUBMITTED (the channel took it) -> FREE (completed, used entry pushed); PARSING -> FREE for a chain
 * answered at once (broken, bad, GET_ID, unsupported); SUBMITTED -> WAITING for the next range of a multi-range
 * DISCARD or WRITE_ZEROES. Every move goes through {@link #moveTo}, checked and counted.
 *
 * <p>Kicks: with a kick eventfd, an 8-byte IORING_OP_READ of it stays armed in the reactor's ring, so a
 * sleeping reactor wakes on a guest kick; without one (-1) the queue is busy-polled.
 */
public final class VirtioBlkQueue implements Reactor.Poller, IoCompletion, Reactor.RingSink {
    /** Most chains taken per poll. */
    public static final int BATCH_MAX = 32;

    /** Per-queue limits that are the export's choice. */
    public record Options(int chainSegmentsMax, int discardSegMax, String serial) {
        public Options {
            Check.positive(chainSegmentsMax, "chainSegmentsMax");
            Check.positive(discardSegMax, "discardSegMax");
        }

        public static Options defaults() {
            return new Options(258, 16, "basalt");
        }

        /** Limits matching what {@code config} advertises (seg_max data buffers + header + status). */
        public static Options of(BlkConfigSpace config, String serial) {
            return new Options(config.segMax() + 2, Math.max(1, config.options().discardSegMax()), serial);
        }
    }

    static final int FREE = 0, PARSING = 1, WAITING = 2, SUBMITTED = 3;
    /** The legal moves of a request slot (docs/vhost.md, "Request states"). */
    public static final StateMachine.Table REQUESTS = StateMachine.table("virtio-blk request", "FREE", "PARSING", "WAITING",
                    "SUBMITTED")
            .allow(FREE, PARSING)             // a chain was popped (or resubmitted) into the slot
            .allow(PARSING, WAITING, FREE)    // valid: to the channel; or answered at once
            .allow(WAITING, SUBMITTED)        // the channel accepted it
            .allow(SUBMITTED, WAITING, FREE); // the next range of a DISCARD / WRITE_ZEROES; or completed
    private static final MemorySegment ONE = Arena.global().allocateFrom(ValueLayout.JAVA_LONG, 1L);

    private final Reactor reactor;
    private final BlockChannel channel;
    private final Virtqueue vq;
    private final int callFd;
    private final int kickFd;
    private final boolean readOnly;
    private final Geometry geometry;
    private final int blockBytes;
    private final InflightTracker inflight;
    private final Options options;
    private final byte[] id = new byte[VirtioBlk.ID_BYTES];

    // Per slot (slot = index into these arrays; tag of channel requests).
    private final DescriptorChain[] chains;
    private final int[] state;
    private final StateMachine requestMachine = new StateMachine(REQUESTS);
    private final int[] type;
    private final int[] inflightEntry; // the slot's request in the inflight region (-1: untracked)
    private final long[] lba;
    private final int[] blocks;
    private final long[] rangeLba;   // slot * discardSegMax + range
    private final long[] rangeBlocks;
    private final int[] rangeCount;
    private final int[] rangeNext;
    private final int[] freeSlots;
    private int freeCount;
    private final int[] waiting;     // FIFO of slots whose submission the channel refused
    private int waitingHead, waitingCount;

    private final IoVector data;     // scratch: filled and handed to the channel within one submit call
    private final MemorySegment header;
    private final MemorySegment kickBuffer;
    private final Arena arena = Arena.ofShared();

    private int sinkIndex = -1;
    private boolean started, kickArmed, kickBroken, kicksEnabled, availableAfterEnable, dirty, stopping, stopped;
    private Runnable whenDrained;

    // Counters (owner writes, control plane reads racily).
    private long requests, bytesRead, bytesWritten, flushes, discards, writeZeroes, getIds;
    private long deviceErrors, badRequests, unsupported, readOnlyRejects, brokenChains, notificationsSent,
            notificationsSuppressed, kicks, kickErrors, busyRetries;
    private final long[] brokenByReason = new long[DescriptorChain.REASON_COUNT];

    public VirtioBlkQueue(Reactor reactor, BlockChannel channel, Virtqueue vq, int callFd, int kickFd, boolean readOnly,
                          Geometry geometry, InflightTracker inflight, Options options) {
        Check.that(reactor.isOwnerThread(), "VirtioBlkQueue constructed on its reactor's thread");
        Check.that(inflight == null || inflight.queueSize() == vq.size(), "inflight region sized for this queue");
        Check.that(inflight == null || (inflight instanceof InflightRegion) == vq.supportsResubmission(),
                "inflight region of the ring's layout (split: InflightRegion, packed: PackedInflightRegion)");
        this.reactor = reactor;
        this.channel = channel;
        this.vq = vq;
        this.callFd = callFd;
        this.kickFd = kickFd;
        this.readOnly = readOnly;
        this.geometry = geometry;
        this.blockBytes = geometry.logicalBlockBytes();
        this.inflight = inflight;
        this.options = options;
        byte[] serial = options.serial().getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(serial, 0, id, 0, Math.min(serial.length, id.length));
        int n = vq.size();
        chains = new DescriptorChain[n];
        for (int i = 0; i < n; i++) chains[i] = new DescriptorChain(options.chainSegmentsMax());
        state = new int[n];
        type = new int[n];
        inflightEntry = new int[n];
        lba = new long[n];
        blocks = new int[n];
        rangeLba = new long[n * options.discardSegMax()];
        rangeBlocks = new long[n * options.discardSegMax()];
        rangeCount = new int[n];
        rangeNext = new int[n];
        freeSlots = new int[n];
        for (int i = 0; i < n; i++) freeSlots[i] = n - 1 - i;
        freeCount = n;
        waiting = new int[n];
        data = new IoVector(options.chainSegmentsMax());
        header = arena.allocate(VirtioBlk.DiscardSegment.SIZE, 8);
        kickBuffer = arena.allocate(8, 8);
    }

    /** Registers with the reactor (poller and ring sink) and arms the kick read. Reactor thread. */
    public void start() {
        Check.that(!started, "queue started once");
        started = true;
        sinkIndex = reactor.addSink(this);
        reactor.addPoller(this);
        armKick();
    }

    /**
     * Resubmits requests a previous back-end left in flight (the entries {@link InflightRegion#recover} or
     * {@link PackedInflightRegion#recover} returned), oldest first, before anything new is popped. They stay
     * recorded in the region as they are. Reactor thread, after {@link #start}.
     */
    public void resubmit(int[] entries) {
        Check.that(inflight != null, "resubmission needs the inflight region");
        for (int entry : entries) {
            if (freeCount == 0) break;
            int slot = freeSlots[freeCount - 1];
            inflight.readChain(entry, vq, chains[slot]);
            inflightEntry[slot] = entry;
            freeCount--;
            begin(slot, true);
        }
    }

    // ------------------------------------------------------------------ poller

    @Override
    public int poll(long nowNs) {
        int work = retryWaiting();
        if (!stopping && waitingCount == 0) work += popBatch();
        if (kickFd >= 0 && !kickArmed && !kickBroken && !stopping) armKick();
        flushUsed();
        if (stopping && !stopped) finishStopIfDrained();
        return work;
    }

    @Override
    public boolean needsPolling() {
        return !stopped && (kickFd < 0 || kickBroken || !kickArmed || waitingCount > 0 || dirty
                || availableAfterEnable || stopping);
    }

    /** The reactor is about to sleep: turn kicks back on and look once more (a chain may have come meanwhile). */
    @Override
    public boolean readyToSleep() {
        if (!kicksEnabled && kickFd >= 0 && !kickBroken && freeCount > 0 && !stopped) {
            kicksEnabled = true;
            availableAfterEnable = vq.enableNotifications();
        }
        return !needsPolling();
    }

    private int popBatch() {
        int n = 0;
        availableAfterEnable = false;
        while (n < BATCH_MAX && freeCount > 0) {
            int slot = freeSlots[freeCount - 1];
            if (!vq.pop(chains[slot])) break;
            freeCount--;
            n++;
            begin(slot, false);
        }
        // Kicks go off with the first chain and stay off while the reactor polls (its poll window included); they
        // come back on only when it is about to sleep (readyToSleep): a polled queue costs the guest no kick.
        if (n > 0 && kicksEnabled && kickFd >= 0 && !kickBroken) {
            vq.disableNotifications();
            kicksEnabled = false;
        }
        if (n == BATCH_MAX) availableAfterEnable = true; // more may wait: poll again before sleeping
        return n;
    }

    private int retryWaiting() {
        int n = 0;
        while (waitingCount > 0) {
            int slot = waiting[waitingHead];
            if (!submit(slot)) {
                busyRetries++;
                break;
            }
            waitingHead = (waitingHead + 1) % waiting.length;
            waitingCount--;
            n++;
        }
        return n;
    }

    // ------------------------------------------------------------------ requests

    /**
     * A chain was taken into {@code slot} (popped, or {@code resubmitted} from the inflight region): record it
     * in the region before any I/O, then parse it and submit, or complete it at once.
     */
    private void begin(int slot, boolean resubmitted) {
        moveTo(slot, PARSING);
        DescriptorChain chain = chains[slot];
        requests++;
        if (!chain.hasValidHead()) { // no id to return: drop the slot (the driver broke the ring)
            brokenChains++;
            brokenByReason[chain.brokenReason()]++;
            releaseSlot(slot);
            return;
        }
        if (inflight != null && !resubmitted) inflightEntry[slot] = inflight.markInflight(chain, vq);
        if (chain.isBroken()) {
            brokenChains++;
            brokenByReason[chain.brokenReason()]++;
            // The walk stopped at the fault: find the real status byte by the links alone, or return len 0.
            MemorySegment status = vq.lastWritableByte(chain);
            if (status != null) status.set(ValueLayout.JAVA_BYTE, 0, (byte) VirtioBlk.S_IOERR);
            pushUsed(slot, status != null ? 1 : 0);
            return;
        }
        int status = parse(slot, chain);
        if (status >= 0) {
            finish(slot, status);
            return;
        }
        moveTo(slot, WAITING);
        if (waitingCount > 0 || !submit(slot)) enqueueWaiting(slot);
    }

    /** The one place a request slot changes state: checked against {@link #REQUESTS} and counted. */
    private void moveTo(int slot, int to) {
        requestMachine.move(state, slot, to);
    }

    private void enqueueWaiting(int slot) {
        waiting[(waitingHead + waitingCount) % waiting.length] = slot;
        waitingCount++;
    }

    /**
     * Reads the header and checks the request against the device. Returns a virtio status to complete with
     * now, or -1 when the request goes to the channel ({@link #submit}).
     */
    private int parse(int slot, DescriptorChain chain) {
        if (chain.readableBytes() < VirtioBlk.RequestHeader.SIZE || chain.writableBytes() < 1
                || !copyOut(chain.readable, 0, header, VirtioBlk.RequestHeader.SIZE)) {
            badRequests++;
            return VirtioBlk.S_IOERR;
        }
        int t = VirtioBlk.RequestHeader.type(header);
        long sector = VirtioBlk.RequestHeader.sector(header);
        type[slot] = t;
        switch (t) {
            case VirtioBlk.T_IN:
                return parseTransfer(slot, sector, chain.writableBytes() - 1);
            case VirtioBlk.T_OUT:
                if (readOnly) { readOnlyRejects++; return VirtioBlk.S_IOERR; }
                return parseTransfer(slot, sector, chain.readableBytes() - VirtioBlk.RequestHeader.SIZE);
            case VirtioBlk.T_FLUSH:
                return -1;
            case VirtioBlk.T_GET_ID:
                return getId(chain);
            case VirtioBlk.T_DISCARD:
            case VirtioBlk.T_WRITE_ZEROES:
                if (readOnly) { readOnlyRejects++; return VirtioBlk.S_IOERR; }
                return parseRanges(slot, chain, t);
            default:
                unsupported++;
                return VirtioBlk.S_UNSUPP;
        }
    }

    /** IN/OUT: the sector and the data length must fall on whole device blocks inside the device. */
    private int parseTransfer(int slot, long sector, long dataBytes) {
        long first = blockOf(sector);
        if (first < 0 || dataBytes <= 0 || dataBytes % blockBytes != 0
                || dataBytes / blockBytes > geometry.maxTransferBlocks()
                || geometry.checkRange(first, dataBytes / blockBytes) != Status.OK) {
            badRequests++;
            return VirtioBlk.S_IOERR;
        }
        lba[slot] = first;
        blocks[slot] = (int) (dataBytes / blockBytes);
        return -1;
    }

    /** The device block at 512-byte {@code sector}, or -1 when it is not on a block boundary or overflows. */
    private long blockOf(long sector) {
        if (sector < 0 || sector > (Long.MAX_VALUE >>> VirtioBlk.SECTOR_SHIFT)) return -1;
        long offsetBytes = sector << VirtioBlk.SECTOR_SHIFT;
        return offsetBytes % blockBytes == 0 ? offsetBytes / blockBytes : -1;
    }

    private int parseRanges(int slot, DescriptorChain chain, int t) {
        long bytes = chain.readableBytes() - VirtioBlk.RequestHeader.SIZE;
        int size = VirtioBlk.DiscardSegment.SIZE;
        if (bytes <= 0 || bytes % size != 0 || bytes / size > options.discardSegMax()) {
            badRequests++;
            return VirtioBlk.S_IOERR;
        }
        int count = (int) (bytes / size);
        int base = slot * options.discardSegMax();
        for (int i = 0; i < count; i++) {
            copyOut(chain.readable, VirtioBlk.RequestHeader.SIZE + (long) i * size, header, size);
            int flags = VirtioBlk.DiscardSegment.flags(header);
            // 5.2.6.2: unknown flags, or UNMAP on a DISCARD, are UNSUPP.
            int allowed = t == VirtioBlk.T_WRITE_ZEROES ? VirtioBlk.DiscardSegment.FLAG_UNMAP : 0;
            if ((flags & ~allowed) != 0) {
                unsupported++;
                return VirtioBlk.S_UNSUPP;
            }
            long first = blockOf(VirtioBlk.DiscardSegment.sector(header));
            long sectors = VirtioBlk.DiscardSegment.numSectors(header);
            long lengthBytes = sectors << VirtioBlk.SECTOR_SHIFT;
            if (first < 0 || sectors == 0 || lengthBytes % blockBytes != 0
                    || geometry.checkRange(first, lengthBytes / blockBytes) != Status.OK) {
                badRequests++;
                return VirtioBlk.S_IOERR;
            }
            rangeLba[base + i] = first;
            rangeBlocks[base + i] = lengthBytes / blockBytes;
        }
        rangeCount[slot] = count;
        rangeNext[slot] = 0;
        return -1;
    }

    /** GET_ID: the serial, NUL-padded, into the writable bytes before the status byte. */
    private int getId(DescriptorChain chain) {
        getIds++;
        long room = chain.writableBytes() - 1;
        long n = Math.min(room, VirtioBlk.ID_BYTES);
        IoVector w = chain.writable;
        long at = 0;
        for (int i = 0; i < w.count() && at < n; i++) {
            MemorySegment s = w.segment(i);
            long k = Math.min(s.byteSize(), n - at);
            MemorySegment.copy(id, (int) at, s, ValueLayout.JAVA_BYTE, 0, (int) k);
            at += k;
        }
        return VirtioBlk.S_OK;
    }

    /** Hands the slot's request to the channel; false when the channel is full (nothing happened). */
    private boolean submit(int slot) {
        DescriptorChain chain = chains[slot];
        boolean accepted;
        switch (type[slot]) {
            case VirtioBlk.T_IN -> {
                data.clear();
                slice(chain.writable, 0, chain.writableBytes() - 1, data);
                accepted = channel.readv(lba[slot], blocks[slot], data, slot, this);
                data.clear();
            }
            case VirtioBlk.T_OUT -> {
                data.clear();
                slice(chain.readable, VirtioBlk.RequestHeader.SIZE, chain.readableBytes() - VirtioBlk.RequestHeader.SIZE, data);
                accepted = channel.writev(lba[slot], blocks[slot], data, slot, this);
                data.clear();
            }
            case VirtioBlk.T_FLUSH -> accepted = channel.flush(slot, this);
            default -> { // DISCARD, WRITE_ZEROES (with or without UNMAP): one range at a time
                int r = slot * options.discardSegMax() + rangeNext[slot];
                accepted = type[slot] == VirtioBlk.T_DISCARD
                        ? channel.discard(rangeLba[r], rangeBlocks[r], slot, this)
                        : channel.writeZeroes(rangeLba[r], rangeBlocks[r], slot, this);
            }
        }
        if (accepted) moveTo(slot, SUBMITTED);
        return accepted;
    }

    /** Channel completion: {@code tag} is the slot. */
    @Override
    public void complete(long tag, int status) {
        int slot = (int) tag;
        Check.that(slot >= 0 && slot < state.length && state[slot] == SUBMITTED, "completion for a submitted slot", tag);
        int t = type[slot];
        if (status == Status.OK && (t == VirtioBlk.T_DISCARD || t == VirtioBlk.T_WRITE_ZEROES)
                && ++rangeNext[slot] < rangeCount[slot]) {
            moveTo(slot, WAITING);
            if (waitingCount > 0 || !submit(slot)) enqueueWaiting(slot);
            return;
        }
        int virtioStatus;
        if (status == Status.OK) {
            virtioStatus = VirtioBlk.S_OK;
            account(slot, t);
        } else if (status == Status.UNSUPPORTED && t != VirtioBlk.T_IN && t != VirtioBlk.T_OUT) {
            unsupported++;
            virtioStatus = VirtioBlk.S_UNSUPP;
        } else {
            deviceErrors++;
            virtioStatus = VirtioBlk.S_IOERR;
        }
        finish(slot, virtioStatus);
    }

    private void account(int slot, int t) {
        long bytes = (long) blocks[slot] * blockBytes;
        switch (t) {
            case VirtioBlk.T_IN -> bytesRead += bytes;
            case VirtioBlk.T_OUT -> bytesWritten += bytes;
            case VirtioBlk.T_FLUSH -> flushes++;
            case VirtioBlk.T_DISCARD -> discards++;
            default -> writeZeroes++;
        }
    }

    /**
     * Writes the status byte (the last device-writable byte) and pushes the used entry. used.len is the
     * whole writable length, as QEMU reports it (data + status for IN, the status byte otherwise); a chain
     * with no writable byte gets len 0.
     */
    private void finish(int slot, int virtioStatus) {
        DescriptorChain chain = chains[slot];
        IoVector w = chain.writable;
        long written = 0;
        if (w.count() > 0) {
            MemorySegment last = w.segment(w.count() - 1);
            last.set(ValueLayout.JAVA_BYTE, last.byteSize() - 1, (byte) virtioStatus);
            written = chain.writableBytes();
        }
        pushUsed(slot, (int) written);
    }

    private void pushUsed(int slot, int writtenBytes) {
        DescriptorChain chain = chains[slot];
        vq.pushUsed(chain, writtenBytes);
        if (inflight != null) inflight.addToBatch(inflightEntry[slot]);
        dirty = true;
        releaseSlot(slot);
    }

    private void releaseSlot(int slot) {
        moveTo(slot, FREE);
        freeSlots[freeCount++] = slot;
    }

    /** Publishes the batch of used entries and signals the call eventfd once if the driver wants it. */
    private void flushUsed() {
        if (!dirty) return;
        dirty = false;
        if (vq.pendingUsed() == 0) return;
        if (inflight != null) inflight.batchPublishing(vq.usedIdx());
        boolean notify = vq.publishUsed();
        if (inflight != null) inflight.batchPublished(vq.usedIdx());
        if (notify && callFd >= 0) {
            Libc.write(callFd, ONE, 8);
            notificationsSent++;
        } else {
            notificationsSuppressed++;
        }
    }

    // ------------------------------------------------------------------ kicks

    private void armKick() {
        if (kickFd < 0 || kickArmed || kickBroken) return;
        kickArmed = reactor.prepare(sinkIndex, IoUringAbi.IORING_OP_READ, (byte) 0, kickFd, 0,
                kickBuffer.address(), 8, 0, 0, (short) 0);
    }

    @Override
    public void onRingCompletion(long userData48, int result, int flags) {
        kickArmed = false;
        if (result == 8) {
            kicks++;
        } else if (result < 0) {
            kickErrors++;
            kickBroken = true; // a kick fd we cannot read: fall back to polling (needsPolling stays true)
        }
    }

    // ------------------------------------------------------------------ stop

    /**
     * Stops taking chains, lets every request already taken complete, publishes the used ring, then
     * removes the queue from the reactor and runs {@code whenDrained} (the session answers GET_VRING_BASE
     * with {@link #lastAvailIdx()} there). The kick and call fds must stay open until then. Reactor thread.
     */
    public void stop(Runnable whenDrained) {
        Check.that(reactor.isOwnerThread(), "stop on the reactor thread");
        if (stopping) return;
        stopping = true;
        this.whenDrained = whenDrained;
        // Complete our own armed read of the kick eventfd so no ring request points at this queue afterwards.
        if (kickArmed) Libc.write(kickFd, ONE, 8);
        if (!started) {
            stopped = true;
            arena.close();
            whenDrained.run();
        }
    }

    private void finishStopIfDrained() {
        if (freeCount != chains.length || waitingCount > 0 || kickArmed || dirty) return;
        stopped = true;
        reactor.removePoller(this);
        reactor.removeSink(sinkIndex);
        arena.close();
        whenDrained.run();
    }

    public boolean isStopped() { return stopped; }
    public int lastAvailIdx() { return vq.lastAvailIdx(); }
    public int inFlight() { return chains.length - freeCount; }
    public Virtqueue virtqueue() { return vq; }
    /** The request machine's move counters (owner writes, tests and status read racily). */
    public StateMachine requestMachine() { return requestMachine; }

    // ------------------------------------------------------------------ helpers

    /** Copies {@code length} bytes at {@code offset} of the vector into {@code out}; false when too short. */
    static boolean copyOut(IoVector v, long offset, MemorySegment out, long length) {
        long skip = offset;
        long done = 0;
        for (int i = 0; i < v.count() && done < length; i++) {
            MemorySegment s = v.segment(i);
            if (skip >= s.byteSize()) {
                skip -= s.byteSize();
                continue;
            }
            long k = Math.min(s.byteSize() - skip, length - done);
            MemorySegment.copy(s, skip, out, done, k);
            done += k;
            skip = 0;
        }
        return done == length;
    }

    /**
     * Appends bytes [offset, offset + length) of {@code v} to {@code out}: whole segments as they are, a
     * segment cut by the boundary as a new slice (the usual layouts, header and status in their own
     * descriptors, never cut one).
     */
    static void slice(IoVector v, long offset, long length, IoVector out) {
        long skip = offset;
        long left = length;
        for (int i = 0; i < v.count() && left > 0; i++) {
            MemorySegment s = v.segment(i);
            long size = s.byteSize();
            if (skip >= size) {
                skip -= size;
                continue;
            }
            long k = Math.min(size - skip, left);
            out.add(skip == 0 && k == size ? s : s.asSlice(skip, k));
            left -= k;
            skip = 0;
        }
    }

    public static final String[] COUNTER_NAMES = {"requests", "bytes_read", "bytes_written", "flushes", "discards",
            "write_zeroes", "get_ids", "device_errors", "bad_requests", "unsupported", "read_only_rejects",
            "broken_chains", "notifications_sent", "notifications_suppressed", "kicks", "kick_errors", "busy_retries"};

    /** Counters in {@link #COUNTER_NAMES} order, read racily by the control plane. */
    public long[] counters() {
        return new long[] {requests, bytesRead, bytesWritten, flushes, discards, writeZeroes, getIds, deviceErrors,
                badRequests, unsupported, readOnlyRejects, brokenChains, notificationsSent, notificationsSuppressed,
                kicks, kickErrors, busyRetries};
    }

    public long counter(String name) {
        for (int i = 0; i < COUNTER_NAMES.length; i++) if (COUNTER_NAMES[i].equals(name)) return counters()[i];
        throw new IllegalArgumentException("no counter " + name);
    }

    /** Broken chains by {@link DescriptorChain} reason code. */
    public long[] brokenByReason() { return brokenByReason.clone(); }
}
