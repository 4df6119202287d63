package io.basalt.nvmeof;

import java.lang.foreign.MemorySegment;

/**
 * The controller side of one NVMe/TCP queue pair (the admin queue or one I/O queue), as the transport sees it.
 * Made by a {@link QueueHandlerFactory} when a host connects, before its first command (which must be a
 * Fabrics Connect); every call comes from the reactor thread that owns the connection.
 *
 * <p>The transport gathers a command's data before it calls {@link #execute}: for a command that moves data
 * from the host (its opcode's data transfer direction bits are 01), {@code data} holds all of it, from the
 * capsule or from H2CData PDUs after R2Ts; for one that moves data to the host (bits 10), {@code data} is a
 * buffer of the length the command's SGL describes, for the handler to fill. The handler answers each command
 * exactly once through {@link Responses#complete}, now or later, on the same reactor thread.
 */
public interface QueueHandler {
    /**
     * One command.
     *
     * @param sqe   the 64-byte submission queue entry; valid during this call only (copy what is kept)
     * @param data  the command's data as described above, or {@link MemorySegment#NULL} when it moves none;
     *              valid until the command is completed, 4 KiB aligned (usable for O_DIRECT I/O)
     * @param tag   the transport's number for the command, given back in {@link Responses#complete}
     */
    void execute(MemorySegment sqe, MemorySegment data, long tag, Responses responses);

    /**
     * True once a Fabrics Connect on this queue asked to disable submission queue flow control (Connect's
     * CATTR bit 2): then, and only then, the transport may set C2HData's SUCCESS flag instead of sending a
     * response capsule.
     */
    boolean sqFlowControlDisabled();

    /** The connection is gone (peer closed, error, target stopping): complete nothing more, release what is held. */
    void disconnected();

    /** How the handler answers; implemented by the transport. */
    interface Responses {
        /**
         * Completes the command {@code tag}: for a command that moves data to the host, the first
         * {@code dataBytes} bytes of its {@code data} go first (C2HData), then the completion queue entry.
         *
         * @param dw0     completion dword 0 (command specific)
         * @param dw1     completion dword 1 (command specific)
         * @param status  the status field: status code type (bits 10:8) and code (7:0), DNR in bit 14, More in 13
         *                (the CQE's phase bit is not part of it)
         */
        void complete(long tag, long dataBytes, int dw0, int dw1, int status);

        /** Closes the connection (keep-alive expiry, a fatal protocol error seen by the controller). */
        void close(String reason);
    }
}
