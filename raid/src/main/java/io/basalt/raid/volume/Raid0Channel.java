package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;

/**
 * A {@link Raid0Volume}'s channel on one reactor. Reads and writes split at chunk boundaries, one member
 * request per chunk piece, submitted in volume order. FLUSH goes to every member. DISCARD and WRITE_ZEROES
 * send one request per member covering that member's contiguous share of the range (as md's
 * raid0_handle_discard does): a range of many stripes is contiguous on each member, so a whole-volume
 * discard is N requests, not one per chunk. The first error a piece returns is the request's status;
 * after it, pieces not yet submitted are dropped.
 */
final class Raid0Channel extends VolumeChannel {
    private final Raid0Volume volume;
    private final int memberCount;
    private final long chunkBlocks;

    Raid0Channel(Raid0Volume volume, Reactor reactor, BlockChannel[] members) {
        super(volume, reactor, members);
        this.volume = volume;
        this.memberCount = members.length;
        this.chunkBlocks = volume.chunkBlocks();
    }

    @Override
    protected void startSlot(int slot) {}

    @Override
    protected boolean deviceClosed() {
        return volume.isClosed();
    }

    @Override
    protected boolean advance(int slot) {
        return switch (ops[slot]) {
            case OP_FLUSH -> advanceFlush(slot);
            case OP_DISCARD, OP_WRITE_ZEROES -> advanceRange(slot);
            default -> advanceTransfer(slot);
        };
    }

    private boolean advanceTransfer(int slot) {
        long lba = lbas[slot];
        long total = blockCounts[slot];
        while (cursors[slot] < total) {
            if (firstErrors[slot] != Status.OK) { // the request has failed: send no more of it
                cursors[slot] = total;
                break;
            }
            long done = cursors[slot];
            long volumeLba = lba + done;
            long chunk = volumeLba / chunkBlocks;
            long within = volumeLba - chunk * chunkBlocks;
            int blocks = (int) Math.min(chunkBlocks - within, total - done);
            int member = (int) (chunk % memberCount);
            long memberLba = chunk / memberCount * chunkBlocks + within;
            if (!submitTransfer(slot, member, memberLba, blocks, done)) return false;
            pending[slot]++;
            cursors[slot] = done + blocks;
        }
        return true;
    }

    private boolean advanceFlush(int slot) {
        for (int m = (int) cursors[slot]; m < memberCount; m++) {
            if (!submitOther(slot, m, 0, 0)) {
                cursors[slot] = m;
                return false;
            }
            pending[slot]++;
        }
        cursors[slot] = memberCount;
        return true;
    }

    /** One request per member over its contiguous share of [lba, lba + count). */
    private boolean advanceRange(int slot) {
        long first = lbas[slot];
        long last = first + blockCounts[slot] - 1;
        long firstChunk = first / chunkBlocks;
        long lastChunk = last / chunkBlocks;
        for (int m = (int) cursors[slot]; m < memberCount; m++) {
            if (firstErrors[slot] != Status.OK) break;
            // The first and last volume chunks in the range that live on member m.
            long startChunk = firstChunk + Math.floorMod(m - firstChunk, memberCount);
            long endChunk = lastChunk - Math.floorMod(lastChunk - m, memberCount);
            if (startChunk > endChunk) continue; // the range touches no chunk of this member
            long start = startChunk / memberCount * chunkBlocks + (startChunk == firstChunk ? first - firstChunk * chunkBlocks : 0);
            long end = endChunk / memberCount * chunkBlocks + (endChunk == lastChunk ? last - lastChunk * chunkBlocks + 1 : chunkBlocks);
            if (!submitOther(slot, m, start, end - start)) {
                cursors[slot] = m;
                return false;
            }
            pending[slot]++;
        }
        cursors[slot] = memberCount;
        return true;
    }

    @Override
    protected void onPiece(int slot, int member, int status) {
        if (status != Status.OK && firstErrors[slot] == Status.OK) firstErrors[slot] = status;
    }

    @Override
    protected int finalStatus(int slot) {
        return firstErrors[slot];
    }
}
