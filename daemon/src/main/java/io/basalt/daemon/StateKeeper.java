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
 * the data path. A burst of changes is one write; a change that arrives while a write runs gets a write of its
 * own after it, so the last change is never lost. An RPC is answered once the write that covers it is done (no
 * lock held meanwhile), so a SIGKILL after the answer cannot lose it; a change no RPC made is never waited for.
 * Nothing is written before {@link #arm}: the calls replayed at start-up are not changes, and a start-up that
 * fails part way must leave the old file alone.
 */
final class StateKeeper implements AutoCloseable {
    static final String FILE_NAME = "config.json";
    /** Methods that change nothing: no write after them. Anything else (a method added later too) is saved. */
    static final Set<String> READ_ONLY_METHODS = Set.of("drive_list", "vhost_list", "raid_status", "daemon_status", "rpc_methods", "config_save",
            "stat_get", "nvmf_list", "s3_status");
    private static final long CLOSE_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);
    /** How long an RPC waits for its change to be saved before it answers anyway (a hung disk must not hang the RPCs). */
    private static final long RPC_WAIT_NS = TimeUnit.SECONDS.toNanos(10);

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

    /**
     * The dispatcher's listener: every call, after it ran (a failed call may have done part of its work). Waits for
     * the write that covers the call, on the RPC's connection thread, holding no lock.
     */
    void rpcCalled(String method) {
        if (READ_ONLY_METHODS.contains(method)) return;
        Future<?> saved = changed();
        if (saved == null) return;
        try {
            saved.get(RPC_WAIT_NS, TimeUnit.NANOSECONDS);
        } catch (ExecutionException | TimeoutException e) {
            System.err.println("basalt: the state after " + method + " is not saved yet: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The array layer's events that no RPC made, each a change to save: a member failed on I/O, a spare took over,
     * a sync job ended. (What an RPC did is saved by {@link #rpcCalled} before its answer.) The event thread never
     * holds the arrays' lock, and {@link #arrayChanged} does not block.
     */
    static io.basalt.raid.array.ArrayEvents onChangesNoRpcMade(StateKeeper keeper) {
        return new io.basalt.raid.array.ArrayEvents() {
            @Override public void memberFailed(String array, String drive, boolean byRequest) { if (!byRequest) keeper.arrayChanged(); }
            @Override public void sparePromoted(String array, String drive, int role) { keeper.arrayChanged(); }
            @Override public void syncFinished(String array, String action, String state) { keeper.arrayChanged(); }
        };
    }

    /** A change to an array: queues a save and returns (it runs on the array layer's event thread). */
    void arrayChanged() {
        arrayChanges.incrementAndGet();
        writesAtLastArrayChange.set(writes.get());
        changed();
    }

    /**
     * Marks the state changed and queues a task; the first task to run after a burst writes, the rest find nothing
     * pending. When a change's own task is done, a write whose snapshot followed the change is done too (the task
     * that cleared the flag ran first, on this one thread). Returns that task, or null when nothing is saved.
     */
    private Future<?> changed() {
        if (!armed || closed) return null;
        pending.set(true);
        try {
            return writer.submit(this::writePending);
        } catch (RejectedExecutionException e) {
            return null; // closing: the queued writes run before the writer stops
        }
    }

    private void writePending() {
        if (!pending.getAndSet(false)) return; // an earlier task's snapshot already covers this change
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
