package io.basalt.daemon;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Keeps the saved state ({@code DATA_DIR/config.json}, see {@link SavedState}) in step with the running daemon:
 * after every RPC that may change something and every change no RPC made (a member failed on I/O, a rebuild
 * finished, a spare took over), the file is rewritten atomically ({@link StateFile}) on a thread of its own, off
 * the data path and off the RPC threads. A burst of changes is one write; a change that arrives while a write
 * runs gets a write of its own after it, so the last change is never lost.
 * Nothing is written before {@link #arm}: the calls replayed at start-up are not changes, and a start-up that
 * fails part way must leave the old file alone.
 */
final class StateKeeper implements AutoCloseable {
    static final String FILE_NAME = "config.json";
    /** Methods that change nothing: no write after them. Anything else (a method added later too) is saved. */
    static final Set<String> READ_ONLY_METHODS = Set.of("drive_list", "vhost_list", "raid_status", "daemon_status", "rpc_methods", "config_save");
    private static final long CLOSE_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);

    private final Path stateFile;
    /** --config-writeback: the --config file, rewritten with the same text; null without the flag. */
    private final Path writebackFile;
    private final Supplier<List<Object>> snapshot;
    private final ExecutorService writer = Executors.newSingleThreadExecutor(
            r -> Thread.ofPlatform().name("basalt-state-writer").daemon(true).unstarted(r));
    private final AtomicBoolean pending = new AtomicBoolean();
    private final AtomicLong writes = new AtomicLong();
    private final AtomicLong arrayChanges = new AtomicLong();
    private final AtomicLong writesAtLastArrayChange = new AtomicLong(-1);
    private volatile boolean armed;
    private volatile boolean closed;
    private volatile String lastError;

    StateKeeper(Path stateFile, Path writebackFile, Supplier<List<Object>> snapshot) {
        this.stateFile = stateFile;
        this.writebackFile = writebackFile;
        this.snapshot = snapshot;
    }

    /** Start-up is over: writes the state now (the first start leaves its file here) and after every change from now on. */
    void arm() throws StartupException {
        armed = true;
        try {
            writer.submit(this::writeOrThrow).get(CLOSE_TIMEOUT_NS, TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw new StartupException("cannot save the state to " + stateFile + ": " + e.getCause().getMessage()
                    + " (the daemon keeps its drives and exports there; check the data folder's permissions and free space)");
        } catch (InterruptedException | TimeoutException e) {
            throw new StartupException("saving the state to " + stateFile + " did not finish: " + e);
        }
    }

    /** The dispatcher's listener: every call, answered with a result or an error (a failed call may have done part of its work). */
    void rpcCalled(String method) {
        if (!READ_ONLY_METHODS.contains(method)) changed();
    }

    /** The RAID methods' listener for changes no RPC made. Never blocks: it runs on the RAID recorder thread, under its lock. */
    void arrayChanged() {
        arrayChanges.incrementAndGet();
        writesAtLastArrayChange.set(writes.get());
        changed();
    }

    private void changed() {
        if (!armed || closed) return;
        if (!pending.compareAndSet(false, true)) return; // a write is queued and has not taken its snapshot yet: it covers this
        try {
            writer.execute(this::writePending);
        } catch (RejectedExecutionException e) {
            // closing: the last queued write already ran or runs
        }
    }

    private void writePending() {
        pending.set(false); // before the snapshot: a change from here on queues another write
        try {
            writeOrThrow();
        } catch (IOException | RuntimeException e) {
            lastError = e.toString();
            System.err.println("basalt: cannot save the state to " + stateFile + ": " + e + " (the next change tries again)");
        }
    }

    private Void writeOrThrow() throws IOException {
        byte[] text = SavedState.render(snapshot.get());
        StateFile.write(stateFile, text);
        if (writebackFile != null) StateFile.write(writebackFile, text);
        writes.incrementAndGet();
        lastError = null;
        return null;
    }

    /** Waits until every write asked for so far has run (tests, and close). */
    void settle() {
        try {
            Future<?> done = writer.submit(() -> { });
            done.get(CLOSE_TIMEOUT_NS, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException | ExecutionException | TimeoutException e) {
            // closed, or stuck writing: nothing more to wait for here
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    Path file() { return stateFile; }
    long writes() { return writes.get(); }
    long arrayChanges() { return arrayChanges.get(); }
    /** The write count when the last non-RPC change came in; -1 before any. */
    long writesAtLastArrayChange() { return writesAtLastArrayChange.get(); }

    /** For daemon_status. */
    Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("file", stateFile.toString());
        if (writebackFile != null) m.put("writeback", writebackFile.toString());
        m.put("writes", writes.get());
        m.put("last_error", lastError);
        return m;
    }

    /**
     * No more writes asked for; the ones asked for before finish (the daemon calls this first when it stops, while
     * the drives and exports are all still there to be saved). Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        writer.shutdown();
        try {
            if (!writer.awaitTermination(CLOSE_TIMEOUT_NS, TimeUnit.NANOSECONDS)) {
                System.err.println("basalt: the last state write to " + stateFile + " did not finish in time");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
