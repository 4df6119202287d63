package io.basalt.engine;

import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

/**
 * What a reactor does after a cycle: keep polling while there is work, and when there is none, spin, back off
 * or sleep (the Agrona IdleStrategy idea). {@link #idle} gets the cycle's work count; 0 means an idle cycle.
 */
public interface IdleStrategy {
    void idle(int workCount, Reactor reactor);

    /** A fresh instance of the same policy (strategies keep per-reactor state). */
    IdleStrategy copy();

    String name();

    /** The poll window's cap for "sleep": the spin the policy used before it adapted (docs/engine.md, "Idle policies"). */
    long POLL_NS_MAX = 50_000;
    long SLEEP_NS_MAX = 1_000_000_000L;

    /**
     * Parses "sleep" (the default), "ring-sleep", "wait", "backoff" or "busy"; "sleep:N" is "sleep" with its poll
     * window capped at N us instead of 50 (0 to 10,000; for tuning runs).
     */
    static IdleStrategy parse(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.startsWith("sleep:")) {
            long capUs;
            try {
                capUs = Long.parseLong(lower.substring("sleep:".length()));
            } catch (NumberFormatException e) {
                capUs = -1;
            }
            if (capUs < 0 || capUs > 10_000) throw new IllegalArgumentException("idle strategy '" + name + "': sleep:N takes a poll window cap of 0 to 10000 us");
            return new AdaptiveSleep(capUs * 1_000, SLEEP_NS_MAX);
        }
        return switch (lower) {
            case "busy", "busy-poll", "spin" -> new BusyPoll();
            case "backoff" -> new Backoff(100, 100, 1_000, 1_000_000);
            case "sleep", "adaptive" -> new AdaptiveSleep(POLL_NS_MAX, SLEEP_NS_MAX);
            case "ring-sleep" -> new RingSleep(POLL_NS_MAX, SLEEP_NS_MAX);
            case "wait" -> new RingSleep(0, SLEEP_NS_MAX);
            default -> throw new IllegalArgumentException("unknown idle strategy '" + name + "': use sleep, ring-sleep, wait, backoff or busy");
        };
    }

    /** Never gives the core back: lowest latency, one full core per reactor. For benchmarks. */
    final class BusyPoll implements IdleStrategy {
        @Override public void idle(int workCount, Reactor reactor) {
            if (workCount == 0) Thread.onSpinWait();
        }
        @Override public IdleStrategy copy() { return new BusyPoll(); }
        @Override public String name() { return "busy"; }
    }

    /** Spin, then yield, then park for doubling times up to a cap; a posted command unparks. */
    final class Backoff implements IdleStrategy {
        private final int spins, yields;
        private final long parkNsMin, parkNsMax;
        private long idleCycles;
        private long parkNs;

        public Backoff(int spins, int yields, long parkNsMin, long parkNsMax) {
            this.spins = spins;
            this.yields = yields;
            this.parkNsMin = parkNsMin;
            this.parkNsMax = parkNsMax;
            this.parkNs = parkNsMin;
        }

        @Override public void idle(int workCount, Reactor reactor) {
            if (workCount > 0) {
                idleCycles = 0;
                parkNs = parkNsMin;
                return;
            }
            idleCycles++;
            if (idleCycles <= spins) {
                Thread.onSpinWait();
            } else if (idleCycles <= spins + yields) {
                Thread.yield();
            } else {
                reactor.parkUntilWork(parkNs);
                parkNs = Math.min(parkNs * 2, parkNsMax);
            }
        }
        @Override public IdleStrategy copy() { return new Backoff(spins, yields, parkNsMin, parkNsMax); }
        @Override public String name() { return "backoff"; }
    }

    /**
     * A fixed window ("wait": none; "ring-sleep": 50 us, the default before it adapted): busy-poll while there is work and for {@code spinNs} after it, then sleep inside
     * io_uring_enter until a completion, a posted command (the doorbell eventfd) or {@code sleepNsMax}.
     * An idle reactor costs no CPU; a busy one never sleeps.
     */
    final class RingSleep implements IdleStrategy {
        private final long spinNs;
        private final long sleepNsMax;
        private long idleSinceNs = -1;

        public RingSleep(long spinNs, long sleepNsMax) {
            this.spinNs = spinNs;
            this.sleepNsMax = sleepNsMax;
        }

        @Override public void idle(int workCount, Reactor reactor) {
            if (workCount > 0) {
                idleSinceNs = -1;
                return;
            }
            long now = System.nanoTime();
            if (idleSinceNs < 0) idleSinceNs = now;
            if (now - idleSinceNs < spinNs) {
                Thread.onSpinWait();
            } else {
                reactor.sleepUntilWork(sleepNsMax);
            }
        }
        @Override public IdleStrategy copy() { return new RingSleep(spinNs, sleepNsMax); }
        @Override public String name() { return spinNs == 0 ? "wait" : "ring-sleep"; }
    }

    /**
     * The default ("sleep"): QEMU's adaptive polling (util/aio-posix.c, poll-grow/poll-shrink) on a reactor. After
     * work the reactor polls for a window, then sleeps in io_uring_enter. The window follows the gaps between work:
     * a gap that ended inside the window was caught by polling (the window stays); one that ended after it but
     * within {@code pollNsMax} would have been caught by a longer window (it doubles, from 4 us); a longer one means
     * polling is wasted (the window drops to 0). So a queue that keeps receiving gets polled without a sleep and a
     * wake-up per request, and an idle one costs no CPU: after one long gap the reactor sleeps at once.
     */
    final class AdaptiveSleep implements IdleStrategy {
        /** The first window after a gap that a longer one would have caught: QEMU's initial poll-ns. */
        static final long POLL_NS_START = 4_000;
        private final long pollNsMax;
        private final long sleepNsMax;
        private long pollNs;
        private long idleSinceNs = -1;

        public AdaptiveSleep(long pollNsMax, long sleepNsMax) {
            this.pollNsMax = pollNsMax;
            this.sleepNsMax = sleepNsMax;
        }

        @Override public void idle(int workCount, Reactor reactor) {
            long now = reactor.cycleEndNs(); // read by the cycle just ended: no second clock read
            if (!idleCycle(workCount, now)) return;
            if (now - idleSinceNs < pollNs) Thread.onSpinWait();
            else reactor.sleepUntilWork(sleepNsMax);
        }

        /** Accounts one cycle at {@code nowNs}; true when it found no work (the caller then polls or sleeps). */
        boolean idleCycle(int workCount, long nowNs) {
            if (workCount == 0) {
                if (idleSinceNs < 0) idleSinceNs = nowNs;
                return true;
            }
            if (idleSinceNs >= 0) adjust(nowNs - idleSinceNs);
            idleSinceNs = -1;
            return false;
        }

        private void adjust(long gapNs) {
            if (gapNs <= pollNs) return; // polling caught it
            if (gapNs > pollNsMax) pollNs = 0; // no window we allow would have: stop polling
            else pollNs = Math.min(pollNsMax, pollNs == 0 ? POLL_NS_START : pollNs * 2);
        }

        /** The current poll window (ns). */
        public long pollNs() { return pollNs; }
        @Override public IdleStrategy copy() { return new AdaptiveSleep(pollNsMax, sleepNsMax); }
        @Override public String name() { return "sleep"; }
    }
}
