package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcDispatcher;
import io.basalt.daemon.rpc.RpcException;
import io.basalt.daemon.rpc.RpcParams;
import io.basalt.nvmeof.target.NamespaceIds;
import io.basalt.nvmeof.target.Subsystem;
import io.basalt.nvmeof.target.TargetConfig;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * nvmf_subsystem_create/delete, nvmf_namespace_add/remove, nvmf_listener_add/remove, nvmf_host_allow/deny,
 * nvmf_list (docs/rpc.md, "NVMe/TCP target"). Checks the params; {@link NvmfRegistry} does the rest.
 */
final class NvmfMethods {
    /** NVMF_NQN_SIZE: an NQN is at most 223 bytes (NVMe base spec 4.5). */
    static final int NQN_BYTES_MAX = 223;
    static final int SERIAL_BYTES_MAX = 20;
    static final int MODEL_BYTES_MAX = 40;
    static final String DEFAULT_MODEL = "Basalt";
    static final int DEFAULT_PORT = 4420;
    static final int DISCOVERY_PORT = 8009;
    private static final String DISCOVERY_NQN = "nqn.2014-08.org.nvmexpress.discovery";
    private static final Pattern PRINTABLE = Pattern.compile("[\\x20-\\x7e]*");
    private static final Pattern HEX32 = Pattern.compile("[0-9a-fA-F]{32}");
    private static final Pattern ZERO32 = Pattern.compile("0{32}");
    private static final Pattern UUID_FORM = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final String NIL_UUID = "00000000-0000-0000-0000-000000000000";
    /** Dotted-quad IPv4 only: InetAddress would also take "1.2.3" or "10", which hosts would not read alike. */
    private static final Pattern IPV4 = Pattern.compile("((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])");
    static final int PORT_MAX = 65535;
    /** Allowed host NQNs per subsystem: a bound on what one RPC client can make the daemon hold and save. */
    static final int HOSTS_MAX = 1024;

    private final NvmfRegistry nvmf;

    private NvmfMethods(NvmfRegistry nvmf) {
        this.nvmf = nvmf;
    }

    static void register(RpcDispatcher dispatcher, NvmfRegistry nvmf) {
        NvmfMethods m = new NvmfMethods(nvmf);
        dispatcher.register("nvmf_subsystem_create", m::createSubsystem);
        dispatcher.register("nvmf_subsystem_delete", m::deleteSubsystem);
        dispatcher.register("nvmf_namespace_add", m::addNamespace);
        dispatcher.register("nvmf_namespace_remove", m::removeNamespace);
        dispatcher.register("nvmf_listener_add", m::addListener);
        dispatcher.register("nvmf_listener_remove", m::removeListener);
        dispatcher.register("nvmf_host_allow", p -> m.hosts(p, true));
        dispatcher.register("nvmf_host_deny", p -> m.hosts(p, false));
        dispatcher.register("nvmf_list", m::list);
    }

    private Object createSubsystem(RpcParams params) throws RpcException {
        params.allowOnly("nqn", "serial", "model", "allow_any_host");
        String nqn = nqn(params);
        String serial = params.has("serial") ? params.requireString("serial") : defaultSerial(nqn);
        checkAscii(params, "serial", serial, SERIAL_BYTES_MAX);
        String model = params.has("model") ? params.requireString("model") : DEFAULT_MODEL;
        checkAscii(params, "model", model, MODEL_BYTES_MAX);
        boolean allowAny = optionalBoolean(params, "allow_any_host");
        return call(params, () -> nvmf.describe(nvmf.createSubsystem(nqn, serial, model, allowAny)));
    }

    private Object deleteSubsystem(RpcParams params) throws RpcException {
        params.allowOnly("nqn");
        String nqn = params.requireString("nqn");
        return call(params, () -> {
            nvmf.deleteSubsystem(nqn);
            return Boolean.TRUE;
        });
    }

    private Object addNamespace(RpcParams params) throws RpcException {
        params.allowOnly("nqn", "drive", "nsid", "nguid", "uuid");
        String nqn = params.requireString("nqn");
        String drive = params.requireString("drive");
        int nsid = params.has("nsid") ? nsid(params) : NvmfRegistry.NSID_LOWEST_FREE;
        NamespaceIds ids = ids(params);
        return call(params, () -> NvmfRegistry.describe(nvmf.addNamespace(nqn, drive, nsid, ids)));
    }

    /** The nsid param: 1 to NAMESPACES_MAX (0, the broadcast 0xffffffff, negative or huge values are refused as given). */
    private static int nsid(RpcParams params) throws RpcException {
        if (!params.has("nsid")) throw invalid(params, "nsid", "is required");
        long nsid = params.optionalLong("nsid", 0);
        if (nsid < 1 || nsid > TargetConfig.NAMESPACES_MAX) {
            throw invalid(params, "nsid", "must be 1 to " + TargetConfig.NAMESPACES_MAX + ", was " + nsid);
        }
        return (int) nsid;
    }

    private static NamespaceIds ids(RpcParams params) throws RpcException {
        NamespaceIds fresh = NamespaceIds.random();
        String nguid = params.has("nguid") ? params.requireString("nguid") : fresh.nguidHex();
        if (!HEX32.matcher(nguid).matches()) throw invalid(params, "nguid", "must be 32 hex digits, was '" + nguid + "'");
        if (ZERO32.matcher(nguid).matches()) throw invalid(params, "nguid", "must not be all zeroes (hosts read that as no NGUID)");
        String uuid = params.has("uuid") ? params.requireString("uuid") : fresh.uuid().toString();
        if (!UUID_FORM.matcher(uuid).matches()) {
            throw invalid(params, "uuid", "must be a UUID like 123e4567-e89b-12d3-a456-426614174000, was '" + uuid + "'");
        }
        if (uuid.equals(NIL_UUID)) throw invalid(params, "uuid", "must not be the nil UUID (hosts read that as no UUID)");
        return NamespaceIds.parse(nguid, uuid, null);
    }

    private Object removeNamespace(RpcParams params) throws RpcException {
        params.allowOnly("nqn", "nsid");
        String nqn = params.requireString("nqn");
        int nsid = nsid(params);
        return call(params, () -> {
            nvmf.removeNamespace(nqn, nsid);
            return Boolean.TRUE;
        });
    }

    private Object addListener(RpcParams params) throws RpcException {
        params.allowOnly("address", "port", "advertise", "discovery_only");
        String address = params.has("address") ? address(params, "address") : "0.0.0.0";
        long port = params.optionalLong("port", DEFAULT_PORT);
        if (port < 0 || port > PORT_MAX) throw invalid(params, "port", "must be 0 (any free port) to " + PORT_MAX + ", was " + port);
        String advertise = params.has("advertise") ? address(params, "advertise") : null;
        if (advertise != null && InetAddress.ofLiteral(advertise).isAnyLocalAddress()) {
            throw invalid(params, "advertise", "must be an address hosts can reach, not the wildcard " + advertise);
        }
        if (advertise == null && InetAddress.ofLiteral(address).isAnyLocalAddress()) {
            throw invalid(params, "advertise", "is required with address " + address
                    + ": the discovery log page must give hosts an address they can reach (e.g. the host's LAN address, or 10.0.2.2 for QEMU guests on its user-mode network)");
        }
        boolean discoveryOnly = params.has("discovery_only") ? optionalBoolean(params, "discovery_only") : port == DISCOVERY_PORT;
        return call(params, () -> nvmf.describeListener(address, nvmf.addListener(address, (int) port, advertise, discoveryOnly)));
    }

    private Object removeListener(RpcParams params) throws RpcException {
        params.allowOnly("address", "port");
        String address = params.has("address") ? address(params, "address") : "0.0.0.0";
        long port = params.optionalLong("port", DEFAULT_PORT);
        if (port < 1 || port > PORT_MAX) throw invalid(params, "port", "must be 1 to " + PORT_MAX + " (the port nvmf_listener_add returned), was " + port);
        return call(params, () -> {
            nvmf.removeListener(address, (int) port);
            return Boolean.TRUE;
        });
    }

    private Object hosts(RpcParams params, boolean allow) throws RpcException {
        params.allowOnly("nqn", "host");
        String nqn = params.requireString("nqn");
        String host = params.requireString("host");
        checkNqnForm(params, "host", host);
        return call(params, () -> {
            Subsystem s = nvmf.subsystem(nqn);
            if (!allow) {
                s.disallowHost(host);
            } else if (!s.allowedHosts().contains(host) && s.allowedHosts().size() >= HOSTS_MAX) {
                throw new DriveRegistry.DriveException("host", nqn + " already allows " + HOSTS_MAX + " hosts, the limit");
            } else {
                s.allowHost(host);
            }
            return new ArrayList<>(s.allowedHostsSorted());
        });
    }

    private Object list(RpcParams params) throws RpcException {
        params.allowOnly();
        return nvmf.describe();
    }

    // ------------------------------------------------------------------ checks

    private static String nqn(RpcParams params) throws RpcException {
        String nqn = params.requireString("nqn");
        checkNqnForm(params, "nqn", nqn);
        if (nqn.equals(DISCOVERY_NQN)) throw invalid(params, "nqn", "is the discovery subsystem's, which the target always has");
        return nqn;
    }

    private static void checkNqnForm(RpcParams params, String name, String nqn) throws RpcException {
        int bytes = nqn.getBytes(StandardCharsets.UTF_8).length;
        if (!nqn.startsWith("nqn.") || bytes > NQN_BYTES_MAX || bytes <= 4) {
            throw invalid(params, name, "must be an NQN: 'nqn.' then a name, at most " + NQN_BYTES_MAX + " bytes in all (e.g. nqn.2026-12.io.basalt:vol0), was '" + nqn + "'");
        }
    }

    private static void checkAscii(RpcParams params, String name, String value, int bytesMax) throws RpcException {
        if (value.isEmpty() || value.length() > bytesMax || !PRINTABLE.matcher(value).matches()) {
            throw invalid(params, name, "must be 1 to " + bytesMax + " printable ASCII characters, was '" + value + "'");
        }
    }

    /** The serial Identify reports when none is given: "basalt" and a hash of the NQN, stable across restarts. */
    static String defaultSerial(String nqn) {
        return String.format("basalt%014x", nqn.hashCode() & 0xffffffffL);
    }

    static String address(RpcParams params, String name) throws RpcException {
        String value = params.requireString(name);
        boolean ok = value.indexOf(':') >= 0 ? isIpv6Literal(value) : IPV4.matcher(value).matches();
        if (!ok) throw invalid(params, name, "must be an IPv4 address (dotted quad) or an IPv6 address, was '" + value + "'");
        return value;
    }

    /** An IPv6 literal (no brackets, no zone): ofLiteral never looks a name up. */
    private static boolean isIpv6Literal(String value) {
        if (!value.matches("[0-9a-fA-F.:]+")) return false;
        try {
            InetAddress.ofLiteral(value); // an IPv4-mapped one comes back as IPv4, which is fine too
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean optionalBoolean(RpcParams params, String name) throws RpcException {
        Object v = params.asMap().get(name);
        if (v == null) return false;
        if (!(v instanceof Boolean b)) throw invalid(params, name, "must be true or false");
        return b;
    }

    private static RpcException invalid(RpcParams params, String name, String message) {
        return RpcException.invalidParams(params.method() + ": param '" + name + "' " + message);
    }

    private interface Action {
        Object run();
    }

    /** Runs {@code action}; a refusal of the registry becomes an invalid-params error naming its param. */
    private static Object call(RpcParams params, Action action) throws RpcException {
        try {
            return action.run();
        } catch (DriveRegistry.DriveException e) {
            throw RpcException.invalidParams(params.method() + ": param '" + e.param() + "': " + e.getMessage());
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw RpcException.invalidParams(params.method() + ": " + e.getMessage());
        }
    }

    /** The calls that rebuild the target (the saved state): subsystems, hosts, namespaces with their ids, listeners. */
    static List<Object> savedCalls(NvmfRegistry nvmf, java.util.Set<String> volatileVolumes) {
        List<Object> calls = new ArrayList<>();
        for (Subsystem s : nvmf.target().subsystems()) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("nqn", s.nqn());
            p.put("serial", s.serial());
            p.put("model", s.model());
            p.put("allow_any_host", s.allowAnyHost());
            calls.add(ConfigReplay.call("nvmf_subsystem_create", p));
            for (String host : s.allowedHostsSorted()) calls.add(ConfigReplay.call("nvmf_host_allow", Map.of("nqn", s.nqn(), "host", host)));
            for (NvmfRegistry.NamespaceEntry e : nvmf.namespaces(s.nqn())) {
                if (volatileVolumes.contains(e.drive())) continue;
                Map<String, Object> n = new LinkedHashMap<>();
                n.put("nqn", s.nqn());
                n.put("drive", e.drive());
                n.put("nsid", (long) e.nsid());
                n.put("nguid", e.ids().nguidHex());
                n.put("uuid", e.ids().uuid().toString());
                calls.add(ConfigReplay.call("nvmf_namespace_add", n));
            }
        }
        for (NvmfRegistry.ListenerEntry l : nvmf.listeners()) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("address", l.address());
            p.put("port", (long) l.port());
            if (l.advertise() != null) p.put("advertise", l.advertise());
            p.put("discovery_only", l.discoveryOnly());
            calls.add(ConfigReplay.call("nvmf_listener_add", p));
        }
        return calls;
    }
}
