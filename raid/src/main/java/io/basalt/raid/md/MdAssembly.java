package io.basalt.raid.md;

import java.util.List;

/**
 * The scanner's verdict on one md array: which member holds each role, what was left out and why.
 *
 * @param setUuid   the array's set_uuid
 * @param name      set_name from the freshest superblock
 * @param level     0, 1 or 5
 * @param raidDisks roles in the array
 * @param events    the freshest events count (members with fewer are stale)
 * @param clean     whether the freshest superblock says the array was stopped cleanly
 * @param verdict   what may be started
 * @param byRole    the member holding each role, null where the role is missing
 * @param spares    valid members with no role
 * @param problems  every member left out, role missing or oddity seen, one line each; never empty unless HEALTHY
 */
public record MdAssembly(byte[] setUuid, String name, int level, int raidDisks, long events, boolean clean,
                         Verdict verdict, List<MdMember> byRole, List<MdMember> spares, List<Problem> problems) {
    public enum Verdict {
        /** Every role present and current. */
        HEALTHY,
        /** Roles missing, within what the level survives: the array may start degraded. */
        DEGRADED,
        /** Too many roles missing, or dirty and degraded (md refuses to start it without --force). */
        FAILED,
    }

    public enum Kind {
        /** The device has no md superblock, or one that fails validation. */
        GARBAGE_SUPERBLOCK,
        /** A valid superblock of another array. */
        FOREIGN_MEMBER,
        /** Fewer events than the freshest member: it missed writes. */
        STALE_MEMBER,
        /** Same set_uuid, but level, layout, chunk, raid_disks or size disagree with the freshest member. */
        CONFLICTING_GEOMETRY,
        /** The member offers fewer data sectors than the array uses per member. */
        SIZE_MISMATCH,
        /** Members of different device sizes (not an error: md uses the array's size on each). */
        UNEQUAL_SIZES,
        /** The freshest superblock marks this member faulty. */
        FAULTY_MEMBER,
        /** Two members claim one role; the second is left out. */
        DUPLICATE_ROLE,
        /** A role with no current member. */
        MISSING_MEMBER,
        /** A journal device (not supported by Basalt). */
        UNSUPPORTED_ROLE,
        /** Degraded and not cleanly stopped: parity may be wrong, data could be silently corrupt. */
        DIRTY_DEGRADED,
    }

    /** @param excluded whether the member was left out of the array */
    public record Problem(Kind kind, String device, boolean excluded, String message) {
        @Override
        public String toString() {
            return kind + " " + device + ": " + message;
        }
    }

    public int activeCount() {
        int n = 0;
        for (MdMember m : byRole) if (m != null) n++;
        return n;
    }

    public boolean has(Kind kind) {
        for (Problem p : problems) if (p.kind() == kind) return true;
        return false;
    }

    @Override
    public byte[] setUuid() {
        return setUuid.clone();
    }
}
