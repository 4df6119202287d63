package io.basalt.nvmeof.target;

import io.basalt.engine.Reactor;
import io.basalt.nvmeof.QueueHandler;
import io.basalt.nvmeof.nvme.Fabrics;
import io.basalt.nvmeof.nvme.NvmeStatus;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Sqe;
import io.basalt.shims.Check;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;

/**
 * The controller side of one connection, owned by the reactor that owns the connection. States: NEW (only a
 * Connect is accepted), ADMIN or IO once connected, CLOSED after {@link #disconnected}. The admin queue runs
 * {@link AdminCommands}, an I/O queue {@link IoQueue}; fabrics commands are {@link FabricsCommands}.
 */
final class QueuePair implements QueueHandler {
    enum State { NEW, ADMIN, IO, CLOSED }

    private static final VarHandle LAST_ACTIVITY_NS;

    static {
        try {
            LAST_ACTIVITY_NS = MethodHandles.lookup().findVarHandle(QueuePair.class, "lastActivityNs", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Target target;
    private final Reactor reactor;
    private final String peer;
    private final Listener listener;
    private final QueueCounters counters = new QueueCounters();
    private State state = State.NEW;
    private Responses responses;
    private Controller controller;
    private int qid;
    private boolean sqFlowControlDisabled;
    private AdminCommands admin;
    private IoQueue io;
    /** Written by the owner (opaque), read by the keep-alive check on the admin queue's reactor. */
    @SuppressWarnings("unused")
    private long lastActivityNs;

    QueuePair(Target target, Reactor reactor, String peer, Listener listener) {
        this.target = target;
        this.reactor = reactor;
        this.peer = peer;
        this.listener = listener;
        touch();
    }

    @Override
    public void execute(MemorySegment sqe, MemorySegment data, long tag, Responses responses) {
        if (state == State.CLOSED) return;
        Check.that(this.responses == null || this.responses == responses, "one Responses per queue");
        this.responses = responses;
        touch();
        int opcode = Sqe.opcode(sqe);
        if (state == State.NEW) {
            if (opcode == Opcodes.FABRICS && Sqe.u8(sqe, Fabrics.FCTYPE_OFFSET) == Opcodes.FCTYPE_CONNECT) FabricsCommands.connect(this, sqe, data, tag);
            else fail(tag, sqe, NvmeStatus.INVALID_OPCODE | NvmeStatus.DNR);
        } else if (opcode == Opcodes.FABRICS) {
            FabricsCommands.execute(this, sqe, tag);
        } else if (state == State.ADMIN) {
            admin.execute(sqe, data, tag);
        } else {
            io.execute(sqe, data, tag);
        }
    }

    @Override
    public boolean sqFlowControlDisabled() {
        return sqFlowControlDisabled;
    }

    @Override
    public void disconnected() {
        if (state == State.CLOSED) return;
        State was = state;
        state = State.CLOSED;
        if (was == State.ADMIN) {
            reactor.removePoller(controller.keepAlivePoller());
            controller.destroy();
        } else if (was == State.IO) {
            io.release();
            controller.detach(qid, this);
        }
    }

    // ------------------------------------------------------------------ after Connect

    void becomeAdmin(Controller c, boolean disableSqFlowControl) {
        controller = c;
        qid = 0;
        sqFlowControlDisabled = disableSqFlowControl;
        admin = new AdminCommands(this, c);
        state = State.ADMIN;
        reactor.addPoller(c.keepAlivePoller());
    }

    void becomeIo(Controller c, int queueId, int entries, boolean disableSqFlowControl) {
        controller = c;
        qid = queueId;
        sqFlowControlDisabled = disableSqFlowControl;
        io = new IoQueue(this, c, entries);
        state = State.IO;
    }

    // ------------------------------------------------------------------ answers

    /** Completes a command: counts it, logs an error in the controller's error log. Owner thread. */
    void complete(long tag, long dataBytes, int dw0, int dw1, int status, int commandId, int nsid, long lba) {
        counters.add(QueueCounters.COMMANDS, 1);
        if (status != NvmeStatus.SUCCESS) {
            counters.add(QueueCounters.ERRORS, 1);
            if (controller != null) controller.errors().record(qid, commandId, status, lba, nsid);
        }
        responses.complete(tag, dataBytes, dw0, dw1, status);
    }

    void complete(long tag, long dataBytes, int dw0, int dw1, int status, MemorySegment sqe) {
        complete(tag, dataBytes, dw0, dw1, status, Sqe.commandId(sqe), Sqe.nsid(sqe), 0);
    }

    void fail(long tag, MemorySegment sqe, int status) {
        complete(tag, 0, 0, 0, status, sqe);
    }

    /** Completes a held AER from another thread: posted to this queue's reactor. */
    void completeLater(long tag, int dw0) {
        boolean posted = reactor.post(() -> {
            if (state != State.CLOSED) complete(tag, 0, dw0, 0, NvmeStatus.SUCCESS, 0, 0, 0); // success: no error log entry, so no command id needed
        });
        if (!posted) closeFromController("could not post an asynchronous event to reactor " + reactor.name());
    }

    /** Closes the connection on the controller's behalf (keep-alive expiry, controller gone); any thread. */
    void closeFromController(String reason) {
        Runnable close = () -> {
            if (state != State.CLOSED && responses != null) responses.close(reason);
        };
        if (reactor.isOwnerThread()) close.run();
        else reactor.post(close);
    }

    /** Closes this I/O queue's channel to {@code ns} on the owning reactor; the future completes after. */
    CompletableFuture<Void> dropNamespace(Namespace ns) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Runnable drop = () -> {
            if (io != null) io.dropNamespace(ns);
            done.complete(null);
        };
        if (reactor.isOwnerThread()) drop.run();
        else if (!reactor.post(drop)) done.complete(null); // a stopped reactor closed its channels already
        return done;
    }

    private void touch() {
        LAST_ACTIVITY_NS.setOpaque(this, reactor.isOwnerThread() ? reactor.nowNs() : System.nanoTime());
    }

    long lastActivityNs() {
        return (long) LAST_ACTIVITY_NS.getOpaque(this);
    }

    Target target() { return target; }
    Reactor reactor() { return reactor; }
    String peer() { return peer; }
    Listener listener() { return listener; }
    Controller controller() { return controller; }
    QueueCounters counters() { return counters; }
    State state() { return state; }
    int qid() { return qid; }
}
