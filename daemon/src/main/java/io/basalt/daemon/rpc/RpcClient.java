package io.basalt.daemon.rpc;

import io.basalt.engine.json.Json;
import io.basalt.engine.json.JsonFramer;
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

    private final SocketChannel channel;
    private final JsonFramer framer = new JsonFramer(Json.DEPTH_MAX_DEFAULT);
    private byte[] buffer = new byte[64 * 1024];
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
        ByteBuffer out = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (out.hasRemaining()) channel.write(out);
    }

    /** Reads the next complete JSON value from the daemon. */
    public Object readValue() throws IOException {
        while (true) {
            int end = framer.scan(buffer, scannedBytes, filledBytes);
            if (end >= 0) return takeValue(end);
            if (end == JsonFramer.TOO_DEEP) throw new IOException("reply nested too deeply");
            scannedBytes = filledBytes;
            if (filledBytes >= REPLY_BYTES_MAX) throw new IOException("reply larger than " + REPLY_BYTES_MAX + " bytes");
            if (filledBytes == buffer.length) buffer = Arrays.copyOf(buffer, Math.min(buffer.length * 2, REPLY_BYTES_MAX));
            int n = channel.read(ByteBuffer.wrap(buffer, filledBytes, buffer.length - filledBytes));
            if (n < 0) throw new IOException("the daemon closed the connection without a reply");
            filledBytes += n;
        }
    }

    private Object takeValue(int end) {
        int start = framer.valueStart();
        Check.that(start >= 0 && start < end, "framed value has a start", start);
        framer.reset();
        Object value = Json.parseUtf8(buffer, start, end - start, Json.DEPTH_MAX_DEFAULT, REPLY_BYTES_MAX);
        System.arraycopy(buffer, end, buffer, 0, filledBytes - end);
        filledBytes -= end;
        scannedBytes = 0;
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
