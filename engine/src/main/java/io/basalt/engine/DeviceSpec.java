package io.basalt.engine;

import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.backend.NullBlockDevice;
import io.basalt.engine.backend.UringBlockDevice;
import io.basalt.engine.fault.FaultBlockDevice;
import io.basalt.engine.fault.FaultConfig;
import io.basalt.engine.spi.BackendProvider;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * Backend specifications as users write them, and the one place that turns them into devices:
 * <pre>
 *   uring:/path/file[,direct=1][,block=4096][,size=1G][,readonly=0]   size: create sparse when missing
 *   memory:1G[,block=4096]
 *   null:1T[,block=4096]
 *   fault:INNER_SPEC[,fault_seed=N][,fault_read_error=P][,fault_write_error=P][,fault_flush_error=P]
 *        [,fault_latency_us=MIN-MAX][,fault_flush_latency_us=N][,fault_fail_after=N][,fault_power_cut=1][,fault_torn=1]
 *   vhost-user:/path/to.sock[,queues=Q][,queue_size=N][,packed=0|1]   (vhost module: any vhost-user-blk back-end)
 *   nvme-tcp://HOST:PORT/SUBNQN?nsid=N[&amp;queues=Q][&amp;hostnqn=NQN][&amp;digest=hd,dd]  (nvmeof module: a remote NVMe/TCP
 *                                                     namespace; IPv6 HOST in brackets; the URL is parsed by the provider)
 * </pre>
 * Kinds beyond the built-in ones come from {@link BackendProvider}s registered with {@link ServiceLoader}
 * (modules engine cannot depend on: vhost's {@code vhost-user}); an unknown kind's error lists every kind known.
 * In a fault spec the {@code fault_*} options may sit anywhere among the inner spec's own options
 * ({@code fault:memory:64M,block=512,fault_seed=7}); the rest make up the inner spec. See docs/fault-injection.md.
 */
public record DeviceSpec(String kind, String target, Map<String, String> options) {
    public static DeviceSpec parse(String spec) {
        int colon = spec.indexOf(':');
        if (colon <= 0) throw new IllegalArgumentException("backend spec '" + spec + "' must look like KIND:TARGET (uring:/path, memory:1G, null:1T)");
        String kind = spec.substring(0, colon).toLowerCase(Locale.ROOT);
        List<String> parts = pieces(spec, spec.substring(colon + 1));
        if (parts.get(0).isEmpty()) throw new IllegalArgumentException("backend spec '" + spec + "' has no target after '" + kind + ":'");
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 1; i < parts.size(); i++) {
            String part = parts.get(i);
            int eq = part.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("option '" + part + "' in '" + spec + "' must be key=value");
            options.put(part.substring(0, eq).toLowerCase(Locale.ROOT), part.substring(eq + 1));
        }
        return new DeviceSpec(kind, parts.get(0), Map.copyOf(options));
    }

    /**
     * The target and the options, split at ','. In a URL spec (one with "://", such as nvme-tcp's) a value may hold
     * commas ({@code ?nsid=1&digest=hd,dd&queues=2}): there a piece that is not a {@code key=value} option (no '=',
     * or a '&' before it: the rest of a URL query) continues the piece before it.
     */
    private static List<String> pieces(String spec, String rest) {
        List<String> parts = new ArrayList<>();
        boolean url = spec.contains("://");
        for (String piece : rest.split(",")) {
            int eq = piece.indexOf('=');
            boolean option = eq > 0 && piece.lastIndexOf('&', eq) < 0;
            if (url && !parts.isEmpty() && !option) {
                parts.set(parts.size() - 1, parts.getLast() + "," + piece);
            } else {
                parts.add(piece);
            }
        }
        return parts;
    }

    /** Opens the device; throws {@link IllegalArgumentException} with a clear message on any problem. */
    public BlockDevice open(String name) {
        return switch (kind) {
            case "uring", "file", "aio" -> {
                checkOptions("direct", "block", "size", "readonly");
                yield UringBlockDevice.open(name, target, new UringBlockDevice.Options(
                        flag("direct", true), (int) size("block", 0), size("size", 0), flag("readonly", false)));
            }
            case "memory", "malloc", "ram" -> {
                checkOptions("block");
                yield new MemoryBlockDevice(name, Sizes.parse(target), (int) size("block", 4096));
            }
            case "null" -> {
                checkOptions("block");
                yield new NullBlockDevice(name, Sizes.parse(target), (int) size("block", 4096));
            }
            case "fault" -> openFault(name);
            default -> openFromProvider(name);
        };
    }

    private static final List<String> BUILT_IN_KINDS = List.of("uring", "memory", "null", "fault");

    /** A kind no built-in backend claims: the first registered {@link BackendProvider} naming it opens it. */
    private BlockDevice openFromProvider(String name) {
        List<String> known = new ArrayList<>(BUILT_IN_KINDS);
        for (BackendProvider provider : ServiceLoader.load(BackendProvider.class, DeviceSpec.class.getClassLoader())) {
            if (provider.kinds().contains(kind)) return provider.open(name, kind, target, options);
            known.addAll(provider.kinds());
        }
        throw new IllegalArgumentException("unknown backend '" + kind + "': use " + String.join(", ", known));
    }

    /** Every kind a spec may name: the built-in ones and those of the registered providers. */
    public static List<String> knownKinds() {
        List<String> known = new ArrayList<>(BUILT_IN_KINDS);
        for (BackendProvider provider : ServiceLoader.load(BackendProvider.class, DeviceSpec.class.getClassLoader())) {
            known.addAll(provider.kinds());
        }
        return known;
    }

    private static final String FAULT_PREFIX = "fault_";

    /** Splits the fault_* options off, opens the inner spec made of the rest, and wraps it. */
    private BlockDevice openFault(String name) {
        StringBuilder innerSpec = new StringBuilder(target);
        Map<String, String> faultOptions = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : options.entrySet()) {
            if (e.getKey().startsWith(FAULT_PREFIX)) faultOptions.put(e.getKey(), e.getValue());
            else innerSpec.append(',').append(e.getKey()).append('=').append(e.getValue());
        }
        if (target.indexOf(':') <= 0) {
            throw new IllegalArgumentException("fault spec needs an inner backend spec: fault:memory:1G,fault_seed=1 (got fault:" + target + ")");
        }
        DeviceSpec faults = new DeviceSpec(kind, target, Map.copyOf(faultOptions));
        faults.checkOptions("fault_seed", "fault_read_error", "fault_write_error", "fault_flush_error", "fault_latency_us",
                "fault_flush_latency_us", "fault_fail_after", "fault_power_cut", "fault_torn");
        FaultConfig config = faults.faultConfig();
        BlockDevice inner = DeviceSpec.parse(innerSpec.toString()).open(name);
        return new FaultBlockDevice(name, inner, config);
    }

    private FaultConfig faultConfig() {
        long latencyNsMin = 0, latencyNsMax = 0;
        String latency = options.get("fault_latency_us");
        if (latency != null) {
            int dash = latency.indexOf('-');
            long min = number("fault_latency_us", dash < 0 ? latency : latency.substring(0, dash));
            long max = dash < 0 ? min : number("fault_latency_us", latency.substring(dash + 1));
            latencyNsMin = min * 1000;
            latencyNsMax = max * 1000;
        }
        String failAfter = options.get("fault_fail_after");
        return new FaultConfig(options.containsKey("fault_seed") ? number("fault_seed", options.get("fault_seed")) : 1,
                rate("fault_read_error"), rate("fault_write_error"), rate("fault_flush_error"),
                latencyNsMin, latencyNsMax, failAfter == null ? -1 : number("fault_fail_after", failAfter),
                flag("fault_power_cut", false), flag("fault_torn", false),
                options.containsKey("fault_flush_latency_us") ? number("fault_flush_latency_us", options.get("fault_flush_latency_us")) * 1000 : 0);
    }

    private double rate(String key) {
        String v = options.get(key);
        if (v == null) return 0;
        try {
            double rate = Double.parseDouble(v);
            if (rate >= 0 && rate <= 1) return rate;
        } catch (NumberFormatException e) {
            // fall through to the message below
        }
        throw new IllegalArgumentException("option " + key + "=" + v + " must be a probability between 0 and 1");
    }

    private static long number(String key, String v) {
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option " + key + "=" + v + " must be a whole number");
        }
    }

    private void checkOptions(String... known) {
        for (String key : options.keySet()) {
            boolean ok = false;
            for (String k : known) ok |= k.equals(key);
            if (!ok) throw new IllegalArgumentException("backend " + kind + " has no option '" + key + "' (known: " + String.join(", ", known) + ")");
        }
    }

    private boolean flag(String key, boolean otherwise) {
        String v = options.get(key);
        if (v == null) return otherwise;
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "1", "true", "yes", "on" -> true;
            case "0", "false", "no", "off" -> false;
            default -> throw new IllegalArgumentException("option " + key + "=" + v + " must be 0 or 1");
        };
    }

    private long size(String key, long otherwise) {
        String v = options.get(key);
        return v == null ? otherwise : Sizes.parse(v);
    }

    public static BlockDevice open(String name, String spec) {
        return parse(spec).open(name);
    }
}
