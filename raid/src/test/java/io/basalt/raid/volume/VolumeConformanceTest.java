package io.basalt.raid.volume;

import io.basalt.raid.parity.Raid5Algorithm;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.conformance.BlockDeviceConformance;
import io.basalt.engine.conformance.TestFiles;
import io.basalt.engine.fault.FaultBlockDevice;
import org.junit.jupiter.api.Nested;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The engine's BlockDevice conformance suite on RAID volumes: raid0 over 2 and 4 memory members and over
 * uring files, raid1 over 2 and 3 members, healthy and with each member failed in turn (failed by the
 * control plane with {@link Raid1Volume#fail}, or a pulled drive that the data path discovers).
 */
class VolumeConformanceTest {
    static List<BlockDevice> memories(int count, String size) {
        return TestVolumes.memories(count, size);
    }

    /** Members behind the fault wrapper (no fault configured), so that a test can pull one. */
    static List<BlockDevice> faultMembers(int count) {
        return TestVolumes.faultMembers(count, "16M");
    }

    @Nested
    class Raid0TwoMemoryMembers extends BlockDeviceConformance {
        @Override
        protected BlockDevice createDevice() {
            return new Raid0Volume("r0", memories(2, "32M"));
        }
    }

    /** A 16 KiB chunk (4 blocks) so that most multi-block requests split over several members. */
    @Nested
    class Raid0FourMemoryMembersSmallChunk extends BlockDeviceConformance {
        @Override
        protected BlockDevice createDevice() {
            return new Raid0Volume("r0", memories(4, "16M"), 16 * 1024);
        }
    }

    @Nested
    class Raid0FourUringFiles extends BlockDeviceConformance {
        private Path folder;

        @Override
        protected BlockDevice createDevice() {
            folder = TestFiles.directIoFolder("raid0-conformance");
            List<BlockDevice> members = new ArrayList<>();
            for (int i = 0; i < 4; i++) members.add(DeviceSpec.open("u" + i, "uring:" + folder.resolve("d" + i) + ",size=16M"));
            return new Raid0Volume("r0", members, 64 * 1024);
        }

        @Override
        protected void afterDeviceClosed() throws Exception {
            TestFiles.deleteTree(folder);
        }
    }

    @Nested
    class Raid1TwoMembers extends BlockDeviceConformance {
        @Override
        protected BlockDevice createDevice() {
            return new Raid1Volume("r1", memories(2, "32M"));
        }
    }

    @Nested
    class Raid1ThreeMembers extends BlockDeviceConformance {
        @Override
        protected BlockDevice createDevice() {
            return new Raid1Volume("r1", faultMembers(3));
        }
    }

    /** Degraded before the first I/O: the control plane failed the member. */
    abstract class Raid1FailedByRequest extends BlockDeviceConformance {
        abstract int members();

        abstract int failed();

        @Override
        protected BlockDevice createDevice() {
            Raid1Volume volume = new Raid1Volume("r1", faultMembers(members()));
            volume.fail(failed());
            return volume;
        }
    }

    /** A pulled drive (every request DEVICE_GONE) that the data path finds and fails on its own. */
    abstract class Raid1PulledDrive extends BlockDeviceConformance {
        abstract int members();

        abstract int pulled();

        @Override
        protected BlockDevice createDevice() {
            List<BlockDevice> members = faultMembers(members());
            ((FaultBlockDevice) members.get(pulled())).setFailed(true);
            return new Raid1Volume("r1", members);
        }
    }

    @Nested class Raid1TwoMembersFirstFailed extends Raid1FailedByRequest { int members() { return 2; } int failed() { return 0; } }
    @Nested class Raid1TwoMembersSecondPulled extends Raid1PulledDrive { int members() { return 2; } int pulled() { return 1; } }
    @Nested class Raid1TwoMembersFirstPulled extends Raid1PulledDrive { int members() { return 2; } int pulled() { return 0; } }
    @Nested class Raid1ThreeMembersFirstFailed extends Raid1FailedByRequest { int members() { return 3; } int failed() { return 0; } }
    @Nested class Raid1ThreeMembersSecondPulled extends Raid1PulledDrive { int members() { return 3; } int pulled() { return 1; } }
    @Nested class Raid1ThreeMembersThirdFailed extends Raid1FailedByRequest { int members() { return 3; } int failed() { return 2; } }

    // ------------------------------------------------------------------ raid5: 16 KiB chunks so requests span stripes

    @Nested
    class Raid5ThreeMembers extends BlockDeviceConformance {
        @Override
        protected BlockDevice createDevice() {
            return new Raid5Volume("r5", memories(3, "16M"), 16 * 1024);
        }
    }

    /** With md's partial parity log: every write step goes through the log before its data and parity. */
    @Nested
    class Raid5FourMembersWithPpl extends BlockDeviceConformance {
        @Override
        protected BlockDevice createDevice() {
            return new Raid5Volume("r5", memories(4, "16M"), 16 * 1024, Raid5Algorithm.LEFT_SYMMETRIC,
                    new PplAreas(memories(4, "1M"), 0x12345678));
        }
    }

    /** PPL over 512-byte blocks: the 4 KiB header is 8 blocks, so every io_unit version drains first (md's way). */
    @Nested
    class Raid5FourMembersWithPpl512ByteBlocks extends BlockDeviceConformance {
        @Override
        protected BlockDevice createDevice() {
            return new Raid5Volume("r5", memories(4, "16M,block=512"), 16 * 1024, Raid5Algorithm.LEFT_SYMMETRIC,
                    new PplAreas(memories(4, "1M,block=512"), 0x12345678));
        }
    }

    @Nested
    class Raid5FourMembers extends BlockDeviceConformance {
        @Override
        protected BlockDevice createDevice() {
            return new Raid5Volume("r5", faultMembers(4), 16 * 1024);
        }
    }

    /** Degraded before the first I/O: the control plane failed the member. */
    abstract class Raid5FailedByRequest extends BlockDeviceConformance {
        abstract int members();

        abstract int failed();

        @Override
        protected BlockDevice createDevice() {
            Raid5Volume volume = new Raid5Volume("r5", faultMembers(members()), 16 * 1024);
            volume.fail(failed());
            return volume;
        }
    }

    /** A pulled drive that the data path finds (a read or write answers DEVICE_GONE) and fails on its own. */
    abstract class Raid5PulledDrive extends BlockDeviceConformance {
        abstract int members();

        abstract int pulled();

        @Override
        protected BlockDevice createDevice() {
            List<BlockDevice> members = faultMembers(members());
            ((FaultBlockDevice) members.get(pulled())).setFailed(true);
            return new Raid5Volume("r5", members, 16 * 1024);
        }
    }

    @Nested class Raid5ThreeMembersFirstFailed extends Raid5FailedByRequest { int members() { return 3; } int failed() { return 0; } }
    @Nested class Raid5ThreeMembersSecondFailed extends Raid5FailedByRequest { int members() { return 3; } int failed() { return 1; } }
    @Nested class Raid5ThreeMembersThirdFailed extends Raid5FailedByRequest { int members() { return 3; } int failed() { return 2; } }
    @Nested class Raid5FourMembersFirstPulled extends Raid5PulledDrive { int members() { return 4; } int pulled() { return 0; } }
    @Nested class Raid5FourMembersSecondPulled extends Raid5PulledDrive { int members() { return 4; } int pulled() { return 1; } }
    @Nested class Raid5FourMembersThirdFailed extends Raid5FailedByRequest { int members() { return 4; } int failed() { return 2; } }
    @Nested class Raid5FourMembersFourthPulled extends Raid5PulledDrive { int members() { return 4; } int pulled() { return 3; } }

    /** A write-intent bitmap with 1 MiB regions and a 20 ms clear delay (so bits clear and set again under the suite), kept in memory. */
    static io.basalt.raid.md.MdWriteIntent memoryIntent(String name, long memberBytes) {
        io.basalt.raid.md.MdArraySpec base = io.basalt.raid.md.MdArraySpec.create(name, 1, 0, 0, 2, memberBytes / 512 + 8192, true, 0,
                new java.util.Random(1));
        io.basalt.raid.md.MdArraySpec spec = new io.basalt.raid.md.MdArraySpec(base.setUuid(), name, 0, 1, 0, 0, 2, base.sizeSectors(),
                base.dataOffsetSectors(), base.dataSizeSectors(), base.bitmapSectors(), 1 << 20, 0);
        java.lang.foreign.MemorySegment area = java.lang.foreign.Arena.ofAuto().allocate(spec.bitmapSectors() * 512, 4096);
        new io.basalt.raid.md.MdBitmap().wrap(area).initialize(spec);
        return new io.basalt.raid.md.MdWriteIntent(name, area, 4096, new io.basalt.raid.md.MdWriteIntent.Store() {
            @Override public void flush() {}
            @Override public void write(java.lang.foreign.MemorySegment a, long offset, long length) {}
        }, 20_000_000L);
    }

    @Nested
    class Raid1WithWriteIntentBitmap extends BlockDeviceConformance {
        private io.basalt.raid.md.MdWriteIntent intent;

        @Override
        protected BlockDevice createDevice() {
            Raid1Volume v = new Raid1Volume("r1", memories(2, "32M"));
            intent = memoryIntent("r1", 32L << 20);
            v.setWriteIntent(intent);
            return v;
        }

        @Override
        protected void afterDeviceClosed() {
            intent.close(true);
        }
    }

    @Nested
    class Raid5WithWriteIntentBitmap extends BlockDeviceConformance {
        private io.basalt.raid.md.MdWriteIntent intent;

        @Override
        protected BlockDevice createDevice() {
            Raid5Volume v = new Raid5Volume("r5", memories(4, "16M"), 16 * 1024);
            intent = memoryIntent("r5", 16L << 20);
            v.setWriteIntent(intent);
            return v;
        }

        @Override
        protected void afterDeviceClosed() {
            intent.close(true);
        }
    }
}
