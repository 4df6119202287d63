package io.basalt.raid.volume;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The levels' rules and factories: md numbers, policies, and what each factory opens or refuses. */
class RaidLevelTest {
    private static List<BlockDevice> members(int n) {
        List<BlockDevice> result = new ArrayList<>();
        for (int i = 0; i < n; i++) result.add(DeviceSpec.open("m" + i, "memory:1M"));
        return result;
    }

    @Test
    void mdNumbersPoliciesAndRedundancy() {
        assertEquals(RaidLevel.RAID5, RaidLevel.fromMd(5));
        assertNull(RaidLevel.fromMd(6), "md's raid6 is not built here");
        assertEquals(Consistency.PPL, RaidLevel.RAID5.defaultConsistency());
        assertEquals(Consistency.BITMAP, RaidLevel.RAID1.defaultConsistency());
        assertFalse(RaidLevel.RAID1.allows(Consistency.PPL), "a mirror has no parity to log");
        assertEquals(List.of(Consistency.NONE), RaidLevel.RAID0.consistencies());
        assertEquals(2, RaidLevel.RAID5.activeMembersMin(3));
        assertEquals(1, RaidLevel.RAID1.activeMembersMin(3));
        assertEquals(Consistency.BITMAP, Consistency.fromWireName("bitmap"));
        assertNull(Consistency.fromWireName("journal"));
    }

    @Test
    void eachFactoryOpensItsLevelAndRefusesWhatItCannotBuild() {
        try (BlockDevice v = RaidLevel.RAID1.factory().open("m", members(2), 4096, 0, null)) {
            RedundantVolume mirror = assertInstanceOf(RedundantVolume.class, v);
            assertTrue(mirror.fail(1));
            assertEquals(RedundantVolume.MemberStatus.FAULTY, mirror.memberStatus(1));
            assertTrue(mirror.isDegraded());
        }
        try (BlockDevice v = RaidLevel.RAID0.factory().open("s", members(2), 4096, 0, null)) {
            assertFalse(v instanceof RedundantVolume, "raid0 survives no loss");
        }
        List<BlockDevice> forRaid5 = members(3);
        VolumeFactory.NotSupportedException e = assertThrows(VolumeFactory.NotSupportedException.class,
                () -> RaidLevel.RAID5.factory().open("r", forRaid5, 4096, 42, null));
        assertEquals("raid5 layout 42 is not supported yet", e.getMessage());
        forRaid5.forEach(BlockDevice::close);
        List<BlockDevice> forMirror = members(2);
        PplAreas areas = new PplAreas(forMirror, 0);
        assertThrows(IllegalArgumentException.class, () -> RaidLevel.RAID1.factory().open("m", forMirror, 4096, 0, areas));
        forMirror.forEach(BlockDevice::close);
    }
}
