package io.basalt.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class StateMachineTest {
    private static final int A = 0, B = 1, C = 2;
    private static final StateMachine.Table TABLE = StateMachine.table("test machine", "A", "B", "C")
            .allow(A, B)
            .allow(B, C, A)
            .allow(C, A);

    @Test
    void aLegalMoveIsMadeAndCountedPerPair() {
        StateMachine machine = new StateMachine(TABLE);
        byte[] states = new byte[4];
        machine.move(states, 2, B);
        machine.move(states, 2, C);
        machine.move(states, 2, A);
        machine.move(states, 2, B);
        assertEquals(B, states[2]);
        assertEquals(2, machine.count(A, B));
        assertEquals(1, machine.count(B, C));
        assertEquals(1, machine.count(C, A));
        assertEquals(0, machine.count(B, A));
        assertEquals(4, machine.total());
        assertEquals("test machine: A->B=2 B->C=1 C->A=1", machine.describe());
    }

    @Test
    void anIllegalMoveStopsNamingMachineSlotAndStatesAndChangesNothing() {
        StateMachine machine = new StateMachine(TABLE);
        int[] states = {A, C};
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> machine.move(states, 1, B));
        assertTrue(e.getMessage().contains("test machine slot 1: illegal move C -> B"), e.getMessage());
        assertEquals(C, states[1], "the state is left as it was");
        assertEquals(0, machine.total(), "an illegal move is not counted");
        assertThrows(IllegalStateException.class, () -> machine.move(states, 0, A), "no self-move unless allowed");
        IllegalStateException outside = assertThrows(IllegalStateException.class, () -> machine.move(0, A, 7));
        assertTrue(outside.getMessage().contains("A -> state 7"), outside.getMessage());
        assertThrows(IllegalStateException.class, () -> machine.move(0, -1, A));
        assertThrows(IllegalStateException.class, () -> machine.move(0, A, 64 + B), "a shift past 63 does not wrap into a legal move");
    }

    @Test
    void tablesAreCheckedWhenBuilt() {
        assertThrows(IllegalStateException.class, () -> StateMachine.table("t", "X").allow(0, 1));
        assertThrows(IllegalStateException.class, () -> StateMachine.table("t"));
        assertTrue(TABLE.allows(B, A));
        assertFalse(TABLE.allows(A, C));
        assertFalse(TABLE.allows(A, 3));
    }

    @Test
    void instancesOfOneTableCountApart() {
        StateMachine first = new StateMachine(TABLE), second = new StateMachine(TABLE);
        first.move(0, A, B);
        assertEquals(1, first.count(A, B));
        assertEquals(0, second.count(A, B));
        long[] snapshot = first.counts();
        snapshot[A * 3 + B] = 99;
        assertEquals(1, first.count(A, B), "counts() is a copy");
    }
}
