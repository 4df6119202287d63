package io.basalt.engine;

import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.backend.NullBlockDevice;
import io.basalt.engine.backend.UringBlockDevice;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Backend specifications as users write them, and the one place that turns them into devices:
 * <pre>
 *   uring:/path/file[,direct=1][,block=4096][,size=1G][,readonly=0]   size: create sparse when missing
 *   memory:1G[,block=4096]
 *   null:1T[,block=4096]
 * </pre>
 */
public record DeviceSpec(String kind, String target, Map<String, String> options) {
    public static DeviceSpec parse(String spec) {
        int colon = spec.indexOf(':');
        if (colon <= 0) throw new IllegalArgumentException("backend spec '" + spec + "' must look like KIND:TARGET (uring:/path, memory:1G, null:1T)");
        String kind = spec.substring(0, colon).toLowerCase(Locale.ROOT);
        String[] parts = spec.substring(colon + 1).split(",");
        if (parts[0].isEmpty()) throw new IllegalArgumentException("backend spec '" + spec + "' has no target after '" + kind + ":'");
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("option '" + parts[i] + "' in '" + spec + "' must be key=value");
            options.put(parts[i].substring(0, eq).toLowerCase(Locale.ROOT), parts[i].substring(eq + 1));
        }
        return new DeviceSpec(kind, parts[0], Map.copyOf(options));
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
            default -> throw new IllegalArgumentException("unknown backend '" + kind + "': use uring, memory or null");
        };
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
