package io.basalt.daemon;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Makes a drive's completed writes durable at shutdown: a FLUSH through a channel on a reactor (closing a
 * uring device only closes its fd, which does not fsync). The channel lives for this one request.
 */
final class DriveFlusher {
    private DriveFlusher() {}

    /** Flushes {@code device} on {@code reactor} and waits; returns a Status, or -1 when it could not run. */
    static int flush(Reactor reactor, BlockDevice device, long timeoutNs) {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        reactor.call(() -> start(reactor, device, done)).whenComplete((accepted, failure) -> {
            if (failure != null) done.completeExceptionally(failure);
        });
        try {
            return done.get(timeoutNs, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            System.err.println("basalt: flush of drive " + device.name() + " did not finish in " + TimeUnit.NANOSECONDS.toSeconds(timeoutNs) + " s");
        } catch (ExecutionException e) {
            System.err.println("basalt: flush of drive " + device.name() + " failed: " + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return -1;
    }

    /** Runs on the reactor thread: opens a channel and submits the FLUSH; the completion closes the channel. */
    private static Boolean start(Reactor reactor, BlockDevice device, CompletableFuture<Integer> done) {
        BlockChannel channel = device.openChannel(reactor);
        IoCompletion onFlushed = (tag, status) -> {
            channel.close();
            done.complete(status);
        };
        if (!channel.flush(0, onFlushed)) {
            // A fresh channel has its whole queue depth free, so this is not expected; report it, not loop.
            channel.close();
            done.complete(Status.INVALID);
            return false;
        }
        return true;
    }
}
