package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.raid.parity.Raid5Layout;
import io.basalt.raid.parity.Xor;
import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;

/**
 * A {@link Raid5Channel}'s side of the partial parity log ({@link PartialParityLog}): a write step whose parity
 * member logs goes, between its parity math and its WRITES phase, through the LOG phase, where its partial parity
 * is made durable. The log lives on the volume's first channel (the log owner); a step of another reactor reaches
 * it through its slot's {@link PartialParityLog.Request} commands, posted in order through one FIFO. Here: whether
 * the step went through the log, the members it wrote (flushed before the log's unit is emptied), its md PPL
 * entries and partial parity, and its end message. Owned by the channel's reactor thread.
 */
final class PplSteps {
    private final Raid5Channel ch;
    private final Raid5Volume volume;
    private final Raid5Layout layout;
    private final int dataCount, chunkBlocks, blockBytes;
    private final long stripeBlocks;
    /** The log (on the volume's first channel only, else null), and whether the volume logs at all. */
    private final PartialParityLog ppl;
    final boolean on;
    private final BlockChannel[] pplChannels;
    /** Per slot: whether the step went through the log, and the members the step wrote. */
    private final boolean[] logged;
    final long[] writtenMembers;
    private final PartialParityLog.Request[] appends, ends;
    private final ArrayDeque<PartialParityLog.Request> outbound;
    private final int[] bands = new int[4];

    PplSteps(Raid5Channel ch, BlockChannel[] members, BlockChannel[] pplChannels, int depth) {
        this.ch = ch;
        this.volume = ch.volume;
        this.layout = ch.layout;
        this.dataCount = ch.dataCount;
        this.chunkBlocks = ch.chunkBlocks;
        this.blockBytes = ch.blockBytes;
        this.stripeBlocks = ch.stripeBlocks;
        this.pplChannels = pplChannels;
        on = volume.ppl() != null;
        logged = new boolean[depth];
        writtenMembers = new long[depth];
        appends = new PartialParityLog.Request[on ? depth : 0];
        ends = new PartialParityLog.Request[on ? depth : 0];
        for (int i = 0; i < appends.length; i++) {
            appends[i] = new PartialParityLog.Request(ch, i);
            ends[i] = new PartialParityLog.Request(ch, i);
        }
        outbound = new ArrayDeque<>(on ? 2 * depth * Raid5Volume.OWNERS_MAX : 0);
        ppl = pplChannels == null ? null : new PartialParityLog(ch, volume, pplChannels, members, depth, blockBytes,
                volume.ppl().signature());
    }

    /** This channel's log (it is the volume's log owner), else null. */
    PartialParityLog log() {
        return ppl;
    }

    /** Posts a PPL message to another reactor, in order behind any refused earlier (they wait in the FIFO). */
    void post(Raid5Channel target, PartialParityLog.Request request) {
        request.target = target;
        if (!outbound.isEmpty() || !target.reactor.post(request)) outbound.addLast(request);
    }

    /** A replaced member's log area, for the log writer (the same array the PartialParityLog writes through). */
    void memberSwapped(int index) {
        if (pplChannels == null) return;
        BlockChannel old = pplChannels[index];
        pplChannels[index] = volume.ppl().devices().get(index).openChannel(ch.reactor);
        if (old != null) old.close();
        if (ppl != null) ppl.memberReplaced(index);
    }

    void released() {
        if (pplChannels != null) for (BlockChannel c : pplChannels) if (c != null) c.close();
    }

    int poll() {
        int work = ppl != null ? ppl.poll() : 0;
        while (!outbound.isEmpty()) {
            PartialParityLog.Request request = outbound.peekFirst();
            if (!request.target.reactor.post(request)) break;
            outbound.pollFirst();
            work++;
        }
        return work;
    }

    boolean needsPolling() {
        return (ppl != null && ppl.needsPolling()) || !outbound.isEmpty();
    }

    /** The step entered LOG: its append goes to the log, which releases it later through {@link #logged}. */
    void append(int slot) {
        logged[slot] = true;
        PartialParityLog.Request append = appends[slot];
        append.parity = layout.parityDisk(ch.stepStripes[slot]);
        append.stripe = ch.stepStripes[slot];
        Raid5Channel owner = volume.pplOwner();
        if (owner == ch) {
            ppl.append(append);
        } else {
            append.state = PartialParityLog.Request.APPEND_SENT;
            post(owner, append);
        }
    }

    /** The step's unit is durable (or failed on {@code member}): on this channel's thread. */
    void logged(int slot, int member, int status) {
        appends[slot].state = PartialParityLog.Request.IDLE;
        ch.complete(ch.memberTag(slot, member), status);
    }

    /** The step ended: if it was logged, the log hears which members it wrote. */
    void stepEnded(int slot) {
        if (!logged[slot]) return;
        logged[slot] = false;
        Raid5Channel owner = volume.pplOwner();
        long stripe = ch.stepStripes[slot];
        if (owner == ch) {
            ppl.stepEnded(layout.parityDisk(stripe), stripe, writtenMembers[slot]);
        } else {
            PartialParityLog.Request end = ends[slot];
            end.parity = layout.parityDisk(stripe);
            end.stripe = stripe;
            end.written = writtenMembers[slot];
            end.state = PartialParityLog.Request.ENDED_SENT;
            post(owner, end);
        }
    }

    long ppBytesMax(int slot) {
        return (long) (ch.windowEnds[slot] - ch.windowStarts[slot]) * blockBytes;
    }

    /**
     * The step's md PPL entries: one per band of rows that has one set of written chunks (a step writes one
     * contiguous range of its stripe, so at most 3 bands, each a run of consecutive data chunks: md's entry cases
     * 0-2). Partial parity per row = the new parity ^ the new data of the band's chunks = the XOR of the data the
     * step does not write, whatever the mode (read-modify-write, reconstruct-write, degraded). A band over every
     * data chunk has none (pp_size 0: recovery XORs all data).
     */
    void addEntries(int slot, PartialParityLog.Unit unit) {
        long stripe = ch.stepStripes[slot];
        int parity = layout.parityDisk(stripe);
        int bandCount = bandBounds(slot);
        int entries = 0;
        for (int b = 0; b + 1 < bandCount; b++) {
            int r0 = bands[b], r1 = bands[b + 1];
            int first = -1, last = -1;
            for (int i = 0; i < dataCount; i++) {
                if (!ch.touched(slot, i) || ch.coveredStart(slot, i) > r0 || ch.coveredEnd(slot, i) < r1) continue;
                Check.that(first < 0 || i == last + 1, "a PPL entry's chunks are consecutive (md's rectangle)", i);
                if (first < 0) first = i;
                last = i;
            }
            if (first < 0) continue;
            Check.that(++entries <= PartialParityLog.ENTRIES_PER_STEP_MAX, "at most 3 PPL entries per step", entries);
            int rows = r1 - r0, count = last - first + 1;
            int ppBlocks = count == dataCount ? 0 : rows;
            for (int r = 0; r < ppBlocks; r++) partialParityRow(slot, parity, first, last, r0 + r, unit.ppBlock(r));
            long dataSector = (stripe * stripeBlocks + (long) first * chunkBlocks + r0) * (blockBytes / Raid5Layout.SECTOR_BYTES);
            unit.addEntry(dataSector, ppBlocks, (long) count * rows * blockBytes, parity);
        }
    }

    /** Sorted distinct row bounds of the touched chunks' covered ranges (at most 4 for one contiguous range). */
    private int bandBounds(int slot) {
        int n = 0;
        for (int i = 0; i < dataCount; i++) {
            if (!ch.touched(slot, i)) continue;
            n = insertBound(n, ch.coveredStart(slot, i));
            n = insertBound(n, ch.coveredEnd(slot, i));
        }
        return n;
    }

    private int insertBound(int n, int row) {
        int at = 0;
        while (at < n && bands[at] < row) at++;
        if (at < n && bands[at] == row) return n;
        Check.that(n < bands.length, "at most 4 band bounds per step", n);
        System.arraycopy(bands, at, bands, at + 1, n - at);
        bands[at] = row;
        return n + 1;
    }

    /** pp = new parity ^ new data of chunks first..last, for one row. */
    private void partialParityRow(int slot, int parity, int first, int last, int row, MemorySegment pp) {
        int set = ch.stripeSets[slot];
        MemorySegment.copy(ch.sets.slice(set, parity, (long) (row - ch.windowStarts[slot]) * blockBytes, blockBytes), 0, pp, 0, blockBytes);
        if (ch.ops[slot] == VolumeChannel.OP_WRITE_ZEROES || ch.ops[slot] == VolumeChannel.OP_DISCARD) return;
        boolean group = ch.coalescer.followerCounts[slot] > 0;
        for (int i = first; i <= last; i++) {
            long requestOffsetBytes = (ch.requestOffsetBlocks(slot, i) + row - ch.coveredStart(slot, i)) * blockBytes;
            long volumeOffsetBytes = (ch.stepStripes[slot] * stripeBlocks + (long) i * chunkBlocks + row) * blockBytes;
            for (long done = 0; done < blockBytes; ) {
                // A coalesced group's new data lives in each member request's own buffer.
                MemorySegment run = group ? ch.coalescer.groupRun(slot, volumeOffsetBytes + done, blockBytes - done)
                        : ch.parity.callerRun(slot, requestOffsetBytes + done, blockBytes - done);
                Xor.xorInto(done == 0 && run.byteSize() == blockBytes ? pp : pp.asSlice(done, run.byteSize()), run);
                done += run.byteSize();
            }
        }
    }
}
