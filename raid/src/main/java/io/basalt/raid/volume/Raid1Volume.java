package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.shims.Check;

import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * RAID1: an n-way mirror. Writes, flushes, discards and write-zeroes go to every active member and succeed
 * when at least one member took them; a member that fails one is marked {@link MemberState#FAILED}. Reads
 * go to one active member, round-robin per request on each channel, and move to another active member when
 * one answers with an error (which marks it failed). With no active member left a request fails
 * (DEVICE_GONE, or the members' error): never wrong data.
 *
 * <p>Member states are the one piece of state shared between threads: an {@link AtomicIntegerArray} that the
 * data path reads (a volatile load per member per request) and changes with a compare-and-set (so each
 * failure is reported exactly once, whoever sees it first: a reactor or the control plane). No lock.
 * Once failed, a member gets no new request; requests already in flight on it finish.
 *
 * <p>The volume claims its members and closes them when it closes.
 */
public final class Raid1Volume implements RedundantVolume {
    public static final int MEMBERS_MAX = 32; // a read's tried-members set is an int bit mask

    public enum MemberState { ACTIVE, FAILED, REBUILDING }

    /** Told when a member goes from ACTIVE to FAILED. Runs on the thread that saw it: keep it short, never block. */
    @FunctionalInterface
    public interface FailureListener {
        /** @param status the I/O status that failed the member, or {@link #FAILED_BY_REQUEST} for {@link #fail} */
        void memberFailed(Raid1Volume volume, int memberIndex, int status);
    }

    public static final int FAILED_BY_REQUEST = -1;
    /** Counter indexes, see {@link #counter(int)}. */
    public static final int MEMBER_FAILURES = 0, DEGRADED_WRITES = 1, READ_RETRIES = 2;
    public static final String[] COUNTER_NAMES = {"member_failures", "degraded_writes", "read_retries"};

    private static final int ACTIVE = 0, FAILED = 1, REBUILDING = 2;

    private final String name;
    private final BlockDevice[] members;
    private final Geometry geometry;
    private final AtomicIntegerArray states;
    private final AtomicLongArray counters = new AtomicLongArray(COUNTER_NAMES.length);
    private volatile FailureListener listener;
    private volatile boolean closed;
    private volatile WriteIntent writeIntent;

    /** Throws {@link IllegalArgumentException} when the members cannot form a mirror. */
    public Raid1Volume(String name, List<BlockDevice> members) {
        if (members.size() < 2 || members.size() > MEMBERS_MAX) {
            throw new IllegalArgumentException("raid1 '" + name + "' needs 2 to " + MEMBERS_MAX + " members, got " + members.size());
        }
        this.name = name;
        this.members = members.toArray(BlockDevice[]::new);
        this.states = new AtomicIntegerArray(this.members.length);
        int blockBytes = this.members[0].geometry().logicalBlockBytes();
        MemberGeometry common = MemberGeometry.of("raid1", name, this.members);
        long smallest = common.smallestBlocks();
        int transferMax = common.transferBlocksMax(), segmentsMax = common.segmentsMax();
        boolean persistent = common.persistent();
        // Every operation goes to every member: one that a member cannot do is not offered (a mirror whose members
        // discard differently may then read back zeroes from one and old data from another, both allowed).
        this.geometry = new Geometry(blockBytes, smallest, 1, transferMax, segmentsMax, persistent, common.capabilities());
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

    public void setFailureListener(FailureListener listener) {
        this.listener = listener;
    }

    /** {@link RedundantVolume}'s listener: I/O failures only ({@link #fail} is the caller's own doing). */
    @Override
    public void setMemberFailureListener(MemberFailureListener l) {
        setFailureListener(l == null ? null : (volume, member, status) -> {
            if (status != FAILED_BY_REQUEST) l.memberFailed(member, status);
        });
    }

    /** Marks a member failed (the control plane's raid_fail_member). Any thread. False if it already was. */
    public boolean fail(int memberIndex) {
        Check.that(memberIndex >= 0 && memberIndex < members.length, "member index in range", memberIndex);
        return markFailed(memberIndex, FAILED_BY_REQUEST);
    }

    /** Any thread: a snapshot of the member states. */
    public MemberState[] memberStates() {
        MemberState[] result = new MemberState[members.length];
        for (int i = 0; i < result.length; i++) result[i] = MemberState.values()[states.get(i)];
        return result;
    }

    public boolean isDegraded() {
        return activeCount() < members.length;
    }

    public int activeCount() {
        int n = 0;
        for (int i = 0; i < members.length; i++) if (states.get(i) == ACTIVE) n++;
        return n;
    }

    public long counter(int index) {
        return counters.get(index);
    }

    // ------------------------------------------------------------------ for channels (any reactor)

    boolean isActive(int memberIndex) {
        return states.get(memberIndex) == ACTIVE;
    }

    /** Whether {@code status} from a member means the member is bad, not the request (the volume checked it). */
    static boolean isMemberFault(int status) {
        return status == Status.IO_ERROR || status == Status.DEVICE_GONE || status == Status.NO_SPACE
                || status == Status.READ_ONLY;
    }

    /** Marks the member failed once, counts it and tells the listener. */
    boolean markFailed(int memberIndex, int status) {
        if (!states.compareAndSet(memberIndex, ACTIVE, FAILED) && !states.compareAndSet(memberIndex, REBUILDING, FAILED)) return false;
        counters.incrementAndGet(MEMBER_FAILURES);
        FailureListener l = listener;
        if (l != null) l.memberFailed(this, memberIndex, status);
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
        for (int i = 0; i < members.length; i++) {
            try {
                channels[i] = members[i].openChannel(reactor);
            } catch (RuntimeException e) { // a member that cannot open is a failed member, not a failed volume
                markFailed(i, Status.DEVICE_GONE);
            }
        }
        Raid1Channel channel = new Raid1Channel(this, reactor, channels);
        allChannels.add(channel);
        return channel;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (BlockDevice m : members) m.close();
    }

    @Override
    public String describe() {
        StringBuilder b = new StringBuilder("raid1(");
        MemberState[] s = memberStates();
        for (int i = 0; i < members.length; i++) {
            b.append(i == 0 ? "" : ", ").append(members[i].describe());
            if (s[i] == MemberState.FAILED) b.append(" [failed]");
            if (s[i] == MemberState.REBUILDING) b.append(" [rebuilding]");
        }
        return b.append(')').toString();
    }

    // ------------------------------------------------------------------ rebuild, resync, check, repair (docs/raid.md "Sync jobs")

    /** Most blocks one sync unit (a window behind the write barrier) covers: 1 MiB. */
    static final int WINDOW_BYTES = 1 << 20;
    private final java.util.concurrent.CopyOnWriteArrayList<Raid1Channel> allChannels = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** The window [start, end) in blocks that writes must not enter while the job syncs it; null when none. */
    private volatile long[] barrier;
    /** Writes count themselves in their channel under epoch parity; the job flips it and waits for the old one. */
    private volatile int epoch;
    private volatile long recoveryUnit = Long.MAX_VALUE;
    private final java.util.concurrent.atomic.AtomicLong mismatchSectors = new java.util.concurrent.atomic.AtomicLong();

    /** Whether writes go to the member: active, or rebuilding (written everywhere, never read). */
    boolean isWritable(int memberIndex) {
        return states.get(memberIndex) != FAILED;
    }

    int epoch() {
        return epoch;
    }

    /** Whether a write of [lba, lba + blocks) must wait: it overlaps the window being synced. */
    boolean barrierBlocks(long lba, long blocks) {
        long[] w = barrier;
        return w != null && blocks > 0 && lba < w[1] && lba + blocks > w[0];
    }

    public String memberStateName(int memberIndex) {
        return switch (states.get(memberIndex)) {
            case ACTIVE -> "active";
            case REBUILDING -> "rebuilding";
            default -> "faulty";
        };
    }

    /** The recovery position in member blocks, or -1 when no member rebuilds. */
    public long recoveryMemberBlocks() {
        return rebuildingMember() < 0 ? -1 : Math.min(recoveryUnit() * windowBlocks(), geometry.blockCount());
    }

    private int windowBlocks() {
        return Math.max(1, Math.min(WINDOW_BYTES / geometry.logicalBlockBytes(), geometry.maxTransferBlocks()));
    }

    @Override
    public void checkRequestLimits(BlockDevice device) {
        MemberGeometry.checkRequestLimits(device, geometry.maxTransferBlocks(), geometry.maxSegments());
    }

    /** As {@link Raid5Volume#replaceMember}: the failed member's place on every channel, then rebuilding from 0. */
    public synchronized void replaceMember(int memberIndex, BlockDevice device) {
        Check.that(memberIndex >= 0 && memberIndex < members.length, "member index in range", memberIndex);
        if (states.get(memberIndex) != FAILED) throw new IllegalStateException("member " + memberIndex + " of " + name + " is not failed");
        if (activeCount() == 0) throw new IllegalStateException(name + " has no active member to rebuild from");
        if (rebuildingMember() >= 0) throw new IllegalStateException(name + " already rebuilds member " + rebuildingMember());
        MemberGeometry.checkReplacement(device, geometry.logicalBlockBytes(), geometry.blockCount(), geometry.maxTransferBlocks(),
                geometry.maxSegments());
        BlockDevice old = members[memberIndex];
        members[memberIndex] = device;
        VolumeChannel.swapMember(allChannels, memberIndex, device);
        recoveryUnit = 0;
        states.set(memberIndex, REBUILDING);
        old.close();
    }

    /** An assembled member whose superblock says it is in recovery: rebuilding from {@code fromMemberBlock}. Before any I/O. */
    public synchronized void resumeRebuild(int memberIndex, long fromMemberBlock) {
        Check.that(memberIndex >= 0 && memberIndex < members.length, "member index in range", memberIndex);
        if (rebuildingMember() >= 0) throw new IllegalStateException(name + " already rebuilds member " + rebuildingMember());
        recoveryUnit = Math.max(0, fromMemberBlock) / windowBlocks();
        states.set(memberIndex, REBUILDING);
    }

    @Override public long unitCount() { return (geometry.blockCount() + windowBlocks() - 1) / windowBlocks(); }
    @Override public long unitMemberBlocks() { return windowBlocks(); }
    @Override public int blockBytes() { return geometry.logicalBlockBytes(); }
    @Override public int unitsInFlightMax() { return 1; } // one barrier window at a time
    @Override public long recoveryUnit() { return rebuildingMember() < 0 ? unitCount() : Math.min(recoveryUnit, unitCount()); }
    @Override public long mismatchSectors() { return mismatchSectors.get(); }
    @Override public void resetMismatches() { mismatchSectors.set(0); }

    void addMismatchSectors(long sectors) {
        mismatchSectors.addAndGet(sectors);
    }

    @Override
    public int rebuildingMember() {
        for (int i = 0; i < members.length; i++) if (states.get(i) == REBUILDING) return i;
        return -1;
    }

    @Override
    public String refusal(int action) {
        if (closed) return name + " is closed";
        if (action == SyncJob.REBUILD) {
            if (rebuildingMember() < 0) return name + " has no member to rebuild (add one with raid_add_member)";
            return activeCount() == 0 ? name + " has no active member to rebuild from" : null;
        }
        return activeCount() < 2 && action != SyncJob.RESYNC || activeCount() == 0
                ? name + " has " + activeCount() + " active members: " + SyncJob.ACTION_NAMES[action] + " needs two" : null;
    }

    @Override
    public Worker openWorker(Reactor reactor) {
        return new Raid1Syncer(this, reactor, windowBlocks());
    }

    /**
     * Raises the write barrier over the unit's window: publish the window, flip the epoch, then wait until no
     * write counted under the old epoch is in flight. A write counts itself (its channel's counter of the epoch
     * it read) and only then reads the window; all of these are volatile, so (sequential consistency) either the
     * job sees the write's count, or the write sees the window and waits.
     */
    @Override
    public void beforeUnit(long unit) throws InterruptedException {
        long start = unit * windowBlocks();
        barrier = new long[] {start, Math.min(start + windowBlocks(), geometry.blockCount())};
        int old = epoch;
        epoch = old + 1;
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            long writes = 0;
            for (Raid1Channel c : allChannels) writes += c.writesInEpoch(old & 1);
            if (writes == 0) return;
            if (System.nanoTime() > deadline) throw new IllegalStateException("writes under the old epoch still in flight after 60 s");
            java.util.concurrent.locks.LockSupport.parkNanos(20_000);
            if (Thread.interrupted()) throw new InterruptedException();
        }
    }

    @Override
    public void afterUnit(long unit) {
        barrier = null;
    }

    @Override
    public void recoveredTo(long unit) {
        if (recoveryUnit != Long.MAX_VALUE) recoveryUnit = Math.max(recoveryUnit, unit);
    }

    @Override
    public synchronized void finishRebuild() {
        int member = rebuildingMember();
        if (member < 0) return;
        recoveryUnit = Long.MAX_VALUE;
        states.compareAndSet(member, REBUILDING, ACTIVE);
    }
}
