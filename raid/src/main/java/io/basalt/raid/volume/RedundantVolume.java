package io.basalt.raid.volume;

import io.basalt.engine.BlockDevice;

/**
 * A volume that survives member loss (raid1, raid5): what the control plane asks of one, whatever its level —
 * member states, failing and replacing a member, resuming a rebuild, its write intent and PPL, and the
 * {@link SyncTarget} its sync jobs run on. Member indexes are md roles.
 */
public interface RedundantVolume extends BlockDevice, SyncTarget {
    /** A member's state as {@code raid_status} names it. */
    enum MemberStatus {
        ACTIVE("active"), REBUILDING("rebuilding"), FAULTY("faulty");

        private final String wireName;

        MemberStatus(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }
    }

    /** Told when I/O fails a member (not {@link #fail}); runs on the thread that saw it: short, never blocking. */
    @FunctionalInterface
    interface MemberFailureListener {
        /** @param status the I/O status that failed it ({@link io.basalt.engine.Status}) */
        void memberFailed(int memberIndex, int status);
    }

    int memberCount();

    BlockDevice member(int memberIndex);

    /** Marks a member failed (the control plane's raid_fail_member). Any thread. False if it already was. */
    boolean fail(int memberIndex);

    /** "active", "rebuilding" or "faulty". */
    String memberStateName(int memberIndex);

    default MemberStatus memberStatus(int memberIndex) {
        return switch (memberStateName(memberIndex)) {
            case "active" -> MemberStatus.ACTIVE;
            case "rebuilding" -> MemberStatus.REBUILDING;
            default -> MemberStatus.FAULTY;
        };
    }

    /** Members not active (faulty or rebuilding). */
    default int outCount() {
        int n = 0;
        for (int i = 0; i < memberCount(); i++) if (memberStatus(i) != MemberStatus.ACTIVE) n++;
        return n;
    }

    default boolean isDegraded() {
        return outCount() > 0;
    }

    /** The rebuilding member's recovery position in member blocks, or -1 when none rebuilds. */
    long recoveryMemberBlocks();

    /** Puts {@code device} in failed member {@code memberIndex}'s place, rebuilding from 0. Control plane only. */
    void replaceMember(int memberIndex, BlockDevice device);

    /**
     * Refuses (IllegalArgumentException, naming both limits) a device that takes smaller requests than the members
     * the volume was built on: checked when a spare is added, so a spare is never one that cannot take a role.
     */
    void checkRequestLimits(BlockDevice device);

    /** The same, with the new member's (empty) PPL area for a volume that keeps a log; null otherwise. */
    default void replaceMember(int memberIndex, BlockDevice device, BlockDevice pplArea) {
        if (pplArea != null) throw new IllegalArgumentException(name() + " keeps no partial parity log");
        replaceMember(memberIndex, device);
    }

    /** An assembled member whose superblock says it is in recovery: rebuilding from {@code fromMemberBlock}. Before any I/O. */
    void resumeRebuild(int memberIndex, long fromMemberBlock);

    /** The write-intent record every write goes through, or null. Set before the volume takes I/O. */
    void setWriteIntent(WriteIntent intent);

    WriteIntent writeIntent();

    /** The partial parity log areas, or null without PPL. */
    default PplAreas ppl() {
        return null;
    }

    /** Sets (null: clears) the one listener told of members that I/O fails. */
    void setMemberFailureListener(MemberFailureListener listener);
}
