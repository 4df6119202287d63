package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcClient;
import io.basalt.daemon.json.Json;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * basalt serve --metrics: GET /metrics parsed by the Prometheus project's own Python parser (Debian's
 * python3-prometheus-client, installed by scripts/install-deps.sh), and its numbers checked against the I/O done.
 */
class MetricsEndpointTest extends DaemonTestBase {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final long REQUESTS = 40;
    private static final int BLOCKS = 8;
    /** Reads the exposition on stdin; prints {"families": {name: type}, "samples": [[name, labels, value]]} as JSON. */
    private static final String PARSER = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            families, samples = {}, []
            for f in text_string_to_metric_families(sys.stdin.read()):
                families[f.name] = f.type
                for s in f.samples:
                    samples.append([s.name, s.labels, s.value])
            print(json.dumps({"families": families, "samples": samples}))
            """;

    private final HttpClient http = HttpClient.newHttpClient();

    private URI startWithMetrics() throws Exception {
        Path config = dir.resolve("config.json");
        Files.writeString(config, """
                [ {"method": "drive_create", "params": {"name": "m0", "spec": "memory:16M"}},
                  {"method": "drive_create", "params": {"name": "m1", "spec": "memory:16M"}},
                  {"method": "raid_create", "params": {"name": "r1", "level": 1, "members": ["m0", "m1"]}},
                  {"method": "vhost_create", "params": {"name": "v0", "drive": "r1", "socket": "SOCKET"}} ]"""
                .replace("SOCKET", dir.resolve("v0.sock").toString()));
        daemon = Daemon.start(new Daemon.Options(dir.resolve("data"), config, 1, "sleep").withMetrics(new InetSocketAddress("127.0.0.1", 0)));
        client = RpcClient.connect(daemon.socketPath());
        return URI.create("http://" + MetricsOption.format(daemon.metricsAddress()) + "/metrics");
    }

    private Map<?, ?> parse(String exposition) throws Exception {
        assertTrue(Files.isExecutable(PYTHON), "needs " + PYTHON + " with python3-prometheus-client (scripts/install-deps.sh installs it)");
        Process p = new ProcessBuilder(PYTHON.toString(), "-c", PARSER).redirectErrorStream(true).start();
        p.getOutputStream().write(exposition.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), () -> "the Prometheus parser refused the exposition (or python3-prometheus-client is missing: "
                + "apt-get install python3-prometheus-client):\n" + out + "\n--- exposition:\n" + exposition);
        return assertInstanceOf(Map.class, Json.parse(out.strip()));
    }

    private static double value(Map<?, ?> parsed, String name, String label, String labelValue) {
        for (Object o : (List<?>) parsed.get("samples")) {
            List<?> s = (List<?>) o;
            if (s.get(0).equals(name) && labelValue.equals(((Map<?, ?>) s.get(1)).get(label))) return ((Number) s.get(2)).doubleValue();
        }
        throw new AssertionError("no sample " + name + "{" + label + "=\"" + labelValue + "\"}");
    }

    @Test
    void theRealParserReadsEveryFamilyAndTheCountsMatchTheIoDone() throws Exception {
        URI uri = startWithMetrics();
        assertEquals(0, StatTestIo.run(daemon.reactors().getFirst(), daemon.exports().get("v0").stats(), true, BLOCKS, REQUESTS));
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").contains("version=0.0.4"), response.headers().toString());
        Map<?, ?> parsed = parse(response.body());
        Map<?, ?> families = (Map<?, ?>) parsed.get("families");
        for (String kind : List.of("drive", "volume", "export")) {
            for (String counter : List.of("read_ios", "read_bytes", "write_ios", "write_bytes", "flush_ios", "trim_ios", "errors",
                    "busy_refusals", "io_time_seconds")) {
                assertEquals("counter", families.get("basalt_" + kind + "_" + counter), kind + " " + counter + " in " + families);
            }
            assertEquals("gauge", families.get("basalt_" + kind + "_in_flight"));
            assertEquals("histogram", families.get("basalt_" + kind + "_latency_seconds"));
        }
        assertEquals("counter", families.get("basalt_reactor_busy_seconds"));
        assertEquals("counter", families.get("basalt_reactor_idle_seconds"));
        assertEquals("gauge", families.get("basalt_volume_sync_done_bytes"));
        int blockBytes = daemon.exports().get("v0").stats().geometry().logicalBlockBytes();
        assertEquals(REQUESTS, value(parsed, "basalt_export_write_ios_total", "export", "v0"));
        assertEquals(REQUESTS, value(parsed, "basalt_volume_write_ios_total", "volume", "r1"));
        assertEquals(REQUESTS * BLOCKS * blockBytes, value(parsed, "basalt_volume_write_bytes_total", "volume", "r1"));
        assertTrue(value(parsed, "basalt_drive_write_ios_total", "drive", "m1") >= REQUESTS);
        assertEquals(REQUESTS, value(parsed, "basalt_export_latency_seconds_count", "export", "v0"), "one sample per write");
        assertTrue(value(parsed, "basalt_export_latency_seconds_sum", "export", "v0") > 0);
        assertTrue(value(parsed, "basalt_reactor_busy_seconds_total", "reactor", daemon.reactors().getFirst().name()) > 0);
    }

    @Test
    void otherPathsAndMethodsAreRefused() throws Exception {
        URI uri = startWithMetrics();
        assertEquals(404, http.send(HttpRequest.newBuilder(uri.resolve("/other")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
        assertEquals(405, http.send(HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString("x")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    @Test
    void theOptionParsesHostAndPortAndNamesWhatIsWrong() {
        assertEquals(new InetSocketAddress("127.0.0.1", 9464), MetricsOption.parse("127.0.0.1:9464"));
        assertEquals(9464, MetricsOption.parse("[::1]:9464").getPort());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MetricsOption.parse("9464")).getMessage().contains("HOST:PORT"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MetricsOption.parse("localhost:x")).getMessage().contains("number"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MetricsOption.parse("localhost:70000")).getMessage().contains("70000"));
        assertEquals(new InetSocketAddress("127.0.0.1", 9464), ServeCommand.parse(new String[] {"--metrics", "127.0.0.1:9464"}).metrics());
        assertNull(ServeCommand.parse(new String[0]).metrics(), "off by default");
    }

    @Test
    void anAddressInUseStopsTheStartWithAClearMessage() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            StartupException e = assertThrows(StartupException.class, () -> Daemon.start(new Daemon.Options(dir.resolve("data2"), null, 1, "sleep")
                    .withMetrics(new InetSocketAddress("127.0.0.1", taken.getLocalPort()))));
            assertTrue(e.getMessage().contains("--metrics") && e.getMessage().contains(String.valueOf(taken.getLocalPort())), e.getMessage());
        }
    }
}
