package io.basalt.daemon.rpc;

import io.basalt.daemon.json.Json;
import io.basalt.daemon.json.JsonException;
import io.basalt.shims.Check;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * One peer: reads bytes, cuts them into JSON messages with a {@link MessageFramer}, answers each in order, one
 * reply per line. Anything the peer does (garbage, a message over the limit, hanging up mid-request) ends at worst
 * this connection, never the daemon. A broken message (not JSON, too deep, too large) gets its error reply and
 * costs the rest of its line; the connection then serves the next line (docs/rpc.md, Transport).
 */
final class RpcConnection {
    private static final int READ_CHUNK_BYTES = 64 * 1024;

    private final SocketChannel peer;
    private final RpcDispatcher dispatcher;
    private final int messageBytesMax;
    private final Consumer<RpcConnection> onClose;
    private final MessageFramer framer;
    private final ByteBuffer chunk = ByteBuffer.allocate(READ_CHUNK_BYTES);
    private byte[] buffer = new byte[READ_CHUNK_BYTES];
    private int filledBytes;
    private int scannedBytes;
    /** The thread serving this peer; set once by the server before anyone joins it. */
    volatile Thread thread;

    RpcConnection(SocketChannel peer, RpcDispatcher dispatcher, int messageBytesMax, Consumer<RpcConnection> onClose) {
        this.peer = peer;
        this.dispatcher = dispatcher;
        this.messageBytesMax = messageBytesMax;
        this.onClose = onClose;
        this.framer = new MessageFramer(Json.DEPTH_MAX_DEFAULT, messageBytesMax);
    }

    void serve() {
        try {
            while (readMore()) answerCompleteMessages();
        } catch (IOException e) {
            // The peer hung up or reset: nothing to answer, nothing to report.
        } catch (RuntimeException e) {
            System.err.println("basalt: RPC connection dropped after an unexpected error: " + e);
        } finally {
            close();
        }
    }

    /** Appends one read to the buffer; false at end of stream. */
    private boolean readMore() throws IOException {
        chunk.clear();
        int n = peer.read(chunk);
        if (n < 0) return false;
        ensureRoom(n);
        System.arraycopy(chunk.array(), 0, buffer, filledBytes, n);
        filledBytes += n;
        return true;
    }

    private void ensureRoom(int moreBytes) {
        int needed = filledBytes + moreBytes;
        if (needed <= buffer.length) return;
        // It holds at most the unfinished message (the framer refuses one past the limit) plus one read.
        int capacity = Math.min(Math.max(needed, buffer.length * 2), messageBytesMax + READ_CHUNK_BYTES);
        Check.that(capacity >= needed, "RPC buffer bounded by message limit plus one read", needed);
        byte[] bigger = new byte[capacity];
        System.arraycopy(buffer, 0, bigger, 0, filledBytes);
        buffer = bigger;
    }

    /** Answers every whole message in the buffer, refusing the broken ones; keeps the start of an unfinished one. */
    private void answerCompleteMessages() throws IOException {
        while (true) {
            MessageFramer.Result result = framer.scan(buffer, scannedBytes, filledBytes);
            scannedBytes = framer.position();
            switch (result) {
                case INCOMPLETE -> {
                    keepPartialMessage();
                    return;
                }
                case VALUE -> answer(framer.valueStart(), scannedBytes);
                // The framer skips the rest of the line by itself: the peer's next line is its next message.
                case TOO_DEEP -> refuse(RpcException.PARSE_ERROR, "Parse error: nesting deeper than the limit of " + Json.DEPTH_MAX_DEFAULT);
                case TOO_LARGE -> refuse(RpcException.INVALID_REQUEST, "Invalid Request: message over the limit of " + messageBytesMax
                        + " bytes (the rest of its line is skipped)");
                case CONTROL_CHARACTER -> refuse(RpcException.PARSE_ERROR,
                        "Parse error: control character inside a string (escape it; the rest of the line is skipped)");
            }
        }
    }

    /** Parses and answers the message in {@code buffer[start, end)}; JSON that does not parse costs its line. */
    private void answer(int start, int end) throws IOException {
        Object message;
        try {
            message = Json.parseUtf8(buffer, start, end - start, Json.DEPTH_MAX_DEFAULT, messageBytesMax);
        } catch (JsonException e) {
            framer.skipLine();
            discard(end);
            send(RpcDispatcher.parseError(e));
            return;
        }
        discard(end);
        String reply = dispatcher.handleParsed(message);
        if (reply != null) send(reply);
    }

    /** Keeps only the start of the unfinished message (the framer refuses one that grows past the limit). */
    private void keepPartialMessage() {
        if (framer.nothingToKeep()) {
            discard(filledBytes); // whitespace, or a line being skipped: nothing worth keeping
        } else if (framer.valueStart() > 0) {
            discard(framer.valueStart());
        }
    }

    /** Drops the first {@code bytes} of the buffer (handled or useless). */
    private void discard(int bytes) {
        Check.that(bytes >= 0 && bytes <= scannedBytes && scannedBytes <= filledBytes, "discarding scanned bytes only", bytes);
        System.arraycopy(buffer, bytes, buffer, 0, filledBytes - bytes);
        filledBytes -= bytes;
        scannedBytes -= bytes;
        framer.shift(bytes);
    }

    private void refuse(int code, String message) throws IOException {
        discard(scannedBytes);
        send(Json.write(RpcDispatcher.error(Json.NULL, code, message)));
    }

    private void send(String reply) throws IOException {
        ByteBuffer out = ByteBuffer.wrap((reply + "\n").getBytes(StandardCharsets.UTF_8));
        while (out.hasRemaining()) peer.write(out);
    }

    /** Best effort: tells a refused peer why, then hangs up. */
    static void refuse(SocketChannel peer, String why) {
        try (peer) {
            ByteBuffer out = ByteBuffer.wrap((Json.write(RpcDispatcher.error(Json.NULL, RpcException.INTERNAL_ERROR, why)) + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            peer.write(out);
        } catch (IOException e) {
            // the peer is gone already
        }
    }

    void close() {
        try {
            peer.close();
        } catch (IOException e) {
            // closing a socket that failed: nothing left to do
        }
        onClose.accept(this);
    }
}
