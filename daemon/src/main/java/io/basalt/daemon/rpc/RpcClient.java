package io.basalt.daemon.rpc;

import io.basalt.daemon.json.Json;
import io.basalt.shims.Check;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** A blocking JSON-RPC client over the daemon's unix socket: one call at a time, ids counting up. */
public final class RpcClient implements AutoCloseable {
    /** Replies (drive lists, status) are bigger than requests, but still bounded. */
    public static final int REPLY_BYTES_MAX = 16 << 20;
    private static final int READ_BYTES = 64 * 1024;

    private final SocketChannel channel;
    private final MessageFramer framer = new MessageFramer(Json.DEPTH_MAX_DEFAULT, REPLY_BYTES_MAX);
    private byte[] buffer = new byte[READ_BYTES];
    private int filledBytes;
    private int scannedBytes;
    private long nextId = 1;

    private RpcClient(SocketChannel channel) {
        this.channel = channel;
    }

    /** Connects; an {@link IOException} means nothing listens there (no daemon, or a stale socket file). */
    public static RpcClient connect(Path socketPath) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(socketPath));
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        return new RpcClient(channel);
    }

    /** Sends one call and returns the whole response object (with "result" or "error"). */
    public Map<String, Object> call(String method, Object params) throws IOException {
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("jsonrpc", "2.0");
        long id = nextId++;
        request.put("id", id);
        request.put("method", method);
        if (params != null) request.put("params", params);
        sendRaw(Json.write(request) + "\n");
        Object reply = readValue();
        if (!(reply instanceof Map<?, ?> map) || !(map.containsKey("result") || map.containsKey("error"))) {
            throw new IOException("the daemon sent something that is not a JSON-RPC response: " + shorten(Json.write(reply)));
        }
        @SuppressWarnings("unchecked") Map<String, Object> response = (Map<String, Object>) map;
        return response;
    }

    /** Sends any text as is (tests use it for broken requests). */
    public void sendRaw(String text) throws IOException {
        sendRaw(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Sends any bytes as they are (tests use it for text that is not UTF-8). */
    public void sendRaw(byte[] bytes) throws IOException {
        ByteBuffer out = ByteBuffer.wrap(bytes);
        while (out.hasRemaining()) channel.write(out);
    }

    /** Reads the next complete JSON value from the daemon. */
    public Object readValue() throws IOException {
        while (true) {
            MessageFramer.Result result = framer.scan(buffer, scannedBytes, filledBytes);
            scannedBytes = framer.position();
            switch (result) {
                case VALUE -> {
                    return takeValue(framer.valueStart(), scannedBytes);
                }
                case INCOMPLETE -> readMore();
                default -> throw new IOException("the daemon sent a broken reply: " + result);
            }
        }
    }

    private void readMore() throws IOException {
        if (framer.nothingToKeep()) {
            filledBytes = 0; // whitespace only
        } else if (framer.valueStart() > 0) {
            int start = framer.valueStart();
            System.arraycopy(buffer, start, buffer, 0, filledBytes - start);
            filledBytes -= start;
            framer.shift(start);
        }
        scannedBytes = filledBytes;
        // The framer refuses a reply past REPLY_BYTES_MAX, so one more read never needs more room than this.
        if (filledBytes == buffer.length) buffer = Arrays.copyOf(buffer, Math.min(buffer.length * 2, REPLY_BYTES_MAX + READ_BYTES));
        int n = channel.read(ByteBuffer.wrap(buffer, filledBytes, Math.min(READ_BYTES, buffer.length - filledBytes)));
        if (n < 0) throw new IOException("the daemon closed the connection without a reply");
        filledBytes += n;
    }

    private Object takeValue(int start, int end) {
        Check.that(start >= 0 && start < end, "framed value has a start", start);
        Object value = Json.parseUtf8(buffer, start, end - start, Json.DEPTH_MAX_DEFAULT, REPLY_BYTES_MAX);
        System.arraycopy(buffer, end, buffer, 0, filledBytes - end);
        filledBytes -= end;
        scannedBytes = 0;
        framer.shift(end);
        return value;
    }

    private static String shorten(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }
}
