package io.basalt.daemon.json;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;

/**
 * Text that is not JSON, or that goes past a limit; or a value that cannot be written as JSON. Unchecked, so
 * that callers catch it where they can say which input was bad (a config file, a CLI argument, an RPC message).
 */
public final class JsonException extends IllegalArgumentException {
    public JsonException(String message) {
        super(message);
    }

    /** Jackson's message without its source excerpt, prefixed with where the problem was found. */
    static JsonException from(JsonProcessingException e) {
        JsonLocation where = e.getLocation();
        String at = where == null || where.getLineNr() < 0 ? "JSON error: "
                : "JSON error at line " + where.getLineNr() + ", column " + where.getColumnNr() + ": ";
        return new JsonException(at + e.getOriginalMessage());
    }
}
