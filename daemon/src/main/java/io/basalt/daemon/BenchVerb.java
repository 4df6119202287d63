package io.basalt.daemon;

/**
 * {@code basalt bench}: the bench module's picocli command ({@link io.basalt.bench.BenchCommand}: {@code bench},
 * {@code bench raid}, {@code bench vhost}, {@code bench ppl-cost}); it needs no daemon.
 */
final class BenchVerb {
    private BenchVerb() {}

    static int run(String[] args) {
        return io.basalt.bench.Cli.execute(new io.basalt.bench.BenchCommand(), args, System.out, System.err);
    }
}
