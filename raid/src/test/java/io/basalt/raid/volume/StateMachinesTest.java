package io.basalt.raid.volume;

import io.basalt.engine.fixtures.ReactorFixture;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.StateMachine;
import io.basalt.engine.Status;
import io.basalt.engine.conformance.ConformanceHarness;
import io.basalt.raid.parity.Raid5Algorithm;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

import static io.basalt.raid.volume.Raid5Channel.FREE;
import static io.basalt.raid.volume.Raid5Channel.LOG;
import static io.basalt.raid.volume.Raid5Channel.PLAN;
import static io.basalt.raid.volume.Raid5Channel.READS;
import static io.basalt.raid.volume.Raid5Channel.WRITES;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The raid module's checked state machines (docs/raid.md, "State machines"): raid5 steps, PPL io_units, raid1 sync
 * windows. Each refuses a move its table does not list, naming the machine, the slot and both states, and a normal
 * request counts exactly the moves of its path.
 */
class StateMachinesTest {
    private static final int BLOCK = 4096;
    private static final int CHUNK_BYTES = 16 * 1024; // 4 members: a stripe is 12 data blocks
    private static final int STRIPE_BLOCKS = 12;
    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.handDriven("state-machines");
    private Reactor reactor;

    @BeforeEach
    void start() {
        reactor = fixture.reactor();
    }

    private static void assertMoves(StateMachine machine, int[][] expected) {
        long sum = 0;
        for (int[] e : expected) {
            assertEquals(e[2], machine.count(e[0], e[1]), machine.table().name(e[0]) + " -> " + machine.table().name(e[1])
                    + " in " + machine.describe());
            sum += e[2];
        }
        assertEquals(sum, machine.total(), "no other moves: " + machine.describe());
    }

    // ------------------------------------------------------------------ raid5 steps

    @Test
    void aRaid5StepRefusesAnIllegalMove() {
        try (Raid5Volume volume = TestVolumes.raid5(4, "256K", CHUNK_BYTES)) {
            Raid5Channel channel = (Raid5Channel) volume.openChannel(reactor);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> channel.stepMachine().move(3, PLAN, WRITES));
            assertTrue(e.getMessage().contains("raid5 step slot 3: illegal move PLAN -> WRITES"), e.getMessage());
            byte[] phases = new byte[4];
            StateMachine machine = new StateMachine(Raid5Channel.STEPS);
            assertThrows(IllegalStateException.class, () -> machine.move(phases, 0, READS), "a free slot plans first");
            assertThrows(IllegalStateException.class, () -> machine.move(2, WRITES, FREE), "a request ends between steps only");
            assertThrows(IllegalStateException.class, () -> machine.move(2, LOG, READS));
            assertEquals(FREE, phases[0]);
            channel.close();
        }
    }

    @Test
    void raid5WriteAndReadStepsCountTheirMoves() {
        try (Raid5Volume volume = TestVolumes.raid5(4, "256K", CHUNK_BYTES)) {
            Raid5Channel channel = (Raid5Channel) volume.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            assertEquals(Status.OK, io.write(0, 1, fixture.buffer(1)));
            StateMachine steps = channel.stepMachine();
            assertMoves(steps, new int[][] {{FREE, PLAN, 1}, {PLAN, READS, 1}, {READS, WRITES, 1}, {WRITES, PLAN, 1}, {PLAN, FREE, 1}});
            assertEquals(Status.OK, io.read(0, 1, fixture.buffer(1))); // healthy: one step of reads, no writes
            assertEquals(Status.OK, io.write(0, 2 * STRIPE_BLOCKS, fixture.buffer(2 * STRIPE_BLOCKS))); // two full-stripe steps
            assertMoves(steps, new int[][] {{FREE, PLAN, 3}, {PLAN, READS, 4}, {READS, WRITES, 3}, {READS, PLAN, 1},
                    {WRITES, PLAN, 3}, {PLAN, FREE, 3}});
            channel.close();
        }
    }

    @Test
    void raid5SyncStepsWalkTheStepMachine() {
        try (Raid5Volume volume = TestVolumes.raid5(4, "256K", CHUNK_BYTES)) {
            Raid5Channel channel = (Raid5Channel) volume.openChannel(reactor);
            assertEquals(Status.OK, sync(channel, 0, SyncJob.RESYNC)); // reads every member, writes the parity
            assertEquals(Status.OK, sync(channel, 0, SyncJob.CHECK)); // the parity is right: nothing to write
            assertMoves(channel.stepMachine(), new int[][] {{FREE, PLAN, 2}, {PLAN, READS, 2}, {READS, WRITES, 1},
                    {WRITES, PLAN, 1}, {READS, PLAN, 1}, {PLAN, FREE, 2}});
            channel.close();
        }
    }

    private int sync(Raid5Channel channel, long stripe, int action) {
        int[] status = {Integer.MIN_VALUE};
        IoCompletion done = (tag, s) -> status[0] = s;
        assertTrue(channel.sync(stripe, action, 0, done));
        long deadline = System.nanoTime() + ConformanceHarness.AWAIT_TIMEOUT_NS;
        while (status[0] == Integer.MIN_VALUE) {
            reactor.doWork();
            assertTrue(System.nanoTime() < deadline, "sync step completes");
        }
        return status[0];
    }

    // ------------------------------------------------------------------ PPL io_units

    @Test
    void aPplUnitRefusesAnIllegalMove() {
        StateMachine machine = new StateMachine(PartialParityLog.UNITS_TABLE);
        byte[] states = new byte[4];
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> machine.move(states, 2, PartialParityLog.DATA_FLUSH));
        assertTrue(e.getMessage().contains("ppl io_unit slot 2: illegal move IDLE -> DATA_FLUSH"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> machine.move(1, PartialParityLog.WRITING, PartialParityLog.DRAINING),
                "a version being written is released before the unit drains");
        assertThrows(IllegalStateException.class, () -> machine.move(1, PartialParityLog.DRAINING, PartialParityLog.IDLE),
                "a drain flushes the data members before the unit is empty");
    }

    @Test
    void aLoggedWriteCountsStepAndUnitMoves() {
        try (Raid5Volume volume = new Raid5Volume("r5", TestVolumes.memories(4, "256K"), CHUNK_BYTES,
                Raid5Algorithm.LEFT_SYMMETRIC, new PplAreas(TestVolumes.memories(4, "1M"), 0x12345678))) {
            Raid5Channel channel = (Raid5Channel) volume.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            assertEquals(Status.OK, io.write(0, 1, fixture.buffer(1)));
            assertMoves(channel.stepMachine(), new int[][] {{FREE, PLAN, 1}, {PLAN, READS, 1}, {READS, LOG, 1}, {LOG, WRITES, 1},
                    {WRITES, PLAN, 1}, {PLAN, FREE, 1}});
            StateMachine units = channel.pplLog().unitMachine();
            assertMoves(units, new int[][] {{PartialParityLog.IDLE, PartialParityLog.WRITING, 1}, {PartialParityLog.WRITING, PartialParityLog.IDLE, 1}});
            channel.close();
        }
    }

    // ------------------------------------------------------------------ raid1 sync windows

    @Test
    void aRaid1SyncWindowRefusesAnIllegalMove() {
        StateMachine machine = new StateMachine(Raid1Syncer.WINDOWS);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> machine.move(0, Raid1Syncer.IDLE, Raid1Syncer.WRITING));
        assertTrue(e.getMessage().contains("raid1 sync window slot 0: illegal move IDLE -> WRITING"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> machine.move(0, Raid1Syncer.WRITING, Raid1Syncer.READING));
    }

    @Test
    void raid1SyncWindowsCountTheirMoves() {
        try (Raid1Volume volume = TestVolumes.raid1(2, "1M")) {
            Raid1Syncer syncer = new Raid1Syncer(volume, reactor, 64);
            assertEquals(Status.OK, syncWindow(syncer, 0, SyncJob.RESYNC)); // read the source, write the other member
            assertEquals(Status.OK, syncWindow(syncer, 1, SyncJob.CHECK)); // read both, equal: nothing to write
            assertMoves(syncer.windowMachine(), new int[][] {{Raid1Syncer.IDLE, Raid1Syncer.READING, 2},
                    {Raid1Syncer.READING, Raid1Syncer.WRITING, 1}, {Raid1Syncer.WRITING, Raid1Syncer.IDLE, 1},
                    {Raid1Syncer.READING, Raid1Syncer.IDLE, 1}});
            syncer.close();
        }
    }

    private int syncWindow(Raid1Syncer syncer, long unit, int action) {
        int[] status = {Integer.MIN_VALUE};
        assertTrue(syncer.submit(unit, action, 0, (tag, s) -> status[0] = s));
        long deadline = System.nanoTime() + ConformanceHarness.AWAIT_TIMEOUT_NS;
        while (status[0] == Integer.MIN_VALUE) {
            reactor.doWork();
            assertTrue(System.nanoTime() < deadline, "sync window completes");
        }
        return status[0];
    }
}
