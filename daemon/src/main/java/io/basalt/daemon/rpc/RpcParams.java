package io.basalt.daemon.rpc;

import io.basalt.daemon.json.Json;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The named parameters of one call, with typed getters whose errors name the parameter. Only by-name params
 * (a JSON object) are accepted: every Basalt method has named params, and a positional array would hide typos.
 */
public final class RpcParams {
    private final String method;
    private final Map<String, Object> values;

    public RpcParams(String method, Map<String, Object> values) {
        this.method = method;
        this.values = Map.copyOf(values);
    }

    /** The method these params came with, for error messages. */
    public String method() {
        return method;
    }

    public static RpcParams empty(String method) {
        return new RpcParams(method, Map.of());
    }

    /** Refuses any param not in {@code known}, so a misspelt optional param is an error, not silently ignored. */
    public RpcParams allowOnly(String... known) throws RpcException {
        Set<String> allowed = Set.of(known);
        for (String key : values.keySet()) {
            if (!allowed.contains(key)) {
                String list = known.length == 0 ? "none" : String.join(", ", new TreeSet<>(allowed));
                throw RpcException.invalidParams(method + ": unknown param '" + key + "' (known params: " + list + ")");
            }
        }
        return this;
    }

    public String requireString(String name) throws RpcException {
        Object v = values.get(name);
        if (v == null) throw RpcException.invalidParams(method + ": missing param '" + name + "' (a string)");
        if (!(v instanceof String s)) throw RpcException.invalidParams(method + ": param '" + name + "' must be a string, got " + typeOf(v));
        return s;
    }

    public long optionalLong(String name, long otherwise) throws RpcException {
        Object v = values.get(name);
        if (v == null) return otherwise;
        if (!(v instanceof Long l)) throw RpcException.invalidParams(method + ": param '" + name + "' must be an integer, got " + typeOf(v));
        return l;
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    public Map<String, Object> asMap() {
        return values;
    }

    static String typeOf(Object v) {
        return switch (v) {
            case null -> "nothing";
            case Json.Null n -> "null";
            case String s -> "a string";
            case Long l -> "an integer";
            case Double d -> "a number";
            case Boolean b -> "a boolean";
            case Map<?, ?> m -> "an object";
            case java.util.List<?> l -> "an array";
            default -> v.getClass().getSimpleName();
        };
    }
}
