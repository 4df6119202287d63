package io.basalt.daemon;

/** The basalt command line ({@link BasaltCommand}). Exit codes: 0 success, 1 failure, 2 bad usage. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        return BasaltCommand.commandLineFor(args).execute(args);
    }
}
