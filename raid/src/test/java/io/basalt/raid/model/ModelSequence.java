package io.basalt.raid.model;

import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.engine.conformance.ConformanceHarness;
import io.basalt.raid.model.RaidUnderTest.Level;
import io.basalt.raid.parity.Raid5Algorithm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.SplittableRandom;

/**
 * One random sequence of operations on one volume, drawn from one seed, each operation checked against a
 * {@link BlockModel}. The seed decides everything: the level, members, chunk, size, reactors, and each
 * operation; so a seed printed on failure replays the same run.
 *
 * <p>raid5 runs md's left-symmetric layout in half the sequences and any of md's six in the rest.
 *
 * <p>Operations: writes (1-2 blocks, partial stripes, whole aligned stripes, writes crossing a stripe
 * boundary, up to 3 stripes), vectored writes cut into uneven segments, write-zeroes, bursts of up to 16
 * disjoint writes in flight at once (sharing stripes), reads checked block by block, flushes, power cuts
 * (then the whole volume is read back), member failures (by the control plane or as a pulled drive), rebuilds
 * by the volume's sync job with requests running meanwhile (then the whole volume is read back), and a full
 * read-back. While a rebuild runs, member failures become reads and rebuilds writes; a power cut stops the job,
 * and the member rebuilds again from the start after the reopening (md's recovery_offset checkpoint: 0 on arrays
 * this small); with the write-intent bitmap it becomes a flush.
 *
 * <p>After a power cut that a recovery made consistent (the write-intent bitmap's resync, or PPL), the read-back
 * also <em>settles</em> each block to the version it returned: a block written since the last flush may hold
 * old or new, but once recovered every member must agree, so later reads (of another mirror, or rebuilt from
 * parity after a member loss) must return that same version.
 *
 * <p>Status rules: while the volume has the redundancy it needs (raid0: no member lost; raid1: one mirror
 * left; raid5: at most one member lost) every request must succeed; beyond it (raid1 with no member, raid5
 * with two) a request that does not touch a pulled drive may still succeed before the loss is seen (and must
 * be right), a flush must fail, and every request after it must fail, never return data (see {@link #dead});
 * raid0 with a pulled member may fail a request or succeed, and a read that succeeds must be right.
 *
 * <p>Left out on purpose: DISCARD (its content afterwards is undefined; raid5 refuses it); on raid5, a member
 * loss after a power cut that caught unflushed writes, and a power cut of a degraded raid5 with unflushed
 * writes, unless {@link RaidUnderTest#recoverAfterPowerCut} recovers: that is the write hole (a torn stripe
 * keeps wrong parity, and a lost member is then rebuilt from it) that md's PPL closes.
 */
final class ModelSequence {
    static final int BLOCK = 4096;
    private static final int LOG_TAIL = 40;
    static final boolean DEBUG = Boolean.getBoolean("raid.model.debug");

    /** A read or a status that broke the rules: the test's failure (never caught by the sequence itself). */
    static final class Mismatch extends RuntimeException {
        Mismatch(String message) {
            super(message);
        }
    }

    /** What one sequence did. */
    record Outcome(long seed, String config, int ops, String failure, String logTail, int powerCuts, int failures,
                   int rebuilds, int deadVolumes, long blocksChecked, int uncertainAfterCuts, boolean bugFired,
                   int jobRebuilds, int offlineRebuilds, int opsDuringRebuild, int opsOverlappingRebuild,
                   int bitmapResyncs, int resyncedRegions, int lossesAfterResync, int cutsDuringRebuild,
                   int pplRecoveries, int pplEntriesRecovered, int pplEntriesSkipped, int degradedDirtyCuts,
                   int blocksLeftArbitrary) {
        boolean ok() {
            return failure == null;
        }
    }

    /**
     * The write-intent bitmap: none; the real thing (resync of the dirty regions after a power cut, then member
     * loss allowed); or kept but its resync skipped while recovery is claimed (a bug the model must catch).
     */
    enum Bitmap { NONE, RESYNC, SKIP }

    /**
     * What a sequence may do beyond today's safe mix; {@code ppl}: raid5 with md's partial parity log, recovered after
     * each power cut (with {@code memberLossAfterPowerCut}: member loss after a cut and cuts of a degraded array).
     */
    record Rules(boolean memberLossAfterPowerCut, BuggyDevice.Bug bug, Bitmap bitmap, boolean ppl) {
        static final Rules SAFE = new Rules(false, null);
        static final Rules PPL = new Rules(true, null, Bitmap.NONE, true);

        Rules(boolean memberLossAfterPowerCut, BuggyDevice.Bug bug) {
            this(memberLossAfterPowerCut, bug, Bitmap.NONE);
        }

        Rules(boolean memberLossAfterPowerCut, BuggyDevice.Bug bug, Bitmap bitmap) {
            this(memberLossAfterPowerCut, bug, bitmap, false);
        }
    }

    private final long seed;
    private final SplittableRandom random;
    private final Rules rules;
    private final RaidUnderTest put;
    private final BlockModel model;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment writeBuffer;
    private final MemorySegment readBuffer;
    private final MemorySegment[] burstBuffers = new MemorySegment[16];
    private final ArrayDeque<String> log = new ArrayDeque<>();
    private final int maxIoBlocks;
    private long version;
    private int ops;
    private boolean parityMayBeStale;
    private int powerCuts, failures, rebuilds, deadVolumes, uncertainAfterCuts;
    private int opsDuringRebuild, opsOverlappingRebuild, lossesAfterResync, cutsDuringRebuild, degradedDirtyCuts, blocksLeftArbitrary;
    private boolean rebuilding, resyncedAfterDirtyCut;
    private long blocksChecked;

    private ModelSequence(long seed, Reactor[] reactors, Rules rules) {
        this.seed = seed;
        this.random = new SplittableRandom(seed);
        this.rules = rules;
        int levelPick = random.nextInt(100);
        Level level = levelPick < 15 ? Level.RAID0 : levelPick < 45 ? Level.RAID1 : Level.RAID5;
        if (rules.memberLossAfterPowerCut()) level = Level.RAID5;
        if (rules.bitmap() != Bitmap.NONE) level = levelPick < 40 ? Level.RAID1 : Level.RAID5;
        int members = switch (level) {
            case RAID0 -> 2 + random.nextInt(3);
            case RAID1 -> 2 + random.nextInt(2);
            case RAID5 -> 3 + random.nextInt(3);
        };
        int chunkBytes = (4096 << random.nextInt(3));
        long memberBytes = (long) chunkBytes * (6 + random.nextInt(12));
        boolean twoReactors = !rules.memberLossAfterPowerCut() && random.nextInt(4) == 0 && rules.bitmap() == Bitmap.NONE;
        Reactor[] used = twoReactors ? reactors : new Reactor[] {reactors[0]};
        long bugVictim = rules.bug() == null ? 0 : 1 + random.nextInt(rules.bug() == BuggyDevice.Bug.CORRUPT_ONE_WRITE ? 30 : 120);
        // The raid5 layout from its own stream (so that adding it changed no sequence's operations): md's default
        // left-symmetric half the time, any of md's six layouts otherwise.
        SplittableRandom layoutRandom = new SplittableRandom(seed ^ 0x1A70_0757L);
        Raid5Algorithm algorithm = layoutRandom.nextBoolean() ? Raid5Algorithm.LEFT_SYMMETRIC
                : Raid5Algorithm.values()[layoutRandom.nextInt(Raid5Algorithm.values().length)];
        this.put = new VolumeUnderTest(level, members, chunkBytes, algorithm, memberBytes, used, seed, rules.bug(), bugVictim, rules.bitmap(),
                rules.ppl() ? PplPowerCutRecovery.INSTANCE : null);
        // Background flushes the sequence does not see: the bitmap's (before bits are cleared) and the PPL's (data
        // members flushed before a stripe's next step is logged, and at drains): an intermediate version may be durable.
        this.model = new BlockModel(put.blockCount(), rules.bitmap() != Bitmap.NONE || rules.ppl());
        this.maxIoBlocks = (int) Math.min(put.blockCount(), 3L * put.stripeBlocks() + 2);
        this.writeBuffer = arena.allocate((long) maxIoBlocks * BLOCK, BLOCK);
        this.readBuffer = arena.allocate(put.blockCount() * BLOCK, BLOCK);
        for (int k = 0; k < burstBuffers.length; k++) burstBuffers[k] = arena.allocate((long) put.stripeBlocks() * BLOCK, BLOCK);
    }

    /** Runs the sequence of {@code seed}; a broken rule or a thrown error is the outcome's failure, with the log's tail. */
    static Outcome run(long seed, Reactor[] reactors, Rules rules) {
        ModelSequence s = new ModelSequence(seed, reactors, rules);
        String config = s.put.describe();
        String failure = null;
        try {
            s.runOps(40 + s.random.nextInt(81));
        } catch (Mismatch m) {
            failure = m.getMessage();
        } catch (RuntimeException | AssertionError e) {
            failure = "unexpected " + e;
        } finally {
            try {
                s.put.close();
            } catch (RuntimeException | AssertionError e) {
                if (failure == null) failure = "close: " + e;
            }
            s.arena.close();
        }
        VolumeUnderTest v = (VolumeUnderTest) s.put;
        return new Outcome(seed, config, s.ops, failure, String.join("\n  ", s.log), s.powerCuts, s.failures, s.rebuilds,
                s.deadVolumes, s.blocksChecked, s.uncertainAfterCuts, v.bugFired(), v.jobRebuilds, v.offlineRebuilds,
                s.opsDuringRebuild, s.opsOverlappingRebuild, v.bitmapResyncs, v.resyncedRegions, s.lossesAfterResync, s.cutsDuringRebuild,
                v.pplRecoveries, v.pplEntriesRecovered, v.pplEntriesSkipped, s.degradedDirtyCuts, s.blocksLeftArbitrary);
    }

    // ------------------------------------------------------------------ the mix

    private void runOps(int count) {
        note("config " + put.describe());
        int afterRaid0Loss = 0;
        for (int i = 0; i < count; i++) {
            if (!fullyAvailable() && put.level() != Level.RAID0) {
                deadVolumes++;
                dead();
                return;
            }
            if (!fullyAvailable() && afterRaid0Loss++ == 6) { // raid0 without a member: a few requests, then the end
                deadVolumes++;
                return;
            }
            step();
        }
        verifyAll("end of sequence");
    }

    private void step() {
        ops++;
        if (rebuilding) {
            opsDuringRebuild++;
            if (put.rebuildInProgress()) opsOverlappingRebuild++;
        }
        int pick = random.nextInt(100);
        if (pick < 30) write();
        else if (pick < 36) writev();
        else if (pick < 40) writeZeroes();
        else if (pick < 48) burst();
        else if (pick < 70) read();
        else if (pick < 80) flush();
        else if (pick < 86) powerCut();
        else if (pick < 90) failMember();
        else if (pick < 97) rebuild();
        else verifyAll("read-back");
    }

    /** Whether the volume still has the redundancy to answer every request. */
    private boolean fullyAvailable() {
        return switch (put.level()) {
            case RAID0 -> put.failedCount() == 0;
            case RAID1 -> put.failedCount() < put.memberCount();
            case RAID5 -> put.failedCount() <= 1;
        };
    }

    private int reactor() {
        return random.nextInt(put.reactorCount());
    }

    /** A transfer's start and length: small, partial stripe, whole stripes, crossing a stripe, or up to 3 stripes. */
    private long[] range() {
        long blocks = put.blockCount();
        int stripe = put.stripeBlocks();
        long lba;
        int count;
        switch (random.nextInt(5)) {
            case 0 -> { count = 1 + random.nextInt(2); lba = random.nextLong(blocks - count + 1); }
            case 1 -> {
                long s = random.nextLong(blocks / stripe);
                count = 1 + random.nextInt(Math.max(1, stripe - 1));
                lba = s * stripe + random.nextInt(stripe - count + 1);
            }
            case 2 -> {
                int stripes = 1 + random.nextInt(2);
                long s = random.nextLong(Math.max(1, blocks / stripe - stripes + 1));
                lba = s * stripe;
                count = (int) Math.min((long) stripes * stripe, blocks - lba);
            }
            case 3 -> {
                long s = 1 + random.nextLong(Math.max(1, blocks / stripe - 1));
                lba = Math.max(0, s * stripe - 1 - random.nextInt(stripe));
                count = (int) Math.min(2L + random.nextInt(stripe + 1), blocks - lba);
            }
            default -> { count = 1 + random.nextInt(maxIoBlocks); lba = random.nextLong(blocks - count + 1); }
        }
        count = (int) Math.min(count, Math.min(maxIoBlocks, blocks - lba));
        return new long[] {lba, Math.max(1, count)};
    }

    // ------------------------------------------------------------------ operations

    private void write() {
        long[] r = range();
        long v = ++version;
        MemorySegment buffer = writeBuffer.asSlice(0, r[1] * BLOCK);
        fillVersion(buffer, r[0], v);
        int status = put.write(reactor(), r[0], (int) r[1], buffer);
        note("write " + r[0] + "+" + r[1] + " v" + v + " -> " + Status.name(status));
        written(r[0], r[1], v, status);
    }

    private void writev() {
        long[] r = range();
        long v = ++version;
        MemorySegment buffer = writeBuffer.asSlice(0, r[1] * BLOCK);
        fillVersion(buffer, r[0], v);
        int pieces = 2 + random.nextInt(7);
        int status = put.writev(reactor(), r[0], (int) r[1], buffer, pieces);
        note("writev " + r[0] + "+" + r[1] + " v" + v + " in " + pieces + " -> " + Status.name(status));
        written(r[0], r[1], v, status);
    }

    private void writeZeroes() {
        long[] r = range();
        int status = put.writeZeroes(reactor(), r[0], (int) r[1]);
        note("write-zeroes " + r[0] + "+" + r[1] + " -> " + Status.name(status));
        written(r[0], r[1], 0, status);
    }

    /** Up to 16 disjoint writes in flight at once, many on shared stripes: their order must not matter. */
    private void burst() {
        int want = 2 + random.nextInt(15);
        long[] lbas = new long[want];
        int[] counts = new int[want];
        long[] versions = new long[want];
        java.util.BitSet taken = new java.util.BitSet();
        int n = 0;
        long blocks = put.blockCount();
        long window = Math.min(blocks, 4L * put.stripeBlocks()); // a few stripes, so that writes meet
        long base = random.nextLong(blocks - window + 1);
        for (int k = 0; k < want; k++) {
            int count = 1 + random.nextInt(Math.min(put.stripeBlocks(), 3));
            long lba = base + random.nextLong(Math.max(1, window - count + 1));
            if (lba + count > blocks || taken.get((int) lba, (int) lba + count).cardinality() > 0) continue;
            taken.set((int) lba, (int) lba + count);
            lbas[n] = lba;
            counts[n] = count;
            versions[n] = ++version;
            fillVersion(burstBuffers[n].asSlice(0, (long) count * BLOCK), lba, versions[n]);
            n++;
        }
        int[] statuses = put.writeBurst(lbas, counts, burstBuffers, n);
        StringBuilder b = new StringBuilder("burst of ").append(n).append(':');
        for (int k = 0; k < n; k++) {
            b.append(' ').append(lbas[k]).append('+').append(counts[k]).append(" v").append(versions[k]).append(' ').append(Status.name(statuses[k]));
        }
        note(b.toString());
        for (int k = 0; k < n; k++) written(lbas[k], counts[k], versions[k], statuses[k]);
    }

    private void written(long lba, long count, long v, int status) {
        expectStatus("write " + lba + "+" + count, status);
        model.written(lba, count, v, status == Status.OK);
    }

    private void read() {
        long[] r = range();
        int status = put.read(reactor(), r[0], (int) r[1], readBuffer);
        note("read " + r[0] + "+" + r[1] + " -> " + Status.name(status));
        expectStatus("read " + r[0] + "+" + r[1], status);
        if (status == Status.OK) check("read", r[0], r[1]);
    }

    private void flush() {
        int status = put.flush(reactor());
        note("flush -> " + Status.name(status));
        expectStatus("flush", status);
        if (status == Status.OK) model.flushed();
    }

    private void powerCut() {
        if (!put.supportsPowerCut()) {
            read();
            return;
        }
        // During a rebuild: the job dies, and at reassembly the member rebuilds again from its recovery_offset (see
        // VolumeUnderTest.resumeRebuild). A raid5 is then degraded, so a cut with unflushed writes is already out
        // (below). With the bitmap, out: its resync would run beside the rebuild on an array not yet in sync. With PPL,
        // in: it found writes to stripes whose parity member was rebuilding going unlogged (seed -7848714258863922832,
        // RaidModelTest.pplWriteDuringRebuildThenPowerCutAndMemberLoss_regression), fixed in Raid5Channel.
        if (rebuilding && rules.bitmap() != Bitmap.NONE) {
            flush();
            return;
        }
        boolean degradedRaid5 = put.level() == Level.RAID5 && put.failedCount() > 0;
        boolean dirty = model.anyDirty();
        if (degradedRaid5 && dirty && !rules.memberLossAfterPowerCut()) { // the write hole: left to PPL
            flush();
            return;
        }
        boolean[] wasDirty = new boolean[(int) put.blockCount()];
        for (int b = 0; b < wasDirty.length; b++) wasDirty[b] = model.isDirty(b);
        put.powerCut();
        model.powerCut();
        powerCuts++;
        uncertainAfterCuts += model.uncertainCount();
        boolean recovered = put.recoverAfterPowerCut();
        for (int b = 0; b < wasDirty.length; b++) {
            if (wasDirty[b] && put.mayHoldAnythingAfterCut(b)) {
                model.mayHoldAnything(b);
                blocksLeftArbitrary++;
            }
        }
        if (put.level() == Level.RAID5 && dirty && !recovered) parityMayBeStale = true;
        if (dirty && recovered) resyncedAfterDirtyCut = true;
        if (rebuilding) cutsDuringRebuild++;
        if (degradedRaid5 && dirty) degradedDirtyCuts++;
        note("power cut (" + (dirty ? "unflushed writes" : "nothing unflushed") + ", recovery " + recovered
                + (rebuilding ? ", rebuild restarted" : "") + ")");
        verifyAll("after a power cut", recovered);
    }

    private void failMember() {
        if (put.level() == Level.RAID5 && parityMayBeStale && !rules.memberLossAfterPowerCut() || rebuilding) { // the write hole
            read();
            return;
        }
        int member = random.nextInt(put.memberCount());
        if (put.isFailed(member)) return;
        if (put.level() == Level.RAID1 && put.failedCount() == put.memberCount() - 1 && random.nextInt(4) != 0) return;
        if (put.level() == Level.RAID5 && put.failedCount() == 1 && random.nextInt(3) != 0) return;
        if (put.level() == Level.RAID0 && random.nextInt(3) != 0) return;
        boolean pulled = put.level() == Level.RAID0 || random.nextBoolean();
        put.failMember(member, pulled);
        failures++;
        if (resyncedAfterDirtyCut) lossesAfterResync++;
        note((pulled ? "pull" : "fail") + " member " + member + " (" + put.failedCount() + " failed)");
    }

    /**
     * The failed member replaced by a blank one and rebuilt by the volume's sync job while 2 to 12 more operations
     * run (their count from the seed, so a seed replays; the job's units complete only while they cycle the
     * reactors); then the job is awaited, the volume must be healthy, and a flush stands for the rebuild's last
     * checkpoint (md writes the superblocks with a flush: the rebuilt member's content is durable from then on).
     */
    private void rebuild() {
        if (put.level() == Level.RAID0 || put.failedCount() == 0 || !fullyAvailable() || rebuilding) {
            write();
            return;
        }
        int member = -1;
        for (int m = 0; m < put.memberCount() && member < 0; m++) if (put.isFailed(m)) member = m;
        if (!put.rebuildsOnline()) flush(); // the offline copy must not hold what a later cut takes from the others
        boolean job = put.startRebuild(member);
        if (!job) { // the offline stand-in copied the media
            rebuilds++;
            note("replace and rebuild member " + member + " offline");
            verifyAll("after a rebuild");
            return;
        }
        note("replace member " + member + ", rebuild job started");
        rebuilding = true;
        int during = 2 + random.nextInt(11);
        for (int k = 0; k < during && fullyAvailable(); k++) step();
        rebuilding = false;
        put.finishRebuild();
        rebuilds++;
        note("rebuild of member " + member + " done");
        flush();
        verifyAll("after a rebuild");
    }

    private void verifyAll(String why) {
        verifyAll(why, false);
    }

    /** Reads the whole volume; {@code settle}: each block's version read becomes the only one allowed from now on. */
    private void verifyAll(String why, boolean settle) {
        long blocks = put.blockCount();
        int status = put.read(reactor(), 0, (int) blocks, readBuffer);
        note("read all (" + why + ") -> " + Status.name(status));
        expectStatus("read all (" + why + ")", status);
        if (status == Status.OK) check("read all (" + why + ")", 0, blocks, settle);
    }

    /**
     * Past its redundancy. A drive pulled last may not be noticed yet: a request that does not touch it may still
     * succeed, and then must be right. A flush touches every member, so it must fail, and from then on every
     * read and write must fail too. Then the sequence ends.
     */
    private void dead() {
        long[] r = range();
        int read = put.read(reactor(), r[0], (int) r[1], readBuffer);
        if (read == Status.OK) check("read before the loss was seen", r[0], r[1]);
        long v = ++version;
        fillVersion(writeBuffer.asSlice(0, r[1] * BLOCK), r[0], v);
        int write = put.write(reactor(), r[0], (int) r[1], writeBuffer.asSlice(0, r[1] * BLOCK));
        model.written(r[0], r[1], v, write == Status.OK);
        int flush = put.flush(reactor());
        int readAfter = put.read(reactor(), r[0], (int) r[1], readBuffer);
        int writeAfter = put.write(reactor(), r[0], (int) r[1], writeBuffer.asSlice(0, r[1] * BLOCK));
        note("volume lost: read " + Status.name(read) + ", write " + Status.name(write) + ", flush " + Status.name(flush)
                + ", then read " + Status.name(readAfter) + ", write " + Status.name(writeAfter));
        if (flush == Status.OK || readAfter == Status.OK || writeAfter == Status.OK) {
            throw new Mismatch(put.level() + " with " + put.failedCount() + " of " + put.memberCount()
                    + " members lost answered OK (flush " + Status.name(flush) + ", then read " + Status.name(readAfter)
                    + ", write " + Status.name(writeAfter) + ")");
        }
    }

    // ------------------------------------------------------------------ checks

    private void expectStatus(String what, int status) {
        if (fullyAvailable() && status != Status.OK) {
            throw new Mismatch(what + " failed with " + Status.name(status) + " on a volume with " + put.failedCount()
                    + " of " + put.memberCount() + " members lost (" + put.level() + " must serve it)");
        }
        if (!fullyAvailable() && put.level() != Level.RAID0 && status == Status.OK) {
            throw new Mismatch(what + " answered OK on " + put.level() + " with " + put.failedCount() + " members lost");
        }
    }

    private void check(String what, long lba, long count) {
        check(what, lba, count, false);
    }

    private void check(String what, long lba, long count, boolean settle) {
        for (int i = 0; i < count; i++) {
            long b = lba + i;
            long[] allowed = model.allowed(b);
            boolean ok = false;
            for (long v : allowed) {
                if (matches(readBuffer, i, b, v)) {
                    ok = true;
                    if (settle && allowed.length > 1) model.settle(b, v);
                    break;
                }
            }
            blocksChecked++;
            if (!ok) {
                throw new Mismatch(what + ": block " + b + " holds none of the versions " + java.util.Arrays.toString(allowed)
                        + (whichVersion(b, i) >= 0 ? " (it holds v" + whichVersion(b, i) + ")" : " (nor any version written)")
                        + (DEBUG ? ((VolumeUnderTest) put).debugBlock(b) : ""));
            }
        }
    }

    /** For the report: the version a wrong block holds, if any. */
    private long whichVersion(long lba, int index) {
        for (long v = 0; v <= version; v++) if (matches(readBuffer, index, lba, v)) return v;
        return -1;
    }

    private boolean matches(MemorySegment buffer, int index, long lba, long v) {
        if (v == BlockModel.ANYTHING) return true;
        if (v == 0) return ConformanceHarness.blockIsZero(buffer, index, BLOCK);
        return ConformanceHarness.blockMatches(buffer, index, lba, BLOCK, versionSeed(v));
    }

    private void fillVersion(MemorySegment buffer, long lba, long v) {
        ConformanceHarness.fill(buffer, lba, BLOCK, versionSeed(v));
    }

    private long versionSeed(long v) {
        return ConformanceHarness.mix(seed * 0x9E3779B97F4A7C15L + v);
    }

    private void note(String line) {
        if (DEBUG) System.err.println("DEBUG op " + ops + ": " + line);
        if (log.size() == LOG_TAIL) log.removeFirst();
        log.addLast(ops + ": " + line);
    }
}
