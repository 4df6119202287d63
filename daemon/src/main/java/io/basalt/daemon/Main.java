package io.basalt.daemon;

/** The basalt command line ({@link BasaltCommand}). Exit codes: 0 success, 1 failure, 2 bad usage. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        RpcCommand plain = RpcCommand.plain(args);
        if (plain != null) { // the common rpc call: nothing to shut down, so no exit hooks (and no System.Logger
            int code = plain.call(); // set-up for Runtime.exit's log line, about 7 ms of a 0.2 s call)
            System.out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(code);
        }
        System.exit(run(args));
    }

    static int run(String[] args) {
        RpcCommand plain = RpcCommand.plain(args); // the common rpc call, without building picocli's model
        if (plain != null) return plain.call();
        return BasaltCommand.commandLineFor(args).execute(args);
    }
}
