package io.basalt.engine.json;

import io.basalt.shims.Check;

/**
 * Finds where one JSON value ends in a byte stream that carries values back to back: one per line, or
 * concatenated with nothing between them (as SPDK's rpc.py sends). It only counts brackets outside strings,
 * so it never parses: the parser sees the value once it is whole. State survives between calls, so each
 * byte is scanned once however the stream is split (a peer sending one byte at a time costs O(n), not O(n^2)).
 *
 * <p>An object or array ends at its closing bracket; a top-level string at its closing quote; any other
 * top-level token (a number, a literal, garbage) at the next whitespace byte. Mismatched brackets are left
 * for the parser to report.
 */
public final class JsonFramer {
    /** {@link #scan} result: no complete value yet. */
    public static final int INCOMPLETE = -1;
    /** {@link #scan} result: the value nests deeper than the limit; the stream cannot be trusted any more. */
    public static final int TOO_DEEP = -2;

    private enum State { BETWEEN, CONTAINER, STRING, STRING_ESCAPE, TOP_STRING, TOP_STRING_ESCAPE, TOP_TOKEN }

    private final int depthMax;
    private State state = State.BETWEEN;
    private int depth;
    private int valueStart = -1;

    public JsonFramer(int depthMax) {
        Check.that(depthMax > 0, "framer depth limit positive", depthMax);
        this.depthMax = depthMax;
    }

    /**
     * Scans {@code bytes[from, to)}, continuing from the previous call. Returns the offset just past the end of
     * the first complete value (then call {@link #valueStart} and {@link #reset}), {@link #INCOMPLETE}, or
     * {@link #TOO_DEEP}.
     */
    public int scan(byte[] bytes, int from, int to) {
        Check.that(from >= 0 && from <= to && to <= bytes.length, "framer range inside the buffer", from);
        for (int i = from; i < to; i++) {
            int end = step(bytes[i], i);
            if (end != INCOMPLETE) return end;
        }
        return INCOMPLETE;
    }

    /** Offset of the first byte of the value found by the last successful {@link #scan}. */
    public int valueStart() {
        return valueStart;
    }

    /** Forgets the value just found, ready for the next one. */
    public void reset() {
        state = State.BETWEEN;
        depth = 0;
        valueStart = -1;
    }

    /** True when the bytes scanned since the last value were all whitespace. */
    public boolean betweenValues() {
        return state == State.BETWEEN;
    }

    /** Shifts the remembered start after the caller moved its buffer contents down by {@code shiftBytes}. */
    public void shift(int shiftBytes) {
        if (valueStart >= 0) valueStart -= shiftBytes;
    }

    private int step(byte b, int index) {
        switch (state) {
            case BETWEEN -> {
                return startValue(b, index);
            }
            case CONTAINER -> {
                return inContainer(b, index);
            }
            case STRING -> state = b == '\\' ? State.STRING_ESCAPE : b == '"' ? State.CONTAINER : State.STRING;
            case STRING_ESCAPE -> state = State.STRING;
            case TOP_STRING -> {
                if (b == '"') return index + 1;
                if (b == '\\') state = State.TOP_STRING_ESCAPE;
            }
            case TOP_STRING_ESCAPE -> state = State.TOP_STRING;
            case TOP_TOKEN -> {
                if (isWhitespace(b)) return index;
            }
        }
        return INCOMPLETE;
    }

    private int startValue(byte b, int index) {
        if (isWhitespace(b)) return INCOMPLETE;
        valueStart = index;
        if (b == '{' || b == '[') {
            state = State.CONTAINER;
            depth = 1;
        } else if (b == '"') {
            state = State.TOP_STRING;
        } else {
            state = State.TOP_TOKEN;
        }
        return INCOMPLETE;
    }

    private int inContainer(byte b, int index) {
        if (b == '"') {
            state = State.STRING;
        } else if (b == '{' || b == '[') {
            depth++;
            if (depth > depthMax) return TOO_DEEP;
        } else if (b == '}' || b == ']') {
            depth--;
            if (depth == 0) return index + 1;
        }
        return INCOMPLETE;
    }

    private static boolean isWhitespace(byte b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }
}
