package io.basalt.bench;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Sizes;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.volume.Consistency;
import io.basalt.raid.volume.RaidDefaults;
import io.basalt.raid.volume.RaidLevel;
import io.basalt.raid.volume.RedundantVolume;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A RAID volume as a benchmark target, written in one string (the engine's {@link DeviceSpec} cannot name
 * volumes: the engine does not depend on the raid module, so the daemon, which wires layers, reads these):
 * <pre>
 *   LEVEL[,key=value...](MEMBER;MEMBER;...)
 *   raid5,chunk=64k(uring:/f0;uring:/f1;uring:/f2;uring:/f3)
 *   raid0(memory:1G;memory:1G)
 *   raid1(uring:/a,direct=1;raid0,chunk=16k(memory:1G;memory:1G))      a member may be a volume itself
 * </pre>
 * LEVEL is raid0, raid1 or raid5. Members are device specs (or volume specs) separated by ';' at the outer
 * parenthesis level, so their own commas and colons stay theirs: a member path must not contain ';', '(' or
 * ')'. Nothing before the '(' holds a ':', which is how this is told apart from a backend spec (KIND:TARGET).
 * Options: {@code chunk=SIZE} (raid0, raid5; default {@link RaidDefaults#CHUNK_BYTES}), {@code layout=}
 * left-symmetric etc. (raid5), {@code failed=I[+J]} (raid1, raid5: members marked failed before any I/O, for
 * degraded runs), {@code consistency=resync|ppl} (raid5 write-hole protection, see {@link #parseConsistency}).
 *
 * @param level   the level (raid0, raid1 or raid5)
 * @param options the options, keys lower case
 * @param members the member specs, as written
 */
public record VolumeSpec(RaidLevel level, Map<String, String> options, List<String> members) {
    static final String USAGE = """
              volume targets: LEVEL[,chunk=64k][,layout=left-symmetric][,failed=I][,consistency=resync|ppl](MEMBER;MEMBER;...)
                e.g. raid5,chunk=64k(uring:/f0;uring:/f1;uring:/f2;uring:/f3)   raid0(memory:1G;memory:1G)
                LEVEL raid0|raid1|raid5; members are specs separated by ';' (a path must not hold ';', '(' or ')')""";

    /**
     * Write-hole protection of a bench raid5 volume: {@link Consistency#RESYNC} (none on the data path) or
     * {@link Consistency#PPL} (md's partial parity log in the first {@link #PPL_AREA_BYTES} of each member, {@link #withPpl}).
     */
    static Consistency parseConsistency(String text) {
        Consistency c = Consistency.fromWireName(text.toLowerCase(Locale.ROOT));
        if (c != Consistency.RESYNC && c != Consistency.PPL) throw new IllegalArgumentException("consistency '" + text + "' is not one of ppl, resync");
        return c;
    }

    static final int LEVEL_MAX_DEPTH = 4;

    /** Whether {@code spec} is a volume spec (raidN before a ',' or '(' and no ':' before that). */
    static boolean isVolume(String spec) {
        int open = spec.indexOf('(');
        if (open < 0) return false;
        String head = spec.substring(0, open);
        if (head.indexOf(':') >= 0) return false;
        return levelNamed(head.split(",", 2)[0]) != null;
    }

    /** The level "raid0", "raid1" or "raid5" names (any case), or null. */
    private static RaidLevel levelNamed(String text) {
        for (RaidLevel l : RaidLevel.values()) if (l.label().equals(text.toLowerCase(Locale.ROOT))) return l;
        return null;
    }

    /** Parses a volume spec; {@link IllegalArgumentException} names what is wrong and where. */
    static VolumeSpec parse(String spec) {
        int open = spec.indexOf('(');
        if (open < 0 || !spec.endsWith(")")) {
            throw new IllegalArgumentException("volume spec '" + spec + "' must look like raid5[,chunk=64k](SPEC;SPEC;SPEC)");
        }
        String[] head = spec.substring(0, open).split(",");
        RaidLevel level = levelNamed(head[0]);
        if (level == null) throw new IllegalArgumentException("volume spec '" + spec + "': level '" + head[0] + "' is not raid0, raid1 or raid5");
        List<String> known = knownOptions(level);
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 1; i < head.length; i++) {
            int eq = head[i].indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("volume spec '" + spec + "': option '" + head[i] + "' must be key=value");
            String key = head[i].substring(0, eq).toLowerCase(Locale.ROOT);
            if (!known.contains(key)) {
                throw new IllegalArgumentException("volume spec '" + spec + "': " + level.label() + " has no option '" + key + "' (known: "
                        + String.join(", ", known) + ")");
            }
            if (options.put(key, head[i].substring(eq + 1)) != null) {
                throw new IllegalArgumentException("volume spec '" + spec + "': option '" + key + "' given twice");
            }
        }
        List<String> members = splitMembers(spec, spec.substring(open + 1, spec.length() - 1));
        VolumeSpec parsed = new VolumeSpec(level, Map.copyOf(options), List.copyOf(members));
        parsed.chunkBytes(); // checks the values now, before anything is opened
        parsed.failedMembers();
        if (level.hasParity()) {
            parsed.algorithm();
            parsed.consistency();
        }
        return parsed;
    }

    /** chunk for striped levels, failed for redundant ones, layout and consistency for parity. */
    private static List<String> knownOptions(RaidLevel level) {
        List<String> known = new ArrayList<>();
        if (level.usesChunk()) known.add("chunk");
        if (level.hasParity()) known.add("layout");
        if (level.isRedundant()) known.add("failed");
        if (level.hasParity()) known.add("consistency");
        return known;
    }

    /** Splits on ';' at parenthesis depth 0, so a nested volume's own members stay in it. */
    private static List<String> splitMembers(String spec, String inside) {
        List<String> members = new ArrayList<>();
        int depth = 0, start = 0;
        for (int i = 0; i <= inside.length(); i++) {
            char c = i < inside.length() ? inside.charAt(i) : ';';
            if (c == '(') depth++;
            if (c == ')' && --depth < 0) throw new IllegalArgumentException("volume spec '" + spec + "': unbalanced ')'");
            if (c != ';' || depth > 0) continue;
            String member = inside.substring(start, i).trim();
            if (member.isEmpty()) {
                throw new IllegalArgumentException("volume spec '" + spec + "': member " + members.size() + " is empty (members are separated by ';')");
            }
            if (!isVolume(member) && member.indexOf(':') <= 0) {
                throw new IllegalArgumentException("volume spec '" + spec + "': member " + members.size() + " '" + member
                        + "' is not a backend spec (KIND:TARGET such as uring:/path or memory:1G) nor a volume spec");
            }
            members.add(member);
            start = i + 1;
        }
        if (depth != 0) throw new IllegalArgumentException("volume spec '" + spec + "': unbalanced '('");
        return members;
    }

    int chunkBytes() {
        String text = options.get("chunk");
        if (text == null) return RaidDefaults.CHUNK_BYTES;
        long bytes;
        try {
            bytes = Sizes.parse(text);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("volume option chunk=" + text + " is not a size (such as 64k)");
        }
        if (bytes < 4096 || bytes > (64 << 20) || Long.bitCount(bytes) != 1) {
            throw new IllegalArgumentException("volume option chunk=" + text + " must be a power of two from 4k to 64m");
        }
        return (int) bytes;
    }

    Raid5Algorithm algorithm() {
        String text = options.get("layout");
        if (text == null) return Raid5Algorithm.LEFT_SYMMETRIC;
        try {
            return Raid5Algorithm.valueOf(text.toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("volume option layout=" + text
                    + " is not one of left-symmetric, left-asymmetric, right-symmetric, right-asymmetric, parity-0, parity-n");
        }
    }

    Consistency consistency() {
        return parseConsistency(options.getOrDefault("consistency", "resync"));
    }

    int[] failedMembers() {
        String text = options.get("failed");
        if (text == null) return new int[0];
        String[] parts = text.split("\\+");
        int[] failed = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                failed[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("volume option failed=" + text + " must be member indexes joined by '+' (failed=2)");
            }
            if (failed[i] < 0 || failed[i] >= members.size()) {
                throw new IllegalArgumentException("volume option failed=" + text + ": member " + failed[i] + " is not in 0.." + (members.size() - 1));
            }
        }
        return failed;
    }

    /** Opens the members (named NAME.0, NAME.1, ...) and the volume over them; closes what it opened on failure. */
    BlockDevice open(String name) {
        return open(name, 0);
    }

    private BlockDevice open(String name, int depth) {
        if (depth >= LEVEL_MAX_DEPTH) throw new IllegalArgumentException("volume spec nests more than " + LEVEL_MAX_DEPTH + " levels");
        List<BlockDevice> opened = new ArrayList<>();
        try {
            for (int i = 0; i < members.size(); i++) {
                String member = members.get(i);
                String memberName = name + "." + i;
                try {
                    opened.add(isVolume(member) ? parse(member).open(memberName, depth + 1) : DeviceSpec.open(memberName, member));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("member " + i + " (" + member + "): " + e.getMessage(), e);
                }
            }
            boolean ppl = level.hasParity() && consistency() == Consistency.PPL;
            BlockDevice volume = ppl ? withPpl(name, opened, chunkBytes(), algorithm())
                    : level.factory().open(name, opened, chunkBytes(), algorithm().mdLayout, null);
            for (int failed : failedMembers()) ((RedundantVolume) volume).fail(failed); // "failed" is a redundant level's option
            return ppl ? closingBases(volume, opened) : volume;
        } catch (RuntimeException e) {
            for (BlockDevice d : opened) d.close();
            throw e;
        }
    }

    /** md's default PPL area (mdadm --consistency-policy=ppl: 1 MiB per member), at the start of each bench member. */
    static final long PPL_AREA_BYTES = 1 << 20;

    /**
     * raid5 with md's partial parity log: each member gives its first {@link #PPL_AREA_BYTES} to the log and the
     * rest to data, as md places the log before the data offset.
     */
    static RedundantVolume withPpl(String name, List<BlockDevice> members, int chunkBytes, Raid5Algorithm algorithm) {
        List<BlockDevice> data = new ArrayList<>(), areas = new ArrayList<>();
        for (BlockDevice m : members) {
            long areaBlocks = PPL_AREA_BYTES / m.geometry().logicalBlockBytes();
            areas.add(new io.basalt.raid.volume.OffsetDevice(m.name() + "/ppl", m, 0, areaBlocks));
            data.add(new io.basalt.raid.volume.OffsetDevice(m.name(), m, areaBlocks, m.geometry().blockCount() - areaBlocks));
        }
        return (RedundantVolume) RaidLevel.RAID5.factory().open(name, data, chunkBytes, algorithm.mdLayout,
                new io.basalt.raid.volume.PplAreas(areas, io.basalt.raid.md.MdPpl.signature(new byte[16])));
    }

    /** The volume, closing the member devices under its slices when it closes (slices do not own their base). */
    private static BlockDevice closingBases(BlockDevice volume, List<BlockDevice> bases) {
        return new BlockDevice() {
            @Override public String name() { return volume.name(); }
            @Override public io.basalt.engine.Geometry geometry() { return volume.geometry(); }
            @Override public io.basalt.engine.BlockChannel openChannel(io.basalt.engine.Reactor reactor) { return volume.openChannel(reactor); }
            @Override public String describe() { return volume.describe() + " with PPL"; }
            @Override public void close() {
                volume.close();
                for (BlockDevice b : bases) b.close();
            }
        };
    }

    /** Whether any member, at any depth, would read holes before being written. */
    boolean readsHoles() {
        for (String member : members) {
            if (isVolume(member)) {
                if (parse(member).readsHoles()) return true;
                continue;
            }
            DeviceSpec spec = DeviceSpec.parse(member);
            if (spec.kind().equals("memory")) return true;
            if (spec.kind().equals("uring") && isSparseFile(spec.target())) return true;
        }
        return false;
    }

    /** A regular file with fewer bytes allocated than its length (a block device or a missing file: false). */
    static boolean isSparseFile(String path) {
        long allocated = Prefill.allocatedBytes(path);
        if (allocated < 0) return false;
        try {
            return allocated < java.nio.file.Files.size(java.nio.file.Path.of(path));
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** The opener {@code basalt bench --target} uses for volume specs. */
    public static final BenchCli.TargetOpener OPENER = new BenchCli.TargetOpener() {
        @Override
        public BlockDevice open(String spec, String name) {
            return isVolume(spec) ? parse(spec).open(name) : null;
        }

        @Override
        public boolean readsNeedPrefill(String spec, BlockDevice device) {
            return parse(spec).readsHoles();
        }

        @Override
        public String usage() {
            return USAGE;
        }
    };
}
