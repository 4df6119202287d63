package io.basalt.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code basalt bench nvmf}, parsed: what qemu-tests' NvmfBench runs (it boots the guest and starts Basalt and
 * qemu-nbd; the bench module only reads the command line, so the product's jars do not carry the guest harness).
 *
 * @param jobPrefixes the default jobs whose names start with one of these; empty: all four
 * @param ioQueues    NVMe/TCP I/O queues the guest connects with; 0: the kernel's default (one per guest CPU)
 * @param serveArgs   Basalt's {@code serve} options
 * @param workDir     null: the runner's default (.build/bench-nvmf of the checkout)
 */
public record NvmfBenchRequest(List<String> jobPrefixes, int seconds, int rounds, long imageBytes, int guestCpus,
                               int ioQueues, String serveArgs, Path workDir) {
    public NvmfBenchRequest {
        jobPrefixes = List.copyOf(jobPrefixes);
    }

    /** Runs a request (qemu-tests' NvmfBench); returns the exit code. */
    @FunctionalInterface
    public interface Runner {
        int run(NvmfBenchRequest request, PrintStream out, PrintStream err);
    }
}
