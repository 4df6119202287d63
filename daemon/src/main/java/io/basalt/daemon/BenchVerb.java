package io.basalt.daemon;

/** {@code basalt bench}: the engine's benchmark CLI, which needs no daemon. */
final class BenchVerb {
    private BenchVerb() {}

    static int run(String[] args) {
        return io.basalt.engine.bench.BenchCli.run(args);
    }
}
