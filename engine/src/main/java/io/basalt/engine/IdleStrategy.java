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

    /** Parses "sleep" (the default), "wait", "backoff" or "busy". */
    static IdleStrategy parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "busy", "busy-poll", "spin" -> new BusyPoll();
            case "backoff" -> new Backoff(100, 100, 1_000, 1_000_000);
            case "sleep", "ring-sleep" -> new RingSleep(50_000, 1_000_000_000L);
            case "wait" -> new RingSleep(0, 1_000_000_000L);
            default -> throw new IllegalArgumentException("unknown idle strategy '" + name + "': use sleep, wait, backoff or busy");
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
     * The default: busy-poll while there is work and for {@code spinNs} after it, then sleep inside
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
        @Override public String name() { return "sleep"; }
    }
}
