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
public final class Raid1Volume implements BlockDevice {
    public static final int MEMBERS_MAX = 32; // a read's tried-members set is an int bit mask

    public enum MemberState { ACTIVE, FAILED }

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

    private static final int ACTIVE = 0, FAILED = 1;

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
        this.geometry = new Geometry(blockBytes, smallest, 1, transferMax, segmentsMax, persistent);
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

    /** Marks a member failed (the control plane's raid_fail_member). Any thread. False if it already was. */
    public boolean fail(int memberIndex) {
        Check.that(memberIndex >= 0 && memberIndex < members.length, "member index in range", memberIndex);
        return markFailed(memberIndex, FAILED_BY_REQUEST);
    }

    /** Any thread: a snapshot of the member states. */
    public MemberState[] memberStates() {
        MemberState[] result = new MemberState[members.length];
        for (int i = 0; i < result.length; i++) result[i] = states.get(i) == ACTIVE ? MemberState.ACTIVE : MemberState.FAILED;
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
        if (!states.compareAndSet(memberIndex, ACTIVE, FAILED)) return false;
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
        return new Raid1Channel(this, reactor, channels);
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
        }
        return b.append(')').toString();
    }
}
