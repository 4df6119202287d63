package io.basalt.nvmeof.target;

import io.basalt.nvmeof.nvme.DiscoveryLog;
import io.basalt.shims.Check;

/**
 * A listening address registered with the target, and the address hosts are told to use for it: a listener on
 * 0.0.0.0:4420 advertises what the caller gives (an address a host can reach), one on a concrete address
 * advertises itself.
 *
 * @param address        where the socket listens, "host:port" ("[v6]:port" for IPv6)
 * @param advertised     what discovery log entries say, "host:port"
 * @param discoveryOnly  the listener answers only the discovery subsystem
 * @param portId         the NVMe port id in discovery entries (1-based, unique per target)
 */
public record Listener(String address, String advertised, boolean discoveryOnly, int portId) {
    public Listener {
        Check.that(portId >= 1 && portId <= 0xFFFF, "port id in [1, 65535]", portId);
        host(advertised); // validates the form
    }

    /** The host part of "host:port" or "[v6]:port", brackets removed. */
    static String host(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0 || colon == hostPort.length() - 1) throw new IllegalArgumentException("not host:port: " + hostPort);
        String host = hostPort.substring(0, colon);
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    static String port(String hostPort) {
        return hostPort.substring(hostPort.lastIndexOf(':') + 1);
    }

    String traddr() {
        return host(advertised);
    }

    String trsvcid() {
        return port(advertised);
    }

    int adrfam() {
        return traddr().contains(":") ? DiscoveryLog.ADRFAM_IPV6 : DiscoveryLog.ADRFAM_IPV4;
    }

    /** True for a wildcard listening address, whose advertised address must be given. */
    static boolean wildcard(String address) {
        String host = host(address);
        return host.equals("0.0.0.0") || host.equals("::");
    }
}
