package io.basalt.daemon.rpc;

import io.basalt.engine.json.Json;
import io.basalt.engine.json.JsonException;
import io.basalt.engine.json.JsonFramer;
import io.basalt.shims.Check;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * One peer: reads bytes, cuts them into JSON values with a {@link JsonFramer}, answers each in order, one reply
 * per line. Anything the peer does (garbage, a message over the limit, hanging up mid-request) ends at worst
 * this connection, never the daemon. After a parse error the stream has no trustworthy boundary left, so the
 * connection gets the -32700 reply and is closed.
 */
final class RpcConnection {
    private static final int READ_CHUNK_BYTES = 64 * 1024;

    private final SocketChannel peer;
    private final RpcDispatcher dispatcher;
    private final int messageBytesMax;
    private final Consumer<RpcConnection> onClose;
    private final JsonFramer framer = new JsonFramer(Json.DEPTH_MAX_DEFAULT);
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
    }

    void serve() {
        try {
            while (readMore()) {
                if (!answerCompleteMessages()) break;
            }
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
        // The buffer may exceed the message limit by one chunk: the check below refuses such a message.
        int capacity = Math.min(Math.max(needed, buffer.length * 2), messageBytesMax + READ_CHUNK_BYTES);
        Check.that(capacity >= needed, "RPC buffer bounded by message limit plus one read", needed);
        byte[] bigger = new byte[capacity];
        System.arraycopy(buffer, 0, bigger, 0, filledBytes);
        buffer = bigger;
    }

    /** Answers every whole message in the buffer; false when the connection must close. */
    private boolean answerCompleteMessages() throws IOException {
        while (true) {
            int end = framer.scan(buffer, scannedBytes, filledBytes);
            if (end == JsonFramer.TOO_DEEP) {
                return refuseAndClose(RpcException.PARSE_ERROR, "Parse error: nesting deeper than " + Json.DEPTH_MAX_DEFAULT);
            }
            if (end == JsonFramer.INCOMPLETE) return keepPartialMessage();
            int start = framer.valueStart();
            framer.reset();
            scannedBytes = end;
            if (end - start > messageBytesMax) return refuseAndClose(RpcException.INVALID_REQUEST, tooLarge());
            Object message;
            try {
                message = Json.parseUtf8(buffer, start, end - start, Json.DEPTH_MAX_DEFAULT, messageBytesMax);
            } catch (JsonException e) {
                send(RpcDispatcher.parseError(e));
                return false;
            }
            discard(end);
            String reply = dispatcher.handleParsed(message);
            if (reply != null) send(reply);
        }
    }

    /** Keeps only the start of the unfinished message; false when it has grown past the limit. */
    private boolean keepPartialMessage() throws IOException {
        scannedBytes = filledBytes;
        if (framer.betweenValues()) {
            discard(filledBytes); // whitespace only: nothing worth keeping
            return true;
        }
        if (framer.valueStart() > 0) discard(framer.valueStart());
        if (filledBytes > messageBytesMax) return refuseAndClose(RpcException.INVALID_REQUEST, tooLarge());
        return true;
    }

    private String tooLarge() {
        return "Invalid Request: message over the limit of " + messageBytesMax + " bytes";
    }

    /** Drops the first {@code bytes} of the buffer (handled or useless). */
    private void discard(int bytes) {
        Check.that(bytes >= 0 && bytes <= scannedBytes && scannedBytes <= filledBytes, "discarding scanned bytes only", bytes);
        System.arraycopy(buffer, bytes, buffer, 0, filledBytes - bytes);
        filledBytes -= bytes;
        scannedBytes -= bytes;
        framer.shift(bytes);
    }

    private boolean refuseAndClose(int code, String message) throws IOException {
        send(Json.write(RpcDispatcher.error(Json.NULL, code, message)));
        return false;
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
