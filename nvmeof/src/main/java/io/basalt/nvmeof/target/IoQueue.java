package io.basalt.nvmeof.target;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.nvmeof.nvme.NvmeStatus;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Sqe;

import java.lang.foreign.MemorySegment;

/**
 * The NVM I/O commands of one I/O queue (NVM command set 1.0 section 3): Read, Write, Flush, Write Zeroes and
 * Dataset Management (deallocate) over the namespace's BlockChannel on this queue's reactor. Lock-free and
 * allocation-free on the usual path: a command takes one of {@code entries} preallocated slots; a transfer larger
 * than the device takes is cut into pieces (the only place a slice is made); a busy channel puts the slot on a
 * retry ring that the queue's poller drains, so nothing is lost. Owner reactor only.
 */
final class IoQueue implements Reactor.Poller {
    /** Bytes of one Dataset Management range (NVM command set figure 39: cattr, nlb, slba). */
    static final int DSM_RANGE_BYTES = 16;
    private static final int DSM_ATTRIBUTE_DEALLOCATE = 1 << 2;
    /** Slots retried per poll at most. */
    private static final int RETRIES_PER_POLL = 64;

    private final QueuePair queue;
    private final Controller controller;
    private final Reactor reactor;
    private final IoCompletion completion = this::onComplete;

    // Per slot.
    private final long[] tags;
    private final int[] commandIds, opcodes, nsids, pending, statuses, dsmRanges, dsmNext;
    private final long[] startLbas, nextLbas, remainingBlocks, bufferOffsets;
    private final MemorySegment[] datas;
    private final Namespace[] slotNamespaces;
    private final boolean[] waiting;
    private final int[] freeSlots;
    private int freeCount;
    private final int[] retryRing;
    private int retryHead, retryTail;

    // Per nsid: the channel this queue opened and the namespace it belongs to.
    private final BlockChannel[] channels = new BlockChannel[TargetConfig.NAMESPACES_MAX + 1];
    private final Namespace[] channelNamespaces = new Namespace[TargetConfig.NAMESPACES_MAX + 1];

    IoQueue(QueuePair queue, Controller controller, int entries) {
        this.queue = queue;
        this.controller = controller;
        this.reactor = queue.reactor();
        tags = new long[entries];
        commandIds = new int[entries];
        opcodes = new int[entries];
        nsids = new int[entries];
        pending = new int[entries];
        statuses = new int[entries];
        dsmRanges = new int[entries];
        dsmNext = new int[entries];
        startLbas = new long[entries];
        nextLbas = new long[entries];
        remainingBlocks = new long[entries];
        bufferOffsets = new long[entries];
        datas = new MemorySegment[entries];
        slotNamespaces = new Namespace[entries];
        waiting = new boolean[entries];
        freeSlots = new int[entries];
        for (int i = 0; i < entries; i++) freeSlots[i] = entries - 1 - i;
        freeCount = entries;
        retryRing = new int[Integer.highestOneBit(entries - 1) << 1];
        reactor.addPoller(this);
    }

    void execute(MemorySegment sqe, MemorySegment data, long tag) {
        int opcode = Sqe.opcode(sqe);
        int nsid = Sqe.nsid(sqe);
        Namespace ns = controller.subsystem().namespace(nsid);
        int status = precheck(sqe, opcode, ns, data);
        if (status != NvmeStatus.SUCCESS || freeCount == 0) {
            // No free slot means the host sent more than its queue size: answer, never drop.
            queue.complete(tag, 0, 0, 0, status != NvmeStatus.SUCCESS ? status : NvmeStatus.INTERNAL, Sqe.commandId(sqe), nsid, lba(sqe));
            return;
        }
        if (opcode == Opcodes.IO_DATASET_MANAGEMENT && (Sqe.cdw(sqe, 11) & DSM_ATTRIBUTE_DEALLOCATE) == 0) {
            queue.complete(tag, 0, 0, 0, NvmeStatus.SUCCESS, Sqe.commandId(sqe), nsid, 0); // hints only: nothing to do
            return;
        }
        int slot = freeSlots[--freeCount];
        tags[slot] = tag;
        commandIds[slot] = Sqe.commandId(sqe);
        opcodes[slot] = opcode;
        nsids[slot] = nsid;
        statuses[slot] = NvmeStatus.SUCCESS;
        pending[slot] = 0;
        datas[slot] = data;
        slotNamespaces[slot] = ns;
        startLbas[slot] = lba(sqe);
        nextLbas[slot] = lba(sqe);
        bufferOffsets[slot] = 0;
        remainingBlocks[slot] = switch (opcode) {
            case Opcodes.IO_FLUSH -> 1;
            case Opcodes.IO_DATASET_MANAGEMENT -> 1;
            default -> blocks(sqe);
        };
        dsmRanges[slot] = (Sqe.cdw(sqe, 10) & 0xFF) + 1;
        dsmNext[slot] = 0;
        submit(slot);
    }

    private static long lba(MemorySegment sqe) {
        return Integer.toUnsignedLong(Sqe.cdw(sqe, 10)) | ((long) Sqe.cdw(sqe, 11) << 32);
    }

    /** NLB is 0-based in cdw12 bits 15:0. */
    private static int blocks(MemorySegment sqe) {
        return (Sqe.cdw(sqe, 12) & 0xFFFF) + 1;
    }

    /** Checks before any I/O: controller ready, namespace, opcode, LBA range, data length. */
    private int precheck(MemorySegment sqe, int opcode, Namespace ns, MemorySegment data) {
        if (!controller.ready()) return NvmeStatus.CMD_SEQ_ERROR | NvmeStatus.DNR;
        if (ns == null) return NvmeStatus.INVALID_NS | NvmeStatus.DNR;
        return switch (opcode) {
            case Opcodes.IO_READ, Opcodes.IO_WRITE -> {
                int range = rangeStatus(ns, lba(sqe), blocks(sqe));
                if (range != NvmeStatus.SUCCESS) yield range;
                long expectedBytes = (long) blocks(sqe) * ns.geometry().logicalBlockBytes();
                yield data.byteSize() == expectedBytes ? NvmeStatus.SUCCESS : NvmeStatus.SGL_INVALID_DATA | NvmeStatus.DNR;
            }
            case Opcodes.IO_WRITE_ZEROES -> rangeStatus(ns, lba(sqe), blocks(sqe));
            case Opcodes.IO_FLUSH -> NvmeStatus.SUCCESS;
            case Opcodes.IO_DATASET_MANAGEMENT -> dsmStatus(sqe, ns, data);
            default -> NvmeStatus.INVALID_OPCODE | NvmeStatus.DNR;
        };
    }

    private static int rangeStatus(Namespace ns, long lba, long blocks) {
        return ns.geometry().checkRange(lba, blocks) == Status.OK ? NvmeStatus.SUCCESS : NvmeStatus.LBA_RANGE | NvmeStatus.DNR;
    }

    private static int dsmStatus(MemorySegment sqe, Namespace ns, MemorySegment data) {
        int ranges = (Sqe.cdw(sqe, 10) & 0xFF) + 1;
        if (data.byteSize() < (long) ranges * DSM_RANGE_BYTES) return NvmeStatus.SGL_INVALID_DATA | NvmeStatus.DNR;
        for (int i = 0; i < ranges; i++) {
            long at = (long) i * DSM_RANGE_BYTES;
            long blocks = Integer.toUnsignedLong(Sqe.u32(data, at + 4));
            if (blocks > 0 && rangeStatus(ns, Sqe.u64(data, at + 8), blocks) != NvmeStatus.SUCCESS) return NvmeStatus.LBA_RANGE | NvmeStatus.DNR;
        }
        return NvmeStatus.SUCCESS;
    }

    // ------------------------------------------------------------------ submission

    /** Submits what is left of the slot's command; a refusal parks the slot on the retry ring. */
    private void submit(int slot) {
        BlockChannel channel = channel(slotNamespaces[slot]);
        if (channel == null) { // removed meanwhile: what was not sent fails as the namespace is gone
            if (statuses[slot] == NvmeStatus.SUCCESS) statuses[slot] = NvmeStatus.INVALID_NS | NvmeStatus.DNR;
            remainingBlocks[slot] = 0;
            waiting[slot] = false;
            if (pending[slot] == 0) finish(slot);
            return;
        }
        while (remainingBlocks[slot] > 0) {
            if (!submitPiece(slot, channel)) {
                queue.counters().add(QueueCounters.BUSY_RETRIES, 1);
                waiting[slot] = true;
                retryRing[retryTail++ & (retryRing.length - 1)] = slot;
                return;
            }
        }
        if (pending[slot] == 0) finish(slot);
    }

    /** One request to the channel; advances the slot's cursor when accepted. */
    private boolean submitPiece(int slot, BlockChannel channel) {
        switch (opcodes[slot]) {
            case Opcodes.IO_READ, Opcodes.IO_WRITE -> {
                int blockBytes = slotNamespaces[slot].geometry().logicalBlockBytes();
                int pieceBlocks = (int) Math.min(remainingBlocks[slot], slotNamespaces[slot].geometry().maxTransferBlocks());
                MemorySegment data = datas[slot];
                long pieceBytes = (long) pieceBlocks * blockBytes;
                MemorySegment buffer = pieceBytes == data.byteSize() ? data : data.asSlice(bufferOffsets[slot], pieceBytes);
                boolean accepted = opcodes[slot] == Opcodes.IO_READ
                        ? channel.read(nextLbas[slot], pieceBlocks, buffer, slot, completion)
                        : channel.write(nextLbas[slot], pieceBlocks, buffer, slot, completion);
                if (!accepted) return false;
                bufferOffsets[slot] += pieceBytes;
                advance(slot, pieceBlocks);
            }
            case Opcodes.IO_WRITE_ZEROES -> {
                if (!channel.writeZeroes(nextLbas[slot], remainingBlocks[slot], slot, completion)) return false;
                advance(slot, remainingBlocks[slot]);
            }
            case Opcodes.IO_FLUSH -> {
                if (!channel.flush(slot, completion)) return false;
                advance(slot, 1);
            }
            default -> {
                return submitDeallocate(slot, channel);
            }
        }
        return true;
    }

    private void advance(int slot, long blocks) {
        pending[slot]++;
        nextLbas[slot] += blocks;
        remainingBlocks[slot] -= blocks;
    }

    /** The next non-empty range of a Dataset Management command as a discard; the last one ends the command. */
    private boolean submitDeallocate(int slot, BlockChannel channel) {
        int i = dsmNext[slot];
        long at = (long) i * DSM_RANGE_BYTES;
        long blocks = Integer.toUnsignedLong(Sqe.u32(datas[slot], at + 4));
        if (blocks > 0 && !channel.discard(Sqe.u64(datas[slot], at + 8), blocks, slot, completion)) return false;
        if (blocks > 0) pending[slot]++;
        dsmNext[slot] = i + 1;
        if (dsmNext[slot] == dsmRanges[slot]) remainingBlocks[slot] = 0;
        return true;
    }

    private void onComplete(long tag, int engineStatus) {
        int slot = (int) tag;
        pending[slot]--;
        if (engineStatus != Status.OK && statuses[slot] == NvmeStatus.SUCCESS) {
            int status = StatusMapping.nvmeStatus(engineStatus, opcodes[slot]);
            if (status != NvmeStatus.SUCCESS) {
                statuses[slot] = status;
                remainingBlocks[slot] = 0; // submit no more pieces of a failed command
            }
        }
        if (pending[slot] == 0 && remainingBlocks[slot] == 0 && !waiting[slot]) finish(slot);
    }

    private void finish(int slot) {
        int status = statuses[slot];
        long dataBytes = 0;
        if (status == NvmeStatus.SUCCESS) dataBytes = countSuccess(slot);
        if (queue.state() != QueuePair.State.CLOSED) {
            queue.complete(tags[slot], dataBytes, 0, 0, status, commandIds[slot], nsids[slot], startLbas[slot]);
        }
        datas[slot] = null;
        slotNamespaces[slot] = null;
        freeSlots[freeCount++] = slot;
    }

    private long countSuccess(int slot) {
        long bytes = datas[slot].byteSize();
        if (opcodes[slot] == Opcodes.IO_READ) {
            queue.counters().add(QueueCounters.READ_COMMANDS, 1);
            queue.counters().add(QueueCounters.READ_BYTES, bytes);
            return bytes;
        }
        if (opcodes[slot] == Opcodes.IO_WRITE) {
            queue.counters().add(QueueCounters.WRITE_COMMANDS, 1);
            queue.counters().add(QueueCounters.WRITTEN_BYTES, bytes);
        }
        return 0;
    }

    // ------------------------------------------------------------------ retries, channels

    @Override
    public int poll(long nowNs) {
        int work = 0;
        while (retryHead != retryTail && work < RETRIES_PER_POLL) {
            int slot = retryRing[retryHead++ & (retryRing.length - 1)];
            waiting[slot] = false;
            work++;
            submit(slot);
            if (waiting[slot]) break; // still busy: wait for completions before trying again
        }
        return work;
    }

    @Override
    public boolean needsPolling() {
        return retryHead != retryTail;
    }

    /** The namespace's channel on this reactor (shared with the other queues here, held by the namespace). */
    private BlockChannel channel(Namespace ns) {
        int nsid = ns.nsid();
        if (channelNamespaces[nsid] != ns) {
            channels[nsid] = ns.channel(reactor);
            channelNamespaces[nsid] = ns;
        }
        return channels[nsid];
    }

    /** The namespace was removed: close this queue's channel to it (requests in flight still complete). */
    void dropNamespace(Namespace ns) {
        int nsid = ns.nsid();
        if (channelNamespaces[nsid] != ns) return;
        channels[nsid] = null; // the namespace closes the channel once every queue has let go
        channelNamespaces[nsid] = null;
    }

    /** The connection is gone: close the channels and stop polling. Completions still arriving are dropped. */
    void release() {
        reactor.removePoller(this);
        for (int nsid = 0; nsid < channels.length; nsid++) {
            channels[nsid] = null; // the namespace's, shared: it stays open for the other queues
            channelNamespaces[nsid] = null;
        }
    }
}
