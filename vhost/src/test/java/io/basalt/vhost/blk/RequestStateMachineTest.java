package io.basalt.vhost.blk;

import io.basalt.engine.StateMachine;
import org.junit.jupiter.api.Test;

import static io.basalt.vhost.blk.VirtioBlkQueue.FREE;
import static io.basalt.vhost.blk.VirtioBlkQueue.PARSING;
import static io.basalt.vhost.blk.VirtioBlkQueue.SUBMITTED;
import static io.basalt.vhost.blk.VirtioBlkQueue.WAITING;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The virtio-blk request machine (docs/vhost.md, "Request states"): an illegal move is refused, naming the machine,
 * the slot and both states; each kind of request counts exactly the moves of its path.
 */
class RequestStateMachineTest {
    private static void assertMoves(StateMachine machine, int[][] expected) {
        long sum = 0;
        for (int[] e : expected) {
            assertEquals(e[2], machine.count(e[0], e[1]), machine.table().name(e[0]) + " -> " + machine.table().name(e[1])
                    + " in " + machine.describe());
            sum += e[2];
        }
        assertEquals(sum, machine.total(), "no other moves: " + machine.describe());
    }

    @Test
    void anIllegalMoveIsRefused() {
        StateMachine machine = new StateMachine(VirtioBlkQueue.REQUESTS);
        int[] states = new int[8];
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> machine.move(states, 5, SUBMITTED));
        assertTrue(e.getMessage().contains("virtio-blk request slot 5: illegal move FREE -> SUBMITTED"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> machine.move(0, WAITING, FREE), "a waiting request is submitted first");
        assertThrows(IllegalStateException.class, () -> machine.move(0, SUBMITTED, SUBMITTED), "completed once");
        assertEquals(FREE, states[5]);
    }

    private static void request(BlkHarness h, int type, long sector, int dataBytes, boolean deviceWrites) {
        BlkHarness.Request r = h.request(type, sector);
        if (dataBytes > 0) r.data(1, dataBytes, 4096);
        r.submit(deviceWrites, false);
        h.runUntilUsed(1);
        h.guest.takeUsed();
        assertEquals(VirtioBlk.S_OK, r.status());
    }

    @Test
    void requestsCountTheMovesOfTheirPaths() {
        try (BlkHarness h = new BlkHarness(4096, false)) {
            StateMachine machine = h.queue.requestMachine();
            request(h, VirtioBlk.T_OUT, 0, 4096, false);
            request(h, VirtioBlk.T_IN, 0, 4096, true);
            assertMoves(machine, new int[][] {{FREE, PARSING, 2}, {PARSING, WAITING, 2}, {WAITING, SUBMITTED, 2}, {SUBMITTED, FREE, 2}});
            request(h, VirtioBlk.T_GET_ID, 0, 20, true); // answered while parsed: never reaches the channel
            BlkHarness.Request zeroes = h.request(VirtioBlk.T_WRITE_ZEROES, 0).data(1, 32, 16); // two ranges: two submissions
            VirtioBlk.DiscardSegment.set(zeroes.dataSegment(0).asSlice(0, 16), 8, 8, 0);
            VirtioBlk.DiscardSegment.set(zeroes.dataSegment(0).asSlice(16, 16), 24, 8, 0);
            zeroes.submit(false, false);
            h.runUntilUsed(1);
            h.guest.takeUsed();
            assertEquals(VirtioBlk.S_OK, zeroes.status());
            assertMoves(machine, new int[][] {{FREE, PARSING, 4}, {PARSING, WAITING, 3}, {PARSING, FREE, 1},
                    {WAITING, SUBMITTED, 4}, {SUBMITTED, WAITING, 1}, {SUBMITTED, FREE, 3}});
        }
    }

    @Test
    void aRefusedSubmissionStaysWaiting() {
        try (BlkHarness h = new BlkHarness(4096, false, BlkHarness.FEATURES, -1, -1, null,
                c -> new BlkHarness.RefusingChannel(c, 3))) {
            request(h, VirtioBlk.T_OUT, 0, 4096, false);
            assertMoves(h.queue.requestMachine(), new int[][] {{FREE, PARSING, 1}, {PARSING, WAITING, 1}, {WAITING, SUBMITTED, 1},
                    {SUBMITTED, FREE, 1}});
            assertEquals(3, h.queue.counter("busy_retries") + 1, "the first refusal was in begin, the next two retries");
        }
    }
}
