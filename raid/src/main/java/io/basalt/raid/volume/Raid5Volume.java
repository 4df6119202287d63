package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.parity.Raid5Layout;
import io.basalt.shims.Check;

import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * RAID5: data striped over N members in chunks with one parity chunk per stripe, placed as Linux md places it
 * ({@link Raid5Layout}, left-symmetric by default). Member blocks count from block 0 (the md data offset is
 * the md-format layer's to apply below). Each member contributes its size rounded down to whole chunks.
 *
 * <p>Writes keep parity consistent: a full-stripe write computes parity with no reads; a partial one reads
 * either the old data and old parity (read-modify-write) or the other data chunks (reconstruct-write),
 * whichever needs fewer member reads. One failed member leaves the volume degraded: reads of its chunks are
 * reconstructed from the others, writes go on (a write to the missing chunk updates the parity only). A
 * second failure fails the volume: every request gets DEVICE_GONE, never wrong data.
 *
 * <p>Stripe ordering: every stripe has one owner, the channel of reactor (stripe mod reactors), which keeps
 * the table of its stripes in progress. A step on another reactor asks the owner for the stripe by a
 * posted command, does its member I/O itself on its own reactor once granted, and posts the release.
 * So writes to one stripe never interleave whichever reactors submit them, and one reactor's own stripes
 * cost no message. Open every reactor's channel before I/O starts (the owner map must not change under I/O).
 *
 * <p>Member states: an {@link AtomicIntegerArray} read at every stripe step and failed by compare-and-set,
 * as in {@link Raid1Volume}.
 */
public final class Raid5Volume implements BlockDevice {
    /** The measured default of every striped volume, {@link RaidDefaults#CHUNK_BYTES} (docs/raid.md, "Chunk size"). */
    public static final int DEFAULT_CHUNK_BYTES = RaidDefaults.CHUNK_BYTES;
    public static final int MEMBERS_MIN = 3, MEMBERS_MAX = 32;
    /** Reactors (stripe owners) one volume serves; bounds each owner's table of stripes in progress. */
    public static final int OWNERS_MAX = 8;
    /** Counter indexes, see {@link #counter(int)}. */
    public static final int MEMBER_FAILURES = 0, FULL_STRIPE_WRITES = 1, RMW_WRITES = 2, RCW_WRITES = 3,
            DEGRADED_WRITES = 4, RECONSTRUCT_READS = 5, STRIPE_WAITS = 6, REMOTE_LOCKS = 7;
    /** Write requests that joined another request's stripe step instead of a step of their own (Raid5Channel, coalescing). */
    public static final int COALESCED_WRITES = 8;
    public static final String[] COUNTER_NAMES = {"member_failures", "full_stripe_writes", "rmw_writes", "rcw_writes",
            "degraded_writes", "reconstruct_reads", "stripe_waits", "remote_locks", "coalesced_writes"};

    private static final int ACTIVE = 0, FAILED = 1;

    private final String name;
    private final BlockDevice[] members;
    private final Raid5Layout layout;
    private final int chunkBlocks;
    private final long memberBlocksUsed;
    private final Geometry geometry;
    private final AtomicIntegerArray states;
    private final AtomicLongArray counters = new AtomicLongArray(COUNTER_NAMES.length);
    private volatile boolean closed;
    /**
     * The stripe owners: one channel per reactor, in the order the reactors opened theirs; stripe s is
     * ordered by owners[s mod owners.length]. Copied on write (control path), read on every writing step.
     */
    private volatile Raid5Channel[] owners = new Raid5Channel[0];
    private final List<Reactor> ownerReactors = new java.util.ArrayList<>();

    public Raid5Volume(String name, List<BlockDevice> members) {
        this(name, members, DEFAULT_CHUNK_BYTES, Raid5Algorithm.LEFT_SYMMETRIC);
    }

    public Raid5Volume(String name, List<BlockDevice> members, int chunkBytes) {
        this(name, members, chunkBytes, Raid5Algorithm.LEFT_SYMMETRIC);
    }

    /** Throws {@link IllegalArgumentException} when the members cannot form a RAID5 volume with this chunk. */
    public Raid5Volume(String name, List<BlockDevice> members, int chunkBytes, Raid5Algorithm algorithm) {
        if (members.size() < MEMBERS_MIN || members.size() > MEMBERS_MAX) {
            throw new IllegalArgumentException("raid5 '" + name + "' needs " + MEMBERS_MIN + " to " + MEMBERS_MAX
                    + " members, got " + members.size());
        }
        this.name = name;
        this.members = members.toArray(BlockDevice[]::new);
        int blockBytes = this.members[0].geometry().logicalBlockBytes();
        if (Integer.bitCount(chunkBytes) != 1 || chunkBytes < 4096 || chunkBytes < blockBytes) {
            throw new IllegalArgumentException("raid5 '" + name + "': chunk " + chunkBytes
                    + " bytes must be a power of two, at least 4 KiB and one block (md's rule)");
        }
        this.layout = new Raid5Layout(algorithm, this.members.length, chunkBytes / Raid5Layout.SECTOR_BYTES);
        this.chunkBlocks = chunkBytes / blockBytes;
        MemberGeometry common = MemberGeometry.of("raid5", name, this.members);
        long smallest = common.smallestBlocks();
        int memberTransferMax = common.transferBlocksMax(), segmentsMax = common.segmentsMax();
        boolean persistent = common.persistent();
        if (chunkBlocks > memberTransferMax) {
            throw new IllegalArgumentException("raid5 '" + name + "': chunk of " + chunkBlocks
                    + " blocks exceeds a member's largest transfer (" + memberTransferMax + " blocks)");
        }
        this.memberBlocksUsed = smallest / chunkBlocks * chunkBlocks;
        if (memberBlocksUsed == 0) {
            throw new IllegalArgumentException("raid5 '" + name + "': the smallest member (" + smallest + " blocks) holds no whole chunk");
        }
        this.states = new AtomicIntegerArray(this.members.length);
        int stripeBlocks = Math.multiplyExact(chunkBlocks, this.members.length - 1);
        this.geometry = new Geometry(blockBytes, memberBlocksUsed * (this.members.length - 1), stripeBlocks,
                Math.max(memberTransferMax, stripeBlocks), segmentsMax, persistent);
    }

    @Override public String name() { return name; }
    @Override public Geometry geometry() { return geometry; }
    public int memberCount() { return members.length; }
    public BlockDevice member(int index) { return members[index]; }
    public Raid5Layout layout() { return layout; }
    public int chunkBlocks() { return chunkBlocks; }
    public long memberBlocksUsed() { return memberBlocksUsed; }
    public long counter(int index) { return counters.get(index); }

    /** Marks a member failed (the control plane's raid_fail_member). Any thread. False if it already was. */
    public boolean fail(int memberIndex) {
        Check.that(memberIndex >= 0 && memberIndex < members.length, "member index in range", memberIndex);
        return markFailed(memberIndex);
    }

    public boolean isActive(int memberIndex) {
        return states.get(memberIndex) == ACTIVE;
    }

    public int failedCount() {
        int n = 0;
        for (int i = 0; i < members.length; i++) if (states.get(i) != ACTIVE) n++;
        return n;
    }

    /** Two or more members lost: the volume answers every request with DEVICE_GONE. */
    public boolean isFailed() {
        return failedCount() >= 2;
    }

    /** The failed member, or -1 when all are active (with two or more failed: the first). */
    int failedMember() {
        for (int i = 0; i < members.length; i++) if (states.get(i) != ACTIVE) return i;
        return -1;
    }

    boolean markFailed(int memberIndex) {
        if (!states.compareAndSet(memberIndex, ACTIVE, FAILED)) return false;
        counters.incrementAndGet(MEMBER_FAILURES);
        return true;
    }

    void count(int index) {
        counters.incrementAndGet(index);
    }

    boolean isClosed() {
        return closed;
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
        Raid5Channel channel = new Raid5Channel(this, reactor, channels);
        registerOwner(reactor, channel);
        return channel;
    }

    /**
     * A reactor's channel becomes the owner of every (owner count)-th stripe; a later channel on the same reactor
     * takes over its place, and so does a channel on a new reactor over a released one (closed and drained:
     * a benchmark run's reactors end, the next run's start), so owners never name a reactor that is gone.
     * Open every reactor's channel before I/O starts: the map must not change under I/O (a stripe would then
     * have two owners).
     */
    private synchronized void registerOwner(Reactor reactor, Raid5Channel channel) {
        int index = ownerReactors.indexOf(reactor);
        if (index < 0) {
            for (int i = 0; i < owners.length && index < 0; i++) {
                if (owners[i].isReleased()) {
                    index = i;
                    ownerReactors.set(i, reactor);
                }
            }
        }
        Raid5Channel[] next;
        if (index < 0) {
            Check.that(ownerReactors.size() < OWNERS_MAX, "at most OWNERS_MAX reactors per raid5 volume", ownerReactors.size());
            ownerReactors.add(reactor);
            next = java.util.Arrays.copyOf(owners, owners.length + 1);
            next[next.length - 1] = channel;
        } else {
            next = owners.clone();
            next[index] = channel;
        }
        owners = next;
    }

    /** The channel that orders writes to {@code stripe}. */
    Raid5Channel ownerOf(long stripe) {
        Raid5Channel[] snapshot = owners;
        return snapshot[(int) (stripe % snapshot.length)];
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (BlockDevice m : members) m.close();
    }

    @Override
    public String describe() {
        StringBuilder b = new StringBuilder("raid5(").append(layout.algorithm().name().toLowerCase()).append(", chunk=")
                .append((long) chunkBlocks * geometry.logicalBlockBytes() / 1024).append("K: ");
        for (int i = 0; i < members.length; i++) {
            b.append(i == 0 ? "" : ", ").append(members[i].describe());
            if (!isActive(i)) b.append(" [failed]");
        }
        return b.append(')').toString();
    }
}
