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
 * @param loopback    no guest: Basalt's NVMe/TCP initiator against Basalt's target, fio's nbd engine against qemu-nbd,
 *                    all on the host's 127.0.0.1 (qemu-tests' NvmfLoopbackBench); null when not looping back
 */
public record NvmfBenchRequest(List<String> jobPrefixes, int seconds, int rounds, long imageBytes, int guestCpus,
                               int ioQueues, String serveArgs, Path workDir, Loopback loopback) {
    public NvmfBenchRequest {
        jobPrefixes = List.copyOf(jobPrefixes);
    }

    /**
     * {@code --loopback}'s own settings.
     *
     * @param device         what both servers serve: "null" (no data touched) or a block device path
     * @param queues         NVMe/TCP I/O queues of the initiator (and the target's reactors unless --serve-args says
     *                       otherwise) = fio's nbd connections (numjobs)
     * @param ioDepth        requests in flight per queue (per connection)
     * @param serverJavaOpts JVM options for Basalt's target process only (e.g. a profiler agent); empty: none
     */
    public record Loopback(String device, int queues, int ioDepth, String serverJavaOpts) {}

    /** Runs a request (qemu-tests' NvmfBench); returns the exit code. */
    @FunctionalInterface
    public interface Runner {
        int run(NvmfBenchRequest request, PrintStream out, PrintStream err);
    }
}
