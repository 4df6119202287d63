package io.basalt.objectlayer.s3;

import io.basalt.objectlayer.ObjectStore;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;

/**
 * The S3 endpoint: Netty's HTTP/1.1 codec on epoll (NIO where epoll is missing). The event loops only decode and
 * queue; each connection's requests run on a virtual thread ({@link S3Connection}), because the store blocks.
 * Bodies stream from the socket to the store piece by piece, never whole in memory.
 */
public final class S3Server implements AutoCloseable {
    /** Request line and headers: S3 allows 8 KiB of headers; signed requests and metadata need some room over it. */
    static final int INITIAL_LINE_BYTES_MAX = 16 << 10;
    static final int HEADER_BYTES_MAX = 32 << 10;
    /** The codec hands bodies on in pieces up to this size. */
    static final int BODY_PIECE_BYTES_MAX = 128 << 10;

    /**
     * @param bindHost       address to listen on
     * @param port           0 for any free port (see {@link #port()})
     * @param region         the one region this endpoint is (GetBucketLocation, the SigV4 scope)
     * @param baseDomain     virtual-host-style requests address {@code bucket.baseDomain}; null: path-style only
     * @param credentials    access key id to secret key
     * @param allowAnonymous unsigned requests are served (as anyone) rather than refused
     * @param eventLoops     Netty event loop threads
     */
    public record Options(String bindHost, int port, String region, String baseDomain, Map<String, String> credentials,
                          boolean allowAnonymous, int eventLoops, Clock clock) {
        public Options {
            Objects.requireNonNull(bindHost, "bindHost");
            Objects.requireNonNull(region, "region");
            credentials = Map.copyOf(credentials);
            if (eventLoops < 1 || port < 0 || port > 65535) {
                throw new IllegalArgumentException("eventLoops >= 1 and 0 <= port <= 65535");
            }
        }

        public static Options of(String bindHost, int port, Map<String, String> credentials) {
            return new Options(bindHost, port, "us-east-1", "localhost", credentials, false, 1, Clock.systemUTC());
        }

        public Options withAnonymous(boolean allow) {
            return new Options(bindHost, port, region, baseDomain, credentials, allow, eventLoops, clock);
        }

        public Options withClock(Clock c) {
            return new Options(bindHost, port, region, baseDomain, credentials, allowAnonymous, eventLoops, c);
        }
    }

    /** epoll (default; NIO where there is none) or io_uring: Netty's transports, compared in decision 35. */
    public static final String TRANSPORT_PROPERTY = "basalt.s3.transport";

    /** How long close lets the requests in flight finish before it cuts their connections. */
    static final long CLOSE_GRACE_MS = 5_000;
    private static final long CLOSE_POLL_MS = 10;

    private final EventLoopGroup group;
    private final Channel serverChannel;
    /** The accepted connections still open (a closed channel leaves the group by itself). */
    private final ChannelGroup connections;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private S3Server(EventLoopGroup group, Channel serverChannel, ChannelGroup connections) {
        this.group = group;
        this.serverChannel = serverChannel;
        this.connections = connections;
    }

    public static S3Server start(ObjectStore store, Options options) throws InterruptedException {
        boolean uring = "io_uring".equals(System.getProperty(TRANSPORT_PROPERTY)) && IoUring.isAvailable();
        boolean epoll = !uring && Epoll.isAvailable();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(options.eventLoops(), uring ? IoUringIoHandler.newFactory()
                : epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        Class<? extends ServerChannel> channelClass = uring ? IoUringServerSocketChannel.class
                : epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        Authenticator authenticator = new Authenticator(options.credentials(), options.region(),
                options.allowAnonymous(), options.clock());
        S3Service service = new S3Service(store, options.region(), options.baseDomain(), authenticator);
        HttpDecoderConfig decoder = new HttpDecoderConfig().setMaxInitialLineLength(INITIAL_LINE_BYTES_MAX)
                .setMaxHeaderSize(HEADER_BYTES_MAX).setMaxChunkSize(BODY_PIECE_BYTES_MAX);
        ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
        try {
            Channel ch = new ServerBootstrap().group(group).channel(channelClass)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            connections.add(c);
                            c.pipeline().addLast(new HttpServerCodec(decoder), new S3Connection(service));
                        }
                    })
                    .bind(new InetSocketAddress(options.bindHost(), options.port())).sync().channel();
            return new S3Server(group, ch, connections);
        } catch (InterruptedException | RuntimeException e) {
            group.shutdownGracefully();
            throw e;
        }
    }

    /** The port bound (the one chosen when the options said 0). */
    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /**
     * Stops listening, closes the idle connections (kept-alive ones included: a client's pooled connection must not
     * outlive the server), lets the requests in flight finish for up to {@link #CLOSE_GRACE_MS}, closes what is left,
     * then stops the event loops. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        serverChannel.close().syncUninterruptibly();
        for (Channel c : connections) {
            S3Connection connection = c.pipeline().get(S3Connection.class);
            if (connection != null) connection.closeWhenIdle();
            else c.close();
        }
        long deadlineNs = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(CLOSE_GRACE_MS);
        while (!connections.isEmpty() && System.nanoTime() < deadlineNs) {
            try {
                Thread.sleep(CLOSE_POLL_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        connections.close().awaitUninterruptibly(CLOSE_GRACE_MS);
        group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }
}
