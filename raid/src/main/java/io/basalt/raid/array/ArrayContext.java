package io.basalt.raid.array;

import io.basalt.engine.Reactor;
import io.basalt.raid.volume.PplRecovery;

import java.security.SecureRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * What the array layer's parts share: the member source, the reactor for control I/O, the random source for
 * uuids, and the two threads off the data path — the recorder (writes superblocks after a failure or a rebuild
 * checkpoint that a reactor or a job thread saw; it takes the arrays' lock) and the event thread (tells the
 * {@link ArrayEvents} listener, in order, holding no lock).
 */
final class ArrayContext {
    final MemberSource members;
    private final Supplier<Reactor> reactor;
    private final ArrayEvents listener;
    final SecureRandom random = new SecureRandom();
    private final ExecutorService recorder = Executors.newSingleThreadExecutor(
            r -> Thread.ofPlatform().name("basalt-raid-recorder").daemon(true).unstarted(r));
    private final ExecutorService events = Executors.newSingleThreadExecutor(
            r -> Thread.ofPlatform().name("basalt-raid-events").daemon(true).unstarted(r));

    ArrayContext(MemberSource members, Supplier<Reactor> reactor, ArrayEvents listener) {
        this.members = members;
        this.reactor = reactor;
        this.listener = listener;
    }

    /** A running reactor for superblock, bitmap and PPL I/O. */
    Reactor controlReactor() throws ArrayException {
        Reactor r = reactor.get();
        if (r == null || !r.isRunning()) throw ArrayException.internal("no running reactor for the md superblock I/O");
        return r;
    }

    /** A running reactor, or null (the bitmap store asks at each write). */
    Reactor reactorOrNull() {
        Reactor r = reactor.get();
        return r != null && r.isRunning() ? r : null;
    }

    /** Blocking member I/O through a running reactor, for the PPL's control path. */
    PplRecovery.SyncIo controlSync() throws ArrayException {
        return ControlIo.syncIo(controlReactor());
    }

    /** Runs {@code task} on the recorder, off the caller's thread (a reactor's or a job's must not block on the lock). */
    void record(Runnable task) {
        try {
            recorder.execute(task);
        } catch (RejectedExecutionException e) {
            // the layer is stopping: the change stays in memory only
        }
    }

    /** Tells the listener on the event thread, after whatever the caller holds is released. */
    void emit(Consumer<ArrayEvents> event) {
        try {
            events.execute(() -> {
                try {
                    event.accept(listener);
                } catch (RuntimeException e) {
                    System.err.println("basalt: raid event listener failed: " + e);
                }
            });
        } catch (RejectedExecutionException e) {
            // closed: no one listens any more
        }
    }

    /** Stops the recorder after the tasks queued (checkpoints of stopped jobs), then the event thread after its events. */
    void shutdown() {
        await(recorder);
        await(events);
    }

    private static void await(ExecutorService executor) {
        executor.shutdown();
        try {
            executor.awaitTermination(ControlIo.TIMEOUT_NS, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
