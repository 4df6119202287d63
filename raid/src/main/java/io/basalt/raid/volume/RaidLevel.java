package io.basalt.raid.volume;

import io.basalt.raid.parity.Raid5Algorithm;

import java.util.List;

/**
 * The RAID levels Basalt builds, with md's level numbers, member limits, redundancy and consistency policies,
 * and the {@link VolumeFactory} that opens each: the one place a level's rules live (the array layer, the RPC
 * adapter and the bench volume specs ask here instead of switching on a number).
 */
public enum RaidLevel {
    RAID0(0, 2, Raid0Volume.MEMBERS_MAX, List.of(Consistency.NONE), RaidLevel::openRaid0),
    RAID1(1, 2, Raid1Volume.MEMBERS_MAX, List.of(Consistency.BITMAP, Consistency.RESYNC), RaidLevel::openRaid1),
    RAID5(5, Raid5Volume.MEMBERS_MIN, Raid5Volume.MEMBERS_MAX, List.of(Consistency.PPL, Consistency.BITMAP, Consistency.RESYNC),
            RaidLevel::openRaid5);

    /** md's superblock {@code level}. */
    public final int mdLevel;
    /** Members the volume takes (its constructor's limits). */
    public final int membersMin, membersMax;
    /** The policies this level may use, the default first. */
    private final List<Consistency> consistencies;
    private final VolumeFactory factory;

    RaidLevel(int mdLevel, int membersMin, int membersMax, List<Consistency> consistencies, VolumeFactory factory) {
        this.mdLevel = mdLevel;
        this.membersMin = membersMin;
        this.membersMax = membersMax;
        this.consistencies = consistencies;
        this.factory = factory;
    }

    /** The level with md number {@code mdLevel}, or null for one Basalt does not build (md's raid4, 6, 10 ...). */
    public static RaidLevel fromMd(long mdLevel) {
        for (RaidLevel l : values()) if (l.mdLevel == mdLevel) return l;
        return null;
    }

    /** "raid5". */
    public String label() {
        return "raid" + mdLevel;
    }

    public VolumeFactory factory() {
        return factory;
    }

    /** Survives a member loss: its volume is a {@link RedundantVolume}. */
    public boolean isRedundant() {
        return this != RAID0;
    }

    /** Keeps parity (stripes span the members; a dirty region is resynced a whole stripe at a time). */
    public boolean hasParity() {
        return this == RAID5;
    }

    /** Stripes data in chunks (raid1 has no chunk). */
    public boolean usesChunk() {
        return this != RAID1;
    }

    /** Members whose data a stripe row holds: the rest is parity or copies. */
    public int dataMembers(int raidDisks) {
        return switch (this) {
            case RAID0 -> raidDisks;
            case RAID1 -> 1;
            case RAID5 -> raidDisks - 1;
        };
    }

    /** Fewest active members the volume still serves with (raid5 survives one loss, a mirror all but one). */
    public int activeMembersMin(int raidDisks) {
        return switch (this) {
            case RAID0 -> raidDisks;
            case RAID1 -> 1;
            case RAID5 -> raidDisks - 1;
        };
    }

    public Consistency defaultConsistency() {
        return consistencies.getFirst();
    }

    public List<Consistency> consistencies() {
        return consistencies;
    }

    public boolean allows(Consistency consistency) {
        return consistencies.contains(consistency);
    }

    private static void noPpl(String name, PplAreas ppl, String level) {
        if (ppl != null) throw new IllegalArgumentException(level + " '" + name + "' keeps no partial parity log");
    }

    private static Raid0Volume openRaid0(String name, List<io.basalt.engine.BlockDevice> members, int chunkBytes, int mdLayout, PplAreas ppl) {
        noPpl(name, ppl, "raid0");
        return new Raid0Volume(name, members, chunkBytes);
    }

    private static Raid1Volume openRaid1(String name, List<io.basalt.engine.BlockDevice> members, int chunkBytes, int mdLayout, PplAreas ppl) {
        noPpl(name, ppl, "raid1");
        return new Raid1Volume(name, members);
    }

    private static Raid5Volume openRaid5(String name, List<io.basalt.engine.BlockDevice> members, int chunkBytes, int mdLayout, PplAreas ppl) {
        Raid5Algorithm algorithm = Raid5Algorithm.fromMdLayout(mdLayout);
        if (algorithm == null) throw new VolumeFactory.NotSupportedException("raid5 layout " + mdLayout);
        return new Raid5Volume(name, members, chunkBytes, algorithm, ppl);
    }
}
