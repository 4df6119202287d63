package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.raid.md.MdArraySpec;
import io.basalt.raid.md.MdAssembly;
import io.basalt.raid.md.MdBitmap;
import io.basalt.raid.md.MdMember;
import io.basalt.raid.md.MdScanner;
import io.basalt.raid.md.MdSuperblock;
import io.basalt.raid.parity.ChunkAddress;
import io.basalt.raid.parity.Raid0Layout;
import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.raid.parity.Raid5Layout;
import io.basalt.raid.parity.Xor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * md v1.2 interop both ways with the real thing: mdadm and the kernel's md (raid0, raid1, raid456) in a QEMU guest,
 * since the build host has no md driver. Members are plain image files on the host, attached as virtio-blk disks
 * (/dev/vda, /dev/vdb, ... in the order given).
 *
 * <ol>
 * <li>Basalt writes: {@link MdArraySpec} superblocks (and bitmaps) plus a known pattern laid out as each RAID level
 *     lays it (parity from {@link Xor}); the guest must {@code mdadm --examine} every member, {@code mdadm
 *     --assemble} each array clean (no resync), read back the pattern's sha256, and md's own {@code check} must
 *     count zero parity/mirror mismatches.</li>
 * <li>mdadm writes: {@code mdadm --create --metadata=1.2 --assume-clean}, a random pattern through /dev/mdN,
 *     {@code mdadm --stop}; the host parses the members with {@link MdMember} / {@link MdScanner}, compares every
 *     placement field with what {@link MdArraySpec} would have chosen, and reads the pattern back through
 *     {@link Raid5Layout} / {@link Raid0Layout} from the member files.</li>
 * </ol>
 */
class MdInteropGuestTest {
    private static final long MiB = 1L << 20;
    private static final long MEMBER_BYTES = 64 * MiB;
    private static final long MEMBER_SECTORS = MEMBER_BYTES / 512;
    /** The pattern written to (and read back from) the start of every array. */
    private static final int PATTERN_BYTES = (int) (16 * MiB);

    private static final String LOAD = """
            loadmod md-mod raid0 raid1 raid456 || { echo "loadmod failed"; exit 10; }
            echo "BASALT-RESULT mdadm=$(mdadm --version 2>&1 | cut -d' ' -f3) kernel=$(uname -r)"
            # md's check: every stripe read, parity (raid5) or mirrors (raid1) compared; mismatch_cnt counts sectors.
            md_check() {
              echo check > /sys/block/$1/md/sync_action || return 1
              i=0
              while [ "$(cat /sys/block/$1/md/sync_action)" != idle ] && [ $i -lt 600 ]; do usleep 200000; i=$((i+1)); done
              echo "$(cat /sys/block/$1/md/mismatch_cnt)"
            }
            """;

    /** One array: its md device, members (guest names, host files) and how it was made. */
    private record Array(String label, String md, int level, int chunkSectors, List<String> devices, List<Path> files) {}

    /** Each disk on QEMU's command line: -drive ... -device ... */
    private static final int ARGS_PER_DISK = 4;

    /**
     * The three directions share one boot (a TCG boot costs seconds): 7 + 7 + 5 virtio-blk disks, vda onwards, each
     * direction a named check with its own md devices (md0-md2, md3-md5, md6-md7) and member files in its own folder.
     */
    private static final Supplier<Shared> GUEST = GuestTests.once(MdInteropGuestTest::runShared);

    private record Shared(GuestResult result, BasaltToMdadm basaltToMdadm, MdadmToBasalt mdadmToBasalt, Degraded degraded) {}

    private static Shared runShared() throws IOException {
        Path dir = GuestTests.workDir("mdInterop");
        List<String> args = new ArrayList<>();
        BasaltToMdadm one = prepareBasaltToMdadm(Files.createDirectories(dir.resolve("basaltToMdadm")), args);
        MdadmToBasalt two = prepareMdadmToBasalt(Files.createDirectories(dir.resolve("mdadmToBasalt")), args);
        Degraded three = prepareDegraded(Files.createDirectories(dir.resolve("degradedRaid5")), args);
        String script = new GuestChecks().prologue(LOAD)
                .add("basaltToMdadm", one.script())
                .add("mdadmToBasalt", two.script())
                .add("degradedRaid5", three.script())
                .script();
        GuestResult r = Guest.builder(GuestTools.guest()).workDir(dir).qemuArgs(args.toArray(String[]::new))
                .script(script).timeout(Duration.ofMinutes(8)).run();
        GuestTests.timing("md interop: one boot, Basalt -> mdadm, mdadm -> Basalt, degraded raid5 both ways", r.elapsed().toMillis());
        r.checks().values().forEach(c -> GuestTests.timing("md interop: check " + c.name(), Math.round(c.seconds() * 1000)));
        return new Shared(r, one, two, three);
    }

    /** The index of the next disk (vda = 0) given the QEMU arguments so far. */
    private static int next(List<String> args) {
        return args.size() / ARGS_PER_DISK;
    }

    // ------------------------------------------------------------------ Basalt writes, mdadm reads

    private record BasaltToMdadm(List<Array> arrays, List<MdArraySpec> specs, String expectedSha, String script) {}

    private static BasaltToMdadm prepareBasaltToMdadm(Path dir, List<String> args) throws IOException {
        byte[] pattern = pattern(4);
        String expectedSha = sha256(pattern);
        SplittableRandom random = new SplittableRandom(7);
        List<Array> arrays = List.of(
                array(dir, "r5", "md0", 5, (int) MdArraySpec.DEFAULT_CHUNK_SECTORS, 3, next(args), args),
                array(dir, "r1", "md1", 1, 0, 2, next(args), args),
                array(dir, "r0", "md2", 0, (int) MdArraySpec.DEFAULT_CHUNK_SECTORS, 2, next(args), args));
        List<MdArraySpec> specs = new ArrayList<>();
        long now = System.currentTimeMillis() / 1000;
        for (Array a : arrays) {
            MdArraySpec spec = MdArraySpec.create("basalt:" + a.label, a.level,
                    a.level == 5 ? MdSuperblock.ALGORITHM_LEFT_SYMMETRIC : 0, a.chunkSectors, a.files.size(), MEMBER_SECTORS,
                    a.level != 0, now, random);
            specs.add(spec);
            writeBasaltArray(spec, a.files, pattern, random);
        }
        StringBuilder script = new StringBuilder();
        for (int i = 0; i < arrays.size(); i++) {
            Array a = arrays.get(i);
            String devs = String.join(" ", a.devices.stream().map(d -> "/dev/" + d).toList());
            script.append("""
                    echo "=== L: mdadm --examine"
                    ex=0
                    for d in DEVS; do mdadm --examine $d || ex=$?; done
                    [ -n "BITMAPDEV" ] && mdadm --examine-bitmap BITMAPDEV
                    echo "BASALT-RESULT L_examine=$ex L_uuid=$(mdadm --examine FIRST | sed -n 's/^ *Array UUID : //p')"
                    mdadm --assemble /dev/MD DEVS; as=$?
                    echo "BASALT-RESULT L_assemble=$as"
                    cat /proc/mdstat
                    if [ $as = 0 ]; then
                      echo "BASALT-RESULT L_state=$(cat /sys/block/MD/md/array_state) L_sync=$(cat /sys/block/MD/md/sync_action 2>/dev/null || echo none) L_degraded=$(cat /sys/block/MD/md/degraded 2>/dev/null || echo none) L_size=$(cat /sys/block/MD/size)"
                      echo "BASALT-RESULT L_sha=$(dd if=/dev/MD bs=1M count=PATMB 2>/dev/null | sha256sum | cut -d' ' -f1)"
                      [ LEVEL = 0 ] || echo "BASALT-RESULT L_mismatch=$(md_check MD)"
                      mdadm --detail /dev/MD
                      mdadm --stop /dev/MD
                    else
                      dmesg | tail -20
                    fi
                    """.replace("L_", a.label + "_").replace("=== L", "=== " + a.label).replace("DEVS", devs)
                    .replace("FIRST", "/dev/" + a.devices.getFirst()).replace("MD", a.md)
                    .replace("BITMAPDEV", a.level == 0 ? "" : "/dev/" + a.devices.getFirst())
                    .replace("PATMB", String.valueOf(PATTERN_BYTES / MiB)).replace("LEVEL", String.valueOf(a.level)));
        }
        script.append("dmesg | grep -i ' md' | tail -30\n");
        return new BasaltToMdadm(arrays, specs, expectedSha, script.toString());
    }

    @Test
    void arraysWrittenByBasaltAssembleInMdadmAndReadBackThePattern() throws Exception {
        Shared shared = GUEST.get();
        BasaltToMdadm p = shared.basaltToMdadm();
        List<Array> arrays = p.arrays();
        List<MdArraySpec> specs = p.specs();
        String expectedSha = p.expectedSha();
        GuestCheck r = shared.result().check("basaltToMdadm").assertSuccess();
        System.out.println("[md] guest mdadm " + shared.result().markers().get("mdadm") + ", kernel " + shared.result().markers().get("kernel"));
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < arrays.size(); i++) {
            Array a = arrays.get(i);
            MdArraySpec spec = specs.get(i);
            String l = a.label + "_";
            expect(failures, r, l + "examine", "0");
            expect(failures, r, l + "uuid", MdScanner.uuidText(spec.setUuid()));
            expect(failures, r, l + "assemble", "0");
            if (!"0".equals(r.markers().get(l + "assemble"))) continue;
            expect(failures, r, l + "state", "clean");
            expect(failures, r, l + "sync", a.level == 0 ? "none" : "idle");
            long dataDisks = a.level == 1 ? 1 : a.level == 5 ? a.files.size() - 1 : a.files.size();
            expect(failures, r, l + "size", String.valueOf(spec.sizeSectors() * dataDisks));
            expect(failures, r, l + "sha", expectedSha);
            if (a.level != 0) expect(failures, r, l + "mismatch", "0");
            // After the kernel ran the array (and rewrote the superblocks on stop), Basalt still reads it.
            MdAssembly back = assemble(a);
            if (back.verdict() != MdAssembly.Verdict.HEALTHY || !back.clean()) {
                failures.add(a.label + ": after mdadm --stop Basalt sees " + back.verdict() + " clean=" + back.clean()
                        + " " + back.problems());
            }
            System.out.println("[md] " + a.label + " after the guest: events " + back.events() + ", " + back.problems());
        }
        assertTrue(failures.isEmpty(), "md interop (Basalt -> mdadm): " + failures + "\n" + r.consoleTail(80));
    }

    // ------------------------------------------------------------------ mdadm writes, Basalt reads

    private record MdadmToBasalt(List<Array> arrays, String script) {}

    private static MdadmToBasalt prepareMdadmToBasalt(Path dir, List<String> args) throws IOException {
        List<Array> arrays = List.of(
                array(dir, "r5", "md3", 5, 128, 3, next(args), args),
                array(dir, "r1", "md4", 1, 0, 2, next(args), args),
                array(dir, "r0", "md5", 0, 128, 2, next(args), args));
        for (Array a : arrays) {
            for (Path f : a.files) try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ch.truncate(MEMBER_BYTES);
                ch.write(ByteBuffer.allocate(1), MEMBER_BYTES - 1); // sparse, full length
            }
        }
        StringBuilder script = new StringBuilder();
        for (Array a : arrays) {
            String devs = String.join(" ", a.devices.stream().map(d -> "/dev/" + d).toList());
            // raid1 with mdadm's internal write-intent bitmap: Basalt must read md's bitmap too.
            String chunk = a.level == 1 ? " --bitmap=internal" : " --chunk=" + a.chunkSectors / 2;
            script.append("""
                    echo "=== L: mdadm --create"
                    mdadm --create /dev/MD --run --metadata=1.2 --level=LEVEL --raid-devices=N CHUNK --assume-clean DEVS </dev/null; rc=$?
                    echo "BASALT-RESULT L_create=$rc"
                    cat /proc/mdstat
                    if [ $rc = 0 ]; then
                      dd if=/dev/urandom of=/tmp/L.pat bs=1M count=PATMB 2>/dev/null
                      dd if=/tmp/L.pat of=/dev/MD bs=1M conv=fsync 2>/dev/null
                      echo "BASALT-RESULT L_sha=$(sha256sum /tmp/L.pat | cut -d' ' -f1) L_size=$(cat /sys/block/MD/size)"
                      rm /tmp/L.pat
                      [ LEVEL = 0 ] || echo "BASALT-RESULT L_mismatch=$(md_check MD)"
                      mdadm --detail /dev/MD
                      mdadm --stop /dev/MD; echo "BASALT-RESULT L_stop=$?"
                      mdadm --examine FIRST
                    else
                      dmesg | tail -20
                    fi
                    """.replace("L_", a.label + "_").replace("=== L", "=== " + a.label).replace("/tmp/L.", "/tmp/" + a.label + ".")
                    .replace("DEVS", devs).replace("FIRST", "/dev/" + a.devices.getFirst()).replace("MD", a.md)
                    .replace("LEVEL", String.valueOf(a.level)).replace("N CHUNK", a.files.size() + chunk)
                    .replace("PATMB", String.valueOf(PATTERN_BYTES / MiB)));
        }
        return new MdadmToBasalt(arrays, script.toString());
    }

    @Test
    void arraysCreatedByMdadmParseInBasaltAndReadBackWhatTheGuestWrote() throws Exception {
        Shared shared = GUEST.get();
        List<Array> arrays = shared.mdadmToBasalt().arrays();
        GuestCheck r = shared.result().check("mdadmToBasalt").assertSuccess();
        List<String> failures = new ArrayList<>();
        for (Array a : arrays) {
            String l = a.label + "_";
            expect(failures, r, l + "create", "0");
            if (!"0".equals(r.markers().get(l + "create"))) continue;
            expect(failures, r, l + "stop", "0");
            if (a.level != 0) expect(failures, r, l + "mismatch", "0");
            MdAssembly asm = assemble(a);
            if (asm.verdict() != MdAssembly.Verdict.HEALTHY || !asm.clean() || asm.level() != a.level
                    || asm.raidDisks() != a.files.size()) {
                failures.add(a.label + ": Basalt assembles " + asm.verdict() + " clean=" + asm.clean() + " level "
                        + asm.level() + " raid_disks " + asm.raidDisks() + " " + asm.problems());
                continue;
            }
            MdSuperblock sb = asm.byRole().getFirst().superblock();
            for (int role = 0; role < a.files.size(); role++) {
                MdSuperblock m = asm.byRole().get(role).superblock();
                if (!asm.byRole().get(role).deviceName().equals(a.files.get(role).getFileName().toString())) {
                    failures.add(a.label + ": role " + role + " is " + asm.byRole().get(role).deviceName()
                            + ", mdadm was given " + a.files.get(role).getFileName());
                }
                if (m.events() != sb.events() || m.dataOffsetSectors() != sb.dataOffsetSectors()) {
                    failures.add(a.label + ": members disagree: events/data_offset " + m.events() + "/" + m.dataOffsetSectors()
                            + " vs " + sb.events() + "/" + sb.dataOffsetSectors());
                }
            }
            if (a.level == 5 && sb.layout() != MdSuperblock.ALGORITHM_LEFT_SYMMETRIC) failures.add(a.label + ": layout " + sb.layout());
            if (a.level != 1 && sb.chunkSectors() != a.chunkSectors) failures.add(a.label + ": chunk " + sb.chunkSectors());
            // What Basalt would have written for the same member size and chunk, field by field.
            MdArraySpec ours = MdArraySpec.create("x", a.level, sb.layout(), a.chunkSectors, a.files.size(), MEMBER_SECTORS,
                    sb.hasBitmap(), 0, new SplittableRandom(1));
            MemorySegment oursBuffer = MemorySegment.ofArray(new byte[MdSuperblock.BUFFER_BYTES]);
            MdSuperblock o = ours.writeSuperblock(oursBuffer, 0, new byte[16], 0);
            List<String> diffs = compare(sb, o);
            System.out.println("[md] " + a.label + " mdadm vs MdArraySpec: " + (diffs.isEmpty() ? "same placement" : diffs)
                    + "; events " + sb.events() + ", feature_map 0x" + Integer.toHexString(sb.featureMap())
                    + ", max_dev " + sb.maxDev() + ", name '" + sb.setName() + "'");
            // Known and harmless, both ways: max_dev (mdadm 128, Basalt raid_disks; md grows it when needed) and, for
            // raid0, size (mdadm 0, md's raid0 ignores it; Basalt writes the used size). Anything else fails.
            for (String d : diffs) {
                if (!d.startsWith("max_dev") && !(d.startsWith("size") && a.level == 0)) failures.add(a.label + ": " + d);
            }
            if (a.level == 1) checkMdadmBitmap(a, sb, ours, failures);
            long dataDisks = a.level == 1 ? 1 : a.level == 5 ? a.files.size() - 1 : a.files.size();
            expect(failures, r, l + "size", String.valueOf(sb.usedSectors() * dataDisks));
            byte[] data = readArray(a, sb, PATTERN_BYTES, failures);
            expect(failures, r, l + "sha", sha256(data));
        }
        assertTrue(failures.isEmpty(), "md interop (mdadm -> Basalt): " + failures + "\n" + r.consoleTail(80));
    }

    // ------------------------------------------------------------------ degraded raid5, both ways

    /**
     * A member gone, both ways. Basalt's raid5 with its third member not attached: {@code mdadm --assemble --run}
     * starts it degraded and md rebuilds the missing member's chunks from the parity Basalt wrote. mdadm's raid5 with
     * a member failed ({@code mdadm --fail}) before the pattern is written: Basalt finds the failed member faulty in
     * the others' dev_roles (and stale), assembles DEGRADED, and rebuilds its chunks from md's parity.
     */
    private record Degraded(Array mdadm, byte[] pattern, String script) {}

    private static Degraded prepareDegraded(Path dir, List<String> args) throws IOException {
        byte[] pattern = pattern(9);
        SplittableRandom random = new SplittableRandom(11);
        List<String> all = new ArrayList<>();
        int first = next(args);
        Array basalt = array(dir, "b5", "md6", 5, (int) MdArraySpec.DEFAULT_CHUNK_SECTORS, 3, first, all);
        MdArraySpec spec = MdArraySpec.create("basalt:b5", 5, MdSuperblock.ALGORITHM_LEFT_SYMMETRIC, basalt.chunkSectors, 3,
                MEMBER_SECTORS, true, System.currentTimeMillis() / 1000, random);
        writeBasaltArray(spec, basalt.files, pattern, random);
        // Only the first two of Basalt's members are attached (B0, B1); mdadm's array is the next three disks (M0..M2).
        args.addAll(all.subList(0, 2 * ARGS_PER_DISK));
        Array mdadm = array(dir, "m5", "md7", 5, 128, 3, first + 2, args);
        for (Path f : mdadm.files) try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), MEMBER_BYTES - 1);
        }
        String script = """
                mdadm --assemble --run /dev/B5MD /dev/B0 /dev/B1; echo "BASALT-RESULT b5_assemble=$?"
                cat /proc/mdstat
                echo "BASALT-RESULT b5_degraded=$(cat /sys/block/B5MD/md/degraded) b5_state=$(cat /sys/block/B5MD/md/array_state)"
                echo "BASALT-RESULT b5_sha=$(dd if=/dev/B5MD bs=1M count=PATMB 2>/dev/null | sha256sum | cut -d' ' -f1)"
                mdadm --detail /dev/B5MD
                mdadm --stop /dev/B5MD
                mdadm --create /dev/M5MD --run --metadata=1.2 --level=5 --raid-devices=3 --chunk=64 --assume-clean \
                    /dev/M0 /dev/M1 /dev/M2 </dev/null; echo "BASALT-RESULT m5_create=$?"
                mdadm /dev/M5MD --fail /dev/M2; echo "BASALT-RESULT m5_fail=$?"
                dd if=/dev/urandom of=/tmp/m5.pat bs=1M count=PATMB 2>/dev/null
                dd if=/tmp/m5.pat of=/dev/M5MD bs=1M conv=fsync 2>/dev/null
                echo "BASALT-RESULT m5_sha=$(sha256sum /tmp/m5.pat | cut -d' ' -f1) m5_degraded=$(cat /sys/block/M5MD/md/degraded)"
                mdadm --detail /dev/M5MD
                mdadm --stop /dev/M5MD; echo "BASALT-RESULT m5_stop=$?"
                mdadm --examine /dev/M0 /dev/M2
                """.replace("PATMB", String.valueOf(PATTERN_BYTES / MiB)).replace("B5MD", basalt.md).replace("M5MD", mdadm.md)
                .replace("/B0", "/" + basalt.devices.get(0)).replace("/B1", "/" + basalt.devices.get(1))
                .replace("/M0", "/" + mdadm.devices.get(0)).replace("/M1", "/" + mdadm.devices.get(1))
                .replace("/M2", "/" + mdadm.devices.get(2));
        return new Degraded(mdadm, pattern, script);
    }

    @Test
    void degradedRaid5BothWays() throws Exception {
        Shared shared = GUEST.get();
        Array mdadm = shared.degraded().mdadm();
        byte[] pattern = shared.degraded().pattern();
        GuestCheck r = shared.result().check("degradedRaid5").assertSuccess();
        List<String> failures = new ArrayList<>();
        expect(failures, r, "b5_assemble", "0");
        expect(failures, r, "b5_degraded", "1");
        expect(failures, r, "b5_sha", sha256(pattern));
        expect(failures, r, "m5_create", "0");
        expect(failures, r, "m5_fail", "0");
        expect(failures, r, "m5_degraded", "1");
        expect(failures, r, "m5_stop", "0");

        MdAssembly asm = assemble(mdadm);
        System.out.println("[md] m5 after --fail: " + asm.verdict() + " clean=" + asm.clean() + " events " + asm.events()
                + " " + asm.problems());
        if (asm.verdict() != MdAssembly.Verdict.DEGRADED || !asm.clean() || asm.activeCount() != 2 || asm.byRole().get(2) != null) {
            failures.add("m5: Basalt assembles " + asm.verdict() + " clean=" + asm.clean() + " active " + asm.activeCount()
                    + " " + asm.problems());
        } else {
            MdSuperblock sb = asm.byRole().getFirst().superblock();
            if (sb.devRole(2) != MdSuperblock.ROLE_FAULTY) failures.add("m5: dev_roles[2] = 0x" + Integer.toHexString(sb.devRole(2)));
            expect(failures, r, "m5_sha", sha256(readDegradedRaid5(mdadm, sb, 2, PATTERN_BYTES)));
        }
        assertTrue(failures.isEmpty(), "md interop (degraded raid5): " + failures + "\n" + r.consoleTail(80));
    }

    /** Raid5 data with member {@code missing} gone: its data chunks are the XOR of the stripe's other chunks. */
    private static byte[] readDegradedRaid5(Array a, MdSuperblock sb, int missing, int bytes) throws IOException {
        byte[] out = new byte[bytes];
        long base = sb.dataOffsetSectors() * 512;
        int n = a.files.size();
        int chunkBytes = (int) sb.chunkSectors() * 512;
        Raid5Layout layout = new Raid5Layout(Raid5Algorithm.fromMdLayout(sb.layout()), n, (int) sb.chunkSectors());
        ChunkAddress at = new ChunkAddress();
        MemorySegment[] others = new MemorySegment[n - 1];
        for (int off = 0; off < bytes; off += chunkBytes) {
            layout.map(off / 512, at);
            long memberOffset = base + (at.diskSector() - at.sectorInChunk()) * 512;
            if (at.disk() != missing) {
                System.arraycopy(read(a.files.get(at.disk()), memberOffset, chunkBytes), 0, out, off, chunkBytes);
                continue;
            }
            int k = 0;
            for (int d = 0; d < n; d++) if (d != missing) others[k++] = MemorySegment.ofArray(read(a.files.get(d), memberOffset, chunkBytes));
            byte[] rebuilt = new byte[chunkBytes];
            Xor.parity(MemorySegment.ofArray(rebuilt), others, n - 1);
            System.arraycopy(rebuilt, 0, out, off, chunkBytes);
        }
        return out;
    }

    // ------------------------------------------------------------------ helpers

    /** Host image files for the array, attached as the next virtio-blk disks (vda = index 0). */
    private static Array array(Path dir, String label, String md, int level, int chunkSectors, int members, int firstIndex,
                               List<String> qemuArgs) {
        List<String> devices = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < members; i++) {
            int index = firstIndex + i;
            Path f = dir.resolve(label + "-" + i + ".img");
            files.add(f);
            devices.add("vd" + (char) ('a' + index));
            qemuArgs.addAll(List.of("-drive", "file=" + Guest.qemuEscape(f.toString()) + ",if=none,id=d" + index + ",format=raw",
                    "-device", "virtio-blk-pci,drive=d" + index));
        }
        return new Array(label, md, level, chunkSectors, devices, files);
    }

    private static byte[] pattern(long seed) {
        byte[] out = new byte[PATTERN_BYTES];
        new SplittableRandom(seed).nextBytes(out);
        return out;
    }

    /** Sparse member files: superblock at 4 KiB, bitmap at 8 KiB when the spec has one, the pattern laid out. */
    private static void writeBasaltArray(MdArraySpec spec, List<Path> files, byte[] pattern, SplittableRandom random)
            throws IOException {
        int n = files.size();
        FileChannel[] ch = new FileChannel[n];
        try {
            for (int i = 0; i < n; i++) {
                ch[i] = FileChannel.open(files.get(i), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                        StandardOpenOption.READ);
                ch[i].write(ByteBuffer.allocate(1), MEMBER_BYTES - 1);
                byte[] sb = new byte[MdSuperblock.BUFFER_BYTES];
                byte[] deviceUuid = new byte[MdSuperblock.UUID_BYTES];
                random.nextBytes(deviceUuid);
                spec.writeSuperblock(MemorySegment.ofArray(sb), i, deviceUuid, spec.ctimeSeconds());
                writeFully(ch[i], sb, MdSuperblock.SUPER_OFFSET_SECTORS * 512);
                if (spec.bitmapSectors() > 0) {
                    byte[] bm = new byte[(int) (spec.bitmapSectors() * 512)];
                    new MdBitmap().wrap(MemorySegment.ofArray(bm)).initialize(spec);
                    writeFully(ch[i], bm, (MdSuperblock.SUPER_OFFSET_SECTORS + MdArraySpec.BITMAP_OFFSET_SECTORS) * 512);
                }
            }
            long base = spec.dataOffsetSectors() * 512;
            int chunkBytes = (int) spec.chunkSectors() * 512;
            ChunkAddress at = new ChunkAddress();
            switch (spec.level()) {
                case 1 -> {
                    for (FileChannel c : ch) writeFully(c, pattern, base);
                }
                case 0 -> {
                    Raid0Layout layout = new Raid0Layout(n, (int) spec.chunkSectors());
                    for (int off = 0; off < pattern.length; off += chunkBytes) {
                        layout.map(off / 512, at);
                        writeFully(ch[at.disk()], slice(pattern, off, chunkBytes), base + at.diskSector() * 512);
                    }
                }
                case 5 -> {
                    Raid5Layout layout = new Raid5Layout(Raid5Algorithm.fromMdLayout(spec.layout()), n, (int) spec.chunkSectors());
                    int stripeBytes = chunkBytes * (n - 1);
                    MemorySegment[] data = new MemorySegment[n - 1];
                    for (int off = 0; off < pattern.length; off += stripeBytes) {
                        for (int d = 0; d < n - 1; d++) {
                            int chunkOff = off + d * chunkBytes;
                            layout.map(chunkOff / 512, at);
                            byte[] chunk = slice(pattern, chunkOff, chunkBytes);
                            data[d] = MemorySegment.ofArray(chunk);
                            writeFully(ch[at.disk()], chunk, base + at.diskSector() * 512);
                        }
                        byte[] parity = new byte[chunkBytes];
                        Xor.parity(MemorySegment.ofArray(parity), data, n - 1);
                        writeFully(ch[at.parityDisk()], parity, base + (at.diskSector() - at.sectorInChunk()) * 512);
                    }
                }
                default -> throw new IllegalArgumentException("level " + spec.level());
            }
        } finally {
            for (FileChannel c : ch) if (c != null) c.close();
        }
    }

    /** mdadm's internal bitmap, as md left it after --stop: valid and current for Basalt, compared with ours. */
    private static void checkMdadmBitmap(Array a, MdSuperblock sb, MdArraySpec ours, List<String> failures) throws IOException {
        if (!sb.hasBitmap()) {
            failures.add(a.label + ": --bitmap=internal but feature_map 0x" + Integer.toHexString(sb.featureMap()));
            return;
        }
        for (Path f : a.files) {
            long at = (sb.superOffsetSectors() + sb.bitmapOffsetSectors()) * 512;
            int length = (int) Math.min(64 * 1024, sb.dataOffsetSectors() * 512 - at);
            MdBitmap bm = new MdBitmap().wrap(MemorySegment.ofArray(read(f, at, length)));
            MdSuperblock mine = new MdSuperblock().wrap(MemorySegment.ofArray(read(f, MdSuperblock.SUPER_OFFSET_SECTORS * 512,
                    MdSuperblock.BUFFER_BYTES)));
            try {
                bm.validate(mine);
            } catch (io.basalt.raid.md.MdFormatException e) {
                failures.add(a.label + ": " + f.getFileName() + " bitmap rejected: " + e.getMessage());
                continue;
            }
            if (bm.isStale(mine)) failures.add(a.label + ": " + f.getFileName() + " bitmap stale: events " + bm.events()
                    + " state " + bm.state() + ", superblock events " + mine.events());
            List<String> diffs = new ArrayList<>();
            diff(diffs, "bitmap chunksize", bm.chunkBytes(), ours.bitmapChunkBytes());
            // mdadm 4.2 leaves sectors_reserved 0 (md does not need it); Basalt records its bitmap space.
            if (bm.sectorsReserved() != 0) diff(diffs, "sectors_reserved", bm.sectorsReserved(), ours.bitmapSectors());
            else System.out.println("[md] " + a.label + " " + f.getFileName() + ": mdadm bitmap sectors_reserved 0, ours "
                    + ours.bitmapSectors());
            diff(diffs, "sync_size", bm.syncSizeSectors(), ours.sizeSectors());
            diff(diffs, "daemon_sleep", bm.daemonSleepSeconds(), MdBitmap.DAEMON_SLEEP_DEFAULT_SECONDS);
            diff(diffs, "write_behind", bm.writeBehind(), 0);
            System.out.println("[md] " + a.label + " " + f.getFileName() + " mdadm bitmap vs MdBitmap.initialize: "
                    + (diffs.isEmpty() ? "same" : diffs) + "; events " + bm.events() + "/" + bm.eventsCleared()
                    + " (superblock " + mine.events() + "), state " + bm.state() + ", " + bm.dirtyCount() + " of "
                    + bm.chunkCount() + " bits dirty");
            for (String d : diffs) failures.add(a.label + ": " + d);
        }
    }

    /** Reads every member's superblock from its image file and assembles them as Basalt would at start-up. */
    private static MdAssembly assemble(Array a) throws IOException {
        List<MdMember> members = new ArrayList<>();
        for (Path f : a.files) {
            byte[] raw = read(f, MdSuperblock.SUPER_OFFSET_SECTORS * 512, MdSuperblock.BUFFER_BYTES);
            members.add(MdMember.parse(f.getFileName().toString(), Files.size(f) / 512, MemorySegment.ofArray(raw)));
        }
        for (MdMember m : members) if (!m.valid()) System.out.println("[md] " + a.label + ": " + m);
        List<MdAssembly> found = MdScanner.scan(members);
        assertEquals(1, found.size(), a.label + ": one array expected among " + members);
        return found.getFirst();
    }

    /** The first {@code bytes} of the array, read from the member files through the level's layout. */
    private static byte[] readArray(Array a, MdSuperblock sb, int bytes, List<String> failures) throws IOException {
        byte[] out = new byte[bytes];
        long base = sb.dataOffsetSectors() * 512;
        int n = a.files.size();
        if (a.level == 1) {
            byte[] first = read(a.files.getFirst(), base, bytes);
            for (int i = 1; i < n; i++) {
                if (!java.util.Arrays.equals(first, read(a.files.get(i), base, bytes))) failures.add(a.label + ": mirror " + i + " differs");
            }
            return first;
        }
        int chunkBytes = (int) sb.chunkSectors() * 512;
        ChunkAddress at = new ChunkAddress();
        if (a.level == 0) {
            Raid0Layout layout = new Raid0Layout(n, (int) sb.chunkSectors());
            for (int off = 0; off < bytes; off += chunkBytes) {
                layout.map(off / 512, at);
                System.arraycopy(read(a.files.get(at.disk()), base + at.diskSector() * 512, chunkBytes), 0, out, off, chunkBytes);
            }
            return out;
        }
        Raid5Layout layout = new Raid5Layout(Raid5Algorithm.fromMdLayout(sb.layout()), n, (int) sb.chunkSectors());
        int stripeBytes = chunkBytes * (n - 1);
        MemorySegment[] data = new MemorySegment[n - 1];
        for (int off = 0; off < bytes; off += stripeBytes) {
            for (int d = 0; d < n - 1; d++) {
                layout.map((off + d * chunkBytes) / 512, at);
                byte[] chunk = read(a.files.get(at.disk()), base + at.diskSector() * 512, chunkBytes);
                data[d] = MemorySegment.ofArray(chunk);
                System.arraycopy(chunk, 0, out, off + d * chunkBytes, chunkBytes);
            }
            byte[] expected = new byte[chunkBytes];
            Xor.parity(MemorySegment.ofArray(expected), data, n - 1);
            long paritySector = at.diskSector() - at.sectorInChunk();
            if (!java.util.Arrays.equals(expected, read(a.files.get(at.parityDisk()), base + paritySector * 512, chunkBytes))) {
                failures.add(a.label + ": parity of stripe " + at.stripe() + " (member " + at.parityDisk() + ") is not the XOR of its data");
            }
        }
        return out;
    }

    /** Placement fields where mdadm's superblock differs from the one MdArraySpec writes. */
    private static List<String> compare(MdSuperblock mdadm, MdSuperblock ours) {
        List<String> diffs = new ArrayList<>();
        diff(diffs, "data_offset", mdadm.dataOffsetSectors(), ours.dataOffsetSectors());
        diff(diffs, "data_size", mdadm.dataSizeSectors(), ours.dataSizeSectors());
        diff(diffs, "size", mdadm.sizeSectors(), ours.sizeSectors());
        diff(diffs, "feature_map", mdadm.featureMap(), ours.featureMap());
        diff(diffs, "bitmap_offset", mdadm.bitmapOffsetSectors(), ours.bitmapOffsetSectors());
        diff(diffs, "bblog_offset", mdadm.bblogOffsetSectors(), ours.bblogOffsetSectors());
        diff(diffs, "bblog_size", mdadm.bblogSizeSectors(), ours.bblogSizeSectors());
        diff(diffs, "bblog_shift", mdadm.bblogShift(), ours.bblogShift());
        diff(diffs, "max_dev", mdadm.maxDev(), ours.maxDev());
        diff(diffs, "layout", mdadm.layout(), ours.layout());
        diff(diffs, "chunksize", mdadm.chunkSectors(), ours.chunkSectors());
        diff(diffs, "devflags", mdadm.devflags(), ours.devflags());
        diff(diffs, "resync_offset", mdadm.resyncOffsetSectors(), ours.resyncOffsetSectors());
        return diffs;
    }

    private static void diff(List<String> diffs, String field, long mdadm, long ours) {
        if (mdadm != ours) diffs.add(field + " mdadm " + mdadm + " ours " + ours);
    }

    private static void expect(List<String> failures, GuestCheck r, String key, String expected) {
        String actual = r.markers().get(key);
        if (!expected.equals(actual)) failures.add(key + ": expected " + expected + ", guest said " + actual);
    }

    private static byte[] slice(byte[] from, int offset, int length) {
        return java.util.Arrays.copyOfRange(from, offset, offset + length);
    }

    private static void writeFully(FileChannel ch, byte[] bytes, long position) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) ch.write(b, position + b.position());
    }

    private static byte[] read(Path file, long position, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (b.hasRemaining()) {
                if (ch.read(b, position + b.position()) < 0) throw new IOException(file + ": short read at " + position);
            }
        }
        return b.array();
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new UncheckedIOException(new IOException(e));
        }
    }
}
