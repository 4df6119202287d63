package io.basalt.bench;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.IdleStrategy;
import io.basalt.engine.ReactorConfig;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.volume.Consistency;
import io.basalt.raid.volume.Raid5Volume;
import io.basalt.raid.volume.RaidLevel;
import io.basalt.raid.volume.RedundantVolume;
import io.basalt.raid.volume.RaidDefaults;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code basalt bench raid}: in one run, what the members deliver and what a RAID5 volume over them delivers,
 * and the ratio against what RAID5 can at best give (the issue's efficiency goals):
 * <pre>
 *   random read 4k          volume IOPS  /  N x R          R: a member's 4k random read IOPS
 *   full-stripe write       volume MB/s  /  (N-1)/N x raw  raw: the members' 1 MiB sequential write MB/s
 *   random write 4k         volume IOPS  /  N x W / 4      W: a member's 4k random write IOPS (RMW: 2 reads + 2 writes)
 *   random write 4k         volume IOPS  /  1 / (2/NR + 2/NW)   the same, against what RMW costs on these members
 *   degraded random read    volume IOPS  /  N x R / (2(N-1)/N)   one member failed: the model below
 * </pre>
 * N x W / 4 (the issue's goal) prices a read like a write; where the members read slower than they write
 * (a virtio disk with a host write-back cache) an RMW's two reads cost more, and the second random write row,
 * without a goal, says how close the volume comes to what its members allow.
 * N x R and the others are measured with all N members driven at once from the same reactors the volume
 * gets, not as N times one member alone: members may share a disk, a controller or the CPU, and then N
 * times one member overstates what they give together (files on one virtio disk do exactly that). Each
 * member alone is measured too and printed, so the difference shows. The volume runs with as much in
 * flight as the reference (N x iodepth), spread over the jobs (one channel per reactor, every channel
 * opened before I/O starts: the volume's stripe owners are its channels).
 *
 * <p>Degraded random read, a model: a read of a surviving chunk costs one member read, a read of the failed
 * member's chunk N - 1; with data spread evenly that is 2(N-1)/N member reads per read. Priced against the
 * members' measured rate together (N x R: what they deliver when driven at once, so a shared disk or a shared
 * CPU counts once), the model is N x R / (2(N-1)/N), 0.67 N x R for 4 members (issue 11's goal: 0.95 of it).
 * Members that do not share anything lose the failed one's R too, and give only N x R / 2.
 *
 * <p>It writes the members: scratch files or RAM only.
 */
public final class RaidBench {
    private RaidBench() {}

    static final double GOAL_RANDREAD = 0.95, GOAL_FULL_STRIPE = 0.90, GOAL_RANDWRITE = 0.90, GOAL_DEGRADED = 0.95;
    static final int ROWS_PER_CHUNK = 5;
    static final int RANDOM_BYTES = 4096;
    static final int SEQUENTIAL_BYTES = 1 << 20, SEQUENTIAL_DEPTH = 4;
    /**
     * Full-stripe writes in flight, all jobs together: as many bytes as the raw reference keeps in flight
     * (N members x 4 x 1 MiB), at least 2 and at most 128 stripes.
     */
    static int fullStripeDepth(int members, int stripeBytes) {
        long inFlightBytes = (long) members * SEQUENTIAL_DEPTH * SEQUENTIAL_BYTES;
        return (int) Math.clamp((inFlightBytes + stripeBytes - 1) / stripeBytes, 2, 128);
    }

    /** The parsed command line. */
    record Options(List<String> members, List<Integer> chunkBytes, long runtimeNs, long rampNs, int jobs, int ioDepth,
                   IdleStrategy idle, Consistency consistency, int failedMember, boolean alone, boolean json, int repeat) {}

    /** One line of the efficiency table. {@code goal} is NaN for a row without one. */
    record Row(int chunkBytes, String workload, String referenceName, String unit, double reference, double volume, double goal) {
        double efficiency() { return volume / reference; }
        boolean hasGoal() { return !Double.isNaN(goal); }
        boolean met() { return hasGoal() && efficiency() >= goal; }
    }

    /** {@code basalt bench raid ARGS} (see {@link RaidBenchCommand}): exit 0, 1 (failed run) or 2 (bad usage). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return Cli.execute(new RaidBenchCommand(), args, out, err);
    }

    /** Measures and prints; a missed goal is a finding, shown in the table, not a failure of the command. */
    static int execute(Options options, PrintStream out, PrintStream err) {
        List<Row> rows = measure(options, out, err);
        if (!options.json()) out.println(System.lineSeparator() + table(rows));
        return 0;
    }

    // ------------------------------------------------------------------ options

    /**
     * The options checked against each other and against what raid5 accepts; {@link IllegalArgumentException}
     * names the option. {@code chunkText} null: the default chunk; {@code failedMember} null: the last member.
     */
    static Options options(String membersText, String chunkText, long runtimeNs, long rampNs, int jobs, int ioDepth, IdleStrategy idle,
                           String consistencyText, Integer failedMember, boolean alone, boolean json, int repeat) {
        if (membersText == null) throw new IllegalArgumentException("--members SPEC,SPEC,SPEC is required");
        List<String> members = splitMembers(membersText);
        if (members.size() < Raid5Volume.MEMBERS_MIN || members.size() > Raid5Volume.MEMBERS_MAX) {
            throw new IllegalArgumentException("--members: raid5 needs " + Raid5Volume.MEMBERS_MIN + " to " + Raid5Volume.MEMBERS_MAX
                    + " members, got " + members.size());
        }
        List<Integer> chunks = new ArrayList<>();
        for (String c : (chunkText == null ? String.valueOf(RaidDefaults.CHUNK_BYTES) : chunkText).split(",")) {
            chunks.add(new VolumeSpec(RaidLevel.RAID5, Map.of("chunk", c.trim()), members).chunkBytes());
        }
        inRange("jobs", jobs, 1, Raid5Volume.OWNERS_MAX);
        inRange("iodepth", ioDepth, 1, 256);
        if ((long) ioDepth * members.size() / jobs > 256) {
            throw new IllegalArgumentException("--iodepth " + ioDepth + " x " + members.size() + " members over " + jobs
                    + " jobs exceeds a volume channel's 256 requests; use more --jobs or a smaller --iodepth");
        }
        int failed = failedMember == null ? members.size() - 1 : failedMember;
        inRange("failed-member", failed, 0, members.size() - 1);
        inRange("repeat", repeat, 1, 99);
        Consistency consistency = VolumeSpec.parseConsistency(consistencyText);
        return new Options(members, List.copyOf(chunks), runtimeNs, rampNs, jobs, ioDepth, idle, consistency, failed, alone, json, repeat);
    }

    /**
     * Member specs: split on ';' when there is one, else on ',' where the next piece starts a new KIND:TARGET
     * (a piece like {@code direct=1} is an option of the spec before it).
     */
    static List<String> splitMembers(String text) {
        List<String> members = new ArrayList<>();
        if (text.indexOf(';') >= 0) {
            for (String s : text.split(";")) members.add(s.trim());
        } else {
            for (String piece : text.split(",")) {
                boolean startsSpec = piece.matches("[A-Za-z]+:.*");
                if (startsSpec || members.isEmpty()) members.add(piece.trim());
                else members.set(members.size() - 1, members.getLast() + "," + piece.trim());
            }
        }
        for (int i = 0; i < members.size(); i++) {
            String m = members.get(i);
            if (m.isEmpty() || m.indexOf(':') <= 0) {
                throw new IllegalArgumentException("--members: member " + i + " '" + m + "' is not a backend spec (KIND:TARGET such as uring:/path or memory:1G)");
            }
            try {
                DeviceSpec.parse(m);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--members: member " + i + ": " + e.getMessage(), e);
            }
        }
        return List.copyOf(members);
    }

    private static void inRange(String option, int value, int min, int max) {
        if (value < min || value > max) throw new IllegalArgumentException("--" + option + " " + value + " is not in [" + min + ", " + max + "]");
    }

    // ------------------------------------------------------------------ measuring

    private static BenchParams params(Options o, String rw, int blockBytes, int ioDepth) {
        return new BenchParams(rw, blockBytes, ioDepth, 1, Math.max(1, o.runtimeNs()), o.rampNs(), 0, 1);
    }

    private static BenchParams volumeParams(Options o, String rw, int blockBytes, int ioDepthPerJob) {
        return new BenchParams(rw, blockBytes, ioDepthPerJob, o.jobs(), Math.max(1, o.runtimeNs()), o.rampNs(), 0, 1);
    }

    /**
     * The references (all members at once) and, per chunk, the volume's rows. With --repeat K, K rounds each
     * measure the references and then every chunk's volume, so that references and volumes alternate in time,
     * and each figure is the median of its K values (a shared or noisy disk drifts between runs).
     */
    static List<Row> measure(Options o, PrintStream out, PrintStream err) {
        int n = o.members().size();
        int chunks = o.chunkBytes().size();
        double[][] references = new double[3][o.repeat()];
        double[][][] volumes = new double[chunks][4][o.repeat()];
        for (int round = 0; round < o.repeat(); round++) {
            if (o.repeat() > 1) err.printf("bench raid: round %d of %d%n", round + 1, o.repeat());
            List<BenchResult> refs = references(o, o.alone() && round == 0, out, err);
            references[0][round] = refs.get(0).iops();
            references[1][round] = refs.get(1).iops();
            references[2][round] = refs.get(2).bandwidthBytesPerSec();
            for (int c = 0; c < chunks; c++) {
                List<BenchResult> v = volume(o, o.chunkBytes().get(c), out, err);
                volumes[c][0][round] = v.get(0).iops();
                volumes[c][1][round] = v.get(1).bandwidthBytesPerSec();
                volumes[c][2][round] = v.get(2).iops();
                volumes[c][3][round] = v.get(3).iops();
            }
        }
        double r = median(references[0]), w = median(references[1]), raw = median(references[2]);
        List<Row> rows = new ArrayList<>();
        for (int c = 0; c < chunks; c++) {
            int chunk = o.chunkBytes().get(c);
            double[][] v = volumes[c];
            String depth = " qd" + n * o.ioDepth();
            rows.add(new Row(chunk, "random read 4k" + depth, "N x R", "IOPS", r, median(v[0]), GOAL_RANDREAD));
            int stripeDepth = perJob(fullStripeDepth(n, (n - 1) * chunk), o.jobs()) * o.jobs();
            rows.add(new Row(chunk, "full-stripe write " + size((long) (n - 1) * chunk) + " qd" + stripeDepth,
                    "(N-1)/N x raw", "MiB/s", raw * (n - 1) / n / (1 << 20), median(v[1]) / (1 << 20), GOAL_FULL_STRIPE));
            rows.add(new Row(chunk, "random write 4k" + depth, "N x W / 4", "IOPS", w / 4, median(v[2]), GOAL_RANDWRITE));
            rows.add(new Row(chunk, "random write 4k" + depth + " (vs RMW on these members)", "1 / (2/NR + 2/NW)", "IOPS",
                    1 / (2 / r + 2 / w), median(v[2]), Double.NaN));
            rows.add(new Row(chunk, "degraded random read 4k" + depth + " (member " + o.failedMember() + " failed)",
                    "N x R / (2(N-1)/N)", "IOPS", r / (2.0 * (n - 1) / n), median(v[3]), GOAL_DEGRADED));
            if (o.json()) for (int i = rows.size() - ROWS_PER_CHUNK; i < rows.size(); i++) out.println(rowJson(rows.get(i), o));
        }
        return rows;
    }

    private static int perJob(int depth, int jobs) {
        return Math.max(1, (depth + jobs - 1) / jobs);
    }

    static double median(double[] values) {
        double[] v = values.clone();
        java.util.Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** Each member alone (unless --no-alone), then all at once: [randread, randwrite, sequential write] of the latter. */
    private static List<BenchResult> references(Options o, boolean alone, PrintStream out, PrintStream err) {
        int n = o.members().size();
        List<BlockDevice> devices = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) devices.add(DeviceSpec.open("m" + i, o.members().get(i)));
            for (int i = 0; i < n; i++) {
                DeviceSpec spec = DeviceSpec.parse(o.members().get(i));
                if (Prefill.readsHoles(spec, devices.get(i))) {
                    err.printf("bench raid: writing member %d (%s) once before reading%n", i, o.members().get(i));
                    BenchCli.sweepWrite(devices.get(i));
                }
            }
            List<BenchParams> workloads = List.of(params(o, "randread", RANDOM_BYTES, o.ioDepth()),
                    params(o, "randwrite", RANDOM_BYTES, o.ioDepth()), params(o, "write", SEQUENTIAL_BYTES, SEQUENTIAL_DEPTH));
            if (!o.json()) out.println("| device | workload | IOPS | MiB/s | p99 us |\n|---|---|---|---|---|");
            if (alone) {
                for (int i = 0; i < n; i++) {
                    for (BenchParams p : workloads) {
                        err.printf("bench raid: member %d alone: %s %s qd%d%n", i, p.rw(), size(p.blockBytes()), p.ioDepth());
                        report(out, o, "member " + i, BenchCli.runBasalt(devices.get(i), o.members().get(i), p, o.idle(), ReactorConfig.SUBMIT_PER_CYCLE));
                    }
                }
            }
            List<BenchResult> all = new ArrayList<>();
            for (BenchParams p : workloads) {
                err.printf("bench raid: all %d members at once: %s %s qd%d each%n", n, p.rw(), size(p.blockBytes()), p.ioDepth());
                BenchResult result = BenchCli.runConcurrent(devices, Math.min(o.jobs(), n), "all members", p, o.idle(), ReactorConfig.SUBMIT_PER_CYCLE);
                report(out, o, "all " + n, result);
                all.add(result);
            }
            if (!o.json()) out.println();
            return all;
        } finally {
            for (BlockDevice d : devices) d.close();
        }
    }

    /** One volume over freshly opened members: [random read, full-stripe write, random write, degraded read]. */
    private static List<BenchResult> volume(Options o, int chunkBytes, PrintStream out, PrintStream err) {
        int n = o.members().size();
        List<BlockDevice> bases = new ArrayList<>();
        RedundantVolume volume = openVolume(o, chunkBytes, bases);
        try {
            String name = "raid5 chunk " + size(chunkBytes);
            boolean holes = false;
            for (int i = 0; i < n; i++) holes |= Prefill.readsHoles(DeviceSpec.parse(o.members().get(i)), volume.member(i));
            if (holes) {
                err.printf("bench raid: %s: writing the volume once before reading (memory or sparse members)%n", name);
                BenchCli.sweepWrite(volume);
            }
            int depthPerJob = Math.max(1, n * o.ioDepth() / o.jobs());
            int stripeBytes = (n - 1) * chunkBytes;
            List<BenchParams> workloads = List.of(volumeParams(o, "randread", RANDOM_BYTES, depthPerJob),
                    volumeParams(o, "write", stripeBytes, perJob(fullStripeDepth(n, stripeBytes), o.jobs())),
                    volumeParams(o, "randwrite", RANDOM_BYTES, depthPerJob));
            List<BenchResult> results = new ArrayList<>();
            for (BenchParams p : workloads) {
                err.printf("bench raid: %s: %s %s qd%d x %d jobs%n", name, p.rw(), size(p.blockBytes()), p.ioDepth(), p.jobs());
                BenchResult result = BenchCli.runBasalt(volume, name, p, o.idle(), ReactorConfig.SUBMIT_PER_CYCLE);
                report(out, o, name, result);
                results.add(result);
            }
            volume.fail(o.failedMember());
            BenchParams degraded = workloads.get(0);
            err.printf("bench raid: %s: member %d failed: randread 4k qd%d x %d jobs%n", name, o.failedMember(), degraded.ioDepth(), degraded.jobs());
            BenchResult result = BenchCli.runBasalt(volume, name + " degraded", degraded, o.idle(), ReactorConfig.SUBMIT_PER_CYCLE);
            report(out, o, name + " degraded", result);
            results.add(result);
            for (BenchResult b : results) {
                if (b.errors() > 0) throw new IllegalStateException(name + ": " + b.errors() + " I/O errors in " + b.params().rw());
            }
            return results;
        } finally {
            volume.close();
            for (BlockDevice b : bases) b.close(); // with PPL the volume's members are slices of these
        }
    }

    /** The raid5 volume over freshly opened members ({@code members} gets them); with PPL over slices of them (log first). */
    private static RedundantVolume openVolume(Options o, int chunkBytes, List<BlockDevice> members) {
        try {
            for (int i = 0; i < o.members().size(); i++) members.add(DeviceSpec.open("m" + i, o.members().get(i)));
            return o.consistency() == Consistency.PPL ? VolumeSpec.withPpl("bench-raid5", members, chunkBytes, Raid5Algorithm.LEFT_SYMMETRIC)
                    : (RedundantVolume) RaidLevel.RAID5.factory().open("bench-raid5", members, chunkBytes, Raid5Algorithm.LEFT_SYMMETRIC.mdLayout, null);
        } catch (RuntimeException e) {
            for (BlockDevice d : members) d.close();
            throw e;
        }
    }

    private static void report(PrintStream out, Options o, String what, BenchResult r) {
        if (o.json()) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("raid_bench", "run");
            line.put("what", what);
            line.put("result", r.toJsonMap());
            out.println(BenchResult.writeJson(line));
        } else {
            out.println(String.format(Locale.ROOT, "| %s | %s %s qd%d%s | %.0f | %.1f | %.1f |", what, r.params().rw(),
                    size(r.params().blockBytes()), r.params().ioDepth(), r.params().jobs() > 1 ? " x " + r.params().jobs() + " jobs" : "",
                    r.iops(), r.bandwidthBytesPerSec() / (1 << 20), r.p99Ns() / 1e3));
        }
    }

    // ------------------------------------------------------------------ rendering

    /** The efficiency table, as Markdown (so it pastes into docs/raid.md as it is). */
    static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder("| chunk | workload | reference | raw reference | volume | efficiency | goal | met? |\n");
        b.append("|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %.3f | %s | %s |%n", size(r.chunkBytes()), r.workload(),
                    r.referenceName(), figure(r.reference(), r.unit()), figure(r.volume(), r.unit()), r.efficiency(),
                    r.hasGoal() ? String.format(Locale.ROOT, ">= %.2f", r.goal()) : "none",
                    r.hasGoal() ? (r.met() ? "yes" : "NO") : "-"));
        }
        return b.toString();
    }

    private static String figure(double value, String unit) {
        return unit.equals("IOPS") ? String.format(Locale.ROOT, "%.0f IOPS", value) : String.format(Locale.ROOT, "%.1f %s", value, unit);
    }

    static String rowJson(Row r, Options o) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("raid_bench", "efficiency");
        line.put("members", o.members().size());
        line.put("jobs", o.jobs());
        line.put("rounds", o.repeat());
        line.put("consistency", o.consistency().wireName());
        line.put("chunk_bytes", r.chunkBytes());
        line.put("workload", r.workload());
        line.put("reference_name", r.referenceName());
        line.put("unit", r.unit());
        line.put("reference", jsonNumber(Math.round(r.reference() * 10) / 10.0));
        line.put("volume", jsonNumber(Math.round(r.volume() * 10) / 10.0));
        line.put("efficiency", jsonNumber(r.efficiency()));
        line.put("goal", r.hasGoal() ? r.goal() : null);
        line.put("met", r.hasGoal() ? r.met() : null);
        return BenchResult.writeJson(line);
    }

    /** A ratio over a run that did nothing is NaN, which JSON cannot hold: null then. */
    private static Object jsonNumber(double value) {
        return Double.isFinite(value) ? value : null;
    }

    /** Sizes as the bench prints them (4k, 64k, 1m). */
    static String size(long bytes) {
        if (bytes % (1 << 20) == 0) return (bytes >> 20) + "m";
        if (bytes % 1024 == 0) return (bytes >> 10) + "k";
        return String.valueOf(bytes);
    }
}
