package io.basalt.engine.json;

import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

/** Writes maps, lists, strings, numbers, booleans and nulls as JSON text. */
final class JsonWriter {
    /** Guards against a map that contains itself: a programmer error that would otherwise overflow the stack. */
    private static final int DEPTH_MAX = 256;

    private final StringBuilder out = new StringBuilder();
    private final boolean pretty;

    private JsonWriter(boolean pretty) {
        this.pretty = pretty;
    }

    static String write(Object value, boolean pretty) {
        JsonWriter w = new JsonWriter(pretty);
        w.value(value, 0);
        return w.out.toString();
    }

    private void value(Object value, int depth) {
        if (depth > DEPTH_MAX) throw new JsonException("value nested deeper than " + DEPTH_MAX + " (a cycle?)", -1);
        switch (value) {
            case null -> out.append("null");
            case Json.Null n -> out.append("null");
            case String s -> string(s);
            case Boolean b -> out.append(b.booleanValue());
            case Long l -> out.append(l.longValue());
            case Integer i -> out.append(i.intValue());
            case Short s -> out.append(s.shortValue());
            case Byte b -> out.append(b.byteValue());
            case Double d -> real(d);
            case Float f -> real(f.doubleValue());
            case Map<?, ?> m -> object(m, depth);
            case Collection<?> c -> array(c, depth);
            default -> throw new JsonException("cannot write a " + value.getClass().getName() + " as JSON", -1);
        }
    }

    private void real(double d) {
        if (!Double.isFinite(d)) throw new JsonException("JSON has no " + d, -1);
        out.append(d); // Java's form (1.0E10) is valid JSON
    }

    private void object(Map<?, ?> map, int depth) {
        if (map.isEmpty()) {
            out.append("{}");
            return;
        }
        out.append('{');
        Iterator<? extends Map.Entry<?, ?>> it = map.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<?, ?> e = it.next();
            if (!(e.getKey() instanceof String key)) throw new JsonException("JSON object keys must be strings, got " + e.getKey(), -1);
            newline(depth + 1);
            string(key);
            out.append(pretty ? ": " : ":");
            value(e.getValue(), depth + 1);
            if (it.hasNext()) out.append(',');
        }
        newline(depth);
        out.append('}');
    }

    private void array(Collection<?> list, int depth) {
        if (list.isEmpty()) {
            out.append("[]");
            return;
        }
        out.append('[');
        Iterator<?> it = list.iterator();
        while (it.hasNext()) {
            newline(depth + 1);
            value(it.next(), depth + 1);
            if (it.hasNext()) out.append(',');
        }
        newline(depth);
        out.append(']');
    }

    private void newline(int depth) {
        if (!pretty) return;
        out.append('\n');
        for (int i = 0; i < depth; i++) out.append("  ");
    }

    private void string(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        out.append('"');
    }
}
