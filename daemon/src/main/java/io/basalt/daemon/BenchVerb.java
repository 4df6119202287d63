package io.basalt.daemon;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code basalt bench}: the engine's benchmark CLI, which needs no daemon, with volume specs as targets
 * (io.basalt.bench.VolumeSpec, module bench); {@code basalt bench raid} measures
 * members and a raid5 volume over them in one run (io.basalt.bench.RaidBench); {@code basalt bench vhost [ARGS]} runs
 * qemu-tests/bench-vhost.sh (Basalt and qemu-storage-daemon side by side from one QEMU guest; --help lists ARGS).
 */
final class BenchVerb {
    private BenchVerb() {}

    static int run(String[] args) {
        if (args.length > 0 && args[0].equals("vhost")) return vhost(Arrays.copyOfRange(args, 1, args.length));
        if (args.length > 0 && args[0].equals("raid")) return io.basalt.bench.RaidBench.run(Arrays.copyOfRange(args, 1, args.length), System.out, System.err);
        return io.basalt.bench.BenchCli.run(args, System.out, System.err, io.basalt.bench.VolumeSpec.OPENER);
    }

    private static int vhost(String[] args) {
        Path script = Path.of(System.getProperty("basalt.home", ".")).resolve("qemu-tests/bench-vhost.sh").toAbsolutePath();
        if (!Files.isRegularFile(script)) {
            System.err.println("basalt bench vhost: no " + script + " (it runs from a source checkout; set -Dbasalt.home)");
            return 1;
        }
        List<String> command = new ArrayList<>(List.of("bash", script.toString()));
        command.addAll(List.of(args));
        try {
            return new ProcessBuilder(command).inheritIO().start().waitFor();
        } catch (java.io.IOException e) {
            System.err.println("basalt bench vhost: cannot run " + script + ": " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }
}
