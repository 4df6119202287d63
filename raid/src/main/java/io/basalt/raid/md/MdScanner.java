package io.basalt.raid.md;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import io.basalt.raid.md.MdAssembly.Kind;
import io.basalt.raid.md.MdAssembly.Problem;
import io.basalt.raid.md.MdAssembly.Verdict;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Groups members by set_uuid and decides, for one array, which member plays each role, as mdadm's Assemble.c
 * does in outline: the freshest events count wins, older members are stale, the freshest superblock's
 * dev_roles say who is faulty, missing roles degrade or fail the array by level. Nothing is dropped silently:
 * every member left out and every role missing is a {@link Problem}.
 */
public final class MdScanner {
    private MdScanner() {}

    /** Reads every device's superblock (see {@link MdMember#read}: the caller drives {@code reactor}). */
    public static List<MdMember> read(Reactor reactor, List<? extends BlockDevice> devices) {
        List<MdMember> out = new ArrayList<>(devices.size());
        for (BlockDevice d : devices) out.add(MdMember.read(reactor, d));
        return out;
    }

    /** One assembly per set_uuid found (in order of first appearance); garbage members are reported in each. */
    public static List<MdAssembly> scan(List<MdMember> members) {
        Map<String, byte[]> uuids = new LinkedHashMap<>();
        for (MdMember m : members) {
            if (m.valid()) uuids.putIfAbsent(uuidText(m.superblock().setUuid()), m.superblock().setUuid());
        }
        List<MdAssembly> out = new ArrayList<>();
        for (byte[] uuid : uuids.values()) out.add(assemble(uuid, members));
        return out;
    }

    /**
     * Assembles the array {@code setUuid} from {@code members}; members of other arrays and garbage are reported
     * as such. With {@code setUuid} null, the uuid most members share is taken (ties: the freshest).
     */
    public static MdAssembly assemble(byte[] setUuid, List<MdMember> members) {
        byte[] uuid = setUuid != null ? setUuid : majorityUuid(members);
        List<Problem> problems = new ArrayList<>();
        List<MdMember> group = new ArrayList<>();
        for (MdMember m : members) {
            if (!m.valid()) {
                problems.add(new Problem(Kind.GARBAGE_SUPERBLOCK, m.deviceName(), true, m.error().getMessage()));
            } else if (uuid == null || !Arrays.equals(uuid, m.superblock().setUuid())) {
                problems.add(new Problem(Kind.FOREIGN_MEMBER, m.deviceName(), true, "belongs to array "
                        + uuidText(m.superblock().setUuid()) + " (" + m.superblock().setName() + "), not "
                        + (uuid == null ? "any" : uuidText(uuid))));
            } else {
                group.add(m);
            }
        }
        if (group.isEmpty()) {
            return new MdAssembly(uuid == null ? new byte[MdSuperblock.UUID_BYTES] : uuid, "", -1, 0, 0, false,
                    Verdict.FAILED, List.of(), List.of(), problems);
        }
        MdSuperblock freshest = freshest(group).superblock();
        List<MdMember> current = dropStaleAndConflicting(group, freshest, problems);
        noteUnequalSizes(current, problems);
        MdMember[] byRole = new MdMember[(int) freshest.raidDisks()];
        List<MdMember> spares = new ArrayList<>();
        placeByRole(current, freshest, byRole, spares, problems);
        Verdict verdict = verdict(freshest, byRole, problems);
        return new MdAssembly(uuid, freshest.setName(), freshest.level(), byRole.length, freshest.events(),
                freshest.clean(), verdict, Arrays.asList(byRole), spares, problems);
    }

    private static MdMember freshest(List<MdMember> group) {
        MdMember best = group.getFirst();
        for (MdMember m : group) {
            if (Long.compareUnsigned(m.superblock().events(), best.superblock().events()) > 0) best = m;
        }
        return best;
    }

    private static List<MdMember> dropStaleAndConflicting(List<MdMember> group, MdSuperblock freshest, List<Problem> problems) {
        List<MdMember> current = new ArrayList<>();
        for (MdMember m : group) {
            MdSuperblock sb = m.superblock();
            if (Long.compareUnsigned(sb.events(), freshest.events()) < 0 && !oneBehindInItsRole(sb, freshest, group)) {
                problems.add(new Problem(Kind.STALE_MEMBER, m.deviceName(), true, "events " + Long.toUnsignedString(sb.events())
                        + " < " + Long.toUnsignedString(freshest.events()) + " of the freshest member: it missed writes"));
            } else if (sb.level() != freshest.level() || sb.layout() != freshest.layout() || sb.chunkSectors() != freshest.chunkSectors()
                    || sb.raidDisks() != freshest.raidDisks() || sb.sizeSectors() != freshest.sizeSectors()) {
                problems.add(new Problem(Kind.CONFLICTING_GEOMETRY, m.deviceName(), true, "level/layout/chunk/raid_disks/size "
                        + sb.level() + "/" + sb.layout() + "/" + sb.chunkSectors() + "/" + sb.raidDisks() + "/" + sb.sizeSectors()
                        + " disagree with the freshest " + freshest.level() + "/" + freshest.layout() + "/" + freshest.chunkSectors()
                        + "/" + freshest.raidDisks() + "/" + freshest.sizeSectors()));
            } else if (sb.dataSizeSectors() < freshest.usedSectors()) {
                problems.add(new Problem(Kind.SIZE_MISMATCH, m.deviceName(), true, "data_size " + sb.dataSizeSectors()
                        + " sectors < the array's " + freshest.usedSectors() + " per member"));
            } else {
                current.add(m);
            }
        }
        return current;
    }

    /**
     * mdadm's event_margin (Assemble.c: "always allow a difference of '1' like the kernel does"; the kernel's
     * super_1_validate accepts ev1 + 1 == events): a crash between the superblock writes of one update leaves some
     * members one event behind with data as current as the rest. Only for a member the freshest superblock still
     * gives an active role, and no fresher copy of that role is there (an old copy of a member next to the current
     * one stays stale, as mdadm keeps the freshest device per slot): one it marked faulty, or left as spare (removed,
     * or missing at a degraded start), stays out as md leaves it out.
     */
    private static boolean oneBehindInItsRole(MdSuperblock sb, MdSuperblock freshest, List<MdMember> group) {
        if (sb.events() + 1 != freshest.events()) return false;
        int role = roleIn(freshest, sb.devNumber());
        if (role >= MdSuperblock.ROLE_MAX || role >= freshest.raidDisks() || role != sb.role()) return false;
        for (MdMember other : group) {
            MdSuperblock o = other.superblock();
            if (roleIn(freshest, o.devNumber()) == role && Long.compareUnsigned(o.events(), sb.events()) > 0) return false;
        }
        return true;
    }

    /** The role the freshest superblock's dev_roles give {@code devNumber}; spare past max_dev. */
    private static int roleIn(MdSuperblock freshest, long devNumber) {
        return devNumber < freshest.maxDev() ? freshest.devRole((int) devNumber) : MdSuperblock.ROLE_SPARE;
    }

    private static void noteUnequalSizes(List<MdMember> current, List<Problem> problems) {
        if (current.isEmpty()) return;
        long smallest = Long.MAX_VALUE, largest = 0;
        for (MdMember m : current) {
            smallest = Math.min(smallest, m.deviceSectors());
            largest = Math.max(largest, m.deviceSectors());
        }
        if (smallest != largest) {
            problems.add(new Problem(Kind.UNEQUAL_SIZES, "*", false, "member sizes range from " + smallest + " to " + largest
                    + " sectors; each uses the array's size, the rest is unused"));
        }
    }

    private static void placeByRole(List<MdMember> current, MdSuperblock freshest, MdMember[] byRole, List<MdMember> spares,
                                    List<Problem> problems) {
        for (MdMember m : current) {
            long devNumber = m.superblock().devNumber();
            int role = devNumber < freshest.maxDev() ? freshest.devRole((int) devNumber) : MdSuperblock.ROLE_SPARE;
            if (role == MdSuperblock.ROLE_FAULTY) {
                problems.add(new Problem(Kind.FAULTY_MEMBER, m.deviceName(), true, "dev_number " + devNumber + " is marked faulty"));
            } else if (role == MdSuperblock.ROLE_SPARE) {
                spares.add(m);
            } else if (role >= MdSuperblock.ROLE_MAX || role >= byRole.length) {
                problems.add(new Problem(Kind.UNSUPPORTED_ROLE, m.deviceName(), true, String.format("role 0x%04x", role)));
            } else if (byRole[role] != null) {
                problems.add(new Problem(Kind.DUPLICATE_ROLE, m.deviceName(), true, "role " + role + " is already held by "
                        + byRole[role].deviceName()));
            } else {
                byRole[role] = m;
            }
        }
        for (int r = 0; r < byRole.length; r++) {
            if (byRole[r] == null) problems.add(new Problem(Kind.MISSING_MEMBER, "role " + r, false, "no current member holds role " + r));
        }
    }

    private static Verdict verdict(MdSuperblock freshest, MdMember[] byRole, List<Problem> problems) {
        int active = 0;
        for (MdMember m : byRole) if (m != null) active++;
        int missing = byRole.length - active;
        if (missing == 0) return Verdict.HEALTHY;
        int survivable = switch (freshest.level()) {
            case 1 -> byRole.length - 1;
            case 5 -> 1;
            default -> 0;
        };
        if (missing > survivable) return Verdict.FAILED;
        // With a partial parity log the parity of every write in flight can be recovered (mdadm Assemble.c treats
        // a PPL array as clean for this check), so only an array without one is refused.
        if (freshest.level() == 5 && !freshest.clean() && !freshest.hasPpl()) {
            problems.add(new Problem(Kind.DIRTY_DEGRADED, "*", false, "raid5 missing a member and not cleanly stopped "
                    + "(resync_offset " + freshest.resyncOffsetSectors() + "): parity is not trusted"));
            return Verdict.FAILED;
        }
        return Verdict.DEGRADED;
    }

    private static byte[] majorityUuid(List<MdMember> members) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        Map<String, MdMember> freshestOf = new LinkedHashMap<>();
        for (MdMember m : members) {
            if (!m.valid()) continue;
            String key = uuidText(m.superblock().setUuid());
            counts.merge(key, 1, Integer::sum);
            MdMember f = freshestOf.get(key);
            if (f == null || Long.compareUnsigned(m.superblock().events(), f.superblock().events()) > 0) freshestOf.put(key, m);
        }
        String best = null;
        for (String key : counts.keySet()) {
            if (best == null || counts.get(key) > counts.get(best) || (counts.get(key).equals(counts.get(best))
                    && Long.compareUnsigned(freshestOf.get(key).superblock().events(), freshestOf.get(best).superblock().events()) > 0)) {
                best = key;
            }
        }
        return best == null ? null : freshestOf.get(best).superblock().setUuid();
    }

    /** mdadm's display form: four groups of 8 hex digits joined by ':'. */
    public static String uuidText(byte[] uuid) {
        String hex = HexFormat.of().formatHex(uuid);
        return hex.substring(0, 8) + ":" + hex.substring(8, 16) + ":" + hex.substring(16, 24) + ":" + hex.substring(24, 32);
    }
}
