package io.basalt.engine.json;

/** Text that is not JSON, or that goes past a limit. Carries where in the text the problem was found. */
public final class JsonException extends IllegalArgumentException {
    private final int offset;

    public JsonException(String message, int offset) {
        super(message);
        this.offset = offset;
    }

    /** Character offset into the parsed text (-1 when not about a position, such as a writer error). */
    public int offset() {
        return offset;
    }
}
