package io.basalt.objectlayer.s3;

import io.basalt.objectlayer.ObjectStore;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultFileRegion;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One request and its answer, on the connection's virtual thread: reads the body on demand (sending 100 Continue
 * first when asked for), writes the response, and decides whether the connection can serve another request.
 */
final class Exchange {
    /** A body the handler did not read is skipped, to keep the connection, only when it is this small. */
    static final long SKIP_BODY_BYTES_MAX = 1L << 20;
    /** GET sends the object in pieces this size. */
    static final int SEND_CHUNK_BYTES = 256 << 10;
    static final DateTimeFormatter HTTP_DATE =
            DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US).withZone(ZoneOffset.UTC);

    final S3Connection connection;
    final HttpRequest http;
    final String requestId;
    private final S3Service service;
    private final Channel channel;
    private boolean bodyDone;
    private boolean continueSent;
    private boolean responded;

    Exchange(S3Connection connection, HttpRequest http, S3Service service) {
        this.connection = connection;
        this.http = http;
        this.service = service;
        this.channel = connection.channel();
        this.requestId = Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE).toUpperCase(Locale.ROOT);
    }

    /** Serves the request; false when the connection must close after it. */
    boolean run() throws S3Connection.ClientGone {
        if (http.decoderResult().isFailure()) {
            sendFull(HttpResponseStatus.BAD_REQUEST, new DefaultHttpHeaders(),
                    S3Xml.error("BadRequest", "An HTTP request that could not be parsed", "/", requestId), false);
            return false;
        }
        service.handle(this);
        return finishBody() && HttpUtil.isKeepAlive(http);
    }

    boolean isHead() {
        return http.method() == HttpMethod.HEAD;
    }

    /** Streams the whole body into {@code body}, then checks it ({@link RequestBody#finish}). */
    void readBody(RequestBody body) throws S3Error, S3Connection.ClientGone {
        if (HttpUtil.is100ContinueExpected(http) && !continueSent) {
            continueSent = true;
            channel.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
        }
        S3Error failure = null;
        while (!bodyDone) {
            HttpContent c = connection.nextContent();
            try {
                bodyDone = c instanceof LastHttpContent;
                ByteBuf buf = c.content();
                if (failure == null && buf.isReadable()) {
                    for (ByteBuffer nio : buf.nioBuffers()) {
                        body.accept(nio);
                    }
                }
            } catch (S3Error e) {
                failure = e; // keep reading to the end so the connection stays usable for the answer
            } finally {
                c.release();
            }
        }
        if (failure != null) {
            throw failure;
        }
        body.finish();
    }

    /** After the answer: skips an unread small body; false when it cannot be skipped cheaply (close instead). */
    private boolean finishBody() throws S3Connection.ClientGone {
        if (bodyDone) {
            return true;
        }
        boolean announced = HttpUtil.isTransferEncodingChunked(http) || HttpUtil.getContentLength(http, 0L) > 0;
        if (announced && (HttpUtil.is100ContinueExpected(http) && !continueSent
                || HttpUtil.getContentLength(http, Long.MAX_VALUE) > SKIP_BODY_BYTES_MAX)) {
            return false;
        }
        while (!bodyDone) {
            HttpContent c = connection.nextContent();
            bodyDone = c instanceof LastHttpContent;
            c.release();
        }
        return true;
    }

    HttpHeaders headers() {
        HttpHeaders h = new DefaultHttpHeaders();
        h.set("x-amz-request-id", requestId);
        h.set(HttpHeaderNames.SERVER, "Basalt");
        h.set(HttpHeaderNames.DATE, HttpDates.now());
        return h;
    }

    void sendXml(HttpResponseStatus status, byte[] xml) {
        HttpHeaders h = headers();
        h.set(HttpHeaderNames.CONTENT_TYPE, "application/xml");
        sendFull(status, h, xml, true);
    }

    void sendError(S3Error e, String resource) {
        HttpHeaders h = headers();
        byte[] body = S3Xml.error(e.code(), e.getMessage(), resource, requestId);
        if (!isHead()) {
            h.set(HttpHeaderNames.CONTENT_TYPE, "application/xml");
        }
        sendFull(HttpResponseStatus.valueOf(e.httpStatus()), h, isHead() ? new byte[0] : body, true);
    }

    /** A response whose body is in memory (XML, or none). */
    void sendFull(HttpResponseStatus status, HttpHeaders h, byte[] body, boolean keepAliveAllowed) {
        DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        r.headers().set(h);
        if (!r.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
            HttpUtil.setContentLength(r, body.length);
        }
        if (!keepAliveAllowed || !bodyDone && HttpUtil.is100ContinueExpected(http) && !continueSent) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        responded = true;
        channel.writeAndFlush(r);
    }

    /**
     * Starts a 200 whose body follows in chunks ({@link #sendChunk}): CompleteMultipartUpload's answer, which S3 keeps
     * alive with spaces while it joins the parts and which may still end in an {@code <Error>}.
     */
    void startChunked(HttpHeaders h) {
        DefaultHttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(h);
        HttpUtil.setTransferEncodingChunked(head, true);
        responded = true;
        channel.writeAndFlush(head);
    }

    /** A piece of a body begun by {@link #startChunked}; {@code last} ends it. */
    void sendChunk(byte[] bytes, boolean last) {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        channel.writeAndFlush(last ? new DefaultLastHttpContent(buf) : new DefaultHttpContent(buf));
    }

    boolean responded() {
        return responded;
    }

    /** Sends {@code lengthBytes} of the object from {@code offsetBytes}, waiting whenever the socket is full. */
    void sendObject(HttpResponseStatus status, HttpHeaders h, ObjectStore.ObjectReader reader, long offsetBytes,
                    long lengthBytes) throws IOException, S3Connection.ClientGone {
        DefaultHttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, status);
        head.headers().set(h);
        HttpUtil.setContentLength(head, lengthBytes);
        responded = true;
        FileChannel file = reader.file();
        if (file != null) {
            sendRegion(head, file, reader.fileOffset() + offsetBytes, lengthBytes);
            return;
        }
        channel.write(head);
        long sentBytes = 0;
        while (sentBytes < lengthBytes) {
            int n = (int) Math.min(SEND_CHUNK_BYTES, lengthBytes - sentBytes);
            ByteBuf buf = channel.alloc().directBuffer(n);
            try {
                ByteBuffer dst = buf.nioBuffer(0, n);
                while (dst.hasRemaining()) {
                    if (reader.read(offsetBytes + sentBytes + dst.position(), dst) < 0) {
                        throw new IOException("the object ended before its size");
                    }
                }
                buf.writerIndex(n);
            } catch (IOException | RuntimeException e) {
                buf.release();
                channel.close(); // the status is sent: a short body is the only way left to say it failed
                throw e;
            }
            sentBytes += n;
            awaitWritable(channel.writeAndFlush(new DefaultHttpContent(buf)));
        }
        channel.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
    }

    /**
     * Zero-copy: the head, then the range of the reader's file as one region (sendfile(2) on epoll), then the end of
     * the response, handed to the event loop as one task (one wake-up, not three queued writes). Waits until the
     * region is sent: the reader, which owns the file, is closed when the request returns.
     */
    private void sendRegion(DefaultHttpResponse head, FileChannel file, long position, long lengthBytes)
            throws S3Connection.ClientGone {
        // The region must not close the reader's file when Netty releases it (DefaultFileRegion would): the reader does.
        DefaultFileRegion region = new DefaultFileRegion(file, position, lengthBytes) {
            @Override
            protected void deallocate() {
                // the reader's close() closes the file
            }
        };
        ChannelPromise sent = channel.newPromise();
        try {
            channel.eventLoop().execute(() -> {
                channel.write(head);
                channel.write(region, sent);
                channel.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            });
            sent.get();
        } catch (RejectedExecutionException | ExecutionException e) {
            throw new S3Connection.ClientGone(); // the event loop is shutting down, or the channel closed
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new S3Connection.ClientGone();
        }
    }

    /** Waits for the write when the outbound buffer is over its high-water mark. */
    private void awaitWritable(ChannelFuture write) throws S3Connection.ClientGone {
        if (!channel.isActive()) {
            throw new S3Connection.ClientGone(); // stop reading an object nobody will receive
        }
        if (channel.isWritable()) {
            return;
        }
        try {
            write.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new S3Connection.ClientGone();
        } catch (ExecutionException e) {
            throw new S3Connection.ClientGone();
        }
    }
}
