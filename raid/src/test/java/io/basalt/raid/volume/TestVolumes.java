package io.basalt.raid.volume;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * Test volumes over memory members (raid's test-jar): the member lists and the raid0/1/5 builders the volume
 * tests share. Members are named m0, m1, ... (f0, f1, ... behind the fault wrapper).
 */
public final class TestVolumes {
    /** The chunk most raid5 tests use: 4 blocks, so that small requests already span several members. */
    public static final int SMALL_CHUNK_BYTES = 16 * 1024;

    private TestVolumes() {
    }

    /** {@code count} members of the device spec {@code spec} (e.g. "memory:16M"), named m0, m1, ... */
    public static List<BlockDevice> open(int count, String spec) {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < count; i++) members.add(DeviceSpec.open("m" + i, spec));
        return members;
    }

    /** {@code count} memory members of {@code size} (a DeviceSpec size: "256K", "16M"). */
    public static List<BlockDevice> memories(int count, String size) {
        return open(count, "memory:" + size);
    }

    /** Members of {@code size} behind the fault wrapper (no fault configured, seeds 1, 2, ...), so a test can pull one. */
    public static List<BlockDevice> faultMembers(int count, String size) {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < count; i++) members.add(DeviceSpec.open("f" + i, "fault:memory:" + size + ",fault_seed=" + (i + 1)));
        return members;
    }

    public static Raid0Volume raid0(int members, String size, int chunkBytes) {
        return new Raid0Volume("r0", memories(members, size), chunkBytes);
    }

    public static Raid1Volume raid1(int members, String size) {
        return new Raid1Volume("r1", memories(members, size));
    }

    public static Raid5Volume raid5(int members, String size, int chunkBytes) {
        return new Raid5Volume("r5", memories(members, size), chunkBytes);
    }

    /** raid5 over fault-wrapped memory members. */
    public static Raid5Volume faultRaid5(int members, String size, int chunkBytes) {
        return new Raid5Volume("r5", faultMembers(members, size), chunkBytes);
    }
}
