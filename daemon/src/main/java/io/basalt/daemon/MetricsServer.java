package io.basalt.daemon;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * {@code basalt serve --metrics HOST:PORT}: GET /metrics in the Prometheus text exposition format 0.0.4, off by
 * default. The JDK's HTTP server on one thread of its own (a scrape every few seconds needs no more); each scrape
 * takes one {@link StatsCollector} sample, so it costs the data path nothing but the racy counter reads.
 * Other paths answer 404, other methods 405.
 */
final class MetricsServer implements AutoCloseable {
    static final String PATH = "/metrics";
    private static final int BACKLOG = 16;

    private final HttpServer server;
    private final ExecutorService executor;
    private final Supplier<StatsCollector.Sample> samples;
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.builder().setIncludeCreatedTimestamps(false).build();

    private MetricsServer(HttpServer server, ExecutorService executor, Supplier<StatsCollector.Sample> samples) {
        this.server = server;
        this.executor = executor;
        this.samples = samples;
    }

    /** Binds and starts serving; throws IOException (with the address) when the address cannot be bound. */
    static MetricsServer start(InetSocketAddress address, Supplier<StatsCollector.Sample> samples) throws IOException {
        HttpServer server;
        try {
            server = HttpServer.create(address, BACKLOG);
        } catch (IOException e) {
            throw new IOException("cannot listen on " + MetricsOption.format(address) + ": " + e.getMessage(), e);
        }
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("basalt-metrics").daemon(true).unstarted(r));
        MetricsServer m = new MetricsServer(server, executor, samples);
        server.createContext("/", m::handle);
        server.setExecutor(executor);
        server.start();
        return m;
    }

    /** The bound address (the port chosen when 0 was asked). */
    InetSocketAddress address() {
        return server.getAddress();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!exchange.getRequestURI().getPath().equals(PATH)) {
                reply(exchange, 404, "text/plain; charset=utf-8", "not found: try " + PATH + "\n");
            } else if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                reply(exchange, 405, "text/plain; charset=utf-8", "method not allowed\n");
            } else {
                ByteArrayOutputStream body = new ByteArrayOutputStream();
                writer.write(body, PrometheusMetrics.snapshots(samples.get()));
                reply(exchange, 200, writer.getContentType(), exchange.getRequestMethod().equals("HEAD") ? null : body.toString(java.nio.charset.StandardCharsets.UTF_8));
            }
        } catch (RuntimeException e) {
            System.err.println("basalt: metrics scrape failed: " + e);
            throw e;
        }
    }

    private static void reply(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        byte[] bytes = body == null ? new byte[0] : body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, body == null ? -1 : bytes.length);
        if (body != null) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
