package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.shims.Check;

import java.util.List;

/**
 * RAID0: blocks striped over N members in chunks, with Linux md's raid0 mapping for members of equal size
 * (one zone, drivers/md/raid0.c): volume chunk {@code c} lives on member {@code c mod N} at member chunk
 * {@code c / N}. So block {@code lba} is on member {@code (lba / chunk) mod N} at member block
 * {@code ((lba / chunk) / N) * chunk + lba mod chunk}. The smallest member decides the size: each member
 * contributes its size rounded down to whole chunks (md's rounding), the rest of larger members is unused.
 * (md proper stripes unequal members in several zones; Basalt does not, yet.)
 *
 * <p>The volume claims its members (SPDK's bdev claim): nobody else does I/O on them, and closing the volume
 * closes them. Member blocks are addressed from 0: an md superblock's data offset is the md-format layer's
 * to apply, below this class.
 */
public final class Raid0Volume implements BlockDevice {
    /** The measured default of every striped volume, {@link RaidDefaults#CHUNK_BYTES} (docs/raid.md, "Chunk size"). */
    public static final int DEFAULT_CHUNK_BYTES = RaidDefaults.CHUNK_BYTES;
    /** Members are named in request tags by 16 bits; far more than any array needs. */
    public static final int MEMBERS_MAX = 256;

    private final String name;
    private final BlockDevice[] members;
    private final int chunkBlocks;
    private final long memberBlocksUsed;
    private final Geometry geometry;
    private volatile boolean closed;

    public Raid0Volume(String name, List<BlockDevice> members) {
        this(name, members, DEFAULT_CHUNK_BYTES);
    }

    /** Throws {@link IllegalArgumentException} when the members cannot form a volume with this chunk. */
    public Raid0Volume(String name, List<BlockDevice> members, int chunkBytes) {
        if (members.size() < 2 || members.size() > MEMBERS_MAX) {
            throw new IllegalArgumentException("raid0 '" + name + "' needs 2 to " + MEMBERS_MAX + " members, got " + members.size());
        }
        this.name = name;
        this.members = members.toArray(BlockDevice[]::new);
        Geometry first = this.members[0].geometry();
        int blockBytes = first.logicalBlockBytes();
        if (chunkBytes < blockBytes || chunkBytes % blockBytes != 0) {
            throw new IllegalArgumentException("raid0 '" + name + "': chunk " + chunkBytes + " bytes is not a whole number of "
                    + blockBytes + "-byte blocks");
        }
        this.chunkBlocks = chunkBytes / blockBytes;
        MemberGeometry common = MemberGeometry.of("raid0", name, this.members);
        long smallest = common.smallestBlocks();
        int memberTransferMax = common.transferBlocksMax(), segmentsMax = common.segmentsMax();
        boolean persistent = common.persistent();
        if (chunkBlocks > memberTransferMax) {
            throw new IllegalArgumentException("raid0 '" + name + "': chunk of " + chunkBlocks + " blocks exceeds a member's largest transfer ("
                    + memberTransferMax + " blocks)");
        }
        this.memberBlocksUsed = smallest / chunkBlocks * chunkBlocks;
        if (memberBlocksUsed == 0) {
            throw new IllegalArgumentException("raid0 '" + name + "': the smallest member (" + smallest + " blocks) holds no whole chunk");
        }
        int stripeBlocks = Math.multiplyExact(chunkBlocks, this.members.length);
        // Pieces are at most a chunk, so any transfer fits the members; bound it by the larger of a member's
        // limit and a full stripe, so that one request is at most about (that / chunk + 1) member requests.
        int transferMax = Math.max(memberTransferMax, stripeBlocks);
        this.geometry = new Geometry(blockBytes, memberBlocksUsed * this.members.length, stripeBlocks, transferMax,
                segmentsMax, persistent, common.capabilities()); // DISCARD and WRITE_ZEROES go to the members as they are
    }

    @Override public String name() { return name; }
    @Override public Geometry geometry() { return geometry; }
    public int memberCount() { return members.length; }
    public BlockDevice member(int index) { return members[index]; }
    public int chunkBlocks() { return chunkBlocks; }
    /** Blocks of each member the volume uses (from member block 0). */
    public long memberBlocksUsed() { return memberBlocksUsed; }

    /** The member holding volume block {@code lba} (md raid0: chunk mod N). */
    public int memberOf(long lba) {
        return (int) (lba / chunkBlocks % members.length);
    }

    /** Where volume block {@code lba} sits on its member (md raid0: (chunk / N) * chunk + offset in chunk). */
    public long memberLbaOf(long lba) {
        long chunk = lba / chunkBlocks;
        return chunk / members.length * chunkBlocks + (lba - chunk * chunkBlocks);
    }

    @Override
    public BlockChannel openChannel(Reactor reactor) {
        Check.that(reactor.isOwnerThread(), "openChannel on the reactor's thread");
        if (closed) throw new IllegalStateException("volume " + name + " is closed");
        BlockChannel[] channels = new BlockChannel[members.length];
        try {
            for (int i = 0; i < members.length; i++) channels[i] = members[i].openChannel(reactor);
        } catch (RuntimeException e) {
            for (BlockChannel c : channels) if (c != null) c.close();
            throw e;
        }
        return new Raid0Channel(this, reactor, channels);
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (BlockDevice m : members) m.close();
    }

    @Override
    public String describe() {
        StringBuilder b = new StringBuilder("raid0(chunk=").append((long) chunkBlocks * geometry.logicalBlockBytes() / 1024).append("K: ");
        for (int i = 0; i < members.length; i++) b.append(i == 0 ? "" : ", ").append(members[i].describe());
        return b.append(')').toString();
    }
}
