package io.basalt.objectlayer.s3;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One HTTP connection. The event loop only queues what the codec decodes; a virtual thread per connection takes the
 * requests one at a time (HTTP/1.1 answers in order anyway) and does everything else: authentication, the store's
 * blocking calls, the response. Backpressure: when more than {@link #QUEUED_BYTES_HIGH} of body wait, reading from
 * the socket stops (autoRead off) until the store has taken them down to {@link #QUEUED_BYTES_LOW}, so a client
 * faster than the store fills its socket buffer, not our heap.
 */
final class S3Connection extends ChannelInboundHandlerAdapter {
    static final long QUEUED_BYTES_HIGH = 1L << 20;
    static final long QUEUED_BYTES_LOW = 256L << 10;
    /** How long a finished connection's thread waits for its channel to close before releasing what is left. */
    static final long CLOSE_WAIT_MS = 5_000;
    /** Marks the end of the connection in the queue. */
    private static final Object CLOSED = new Object();

    /** Thrown to the request's thread when the client went away. */
    static final class ClientGone extends Exception {
        private static final long serialVersionUID = 1L;

        ClientGone() {
            super("the client closed the connection", null, false, false);
        }
    }

    private final S3Service service;
    private final LinkedBlockingQueue<Object> inbound = new LinkedBlockingQueue<>();
    private final AtomicLong queuedBytes = new AtomicLong();
    private Channel channel;
    /** A request is being answered (set by this connection's thread; read by the server's close). */
    private volatile boolean busy;
    /** The server is stopping: close once the request in hand is answered. */
    private volatile boolean closing;

    S3Connection(S3Service service) {
        this.service = service;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        Thread.ofVirtual().name("s3-" + channel.remoteAddress()).start(this::serve);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpContent c && queuedBytes.addAndGet(c.content().readableBytes()) > QUEUED_BYTES_HIGH) {
            channel.config().setAutoRead(false);
        }
        inbound.add(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        inbound.add(CLOSED);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    Channel channel() {
        return channel;
    }

    /** The server stops: an idle connection closes now, one answering a request once its answer is sent. */
    void closeWhenIdle() {
        closing = true;
        if (!busy && channel != null) channel.close();
    }

    /** The next piece of the current request's body, waiting for it; the caller releases it. */
    HttpContent nextContent() throws ClientGone {
        Object o = take();
        if (!(o instanceof HttpContent c)) {
            ReferenceCountUtil.release(o);
            throw new ClientGone();
        }
        if (queuedBytes.addAndGet(-c.content().readableBytes()) < QUEUED_BYTES_LOW && !channel.config().isAutoRead()) {
            channel.config().setAutoRead(true);
        }
        return c;
    }

    private Object take() throws ClientGone {
        try {
            Object o = inbound.take();
            if (o == CLOSED) {
                inbound.add(CLOSED);
                throw new ClientGone();
            }
            return o;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClientGone();
        }
    }

    private void serve() {
        try {
            while (true) {
                Object o = take();
                if (o instanceof HttpRequest request) {
                    busy = true;
                    boolean keep = new Exchange(this, request, service).run();
                    busy = false;
                    if (!keep || closing) {
                        return; // closed below
                    }
                } else {
                    // Body of a request already answered whose rest we chose to skip: dropped.
                    ReferenceCountUtil.release(o);
                }
            }
        } catch (ClientGone e) {
            // the client left: nothing to answer; closed below
        } finally {
            drainAfterClose();
        }
    }

    /**
     * Releases what the event loop queued after this thread stopped taking: waits for the close to finish first
     * (nothing is queued after channelInactive), on this virtual thread rather than as a listener, which a
     * terminated event loop could no longer run.
     */
    private void drainAfterClose() {
        channel.close().awaitUninterruptibly(CLOSE_WAIT_MS);
        Object o;
        while ((o = inbound.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
    }
}
