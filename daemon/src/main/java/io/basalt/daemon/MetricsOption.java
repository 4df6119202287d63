package io.basalt.daemon;

import java.net.InetSocketAddress;

/**
 * The {@code --metrics HOST:PORT} option of {@code basalt serve} (the Prometheus endpoint, off by default): parsing
 * and its help text, apart from the command's own parser so that any parser can use it.
 */
final class MetricsOption {
    static final String NAME = "--metrics";
    static final String HELP = "serve GET /metrics (Prometheus text format) on HOST:PORT, e.g. 127.0.0.1:9464; off by default";
    static final int PORT_MAX = 65_535;

    private MetricsOption() {}

    /** "HOST:PORT" or "[IPv6]:PORT" to an unresolved-free address; throws IllegalArgumentException saying what is wrong. */
    static InetSocketAddress parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException(NAME + " wants HOST:PORT (e.g. 127.0.0.1:9464), was '" + text + "'");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(NAME + ": the port must be a number, was '" + text.substring(colon + 1) + "'");
        }
        if (port < 0 || port > PORT_MAX) throw new IllegalArgumentException(NAME + ": port " + port + " is not in 0.." + PORT_MAX);
        InetSocketAddress address = new InetSocketAddress(host, port);
        if (address.isUnresolved()) throw new IllegalArgumentException(NAME + ": cannot resolve host '" + host + "'");
        return address;
    }

    static String format(InetSocketAddress address) {
        String host = address.getAddress() == null ? address.getHostString() : address.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
