package io.basalt.daemon;

import java.util.Arrays;

/** The basalt command line: dispatches a verb. Exit codes: 0 success, 1 failure, 2 bad usage. */
public final class Main {
    private Main() {}

    static final String USAGE = """
            usage: basalt VERB [ARGS]
              serve [--config FILE [--config-writeback]] [--data-dir DIR] [--reactors N] [--idle sleep|wait|backoff|busy]
                    run the daemon (./basalt-data; replays its saved state DATA_DIR/config.json, or on the first start
                    four 1 GiB file drives d0..d3 with a RAID5 volume vol0 over them, exported over vhost-user-blk)
              rpc [--data-dir DIR | --socket PATH] METHOD [JSON-PARAMS]
                    call a running daemon, e.g.  basalt rpc drive_list
              raid [--data-dir DIR | --socket PATH] status [NAME]
                    RAID volumes of a running daemon: members, states, rebuild/check progress
              bench ARGS
                    benchmark a backend or a volume (basalt bench --help)
              bench raid --members SPEC,SPEC,SPEC[,...] [--chunk 64k] ...
                    members and a raid5 volume over them in one run, with efficiency (basalt bench raid --help)
              bench vhost [--seconds N] [--rounds N] ...
                    Basalt vs qemu-storage-daemon from a QEMU guest (basalt bench vhost --help)
              help  this text
            docs/rpc.md lists the RPC methods.""";

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        if (args.length == 0) {
            System.err.println(USAGE);
            return 2;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        return switch (args[0]) {
            case "serve" -> ServeCommand.run(rest);
            case "rpc" -> RpcCommand.run(rest);
            case "bench" -> BenchVerb.run(rest);
            case "raid" -> RaidVerb.run(rest);
            case "stat" -> StatCommand.run(rest);
            case "help", "--help", "-h" -> {
                System.out.println("basalt " + Version.TEXT);
                System.out.println(USAGE);
                yield 0;
            }
            default -> {
                System.err.println("basalt: unknown verb '" + args[0] + "'");
                System.err.println(USAGE);
                yield 2;
            }
        };
    }
}
