package io.basalt.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The default idle policy's poll window follows the gaps between work, as QEMU's poll-grow/poll-shrink does. */
class AdaptiveSleepTest {
    private static final long MAX_NS = 50_000;

    /** One gap: work at t, idle cycles until t + gapNs, work again. Returns the time after it. */
    private static long gap(IdleStrategy.AdaptiveSleep s, long t, long gapNs) {
        assertFalse(s.idleCycle(1, t));
        assertTrue(s.idleCycle(0, t + 1));
        assertFalse(s.idleCycle(1, t + 1 + gapNs));
        return t + 1 + gapNs;
    }

    @Test
    void anIdleReactorNeverPolls() {
        IdleStrategy.AdaptiveSleep s = new IdleStrategy.AdaptiveSleep(MAX_NS, 1_000_000_000L);
        assertEquals(0, s.pollNs());
        long t = 1_000;
        for (int i = 0; i < 10; i++) t = gap(s, t, 5_000_000_000L); // a request every 5 s
        assertEquals(0, s.pollNs());
    }

    @Test
    void shortGapsGrowTheWindowToItsCapAndOneLongGapDropsIt() {
        IdleStrategy.AdaptiveSleep s = new IdleStrategy.AdaptiveSleep(MAX_NS, 1_000_000_000L);
        long t = gap(s, 1_000, 10_000); // a 10 us gap: a window would have caught it
        assertEquals(IdleStrategy.AdaptiveSleep.POLL_NS_START, s.pollNs());
        t = gap(s, t, 10_000);
        assertEquals(8_000, s.pollNs());
        t = gap(s, t, 10_000);
        assertEquals(16_000, s.pollNs());
        t = gap(s, t, 10_000); // caught inside the 16 us window: no change
        assertEquals(16_000, s.pollNs());
        t = gap(s, t, 40_000);
        t = gap(s, t, 40_000);
        assertEquals(MAX_NS, s.pollNs(), "capped");
        t = gap(s, t, 49_000);
        assertEquals(MAX_NS, s.pollNs());
        gap(s, t, 200_000); // longer than any window we allow: polling was wasted
        assertEquals(0, s.pollNs());
    }

    @Test
    void cyclesWithWorkInARowLeaveTheWindowAlone() {
        IdleStrategy.AdaptiveSleep s = new IdleStrategy.AdaptiveSleep(MAX_NS, 1_000_000_000L);
        long t = gap(s, 1_000, 10_000);
        for (int i = 0; i < 100; i++) assertFalse(s.idleCycle(3, t + i));
        assertEquals(IdleStrategy.AdaptiveSleep.POLL_NS_START, s.pollNs());
    }

    @Test
    void sleepWithACapParses() {
        assertEquals("sleep", IdleStrategy.parse("sleep:32").name());
        IdleStrategy.AdaptiveSleep s = (IdleStrategy.AdaptiveSleep) IdleStrategy.parse("sleep:32");
        long t = 1_000;
        for (int i = 0; i < 10; i++) t = gap(s, t, 30_000);
        assertEquals(32_000, s.pollNs(), "capped at 32 us");
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> IdleStrategy.parse("sleep:x"));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> IdleStrategy.parse("sleep:20000"));
    }
}
