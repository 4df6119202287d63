package io.basalt.vhost;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import io.basalt.shims.Check;

import java.util.List;

/**
 * One {@link BlockChannel} per reactor for all of an export's queues served there (SPDK: one io_channel per
 * thread and bdev). A guest with 4 vCPUs on 2 reactors runs 2 queues per reactor; a channel each would cost a
 * RAID5 volume's stripe buffers (8-16 MiB per channel) for nothing. The queues track their own requests, so
 * sharing the channel only shares its queue depth (a refused request waits in its queue and is retried).
 *
 * <p>Entry i is touched only on reactor i's thread (acquire and release run there, inside the queue's start and
 * stop commands), so no entry is shared between threads.
 */
final class SharedChannels {
    private final BlockDevice device;
    private final List<Reactor> reactors;
    private final BlockChannel[] channels;
    private final int[] users;

    SharedChannels(BlockDevice device, List<Reactor> reactors) {
        this.device = device;
        this.reactors = List.copyOf(reactors);
        this.channels = new BlockChannel[reactors.size()];
        this.users = new int[reactors.size()];
    }

    /** The reactor's channel, opened by its first user. On that reactor's thread. */
    BlockChannel acquire(Reactor reactor) {
        int i = indexOf(reactor);
        if (channels[i] == null) channels[i] = device.openChannel(reactor);
        users[i]++;
        return channels[i];
    }

    /** Closed with its last user (requests in flight still complete). On that reactor's thread. */
    void release(Reactor reactor) {
        int i = indexOf(reactor);
        Check.that(users[i] > 0, "a shared channel released more often than acquired");
        if (--users[i] == 0) {
            channels[i].close();
            channels[i] = null;
        }
    }

    private int indexOf(Reactor reactor) {
        Check.that(reactor.isOwnerThread(), "shared channels are used on their reactor's thread");
        int i = reactors.indexOf(reactor);
        Check.that(i >= 0, "reactor " + reactor.name() + " serves this export");
        return i;
    }
}
