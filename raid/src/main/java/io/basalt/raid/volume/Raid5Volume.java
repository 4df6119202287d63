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
 * <p>Stripe ordering: every stripe has one owner, the {@link StripeTable} of reactor (stripe mod reactors), which
 * keeps its stripes in progress for every channel on that reactor. A step on another reactor asks the owner for the stripe by a
 * posted command, does its member I/O itself on its own reactor once granted, and posts the release.
 * So writes to one stripe never interleave whichever reactors submit them, and one reactor's own stripes
 * cost no message. Open every reactor's channel before I/O starts (the owner map must not change under I/O).
 *
 * <p>Member states: an {@link AtomicIntegerArray} read at every stripe step and failed by compare-and-set,
 * as in {@link Raid1Volume}.
 */
public final class Raid5Volume implements RedundantVolume {
    /** The measured default of every striped volume, {@link RaidDefaults#CHUNK_BYTES} (docs/raid.md, "Chunk size"). */
    public static final int DEFAULT_CHUNK_BYTES = RaidDefaults.CHUNK_BYTES;
    public static final int MEMBERS_MIN = 3, MEMBERS_MAX = 32;
    /** Reactors (stripe owners) one volume serves; sizes each owner's table of stripes in progress at first. */
    public static final int OWNERS_MAX = 8;
    /** Counter indexes, see {@link #counter(int)}. */
    public static final int MEMBER_FAILURES = 0, FULL_STRIPE_WRITES = 1, RMW_WRITES = 2, RCW_WRITES = 3,
            DEGRADED_WRITES = 4, RECONSTRUCT_READS = 5, STRIPE_WAITS = 6, REMOTE_LOCKS = 7;
    /** Write requests that joined another request's stripe step instead of a step of their own (Raid5Channel, coalescing). */
    public static final int COALESCED_WRITES = 8;
    public static final String[] COUNTER_NAMES = {"member_failures", "full_stripe_writes", "rmw_writes", "rcw_writes",
            "degraded_writes", "reconstruct_reads", "stripe_waits", "remote_locks", "coalesced_writes"};

    private static final int ACTIVE = 0, FAILED = 1, REBUILDING = 2;

    private final String name;
    /** Replaced only by {@link #replaceMember} (a failed member's slot), under this object's lock. */
    private final BlockDevice[] members;
    private final Raid5Layout layout;
    private final int chunkBlocks;
    private final long memberBlocksUsed;
    /** The request limits of the members the volume was built on: a replacement must take as much. */
    private final int memberTransferBlocksMax;
    private final Geometry geometry;
    private final AtomicIntegerArray states;
    private final AtomicLongArray counters = new AtomicLongArray(COUNTER_NAMES.length);
    private volatile boolean closed;
    private volatile WriteIntent writeIntent;
    /**
     * The stripe owners: one table per reactor, in the order the reactors opened their first channel; stripe s is
     * ordered by tables[s mod tables.length]. Every channel on a reactor uses its table, so a channel's close never
     * moves a stripe (see {@link StripeTable}). Copied on write (control path), read on every writing step.
     */
    private volatile StripeTable[] tables = new StripeTable[0];
    /** The channel that writes the partial parity log (null before the first channel, or without a log). */
    private volatile Raid5Channel pplWriter;
    private final List<Reactor> ownerReactors = new java.util.ArrayList<>();
    /** Replaced only with a member (replaceMember), under this object's lock. */
    private volatile PplAreas ppl;

    public Raid5Volume(String name, List<BlockDevice> members) {
        this(name, members, DEFAULT_CHUNK_BYTES, Raid5Algorithm.LEFT_SYMMETRIC);
    }

    public Raid5Volume(String name, List<BlockDevice> members, int chunkBytes) {
        this(name, members, chunkBytes, Raid5Algorithm.LEFT_SYMMETRIC);
    }

    /** Throws {@link IllegalArgumentException} when the members cannot form a RAID5 volume with this chunk. */
    public Raid5Volume(String name, List<BlockDevice> members, int chunkBytes, Raid5Algorithm algorithm) {
        this(name, members, chunkBytes, algorithm, null);
    }

    /**
     * With md's partial parity log in {@code ppl} (null: none): every write step logs its partial parity to the PPL
     * area of its stripe's parity member before writing (see {@link PartialParityLog}). The volume claims the areas.
     */
    public Raid5Volume(String name, List<BlockDevice> members, int chunkBytes, Raid5Algorithm algorithm, PplAreas ppl) {
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
        this.memberTransferBlocksMax = memberTransferMax;
        this.memberBlocksUsed = smallest / chunkBlocks * chunkBlocks;
        if (memberBlocksUsed == 0) {
            throw new IllegalArgumentException("raid5 '" + name + "': the smallest member (" + smallest + " blocks) holds no whole chunk");
        }
        this.states = new AtomicIntegerArray(this.members.length);
        int stripeBlocks = Math.multiplyExact(chunkBlocks, this.members.length - 1);
        this.geometry = new Geometry(blockBytes, memberBlocksUsed * (this.members.length - 1), stripeBlocks,
                Math.max(memberTransferMax, stripeBlocks), segmentsMax, persistent, Raid5Discard.capabilities(common.capabilities(), chunkBlocks, stripeBlocks));
        this.ppl = ppl;
        if (ppl != null) checkPpl(ppl, blockBytes, chunkBytes);
    }

    private void checkPpl(PplAreas areas, int blockBytes, int chunkBytes) {
        if (areas.devices().size() != members.length) {
            throw new IllegalArgumentException("raid5 '" + name + "': " + areas.devices().size() + " PPL areas for "
                    + members.length + " members");
        }
        for (BlockDevice d : areas.devices()) {
            if (d.geometry().logicalBlockBytes() != blockBytes) {
                throw new IllegalArgumentException("raid5 '" + name + "': PPL area " + d.name() + " has "
                        + d.geometry().logicalBlockBytes() + "-byte blocks, the members " + blockBytes);
            }
        }
        if (areas.areaBytesMin() < PplAreas.HEADER_BYTES + (long) chunkBytes) {
            throw new IllegalArgumentException("raid5 '" + name + "': a PPL area of " + areas.areaBytesMin()
                    + " bytes cannot hold the 4 KiB header and one chunk (" + chunkBytes + " bytes) of partial parity");
        }
    }

    /** The partial parity log areas, or null without PPL. */
    public PplAreas ppl() {
        return ppl;
    }

    /**
     * The write-intent record (md's bitmap) every write goes through before its member writes, or null for none.
     * Set by the control plane before the volume takes I/O (assembly, creation), or with no write in flight.
     */
    public void setWriteIntent(WriteIntent intent) {
        this.writeIntent = intent;
    }

    public WriteIntent writeIntent() {
        return writeIntent;
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
        return markFailedQuietly(memberIndex);
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

    /** A member the data path (or a sync step) found failing: marked once, counted, and the listener told. */
    boolean markFailed(int memberIndex) {
        if (!markFailedQuietly(memberIndex)) return false;
        FailureListener l = listener;
        if (l != null) l.memberFailed(this, memberIndex);
        return true;
    }

    private boolean markFailedQuietly(int memberIndex) {
        if (!states.compareAndSet(memberIndex, ACTIVE, FAILED) && !states.compareAndSet(memberIndex, REBUILDING, FAILED)) return false;
        counters.incrementAndGet(MEMBER_FAILURES);
        return true;
    }

    /** Told when I/O fails a member (not {@link #fail}); runs on the reactor thread that saw it: short, never blocking. */
    @FunctionalInterface
    public interface FailureListener {
        void memberFailed(Raid5Volume volume, int memberIndex);
    }

    private volatile FailureListener listener;

    public void setFailureListener(FailureListener listener) {
        this.listener = listener;
    }

    /** {@link RedundantVolume}'s listener: the data path's failures, as an I/O error. */
    @Override
    public void setMemberFailureListener(MemberFailureListener l) {
        setFailureListener(l == null ? null : (volume, member) -> l.memberFailed(member, Status.IO_ERROR));
    }

    void count(int index) {
        counters.incrementAndGet(index);
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public synchronized BlockChannel openChannel(Reactor reactor) { // synchronized: the PPL owner and stripe owners decided together
        Check.that(reactor.isOwnerThread(), "openChannel on the reactor's thread");
        if (closed) throw new IllegalStateException("volume " + name + " is closed");
        // One log writer per member area (md's recovery reads one io_unit sequence per member): the first reactor's.
        // The writer is the channel that opened the log areas; another takes over only once it is released (closed,
        // its last request done). It was owners[0] before, which after channels closed on two reactors and one
        // opened on the second named a released channel with closed log areas: every logged write failed its
        // members (Raid5Test.aChannelOpenedAfterEveryOwnerClosedWritesAllStripesWithoutFailingMembers).
        Raid5Channel writer = pplWriter;
        boolean logOwner = ppl != null && (writer == null || writer.isReleased());
        BlockChannel[] channels = new BlockChannel[members.length];
        BlockChannel[] logs = logOwner ? new BlockChannel[members.length] : null;
        try {
            for (int i = 0; i < members.length; i++) channels[i] = openMember(i, reactor);
            if (logs != null) {
                for (int i = 0; i < members.length; i++) if (channels[i] != null) logs[i] = ppl.devices().get(i).openChannel(reactor);
            }
        } catch (RuntimeException e) {
            for (BlockChannel c : channels) if (c != null) c.close();
            if (logs != null) for (BlockChannel c : logs) if (c != null) c.close();
            throw e;
        }
        Raid5Channel channel = new Raid5Channel(this, reactor, channels, logs, ownerTable(reactor));
        if (logOwner) pplWriter = channel;
        channels(channel);
        return channel;
    }

    /**
     * The reactor's table of stripes, made with its first channel: the reactor then orders every (owner count)-th
     * stripe for as long as it runs, whichever of its channels open and close (the table holds the stripes granted
     * to other reactors' steps, which a channel's successor must see). A new reactor takes the place of one that
     * stopped (a benchmark run's reactors end, the next run's start), so owners never name a reactor that is gone.
     * Open every reactor's channel before I/O starts: a new owner changes the map (a stripe would then have two
     * owners under I/O). On the reactor's thread (the table is one of its pollers), under this object's lock.
     */
    private StripeTable ownerTable(Reactor reactor) {
        int index = ownerReactors.indexOf(reactor);
        if (index >= 0) return tables[index];
        StripeTable table = new StripeTable(this, reactor, StripeTable.ENTRIES_INITIAL);
        reactor.addPoller(table); // sends the answers a full command queue refused, whatever channels are open
        StripeTable[] next = null;
        for (int i = 0; i < tables.length && next == null; i++) {
            if (!tables[i].reactor.isRunning()) {
                ownerReactors.set(i, reactor);
                next = tables.clone();
                next[i] = table;
            }
        }
        if (next == null) {
            Check.that(ownerReactors.size() < OWNERS_MAX, "at most OWNERS_MAX reactors per raid5 volume", ownerReactors.size());
            ownerReactors.add(reactor);
            next = java.util.Arrays.copyOf(tables, tables.length + 1);
            next[next.length - 1] = table;
        }
        tables = next;
        return table;
    }

    /**
     * Names of {@link #pplCounters()}, in order: io_unit versions, entries, flushes (log and data), write steps,
     * drains, log write requests (header and partial parity), data member flushes, and the nanoseconds steps waited
     * in the log in all (from the log owner's taking the step to its release).
     */
    public static final List<String> PPL_COUNTER_NAMES = List.of("units", "entries", "flushes", "steps", "drains", "log_writes",
            "data_flushes", "wait_ns");

    /**
     * The partial parity log's counters ({@link #PPL_COUNTER_NAMES}), read on the log owner's reactor or once its I/O
     * has drained (benchmarks); empty without PPL or before a channel opened.
     */
    public long[] pplCounters() {
        Raid5Channel writer = pplWriter;
        PartialParityLog log = writer == null ? null : writer.pplLog();
        if (log == null) return new long[0];
        long[] values = new long[PPL_COUNTER_NAMES.size()];
        for (int i = 0; i < values.length; i++) values[i] = log.counter(i);
        return values;
    }

    /** The channel that writes the partial parity log: the one holding the log areas' channels. */
    Raid5Channel pplOwner() {
        return pplWriter;
    }

    /** The table that orders writes to {@code stripe}. */
    StripeTable ownerOf(long stripe) {
        StripeTable[] snapshot = tables;
        return snapshot[(int) (stripe % snapshot.length)];
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (StripeTable t : tables) { // each leaves its reactor's pollers on its own thread (a stopped reactor has none)
            if (t.reactor.isOwnerThread()) t.reactor.removePoller(t);
            else t.reactor.post(() -> t.reactor.removePoller(t));
        }
        for (BlockDevice m : members) m.close();
        if (ppl != null) for (BlockDevice d : ppl.devices()) d.close();
    }

    @Override
    public void checkRequestLimits(BlockDevice device) {
        MemberGeometry.checkRequestLimits(device, memberTransferBlocksMax, geometry.maxSegments());
    }

    @Override
    public String describe() {
        StringBuilder b = new StringBuilder("raid5(").append(layout.algorithm().name().toLowerCase()).append(", chunk=")
                .append((long) chunkBlocks * geometry.logicalBlockBytes() / 1024).append("K: ");
        for (int i = 0; i < members.length; i++) {
            b.append(i == 0 ? "" : ", ").append(members[i].describe());
            if (states.get(i) == FAILED) b.append(" [failed]");
            if (states.get(i) == REBUILDING) b.append(" [rebuilding]");
        }
        return b.append(')').toString();
    }

    // ------------------------------------------------------------------ rebuild, resync, check, repair (docs/raid.md "Sync jobs")

    /** Serializes member replacements, which wait for the reactors (see {@link #replaceMember(int, BlockDevice, BlockDevice)}). */
    private final Object replacing = new Object();
    /** Every channel opened on the volume (the data path's and the sync jobs'): a member replacement reaches each. */
    private final java.util.concurrent.CopyOnWriteArrayList<Raid5Channel> allChannels = new java.util.concurrent.CopyOnWriteArrayList<>();
    /**
     * The rebuilding member's recovery position in stripes: below it the member is in sync (read and written
     * as any member); at or above it, it is written by every step (never read) and rebuilt by the job.
     */
    private volatile long recoveryStripe = Long.MAX_VALUE;
    private final java.util.concurrent.atomic.AtomicLong mismatchSectors = new java.util.concurrent.atomic.AtomicLong();

    private void channels(Raid5Channel channel) {
        allChannels.add(channel);
    }

    /**
     * Raid5 channels created and not yet released, the log writer among them. A closed writer is not released while
     * others live: their steps still post their partial parity to its log, and a released writer has closed its log
     * areas (the steps failed with DEVICE_GONE, seen with two bench jobs closing in turn; docs/raid.md "PPL cost").
     */
    private final java.util.concurrent.atomic.AtomicInteger liveChannels = new java.util.concurrent.atomic.AtomicInteger();

    void channelCreated() {
        liveChannels.incrementAndGet();
    }

    boolean holdsLog(Raid5Channel channel) {
        return channel == pplWriter && liveChannels.get() > 1;
    }

    /** Any reactor's thread: the last other channel gone, a held writer is told to release on its own reactor. */
    void channelReleased(Raid5Channel channel) {
        int left = liveChannels.decrementAndGet();
        Raid5Channel writer = pplWriter;
        if (left == 1 && writer != null && writer != channel && !writer.isReleased()) {
            writer.reactor.post(writer::releaseIfDone); // refused only by a stopped reactor, whose channels are gone
        }
    }

    /** Whether a step writes the member: active, or rebuilding (it is written everywhere, see Raid5Channel.sync). */
    boolean isWritable(int memberIndex) {
        return states.get(memberIndex) != FAILED;
    }

    public boolean isRebuilding(int memberIndex) {
        return states.get(memberIndex) == REBUILDING;
    }

    /**
     * The member a step on {@code stripe} must treat as missing (never read), or -1: a failed member, or the
     * rebuilding member at or above its recovery position. Read once per plan, after the step holds its
     * stripe or in the same reactor call that takes it (see docs/raid.md, "Sync jobs", for why that is enough).
     */
    int failedMemberAt(long stripe) {
        for (int i = 0; i < members.length; i++) {
            int s = states.get(i);
            if (s == ACTIVE || (s == REBUILDING && stripe < recoveryStripe)) continue;
            return i;
        }
        return -1;
    }

    /** Member state names for status: active, faulty, rebuilding. */
    public String memberStateName(int memberIndex) {
        return switch (states.get(memberIndex)) {
            case ACTIVE -> "active";
            case REBUILDING -> "rebuilding";
            default -> "faulty";
        };
    }

    /** The recovery position in member blocks (the rebuilding member's recovery_offset), or -1 when none rebuilds. */
    public long recoveryMemberBlocks() {
        return rebuildingMember() < 0 ? -1 : Math.min(recoveryStripe, unitCount()) * chunkBlocks;
    }

    /**
     * Puts {@code device} in the place of failed member {@code memberIndex} on every channel (each swaps its
     * member channel on its own reactor, posted; this waits), then marks it rebuilding from stripe 0. The old
     * device is closed. Control plane only; throws IllegalArgumentException / IllegalStateException with the reason.
     */
    public void replaceMember(int memberIndex, BlockDevice device) {
        replaceMember(memberIndex, device, null);
    }

    /**
     * As {@link #replaceMember(int, BlockDevice)}, for a volume with a partial parity log: {@code pplArea} is the new
     * member's log area (initialized empty by the caller), which the log writer takes over with the member.
     *
     * <p>The wait for the reactors holds {@link #replacing}, never this object's lock: a reactor thread opening a channel
     * (synchronized, a control-plane write opens one per request) would otherwise wait for the lock while the lock's
     * holder waits for that reactor to run the swap, a deadlock the swap's 30 s timeout broke with the write unanswered
     * (RaidSyncRpcTest's spare takeover under writes; Raid5SyncTest.aChannelOpenedWhileAMemberIsReplacedNeitherWaitsForTheOther).
     */
    public void replaceMember(int memberIndex, BlockDevice device, BlockDevice pplArea) {
        synchronized (replacing) {
            List<Raid5Channel> channels;
            BlockDevice old;
            synchronized (this) { // with openChannel: a channel opened meanwhile has the new device or is in the list
                Check.that(memberIndex >= 0 && memberIndex < members.length, "member index in range", memberIndex);
                if (states.get(memberIndex) != FAILED) throw new IllegalStateException("member " + memberIndex + " of " + name + " is not failed");
                if (failedCount() != 1) throw new IllegalStateException(name + " has " + failedCount() + " members out: cannot rebuild");
                MemberGeometry.checkReplacement(device, geometry.logicalBlockBytes(), memberBlocksUsed, memberTransferBlocksMax, geometry.maxSegments());
                if (ppl != null) {
                    if (pplArea == null) throw new IllegalArgumentException("raid5 '" + name + "' keeps a partial parity log: the replacement needs its log area");
                    List<BlockDevice> areas = new java.util.ArrayList<>(ppl.devices());
                    areas.set(memberIndex, pplArea);
                    ppl = new PplAreas(areas, ppl.signature());
                }
                old = members[memberIndex];
                members[memberIndex] = device;
                channels = List.copyOf(allChannels);
            }
            VolumeChannel.swapMember(channels, memberIndex, device); // waits for the reactors: no lock they take is held
            synchronized (this) {
                recoveryStripe = 0;
                states.set(memberIndex, REBUILDING);
            }
            old.close();
        }
    }

    /**
     * Marks an active member rebuilding from {@code fromMemberBlock} (an assembled array whose member's superblock
     * says it is in recovery). Before any I/O on the volume.
     */
    public synchronized void resumeRebuild(int memberIndex, long fromMemberBlock) {
        Check.that(memberIndex >= 0 && memberIndex < members.length, "member index in range", memberIndex);
        if (failedCount() != 0) throw new IllegalStateException(name + " has " + failedCount() + " members out: cannot rebuild member " + memberIndex);
        recoveryStripe = Math.max(0, fromMemberBlock) / chunkBlocks;
        states.set(memberIndex, REBUILDING);
    }

    /**
     * Opens a channel for a sync job. It uses its reactor's table when the reactor orders stripes, and makes its
     * reactor an owner only when none is yet (a rebuild resumed at assembly, before any export); otherwise its steps
     * ask the owners, as any step on a reactor that orders none: a sync job's reactor joining the owners would move
     * stripes under I/O.
     */
    private synchronized Raid5Channel openSyncChannel(Reactor reactor) { // as openChannel: consistent with a replacement's list
        int index = ownerReactors.indexOf(reactor);
        StripeTable table = index >= 0 ? tables[index]
                : tables.length == 0 ? ownerTable(reactor) : new StripeTable(this, reactor, 0); // the latter orders nothing
        BlockChannel[] channels = new BlockChannel[members.length];
        for (int i = 0; i < members.length; i++) channels[i] = openMember(i, reactor);
        Raid5Channel channel = new Raid5Channel(this, reactor, channels, null, table); // sync steps log nothing (see docs/raid.md, "Write hole")
        allChannels.add(channel);
        return channel;
    }

    /**
     * A member's channel on {@code reactor}; null for a failed member that is absent (assembled without it: an
     * {@link OffsetDevice#missing}), which no step addresses and {@link #replaceMember} fills in.
     */
    private BlockChannel openMember(int index, Reactor reactor) {
        if (!isActive(index) && !isRebuilding(index) && members[index] instanceof OffsetDevice slice && slice.isMissing()) return null;
        return members[index].openChannel(reactor);
    }

    void addMismatchSectors(long sectors) {
        mismatchSectors.addAndGet(sectors);
    }

    @Override public long unitCount() { return memberBlocksUsed / chunkBlocks; }
    @Override public long unitMemberBlocks() { return chunkBlocks; }
    @Override public int blockBytes() { return geometry.logicalBlockBytes(); }
    @Override public int unitsInFlightMax() { return SyncJob.IN_FLIGHT_MAX; }
    @Override public long recoveryUnit() { return rebuildingMember() < 0 ? unitCount() : Math.min(recoveryStripe, unitCount()); }
    @Override public long mismatchSectors() { return mismatchSectors.get(); }
    @Override public void resetMismatches() { mismatchSectors.set(0); }
    @Override public void beforeUnit(long unit) {}
    @Override public void afterUnit(long unit) {}

    @Override
    public int rebuildingMember() {
        for (int i = 0; i < members.length; i++) if (states.get(i) == REBUILDING) return i;
        return -1;
    }

    @Override
    public String refusal(int action) {
        if (closed) return name + " is closed";
        int out = failedCount();
        if (action == SyncJob.REBUILD) {
            if (rebuildingMember() < 0) return name + " has no member to rebuild (add one with raid_add_member)";
            return out > 1 ? name + " has another member out besides the one rebuilding" : null;
        }
        return out > 0 ? name + " is degraded: " + SyncJob.ACTION_NAMES[action] + " needs every member (rebuild first)" : null;
    }

    /** The job's channel: its own, on its reactor's table of stripes if the reactor has one (see {@link #openSyncChannel}). */
    @Override
    public Worker openWorker(Reactor reactor) {
        Raid5Channel channel = openSyncChannel(reactor);
        return new Worker() {
            @Override
            public boolean submit(long unit, int action, long tag, io.basalt.engine.IoCompletion done) {
                return channel.sync(unit, action, tag, done);
            }

            @Override
            public void close() {
                channel.close();
                allChannels.remove(channel);
            }
        };
    }

    @Override
    public void recoveredTo(long unit) {
        if (recoveryStripe == Long.MAX_VALUE) return; // nothing rebuilding
        recoveryStripe = Math.max(recoveryStripe, unit);
    }

    @Override
    public synchronized void finishRebuild() {
        int member = rebuildingMember();
        if (member < 0) return;
        recoveryStripe = Long.MAX_VALUE;
        states.compareAndSet(member, REBUILDING, ACTIVE);
    }
}
