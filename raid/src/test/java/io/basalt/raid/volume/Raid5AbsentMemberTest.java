package io.basalt.raid.volume;

import io.basalt.engine.fixtures.ReactorFixture;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.engine.conformance.ConformanceHarness;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static io.basalt.engine.conformance.ConformanceHarness.fill;
import static io.basalt.engine.conformance.ConformanceHarness.firstMismatch;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A raid5 array assembled with a member absent (the md layer puts an {@link OffsetDevice#missing} in its place
 * and fails it): channels open without it and the volume serves degraded. The data written while complete
 * reads back, rebuilt from parity, and new writes land. An active member that cannot be opened still fails
 * the open.
 */
class Raid5AbsentMemberTest {
    private static final int BLOCK = 4096;
    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.handDriven("raid5-absent");
    private Reactor reactor;

    @BeforeEach
    void start() {
        reactor = fixture.reactor();
    }

    private static List<BlockDevice> slices(List<BlockDevice> media, int absent) {
        List<BlockDevice> out = new ArrayList<>();
        for (int i = 0; i < media.size(); i++) {
            BlockDevice base = media.get(i);
            out.add(i == absent ? OffsetDevice.missing("role" + i, base.geometry()) : new OffsetDevice("s" + i, base, 0, base.geometry().blockCount()));
        }
        return out;
    }

    @Test
    void aFailedAbsentMemberIsNotOpenedAndTheVolumeServesDegraded() {
        List<BlockDevice> media = TestVolumes.memories(4, "1M");
        long blocks;
        MemorySegment data;
        try (Raid5Volume whole = new Raid5Volume("r5", slices(media, -1), 16 * 1024)) {
            blocks = whole.geometry().blockCount();
            data = fixture.arena().allocate(blocks * BLOCK, BLOCK);
            fill(data, 0, BLOCK, 77);
            BlockChannel channel = whole.openChannel(reactor);
            assertEquals(Status.OK, new ConformanceHarness(reactor, channel).write(0, (int) blocks, data));
            channel.close();
        }
        for (int absent = 0; absent < 4; absent++) {
            try (Raid5Volume degraded = new Raid5Volume("r5", slices(media, absent), 16 * 1024)) {
                assertTrue(degraded.fail(absent));
                BlockChannel channel = degraded.openChannel(reactor);
                ConformanceHarness io = new ConformanceHarness(reactor, channel);
                MemorySegment back = fixture.arena().allocate(blocks * BLOCK, BLOCK);
                assertEquals(Status.OK, io.read(0, (int) blocks, back), "member " + absent + " absent");
                assertEquals(-1, firstMismatch(back, 0, BLOCK, 77), "member " + absent + " absent: data rebuilt from parity");
                MemorySegment fresh = fixture.arena().allocate(5L * BLOCK, BLOCK);
                fill(fresh, 3, BLOCK, 78 + absent);
                assertEquals(Status.OK, io.write(3, 5, fresh));
                assertEquals(Status.OK, io.read(3, 5, back.asSlice(0, 5L * BLOCK)));
                assertEquals(-1, firstMismatch(back.asSlice(0, 5L * BLOCK), 3, BLOCK, 78 + absent));
                // Put the original blocks back for the next round, through the degraded volume.
                assertEquals(Status.OK, io.write(3, 5, data.asSlice(3L * BLOCK, 5L * BLOCK)));
                assertEquals(Status.OK, io.flush());
                channel.close();
            }
        }
        for (BlockDevice m : media) m.close();
    }

    @Test
    void anActiveMemberThatCannotBeOpenedStillFailsTheOpen() {
        List<BlockDevice> media = TestVolumes.memories(3, "1M");
        try (Raid5Volume volume = new Raid5Volume("r5", slices(media, 1), 16 * 1024)) {
            assertThrows(IllegalStateException.class, () -> volume.openChannel(reactor));
        }
        for (BlockDevice m : media) m.close();
    }
}
