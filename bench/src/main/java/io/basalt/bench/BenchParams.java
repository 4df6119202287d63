package io.basalt.bench;

import io.basalt.shims.Check;

/**
 * One benchmark run's workload, as fio names it.
 *
 * @param rw          randread, randwrite, read, write or randrw
 * @param blockBytes  transfer size of each I/O
 * @param ioDepth     I/Os in flight per job
 * @param jobs        jobs (one reactor each)
 * @param runtimeNs   measured time
 * @param rampNs      time run before measuring (not counted)
 * @param readPercent share of reads for randrw
 * @param seed        seed of the random offsets
 */
public record BenchParams(String rw, int blockBytes, int ioDepth, int jobs, long runtimeNs, long rampNs,
                          int readPercent, long seed) {
    public BenchParams {
        Check.that(switch (rw) {
            case "randread", "randwrite", "read", "write", "randrw" -> true;
            default -> false;
        }, "rw is one of randread, randwrite, read, write, randrw: " + rw);
        Check.that(blockBytes >= 512 && blockBytes % 512 == 0, "block size a multiple of 512", blockBytes);
        Check.that(ioDepth >= 1 && ioDepth <= 4096, "iodepth in [1, 4096]", ioDepth);
        Check.that(jobs >= 1 && jobs <= 256, "jobs in [1, 256]", jobs);
        Check.that(runtimeNs > 0, "runtime positive", runtimeNs);
        Check.that(readPercent >= 0 && readPercent <= 100, "rwmixread in [0, 100]", readPercent);
    }

    public boolean random() {
        return rw.startsWith("rand");
    }

    public boolean hasReads() {
        return rw.equals("randread") || rw.equals("read") || rw.equals("randrw");
    }

    /** Probability, in percent, that an I/O is a read. */
    public int readShare() {
        return switch (rw) {
            case "randread", "read" -> 100;
            case "randwrite", "write" -> 0;
            default -> readPercent;
        };
    }
}
