package io.basalt.daemon.rpc;

import io.basalt.shims.Check;

/**
 * Finds where one JSON message ends in a byte stream that carries them back to back: one per line, or
 * concatenated with nothing between them (as SPDK's rpc.py sends). It only counts brackets outside strings, so it
 * never parses: Jackson sees the message once it is whole. State survives between calls, so each byte is scanned
 * once however the stream is split (a peer sending one byte at a time costs O(n), not O(n^2)).
 *
 * <p>It is also the guard in front of the parser, so that no hostile message is ever buffered whole: a message
 * that grows past the byte limit, nests deeper than the depth limit, or has a raw control character inside a
 * string (which RFC 8259 forbids, and which means a newline-delimited peer's string never ended) is refused as
 * soon as the byte that breaks the limit arrives. The framer then skips the rest of that line, so the peer's next
 * line is the next message: requests are newline-delimited, and a broken one costs only its line.
 *
 * <p>An object or array ends at its closing bracket; a top-level string at its closing quote; any other top-level
 * token (a number, a literal, garbage) at the next whitespace byte. Mismatched brackets are left for the parser.
 */
final class MessageFramer {
    enum Result { VALUE, INCOMPLETE, TOO_DEEP, TOO_LARGE, CONTROL_CHARACTER }

    private enum State { BETWEEN, CONTAINER, STRING, STRING_ESCAPE, TOP_STRING, TOP_STRING_ESCAPE, TOP_TOKEN, SKIP_LINE }

    private static final int CONTROL_CHARACTER_END = 0x20;

    private final int depthMax;
    private final int valueBytesMax;
    private State state = State.BETWEEN;
    private int depth;
    private int valueStart = -1;
    private int valueBytes;
    private int position;

    MessageFramer(int depthMax, int valueBytesMax) {
        Check.that(depthMax > 0, "framer depth limit positive", depthMax);
        Check.positive(valueBytesMax, "valueBytesMax");
        this.depthMax = depthMax;
        this.valueBytesMax = valueBytesMax;
    }

    /**
     * Scans {@code bytes[from, to)}, continuing from the previous call, up to the first complete value or refusal;
     * {@link #position} then says where it stopped. After {@link Result#VALUE}, the value is
     * {@code [valueStart(), position())} and the framer is ready for the next one. After a refusal it skips to the
     * end of the line by itself.
     */
    Result scan(byte[] bytes, int from, int to) {
        Check.that(from >= 0 && from <= to && to <= bytes.length, "framer range inside the buffer", from);
        for (int i = from; i < to; i++) {
            Result result = step(bytes[i], i);
            if (result != Result.INCOMPLETE) return result;
        }
        position = to;
        return Result.INCOMPLETE;
    }

    /** Just past the last byte the last {@link #scan} looked at. */
    int position() {
        return position;
    }

    /** Where the value found by the last {@link #scan}, or the one still arriving, starts; -1 when none. */
    int valueStart() {
        return valueStart;
    }

    /** True when nothing scanned since the last value is worth keeping: whitespace, or a line being skipped. */
    boolean nothingToKeep() {
        return state == State.BETWEEN || state == State.SKIP_LINE;
    }

    /** Drops the rest of the current line (the caller found the value just framed broken). */
    void skipLine() {
        state = State.SKIP_LINE;
        valueStart = -1;
    }

    /** Shifts the remembered start after the caller moved its buffer contents down by {@code shiftBytes}. */
    void shift(int shiftBytes) {
        if (valueStart >= 0) valueStart -= shiftBytes;
    }

    private Result step(byte b, int index) {
        if (state == State.BETWEEN) return startValue(b, index);
        if (state == State.SKIP_LINE) {
            if (b == '\n') state = State.BETWEEN;
            return Result.INCOMPLETE;
        }
        if (state == State.TOP_TOKEN && isWhitespace(b)) return valueEnds(index);
        if (++valueBytes > valueBytesMax) return refuse(Result.TOO_LARGE, b, index);
        return switch (state) {
            case CONTAINER -> inContainer(b, index);
            case STRING -> inString(b, index, State.STRING_ESCAPE, State.CONTAINER);
            case TOP_STRING -> b == '"' ? valueEnds(index + 1) : inString(b, index, State.TOP_STRING_ESCAPE, State.TOP_STRING);
            case STRING_ESCAPE -> escaped(b, index, State.STRING);
            case TOP_STRING_ESCAPE -> escaped(b, index, State.TOP_STRING);
            default -> Result.INCOMPLETE; // TOP_TOKEN: goes on to the next whitespace
        };
    }

    private Result startValue(byte b, int index) {
        if (isWhitespace(b)) return Result.INCOMPLETE;
        valueStart = index;
        valueBytes = 1;
        depth = 0;
        if (b == '{' || b == '[') {
            state = State.CONTAINER;
            depth = 1;
        } else if (b == '"') {
            state = State.TOP_STRING;
        } else {
            state = State.TOP_TOKEN;
        }
        return Result.INCOMPLETE;
    }

    private Result inContainer(byte b, int index) {
        if (b == '"') {
            state = State.STRING;
        } else if (b == '{' || b == '[') {
            depth++;
            if (depth > depthMax) return refuse(Result.TOO_DEEP, b, index);
        } else if (b == '}' || b == ']') {
            depth--;
            if (depth == 0) return valueEnds(index + 1);
        }
        return Result.INCOMPLETE;
    }

    /** A byte inside a string (the closing quote of a top-level string is handled by the caller). */
    private Result inString(byte b, int index, State escape, State afterQuote) {
        if (isControl(b)) return refuse(Result.CONTROL_CHARACTER, b, index);
        if (b == '\\') state = escape;
        else if (b == '"') state = afterQuote;
        return Result.INCOMPLETE;
    }

    private Result escaped(byte b, int index, State back) {
        if (isControl(b)) return refuse(Result.CONTROL_CHARACTER, b, index);
        state = back;
        return Result.INCOMPLETE;
    }

    private Result valueEnds(int end) {
        state = State.BETWEEN;
        position = end;
        return Result.VALUE;
    }

    /** Gives up on the current value; the line it is on is skipped, unless the offending byte ended it. */
    private Result refuse(Result why, byte b, int index) {
        state = b == '\n' ? State.BETWEEN : State.SKIP_LINE;
        valueStart = -1;
        position = index + 1;
        return why;
    }

    private static boolean isControl(byte b) {
        return b >= 0 && b < CONTROL_CHARACTER_END;
    }

    private static boolean isWhitespace(byte b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }
}
