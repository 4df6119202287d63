package io.basalt.bench;

import java.nio.file.Path;
import java.util.List;

/**
 * {@code basalt bench vhost}, parsed: what qemu-tests' VhostBench runs (it boots the guest and starts the backends;
 * the bench module only reads the command line, so the product's jars do not carry the guest harness).
 *
 * @param backends    in the order given; empty: Basalt ("basalt") and qemu-storage-daemon ("qsd")
 * @param jobPrefixes the default jobs whose names start with one of these; empty: all four
 * @param workDir     null: the runner's default (.build/bench-vhost of the checkout)
 * @param frontend    no guest: Basalt's vhost-user front-end drives Basalt and qemu-storage-daemon (FrontendBench)
 * @param device      with frontend: what both servers export, "null" or a block device path (null: "null")
 * @param ioDepth     with frontend: requests in flight per queue
 */
public record VhostBenchRequest(List<Backend> backends, List<String> jobPrefixes, int seconds, int rounds, long imageBytes,
                                int queues, int guestCpus, Path workDir, boolean frontend, String device, int ioDepth) {
    public VhostBenchRequest {
        backends = List.copyOf(backends);
        jobPrefixes = List.copyOf(jobPrefixes);
    }

    /** How a backend is given: the built-in Basalt or qemu-storage-daemon entry, or a command template. */
    public enum Kind { BASALT, QSD, COMMAND }

    /**
     * One backend: {@code argument} is Basalt's serve options (null: the default ones), nothing for QSD, the command
     * template for COMMAND.
     */
    public record Backend(Kind kind, String name, String argument) {}

    /** Runs a request (qemu-tests' VhostBench); returns the exit code. */
    @FunctionalInterface
    public interface Runner {
        int run(VhostBenchRequest request, java.io.PrintStream out, java.io.PrintStream err);
    }
}
