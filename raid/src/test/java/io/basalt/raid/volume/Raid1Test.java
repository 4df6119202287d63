package io.basalt.raid.volume;

import io.basalt.engine.fixtures.ReactorFixture;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.engine.conformance.ConformanceHarness;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.basalt.engine.conformance.ConformanceHarness.fill;
import static io.basalt.engine.conformance.ConformanceHarness.firstMismatch;
import static org.junit.jupiter.api.Assertions.*;

/** Mirror failover: read retry, write degradation, all members lost, and the control plane's view. */
class Raid1Test {
    private static final int BLOCK = 4096;
    private static final long SEED = 0xB10C;
    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.handDriven("raid1");
    private Reactor reactor;
    private final List<String> failures = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        reactor = fixture.reactor();
    }

    private Raid1Volume volume(String... specs) {
        BlockDevice[] members = new BlockDevice[specs.length];
        for (int i = 0; i < specs.length; i++) members[i] = DeviceSpec.open("m" + i, specs[i]);
        Raid1Volume v = new Raid1Volume("r1", List.of(members));
        v.setFailureListener((volume, member, status) -> failures.add(member + ":" + Status.name(status)));
        return v;
    }

    @Test
    void readsRetryOnAnotherMemberWhenOneReturnsErrors() {
        try (Raid1Volume v = volume("fault:memory:4M,fault_seed=1", "fault:memory:4M,fault_seed=2,fault_read_error=1.0",
                "fault:memory:4M,fault_seed=3")) {
            BlockChannel channel = v.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            MemorySegment out = fixture.buffer(64);
            fill(out, 0, BLOCK, SEED);
            assertEquals(Status.OK, io.write(0, 64, out));
            for (int i = 0; i < 64; i++) {
                MemorySegment in = fixture.buffer(1);
                assertEquals(Status.OK, io.read(i, 1, in), "read " + i);
                assertEquals(-1, firstMismatch(in, i, BLOCK, SEED), "data of block " + i);
            }
            assertArrayEquals(new Raid1Volume.MemberState[] {Raid1Volume.MemberState.ACTIVE, Raid1Volume.MemberState.FAILED,
                    Raid1Volume.MemberState.ACTIVE}, v.memberStates());
            assertTrue(v.isDegraded());
            assertEquals(List.of("1:IO_ERROR"), failures, "reported once");
            assertEquals(1, v.counter(Raid1Volume.READ_RETRIES));
            assertEquals(1, v.counter(Raid1Volume.MEMBER_FAILURES));
            channel.close();
        }
    }

    @Test
    void aMemberFailingAWriteIsFailedAndTheWriteSucceeds() {
        try (Raid1Volume v = volume("fault:memory:4M,fault_seed=1,fault_write_error=1.0", "memory:4M")) {
            BlockChannel channel = v.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            MemorySegment out = fixture.buffer(8);
            fill(out, 16, BLOCK, SEED);
            assertEquals(Status.OK, io.write(16, 8, out));
            assertEquals(1, v.counter(Raid1Volume.DEGRADED_WRITES));
            assertEquals(List.of("0:IO_ERROR"), failures);
            for (int i = 0; i < 4; i++) { // every read now goes to the survivor, whatever the round-robin says
                MemorySegment in = fixture.buffer(8);
                assertEquals(Status.OK, io.read(16, 8, in));
                assertEquals(-1, firstMismatch(in, 16, BLOCK, SEED));
            }
            assertEquals(Status.OK, io.write(16, 8, out), "writes go on, degraded");
            assertEquals(1, v.counter(Raid1Volume.DEGRADED_WRITES), "a write to the survivors only is not a new degradation");
            channel.close();
        }
    }

    @Test
    void allMembersReturningErrorsFailsTheReadNeverWrongData() {
        try (Raid1Volume v = volume("fault:memory:4M,fault_seed=1,fault_read_error=1.0", "fault:memory:4M,fault_seed=2,fault_read_error=1.0")) {
            BlockChannel channel = v.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            MemorySegment out = fixture.buffer(1);
            fill(out, 0, BLOCK, SEED);
            assertEquals(Status.OK, io.write(0, 1, out));
            assertEquals(Status.IO_ERROR, io.read(0, 1, fixture.buffer(1)));
            assertEquals(2, failures.size());
            assertEquals(Status.DEVICE_GONE, io.read(0, 1, fixture.buffer(1)), "no member left");
            assertEquals(Status.DEVICE_GONE, io.write(0, 1, out));
            assertEquals(Status.DEVICE_GONE, io.flush());
            channel.close();
        }
    }

    @Test
    void controlPlaneFailIsSeenAtTheNextSubmit() throws Exception {
        try (Raid1Volume v = volume("memory:4M", "memory:4M")) {
            BlockChannel channel = v.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            assertFalse(v.isDegraded());
            Thread control = Thread.ofPlatform().start(() -> assertTrue(v.fail(0)));
            control.join();
            assertFalse(v.fail(0), "already failed");
            assertEquals(List.of("0:STATUS_-1"), failures);
            MemorySegment out = fixture.buffer(4);
            fill(out, 8, BLOCK, SEED);
            assertEquals(Status.OK, io.write(8, 4, out));
            assertEquals(0, v.counter(Raid1Volume.DEGRADED_WRITES));
            // Member 0 got nothing: its blocks are still zero.
            BlockChannel direct = v.member(0).openChannel(reactor);
            ConformanceHarness memberIo = new ConformanceHarness(reactor, direct);
            MemorySegment onFailed = fixture.buffer(4);
            assertEquals(Status.OK, memberIo.read(8, 4, onFailed));
            assertTrue(ConformanceHarness.blockIsZero(onFailed, 0, BLOCK));
            for (int i = 0; i < 3; i++) {
                MemorySegment in = fixture.buffer(4);
                assertEquals(Status.OK, io.read(8, 4, in));
                assertEquals(-1, firstMismatch(in, 8, BLOCK, SEED));
            }
            direct.close();
            channel.close();
        }
    }

    @Test
    void readsAlternateBetweenMembers() {
        try (Raid1Volume v = volume("memory:4M", "memory:4M")) {
            BlockChannel channel = v.openChannel(reactor);
            ConformanceHarness io = new ConformanceHarness(reactor, channel);
            MemorySegment out = fixture.buffer(1);
            fill(out, 0, BLOCK, SEED);
            assertEquals(Status.OK, io.write(0, 1, out));
            // Make the mirrors differ behind the volume's back: a read then shows which member answered.
            BlockChannel direct = v.member(1).openChannel(reactor);
            ConformanceHarness memberIo = new ConformanceHarness(reactor, direct);
            assertEquals(Status.OK, memberIo.writeZeroes(0, 1));
            int zeroes = 0;
            for (int i = 0; i < 10; i++) {
                MemorySegment in = fixture.buffer(1);
                assertEquals(Status.OK, io.read(0, 1, in));
                if (ConformanceHarness.blockIsZero(in, 0, BLOCK)) zeroes++;
            }
            assertEquals(5, zeroes, "round-robin: half the reads from each member");
            direct.close();
            channel.close();
        }
    }

    @Test
    void badMemberSetsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> volume("memory:1M"));
        assertThrows(IllegalArgumentException.class, () -> volume("memory:1M", "memory:1M,block=512"));
        try (Raid1Volume v = volume("memory:1M", "memory:2M")) {
            assertEquals(256, v.geometry().blockCount(), "the smallest member decides");
        }
    }
}
