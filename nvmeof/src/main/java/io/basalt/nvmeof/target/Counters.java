package io.basalt.nvmeof.target;

/**
 * A snapshot of a controller's or a subsystem's counters, for nvmf_list and status (read racily: each number is
 * exact for some moment, the set of them not for one moment).
 *
 * @param commands         commands completed (every queue, admin included)
 * @param errors           commands completed with a status other than success
 * @param readCommands     Read commands
 * @param writeCommands    Write commands
 * @param readBytes        bytes read by Read commands that succeeded
 * @param writtenBytes     bytes written by Write commands that succeeded
 * @param busyRetries      submissions a busy channel refused and the queue retried
 * @param refusedConnects  Connect commands refused (unknown subsystem, host not allowed, bad parameters)
 * @param controllers      controllers live now
 */
public record Counters(long commands, long errors, long readCommands, long writeCommands, long readBytes,
                       long writtenBytes, long busyRetries, long refusedConnects, int controllers) {
    static Counters of(long[] sums, long refusedConnects, int controllers) {
        return new Counters(sums[QueueCounters.COMMANDS], sums[QueueCounters.ERRORS], sums[QueueCounters.READ_COMMANDS],
                sums[QueueCounters.WRITE_COMMANDS], sums[QueueCounters.READ_BYTES], sums[QueueCounters.WRITTEN_BYTES],
                sums[QueueCounters.BUSY_RETRIES], refusedConnects, controllers);
    }
}
