package io.basalt.engine.bench;

import io.basalt.engine.DeviceSpec;

/** Placeholder until the JSON reader lands in engine: --vs-fio refuses with a clear message. */
final class FioRunner {
    private FioRunner() {}

    static FioRunner forSpec(DeviceSpec spec, String fio) {
        throw new IllegalArgumentException("--vs-fio is not available in this build");
    }

    BenchResult run(BenchParams params) {
        throw new IllegalStateException("unreachable");
    }
}
