package io.basalt.nvmeof.initiator;

import io.basalt.nvmeof.tcp.IcReqPdu;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * A parsed {@code nvme-tcp://HOST:PORT/SUBNQN?nsid=N[&queues=Q][&hostnqn=NQN][&hostid=UUID][&timeout_ms=T]
 * [&reconnect_max_ms=R][&digest=hd,dd]} drive spec (IPv6 hosts in brackets). {@code digest} asks for the header digest ({@code hd}), the
 * data digest ({@code dd}), both, or {@code none} (the default) on every queue.
 * DeviceSpec hands the provider everything after {@code nvme-tcp:} as the target (a URL has no ','), so the URL is
 * parsed here; {@code ,key=value} options DeviceSpec split off are accepted as well.
 */
record NvmeTcpSpec(String host, int port, String subsystemNqn, int nsid, int queues, String hostNqn, UUID hostId, int timeoutMs,
                   int reconnectMaxMs, boolean headerDigest, boolean dataDigest) {
    /**
     * I/O queues asked for when the spec names none: one per CPU (as the Linux host's nr_io_queues) plus one, so that
     * every reactor and the daemon's control reactor (superblocks, rebuilds) can each open a channel. Only asked
     * for: the target grants what it allows, and a qid costs a TCP connection only once a channel opens it.
     */
    static final int QUEUES_DEFAULT = Math.min(4 * Runtime.getRuntime().availableProcessors(), NvmeTcpSpec.QUEUES_MAX);
    /** A command not answered in this time fails and its queue is reset (the Linux host's io_timeout default). */
    static final int TIMEOUT_MS_DEFAULT = 30_000;
    /** The reconnect backoff doubles up to this; 0: never reconnect. */
    static final int RECONNECT_MAX_MS_DEFAULT = 5_000;
    static final int QUEUES_MAX = 64;
    private static final int PORT_MAX = 65535;

    static NvmeTcpSpec parse(String target, Map<String, String> extra) {
        String spec = "nvme-tcp:" + target;
        if (!target.startsWith("//")) throw bad(spec, "must look like nvme-tcp://HOST:PORT/SUBNQN?nsid=N");
        String rest = target.substring(2);
        int slash = rest.indexOf('/', rest.startsWith("[") ? rest.indexOf(']') : 0);
        if (slash <= 0) throw bad(spec, "has no /SUBNQN after HOST:PORT");
        String hostPort = rest.substring(0, slash);
        String path = rest.substring(slash + 1);
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0 || (hostPort.startsWith("[") && colon < hostPort.indexOf(']'))) throw bad(spec, "has no :PORT");
        String host = hostPort.substring(0, colon);
        if (host.startsWith("[")) {
            if (!host.endsWith("]")) throw bad(spec, "has an IPv6 address without its closing ']'");
            host = host.substring(1, host.length() - 1);
        }
        int port = number(spec, "port", hostPort.substring(colon + 1));
        if (port <= 0 || port > PORT_MAX) throw bad(spec, "has port " + port + " outside 1..65535");
        int q = path.indexOf('?');
        String nqn = q < 0 ? path : path.substring(0, q);
        if (nqn.isEmpty()) throw bad(spec, "has no subsystem NQN");
        Map<String, String> options = new LinkedHashMap<>(extra);
        if (q >= 0) {
            for (String kv : path.substring(q + 1).split("&")) {
                int eq = kv.indexOf('=');
                if (eq <= 0) throw bad(spec, "option '" + kv + "' must be key=value");
                options.put(kv.substring(0, eq).toLowerCase(Locale.ROOT), kv.substring(eq + 1));
            }
        }
        for (String key : options.keySet()) {
            if (!KNOWN_OPTIONS.contains(key)) throw bad(spec, "has unknown option '" + key + "' (known: " + String.join(", ", KNOWN_OPTIONS) + ")");
        }
        if (!options.containsKey("nsid")) throw bad(spec, "has no nsid=N (the namespace to use)");
        int nsid = number(spec, "nsid", options.get("nsid"));
        if (nsid <= 0) throw bad(spec, "has nsid " + nsid + ", namespace ids start at 1");
        int queues = options.containsKey("queues") ? number(spec, "queues", options.get("queues")) : QUEUES_DEFAULT;
        if (queues < 1 || queues > QUEUES_MAX) throw bad(spec, "has queues=" + queues + " outside 1.." + QUEUES_MAX);
        HostIdentity identity = hostIdentity(spec, options);
        int timeoutMs = options.containsKey("timeout_ms") ? number(spec, "timeout_ms", options.get("timeout_ms"))
                : TIMEOUT_MS_DEFAULT;
        if (timeoutMs <= 0) throw bad(spec, "has timeout_ms=" + timeoutMs + ", it must be positive");
        int reconnectMaxMs = options.containsKey("reconnect_max_ms")
                ? number(spec, "reconnect_max_ms", options.get("reconnect_max_ms")) : RECONNECT_MAX_MS_DEFAULT;
        if (reconnectMaxMs < 0) throw bad(spec, "has reconnect_max_ms=" + reconnectMaxMs + " (0 = never, else > 0)");
        int digests = digests(spec, options.getOrDefault("digest", DIGEST_NONE));
        return new NvmeTcpSpec(host, port, nqn, nsid, queues, identity.nqn(), identity.id(), timeoutMs, reconnectMaxMs,
                (digests & IcReqPdu.DIGEST_HEADER) != 0, (digests & IcReqPdu.DIGEST_DATA) != 0);
    }

    private static final java.util.List<String> KNOWN_OPTIONS =
            java.util.List.of("nsid", "queues", "hostnqn", "hostid", "timeout_ms", "reconnect_max_ms", "digest");

    /**
     * hostnqn and hostid from the spec, else the process's ({@link HostIdentity#current}: the daemon's persisted one).
     * A hostnqn without a hostid gets an id derived from the NQN, so the same spec is the same host every time.
     */
    private static HostIdentity hostIdentity(String spec, Map<String, String> options) {
        HostIdentity base = HostIdentity.current();
        String nqn = options.get("hostnqn");
        String id = options.get("hostid");
        try {
            UUID uuid = id != null ? UUID.fromString(id)
                    : nqn != null ? UUID.nameUUIDFromBytes(nqn.getBytes(java.nio.charset.StandardCharsets.UTF_8)) : base.id();
            return new HostIdentity(nqn != null ? nqn : base.nqn(), uuid);
        } catch (IllegalArgumentException e) {
            throw bad(spec, "has a bad hostnqn/hostid: " + e.getMessage());
        }
    }

    /** digest=hd, dd, hd,dd (either order) or none, as ICReq's DGST bits. */
    private static int digests(String spec, String text) {
        int bits = 0;
        for (String d : text.split(",", -1)) {
            bits |= switch (d.toLowerCase(Locale.ROOT)) {
                case DIGEST_HEADER -> IcReqPdu.DIGEST_HEADER;
                case DIGEST_DATA -> IcReqPdu.DIGEST_DATA;
                case DIGEST_NONE -> 0;
                default -> throw bad(spec, "has digest '" + d + "' (known: hd for the header digest, dd for the data"
                        + " digest, as digest=hd, digest=dd or digest=hd,dd; or none)");
            };
        }
        return bits;
    }

    /** The digest option's values. */
    static final String DIGEST_HEADER = "hd";
    static final String DIGEST_DATA = "dd";
    static final String DIGEST_NONE = "none";

    /** The digests to ask for, as ICReq's DGST bits. */
    int digests() {
        return (headerDigest ? IcReqPdu.DIGEST_HEADER : 0) | (dataDigest ? IcReqPdu.DIGEST_DATA : 0);
    }

    /** "host:port/nqn" for messages ("[v6]:port/nqn"). */
    String where() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port + "/" + subsystemNqn;
    }

    private static int number(String spec, String what, String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw bad(spec, "has " + what + " '" + text + "' that is not a number");
        }
    }

    private static IllegalArgumentException bad(String spec, String why) {
        return new IllegalArgumentException("drive spec '" + spec + "' " + why);
    }
}
