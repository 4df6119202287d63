package io.basalt.vhost;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.Reactor;
import io.basalt.vhost.blk.InflightRegion;
import io.basalt.vhost.blk.InflightTracker;
import io.basalt.vhost.blk.PackedInflightRegion;
import io.basalt.vhost.blk.VirtioBlkQueue;
import io.basalt.vhost.memory.GuestMemory;
import io.basalt.vhost.memory.SliceCache;
import io.basalt.vhost.protocol.ProtocolException;
import io.basalt.vhost.virtio.PackedVirtqueue;
import io.basalt.vhost.virtio.SplitVirtqueue;
import io.basalt.vhost.virtio.VirtioFeatures;
import io.basalt.vhost.virtio.Virtqueue;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The session's handle on one running ring: the queue itself ({@link VirtioBlkQueue}) lives on its reactor,
 * and this object only talks to it by posting commands (start, stop) and waiting for the answer, on the
 * session's control thread.
 */
final class QueueRunner {
    static final int QUEUE_SIZE_MAX = SplitVirtqueue.QUEUE_SIZE_MAX;
    private static final long COMMAND_TIMEOUT_SECONDS = 30;
    /** Guest buffers seen recently per queue (slices reused, not re-created): 1024 covers fio and a page cache batch. */
    private static final int SLICE_CACHE_ENTRIES = 1024;

    private final Reactor reactor;
    private final VirtioBlkQueue queue;
    /** Where the queue's channel came from: the export's one channel on this reactor, shared with its other queues. */
    private final SharedChannels channels;

    /** Requests the queue holds now; read off its reactor, so a racy snapshot for status only. */
    int inFlight() {
        return queue.inFlight();
    }

    private QueueRunner(Reactor reactor, VirtioBlkQueue queue, SharedChannels channels) {
        this.reactor = reactor;
        this.queue = queue;
        this.channels = channels;
    }

    /** Checks the ring's addresses against guest memory, then builds and starts the queue on its reactor. */
    static QueueRunner start(VhostBlkExport export, VringState ring, GuestMemory memory, long features, MemorySegment inflightArea) {
        boolean packed = (features & (1L << VirtioFeatures.RING_PACKED)) != 0;
        // Packed rings (virtio 2.8): QEMU passes the descriptor ring, the driver event suppression area and the
        // device event suppression area in SET_VRING_ADDR's desc, avail and used fields.
        MemorySegment desc = memory.uva(ring.descUserAddr,
                packed ? PackedVirtqueue.ringBytes(ring.size) : SplitVirtqueue.descTableBytes(ring.size));
        MemorySegment avail = memory.uva(ring.availUserAddr,
                packed ? PackedVirtqueue.EVENT_AREA_SIZE : SplitVirtqueue.availRingBytes(ring.size));
        MemorySegment used = memory.uva(ring.usedUserAddr,
                packed ? PackedVirtqueue.EVENT_AREA_SIZE : SplitVirtqueue.usedRingBytes(ring.size));
        if (desc == null || avail == null || used == null) {
            throw new ProtocolException("queue " + ring.index + ": ring addresses are not inside guest memory");
        }
        Reactor reactor = export.reactorFor(ring.index);
        int callFd = ring.callFd, kickFd = ring.kickFd, base = ring.base, size = ring.size;
        CompletableFuture<QueueRunner> started = reactor.call(() -> {
            SharedChannels channels = export.channels();
            BlockChannel channel = channels.acquire(reactor);
            try {
                InflightTracker inflight = null;
                int[] resubmit = new int[0];
                Virtqueue vq;
                if (packed) {
                    PackedInflightRegion region = inflightArea == null ? null : new PackedInflightRegion(inflightArea, size, base);
                    resubmit = region == null ? resubmit : region.recover(desc);
                    int availBase = region == null ? base : region.resumeAvailIdx();
                    int usedBase = region == null ? base : region.resumeUsedIdx();
                    if (availBase != base) {
                        // After a back-end crash QEMU sends the base of the ring's previous start (it cannot read a
                        // packed ring's position back): the region knows where the ring stands.
                        export.log("queue " + ring.index + ": packed ring resumes at avail 0x" + Integer.toHexString(availBase)
                                + ", used 0x" + Integer.toHexString(usedBase) + " from the inflight buffer (front-end said 0x"
                                + Integer.toHexString(base) + ")");
                    }
                    inflight = region;
                    vq = new PackedVirtqueue(memory, desc, avail, used, size, features, availBase, usedBase,
                            new SliceCache(SLICE_CACHE_ENTRIES));
                } else {
                    InflightRegion region = inflightArea == null ? null : new InflightRegion(inflightArea, size);
                    resubmit = region == null ? resubmit : region.recover(usedIdx(used));
                    inflight = region;
                    // After a back-end crash QEMU restarts the ring at its used index; the requests a previous
                    // back-end had taken beyond it are the in-flight ones, resubmitted below and not popped again
                    // (libvhost-user's rule: last_avail_idx = used_idx + in flight).
                    int startIdx = resubmit.length == 0 ? base : (usedIdx(used) + resubmit.length) & 0xFFFF;
                    vq = new SplitVirtqueue(memory, desc, avail, used, size, features, startIdx, new SliceCache(SLICE_CACHE_ENTRIES));
                }
                VirtioBlkQueue q = new VirtioBlkQueue(reactor, channel, vq, callFd, kickFd, export.config().readOnly(),
                        export.device().geometry(), inflight, VirtioBlkQueue.Options.of(export.blkConfig(), export.config().serial()));
                q.start();
                if (resubmit.length > 0) {
                    export.log("queue " + ring.index + ": resubmitting " + resubmit.length + " request(s) in flight from the inflight buffer");
                    q.resubmit(resubmit);
                }
                return new QueueRunner(reactor, q, channels);
            } catch (RuntimeException e) {
                channels.release(reactor);
                throw e;
            }
        });
        return await(started, "start queue " + ring.index);
    }

    /** Stops the ring after its requests complete; returns where the guest's next request will be. */
    int stop() {
        CompletableFuture<Integer> drained = new CompletableFuture<>();
        boolean posted = reactor.post(() -> queue.stop(() -> {
            channels.release(reactor);
            drained.complete(queue.lastAvailIdx());
        }));
        if (!posted) throw new ProtocolException("reactor " + reactor.name() + " is not running; queue cannot be stopped cleanly");
        return await(drained, "stop queue");
    }

    /** The used ring's idx as the guest last saw it (little-endian u16 at offset 2; virtio 2.7.8). */
    private static int usedIdx(MemorySegment used) {
        java.lang.invoke.VarHandle.acquireFence();
        return Short.toUnsignedInt(used.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
                SplitVirtqueue.USED_IDX_OFFSET));
    }

    private static <T> T await(CompletableFuture<T> future, String what) {
        try {
            return future.get(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw new ProtocolException(what + " failed: " + (cause == null ? e : cause.getMessage()));
        } catch (TimeoutException e) {
            throw new ProtocolException(what + ": no answer from the reactor in " + COMMAND_TIMEOUT_SECONDS + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProtocolException(what + ": interrupted");
        }
    }
}
